"""Webhook requests as Twilio makes them: signed, with the method the TwiML asked for.

Twilio signs the exact URL it requests plus, for POST, the sorted form
parameters; for GET the parameters go into the query string and are covered by
the URL. We compute the signature with the twilio library's own
`RequestValidator.compute_signature`, so a request the simulator sends is one
the app's validator accepts if and only if the app would accept Twilio's.

A webhook that answers with anything but 2xx makes the simulator fail loudly
(WebhookFailed), where Twilio would play "an application error has occurred":
in a simulator, a 403 or a 500 is a bug to see, not a call to carry on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

from ..errors import HotlineError


class WebhookFailed(HotlineError):
    def __init__(self, method: str, url: str, status: int, body: str = ""):
        self.method, self.url, self.status, self.body = method, url, status, body
        what = f"answered HTTP {status}" if status else "failed"
        super().__init__(f"webhook {method} {url} {what}: {body.strip()[:200]}")


@dataclass(frozen=True)
class Exchange:
    """One webhook request and its answer, kept for the transcript's --json output."""

    at: float
    method: str
    url: str
    params: dict
    status: int
    body: str

    def to_json(self) -> dict:
        return {
            "at": self.at,
            "method": self.method,
            "url": self.url,
            "params": self.params,
            "status": self.status,
        }


class Signer:
    def __init__(self, auth_token: str):
        self._validator = RequestValidator(auth_token)

    def signature(self, url: str, params: dict | None = None) -> str:
        return self._validator.compute_signature(url, params or {})


def with_query(url: str, params: dict) -> str:
    """The URL Twilio requests for a GET: the parameters appended to the query."""
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(x for x in (parts.query, urlencode(params)) if x)
    return urlunsplit(parts._replace(query=query))


class WebhookClient:
    """Sends signed webhook requests; one per simulator, shared by its calls.

    `failures` counts the requests that failed (no answer, timeout, non-2xx) plus those
    whose answer a call found not to be TwiML (`count_failure()`); calls run in threads."""

    def __init__(
        self, auth_token: str, *, timeout: float = 30.0, session: requests.Session | None = None
    ):
        self.signer = Signer(auth_token)
        self.timeout = timeout
        self.session = session or requests.Session()
        self._lock = threading.Lock()
        self.failures = 0

    def count_failure(self) -> None:
        with self._lock:
            self.failures += 1

    def request(self, method: str, url: str, params: dict, *, at: float) -> Exchange:
        method = (method or "POST").upper()
        if method not in ("GET", "POST"):
            raise WebhookFailed(method, url, 0, "method must be GET or POST")
        params = {k: str(v) for k, v in params.items() if v is not None}
        try:
            if method == "GET":
                full = with_query(url, params)
                headers = {"X-Twilio-Signature": self.signer.signature(full, {})}
                resp = self.session.get(full, headers=headers, timeout=self.timeout)
            else:
                full = url
                headers = {"X-Twilio-Signature": self.signer.signature(url, params)}
                resp = self.session.post(url, data=params, headers=headers, timeout=self.timeout)
        except requests.RequestException as e:
            self.count_failure()
            raise WebhookFailed(
                method, url, 0, f"could not reach the app ({type(e).__name__})"
            ) from None
        if not 200 <= resp.status_code < 300:
            self.count_failure()
            raise WebhookFailed(method, full, resp.status_code, resp.text)
        return Exchange(at, method, full, params, resp.status_code, resp.text)

    def close(self) -> None:
        self.session.close()
