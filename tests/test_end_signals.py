"""Two or three end signals at once: one end, one wrap-up.

When an agent hangs up, Twilio sends the agent leg's status callback and the agent's
<Dial action> in the same instant, and the caller leg's completion as a third signal
(our voice status webhook, then the `caller_ended` job). The app here is served over
real HTTP by a threaded server; the signals are fired from threads released by one
barrier, some hundreds of times, and every time the log must show one
`call_completed`, one `wrapup_started`, and the agent must be in wrap-up.
"""

from __future__ import annotations

import threading

import pytest
import requests
from conftest import AUTH_TOKEN, call_params, sign
from legs_support import work
from routing_support import call_hash, sid
from test_agent_legs import reserve, setup_team

from hotline import invariants, reports
from hotline.app import create_app
from hotline.carrier.loopback import LoopbackServer
from hotline.legs import conversation, wrapup

ROUNDS = 150


@pytest.fixture
def served(lsvc):
    http = LoopbackServer()
    lsvc.settings = lsvc.settings.with_(public_url=http.url)
    http.mount(create_app(lsvc))
    yield http
    http.close()


def _post(session, url, params):
    return session.post(
        url, data=params, headers={"X-Twilio-Signature": sign(url, params, AUTH_TOKEN)}, timeout=10
    )


def _bridged_call(lsvc, tel, tw_url, session, n, clock):
    """A caller in conversation with ana: offered, answered, accepted, joined."""
    call = sid(1000 + n)
    _, placed = reserve(lsvc, tel, call)
    leg = placed["sid"]
    assert _post(session, placed["url"], call_params(leg, Direction="outbound-api")).ok
    accept = placed["url"].replace("/answer?", "/accept?")
    assert _post(session, accept, call_params(leg, Direction="outbound-api", Digits="1")).ok
    work(lsvc)  # bridge job: the caller is dequeued towards the join URL
    assert _post(session, f"{tw_url}/webhooks/agent/join?call={call}", call_params(call)).ok
    clock.advance(95)
    return call, placed


def _fire(signals):
    go = threading.Barrier(len(signals))
    errors = []

    def run(fn):
        try:
            go.wait()
            fn()
        except Exception as e:  # pragma: no cover - shown by the assertion
            errors.append(e)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in signals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.slow
@pytest.mark.parametrize("how_many", [2, 3])
def test_end_signals_at_the_same_instant_give_one_end_and_one_wrap_up(
    lsvc, tel, served, clock, how_many, report_figure
):
    setup_team(lsvc)
    session = requests.Session()
    url = served.url
    for n in range(ROUNDS):
        call, placed = _bridged_call(lsvc, tel, url, session, n, clock)
        leg = placed["sid"]
        signals = [
            lambda: _post(
                session,
                placed["status_callback"],
                call_params(
                    leg, CallStatus="completed", Direction="outbound-api", CallDuration="95"
                ),
            ),
            lambda: _post(
                session,
                f"{url}/webhooks/agent/ended?call={call}&agent=ana",
                call_params(leg, Direction="outbound-api", DialCallStatus="completed"),
            ),
        ]
        if how_many == 3:
            signals += [
                lambda: _post(
                    session,
                    f"{url}/webhooks/voice/status",
                    call_params(call, CallStatus="completed", CallDuration="120"),
                ),
                lambda: conversation.caller_leg_ended(lsvc, call),  # the caller_ended job, at once
            ]
        _fire([lambda f=f: f() for f in signals])
        work(lsvc)
        log = [e for e in lsvc.events.read() if e.call_sid == call]
        types = [e.type for e in log]
        assert types.count("call_completed") == 1, types
        assert types.count("wrapup_started") == 1, types
        assert lsvc.agents.get("ana").state == "wrapup", (n, types)
        assert call_hash(lsvc, call)["state"] == "completed"
        assert wrapup.done(lsvc, "ana", call) == "ended"  # ready for the next round
        work(lsvc)
    invariants.assert_holds(reports.read_log(lsvc))
    report_figure(
        f"{how_many} end signals at once, {ROUNDS} rounds over real HTTP: "
        f"{ROUNDS} call_completed, {ROUNDS} wrapup_started, agent in wrap-up every time"
    )
