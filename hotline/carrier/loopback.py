"""A WSGI app served over real HTTP on an ephemeral loopback port, in a thread.

The port is chosen by the OS when the socket binds, but the app often needs its
own public URL before it is built (Settings.public_url signs and builds every
URL). So the server starts with a placeholder and `mount(app)` installs the real
app once the URL is known.
"""

from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    # The transcript is the output; one access-log line per webhook would drown it.
    def log(self, type, message, *args):
        if type == "error":
            super().log(type, message, *args)

    def log_request(self, *args, **kw):
        pass


class LoopbackServer:
    def __init__(self, app=None, host: str = "127.0.0.1", port: int = 0):
        self._app = app
        self._server = make_server(
            host, port, self._dispatch, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),
            daemon=True,
            name=f"loopback-{self.port}",
        )
        self._thread.start()

    def mount(self, app) -> None:
        self._app = app

    def _dispatch(self, environ, start_response):
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"not ready\n"]
        return self._app(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
