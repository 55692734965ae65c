"""gunicorn settings of the `web` process (Procfile): `gunicorn -c gunicorn.conf.py ...`.

Everything comes from hotline/web.py, which `hotline serve` uses too: gevent workers (a
client that sends its headers slowly holds a greenlet, never a worker; see that module
and docs/benchmarks.md, "Slow clients"), WEB_CONCURRENCY of them, else cores + 1
(hotline.config.web_workers), request limits sized for Twilio's webhooks, and no
control socket. Bound to 0.0.0.0:$PORT (default 8000).
"""

import os

from hotline.web import gunicorn_options

globals().update(gunicorn_options(host="0.0.0.0", port=int(os.environ.get("PORT", "8000"))))
