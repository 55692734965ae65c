"""gunicorn settings of the `web` process (Procfile): `gunicorn -c gunicorn.conf.py ...`.

Workers: WEB_CONCURRENCY, else one sync worker per core plus one (hotline.config.web_workers):
every webhook waits on one Redis round trip, and the extra worker keeps the cores busy
meanwhile. benchmarks/webhooks.py uses the same number for both of its apps.
"""

import os

from hotline.config import web_workers

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = web_workers()
worker_class = "sync"
