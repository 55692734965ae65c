"""For the agent-leg tests: a recording Telephony (unit tests of the job logic only; the
end-to-end path over real HTTP runs against the carrier simulator), Services that use
it, and a burst worker.

`RecordingTelephony` fits the Telephony protocol (tests/test_telephony_port.py checks
it, method by method, like warehouse's verifyClass).
"""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from rq import SimpleWorker

from hotline.services import Services

_seq = itertools.count(1)


class RecordingTelephony:
    """Records every request; `fail[method] = [exc, ...]` raises those first, in order."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.fail: dict[str, list[Exception]] = {}
        self.on_place = None  # callable(kwargs) run inside place_call (to race the offer)
        self.statuses: dict[
            str, str
        ] = {}  # what fetch_call answers: sid -> status (else in-progress)

    def _record(self, method: str, **kw):
        errors = self.fail.get(method)
        if errors:
            raise errors.pop(0)
        self.requests.append((method, kw))

    def place_call(self, *, to, from_, url, status_callback, timeout=20) -> str:
        self._record(
            "place_call",
            to=to,
            from_=from_,
            url=url,
            status_callback=status_callback,
            timeout=timeout,
        )
        sid = "CA%032x" % (0xA6E000 + next(_seq))
        self.requests[-1][1]["sid"] = sid  # what the carrier answered: the tests drive this leg
        if self.on_place:
            self.on_place(self.requests[-1][1])
        return sid

    def redirect_call(self, call_sid, url) -> None:
        self._record("redirect_call", call_sid=call_sid, url=url)

    def hangup_call(self, call_sid) -> None:
        self._record("hangup_call", call_sid=call_sid)

    def cancel_call(self, call_sid) -> None:
        self._record("cancel_call", call_sid=call_sid)

    def dequeue_member(self, queue_sid, call_sid, url) -> None:
        self._record("dequeue_member", queue_sid=queue_sid, call_sid=call_sid, url=url)

    def fetch_call(self, call_sid):
        from hotline.telephony.port import CallInfo

        self._record("fetch_call", call_sid=call_sid)
        status = self.statuses.get(call_sid, "in-progress")
        return None if status == "unknown" else CallInfo(call_sid, status)

    def of(self, method: str) -> list[dict]:
        return [kw for m, kw in self.requests if m == method]


def services_with(settings, clock, rclient, telephony) -> Services:
    from hotline import jobs

    s = Services(settings, clock=clock, client=rclient, telephony=telephony)
    jobs.use_services(s)
    return s


def work(svc) -> None:
    SimpleWorker([svc.rq_queue], connection=svc.rq_redis).work(burst=True)


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def xml(resp) -> ElementTree.Element:
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "text/xml"
    return ElementTree.fromstring(resp.data)


def said(root) -> str:
    return " ".join(s.text or "" for s in root.iter("Say"))


def scheduled(svc) -> list[str]:
    """Names of the delayed jobs waiting: RQ's scheduler and the virtual-time timers (hotline/timers.py)."""
    import json

    from rq.registry import ScheduledJobRegistry

    names = [
        svc.rq_queue.fetch_job(j).func_name
        for j in ScheduledJobRegistry(queue=svc.rq_queue).get_job_ids()
    ]
    return names + [json.loads(m)[0] for m in svc.redis.zrange(svc.keys.timers, 0, -1)]


def events(svc, *types):
    return [e for e in svc.events.read() if not types or e.type in types]
