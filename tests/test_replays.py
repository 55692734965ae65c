"""A repeated or late request changes nothing that its first delivery did not.

Twilio signatures carry no timestamp: a captured request stays validly signed for
ever, and Twilio itself delivers a webhook twice when told to retry. So every webhook
request of a few simulated calls -- covering all 19 webhook kinds -- is captured as it
reaches the app (byte for byte: path, query, body, signature), delivered a second time
at once (Twilio's retry), and replayed again once every call is over (a replay attack).
Each time the whole store is compared before and after: our keys, the event log, RQ's
queue and its delayed jobs. Nothing may change.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from test_e2e_hotline import ANA, PARIS, ROSTER, T9, World
from test_webhook_robustness import WEBHOOKS

from hotline.carrier.local import LocalHotline, SimulatedClock
from hotline.carrier.party import Message, Press, Silence, Speak
from hotline.carrier.phones import CustomerPhone, Network
from hotline.services import Services

KINDS = set(WEBHOOKS)  # all 19


def snapshot(svc) -> dict:
    """Everything a request could change: our keys (values, not TTLs), RQ's queue."""
    r = svc.redis
    out = {}
    for key in r.scan_iter(match=svc.keys.prefix + "*", count=1000):
        kind = r.type(key)
        if kind == "hash":
            out[key] = r.hgetall(key)
        elif kind == "zset":
            out[key] = r.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            out[key] = sorted(r.smembers(key))
        elif kind == "list":
            out[key] = r.lrange(key, 0, -1)
        elif kind == "stream":
            out[key] = r.xlen(key)
        elif kind == "string":
            out[key] = r.get(key)
    q = svc.rq_queue
    out["rq:queue"] = q.count
    from rq.registry import ScheduledJobRegistry

    out["rq:scheduled"] = ScheduledJobRegistry(queue=q).count
    return out


def diff(a: dict, b: dict) -> list[str]:
    return [
        f"{k}: {a.get(k)!r} -> {b.get(k)!r}"
        for k in sorted(set(a) | set(b), key=str)
        if a.get(k) != b.get(k)
    ]


class Recorder:
    """WSGI middleware in front of the app: keeps every webhook request, and delivers each a
    second time right after the first, checking that the second changed nothing."""

    def __init__(self, app, svc):
        self.app, self.svc = app, svc
        self.requests: list[dict] = []
        self.changed: list[tuple[str, str, list[str]]] = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        result = list(self.app(environ, start_response))
        path = environ.get("PATH_INFO", "")
        if path.startswith("/webhooks/"):
            req = {
                "path": path,
                "query": environ.get("QUERY_STRING", ""),
                "body": body,
                "headers": {
                    "X-Twilio-Signature": environ.get("HTTP_X_TWILIO_SIGNATURE", ""),
                    "Content-Type": environ.get("CONTENT_TYPE", ""),
                },
            }
            self.requests.append(req)
            self.replay(req, "at once")
        return result

    def replay(self, req: dict, when: str) -> None:
        before = snapshot(self.svc)
        url = req["path"] + ("?" + req["query"] if req["query"] else "")
        res = self.app.test_client().post(url, data=req["body"], headers=req["headers"])
        assert res.status_code == 200, (url, res.status_code)
        after = snapshot(self.svc)
        if before != after:
            self.changed.append((when, url, diff(before, after)))


def play(settings, rclient, scenario) -> Recorder:
    rclient.flushdb()
    svc = Services(settings, clock=SimulatedClock(T9), client=rclient)
    with LocalHotline(services=svc, network=Network()) as h:
        rec = Recorder(h.app, svc)
        h.http.mount(rec)
        svc.roster.import_text(ROSTER, "test-roster.yaml", by="test")
        h._start_app_timers()
        scenario(World(h))
        for req in list(rec.requests):  # every call is over: replay them all
            rec.replay(req, "after the end")
    return rec


def answered_calls(world):
    """A connection call, an error-message call with its code, a low-confidence speech
    caller who confirms by key, answered by Ana and Ben; one hangs up on the agent."""
    world.agent("ana", ANA, talk_seconds=90)
    world.agent("ben", "+33600000002", talk_seconds=60)
    world.login("ana", "ben")
    world.caller("1", number="+33611000001")
    world.caller("3,4031#", at=20, number="+33611000003")
    party = [Speak("le réseau et excel"), Press("1"), Silence()]
    world.h.spawn(_party(party, "+33611000004"), at=world.t0 + 40, from_="+33611000004")
    world.caller("1", at=60, number="+33611000005", talk=30)
    world.run(1800)


def _party(answers, name, patience=900.0):
    from hotline.carrier.party import Party

    return Party(answers, patience=patience, name=name)


def callback_not_answered(world):
    """A callback from the queue whose customer never answers: the customer leg, its
    status callbacks, and the notice the agent hears."""
    world.agent("ana", ANA, talk_seconds=1500)
    world.login("ana")
    world.net.add(CustomerPhone("+33611000002", answers=False))
    world.caller("1", number="+33611000001")
    world.caller("1", at=10, number="+33611000002", patience=3600, extra=[Press("1")])
    world.run(3 * 3600)


def callback_answered(world):
    world.agent("ana", ANA, talk_seconds=1500)
    world.login("ana")
    world.net.add(CustomerPhone("+33611000002", answer_after=6, talk_seconds=90))
    world.caller("1", number="+33611000001")
    world.caller("1", at=10, number="+33611000002", patience=3600, extra=[Press("1")])
    world.run(4 * 3600)


def voicemail_after_hours(world):
    world.h.clock.set(datetime(2026, 12, 1, 7, 30, tzinfo=PARIS).timestamp())
    world.t0 = world.h.clock.now()
    world.svc.roster.refresh_shift_sets()
    world.agent("ana", ANA, talk_seconds=120)
    world.login("ana", at=datetime(2026, 12, 1, 8, 0, tzinfo=PARIS).timestamp())
    world.net.add(CustomerPhone("+33611000009", answer_after=5, talk_seconds=60))
    world.caller(
        "1", number="+33611000009", message=Message(12, "Bonjour, ma connexion coupe, rappelez-moi")
    )
    world.run(2 * 3600)


@pytest.mark.slow
def test_no_webhook_kind_changes_state_when_delivered_twice_or_replayed_later(
    settings, rclient, report_figure
):
    seen: set[str] = set()
    replays = 0
    changed = []
    for scenario in (
        answered_calls,
        callback_not_answered,
        callback_answered,
        voicemail_after_hours,
    ):
        rec = play(settings, rclient, scenario)
        seen |= {r["path"] for r in rec.requests}
        replays += 2 * len(rec.requests)
        changed += rec.changed
    assert seen == KINDS, f"not exercised: {sorted(KINDS - seen)}"
    kinds_changed = sorted({url.split("?")[0] for _, url, _ in changed})
    assert not changed, "\n".join(
        f"{when}: {url}\n    " + "\n    ".join(d[:6]) for when, url, d in changed[:15]
    )
    report_figure(
        f"replays: {len(kinds_changed)} of {len(KINDS)} webhook kinds changed state; "
        f"{replays} replays of {replays // 2} captured requests (each at once and after the end)"
    )


def test_a_retry_with_twilios_idempotency_token_gets_the_first_answer_and_changes_nothing(
    twilio, svc
):
    """Twilio's own retry of a webhook (its connection overrides) carries the same
    I-Twilio-Idempotency-Token: the answer is the one the first delivery got, even though
    the call has moved on since, and the handler does not run again."""
    from conftest import call_params

    sid = "CA" + "4" * 32
    first = twilio.post(
        "/webhooks/voice/incoming",
        call_params(sid),
        headers={"I-Twilio-Idempotency-Token": "tok-incoming-0001"},
    )
    menu = "/webhooks/voice/menu?lang=fr&attempt=1&t=1"
    answer = twilio.post(
        menu, call_params(sid, Digits="2"), headers={"I-Twilio-Idempotency-Token": "tok-menu-0001"}
    )
    before = snapshot(svc)
    again = twilio.post(
        menu, call_params(sid, Digits="2"), headers={"I-Twilio-Idempotency-Token": "tok-menu-0001"}
    )
    assert again.data == answer.data and snapshot(svc) == before
    retried = twilio.post(
        "/webhooks/voice/incoming",
        call_params(sid),
        headers={"I-Twilio-Idempotency-Token": "tok-incoming-0001"},
    )
    assert retried.data == first.data  # the greeting, as first sent
    assert snapshot(svc) == before
