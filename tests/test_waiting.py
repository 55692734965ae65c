"""The queue domain on a real Redis: calls, waiting lines, abandon, estimates, announcements."""

from __future__ import annotations

import pytest

from hotline.errors import UnknownCall
from hotline.queue.calls import REPEAT_WINDOW_S
from hotline.queue.estimates import HISTORY, estimate_from
from hotline.states import BOOST_PER_PRIORITY_S


def arrive(svc, sid, number, to="+33100000000", lang="fr"):
    a = svc.calls.arrive(sid, number, to, lang)
    return a.call, a.created


def new_call(svc, sid, number=None, *, state="selfhelp", category="connection"):
    # A number of its own: the same number twice would make a repeat caller.
    number = number or f"+336{sum(map(ord, sid)) * 7919 % 10**8:08d}"
    _, created = arrive(svc, sid, number, "+33100000000", "fr")
    assert created
    svc.calls.update(sid, state=state, category=category, skill=category)
    return svc.calls.get(sid)


def line(svc, skill="connection"):
    return svc.redis.zrange(svc.keys.waiting(skill), 0, -1)


# ---------------------------------------------------------------- the call record


def test_arrive_is_idempotent(svc):
    a, created = arrive(svc, "CA1", "+33611111111", "+33100000000", "en")
    b, again = arrive(svc, "CA1", "+33611111111", "+33100000000", "fr")
    assert created and not again
    assert a == b and b.lang == "en" and b.state == "ivr" and b.created_at == svc.clock.now()
    assert [e.type for e in svc.events.read()] == ["call_created"]


def test_a_number_that_called_within_24_hours_is_a_repeat_caller(svc, clock):
    first, _ = arrive(svc, "CA1", "+33611111111")
    clock.advance(REPEAT_WINDOW_S - 1)
    second, _ = arrive(svc, "CA2", "+33611111111")
    clock.advance(REPEAT_WINDOW_S)
    third, _ = arrive(svc, "CA3", "+33611111111")
    other, _ = arrive(svc, "CA4", "+33622222222")
    assert (first.repeat, first.priority) == (False, 0)
    assert (second.repeat, second.priority, second.previous_call_at) == (True, 1, first.created_at)
    assert (third.repeat, other.repeat) == (False, False)


@pytest.mark.parametrize("number", ["anonymous", "", "+266696687", "Restricted"])
def test_withheld_numbers_are_never_repeat_callers(svc, number):
    arrive(svc, "CA1", number)
    again, _ = arrive(svc, "CA2", number)
    assert not again.repeat
    assert svc.redis.keys(svc.keys.caller("*")) == []


def test_list_by_state_and_unknown_call(svc, clock):
    new_call(svc, "CA1", state="waiting")
    clock.advance(1)
    new_call(svc, "CA2", state="resolved")
    assert [c.sid for c in svc.calls.list()] == ["CA1", "CA2"]
    assert [c.sid for c in svc.calls.list("resolved")] == ["CA2"]
    assert svc.calls.get("CA9") is None
    with pytest.raises(UnknownCall):
        svc.calls.update("CA9", state="waiting")
    assert not svc.redis.exists(svc.keys.call("CA9"))


def test_step_applies_only_from_allowed_states(svc):
    new_call(svc, "CA1", state="waiting")
    res = svc.calls.step(
        "CA1", {"state": "resolved"}, [{"type": "selfhelp_resolved"}], states=("selfhelp",)
    )
    assert not res.applied and res.call.state == "waiting"
    assert [e.type for e in svc.events.read()] == ["call_created"]


def test_fields_other_modules_add_are_kept(svc):
    new_call(svc, "CA1")
    svc.calls.update("CA1", agent_id="alice")
    call = svc.calls.get("CA1")
    assert call.extra["agent_id"] == "alice" and call.to_dict()["agent_id"] == "alice"


# ---------------------------------------------------------------- waiting lines


def test_equal_effective_arrivals_are_strictly_fifo(svc):
    # Sids in reverse alphabetical order: a zset would order equal scores by member.
    sids = [f"CA{9 - i}" for i in range(8)]
    for sid in sids:
        new_call(svc, sid)
        assert svc.waiting.enqueue(sid, "connection").status == "enqueued"
    assert line(svc) == sids


def test_priority_overtakes_recent_arrivals_but_never_longer_waits(svc, clock):
    new_call(svc, "CAold")
    svc.waiting.enqueue("CAold", "connection")
    clock.advance(BOOST_PER_PRIORITY_S + 10)
    new_call(svc, "CArecent")
    svc.waiting.enqueue("CArecent", "connection")
    clock.advance(5)
    new_call(svc, "CAprio")
    svc.calls.update("CAprio", priority=1)
    res = svc.waiting.enqueue("CAprio", "connection")
    assert res.priority == 1
    assert res.effective_at == pytest.approx(clock.now() - BOOST_PER_PRIORITY_S, abs=0.002)
    assert line(svc) == ["CAold", "CAprio", "CArecent"]
    assert svc.waiting.position("CAprio") == (2, 3)


def test_enqueue_is_refused_for_final_or_unknown_calls_and_idempotent_when_waiting(svc):
    new_call(svc, "CA1", state="resolved")
    assert svc.waiting.enqueue("CA1", "connection").status == "refused"
    assert svc.waiting.enqueue("CA404", "connection").state == ""
    new_call(svc, "CA2")
    first = svc.waiting.enqueue("CA2", "connection")
    again = svc.waiting.enqueue("CA2", "software")
    assert (again.status, again.effective_at) == ("already_waiting", first.effective_at)
    assert line(svc) == ["CA2"] and line(svc, "software") == []
    assert [e.type for e in svc.events.read(types={"enqueued"})] == ["enqueued"]


def test_snapshot_shows_each_line_in_order_with_the_oldest_wait(svc, clock):
    for sid, skill in (("CA1", "software"), ("CA2", "connection"), ("CA3", "software")):
        new_call(svc, sid, category=skill)
        svc.waiting.enqueue(sid, skill)
        clock.advance(30)
    snap = {lv.skill: lv for lv in svc.waiting.snapshot()}
    assert set(snap) == {"connection", "software"}
    assert [c.sid for c in snap["software"].calls] == ["CA1", "CA3"]
    assert snap["software"].waiting == 2 and snap["software"].oldest_wait_s == 90.0
    assert [c.waited_s for c in snap["software"].calls] == [90.0, 30.0]
    assert snap["connection"].to_dict()["calls"][0]["sid"] == "CA2"


def test_abandon_removes_the_call_from_every_line_it_is_in_once(svc, clock):
    new_call(svc, "CA1")
    res = svc.waiting.enqueue("CA1", "connection")
    # The routing engine's overflow adds the call to another line and lists it in `lines`.
    svc.redis.zadd(svc.keys.waiting("general"), {"CA1": res.effective_at})
    svc.calls.update("CA1", lines="connection,general")
    clock.advance(75)
    first = svc.waiting.abandon("CA1", via="action")
    second = svc.waiting.abandon("CA1", via="status", status="completed", duration="80")
    assert (first.abandoned, first.state_before) == (True, "waiting")
    assert (second.abandoned, second.state_before, second.ended) == (False, "abandoned", True)
    assert line(svc) == [] and line(svc, "general") == []
    call = svc.calls.get("CA1")
    assert call.state == "abandoned" and call.wait_s == 75.0 and call.ended_at == clock.now()
    assert [e.type for e in svc.events.read(types={"abandoned", "call_ended"})] == [
        "abandoned",
        "call_ended",
    ]


def test_abandon_does_nothing_to_a_resolved_or_unknown_call(svc):
    new_call(svc, "CA1", state="resolved")
    assert not svc.waiting.abandon("CA1", via="action").abandoned
    assert svc.calls.get("CA1").state == "resolved"
    assert svc.waiting.abandon("CA404", via="action").state_before == ""
    assert not svc.redis.exists(svc.keys.call("CA404"))
    # A status callback for a call never seen: a finished tombstone (a late /incoming hangs up).
    assert svc.waiting.abandon("CA404", via="status", status="completed").state_before == ""
    assert svc.calls.get("CA404").state == "left_ivr"


def test_remove_takes_a_sid_out_of_lines_without_touching_the_call(svc):
    new_call(svc, "CA1")
    svc.waiting.enqueue("CA1", "connection")
    assert svc.waiting.remove("CA1") == 1
    assert line(svc) == [] and svc.calls.get("CA1").state == "waiting"


# ---------------------------------------------------------------- estimates


@pytest.mark.parametrize(
    "position,times,staffed,expected",
    [
        (1, [], 3, None),  # no data: "a few minutes"
        (1, [300], 0, None),  # nobody staffed: depends on overflow, not on handle times
        (1, [300], None, 150.0),  # staffing unknown: as if one agent
        (1, [200, 400], 1, 150.0),
        (3, [300], 1, 750.0),
        (3, [300], 2, 450.0),
        (4, [300], 2, 450.0),
        (0, [300], 1, None),
    ],
)
def test_estimate_from_handle_times_and_staffing(position, times, staffed, expected):
    assert estimate_from(position, times, staffed) == expected


def test_handle_time_history_is_capped_newest_first(svc):
    for s in range(HISTORY + 10):
        svc.estimates.record_handle_time("software", float(s))
    times = svc.estimates.handle_times("software")
    assert len(times) == HISTORY and times[0] == HISTORY + 9
    with pytest.raises(ValueError):
        svc.estimates.record_handle_time("software", -5)


def test_staffed_count_comes_from_the_routing_engine_cached_briefly(svc, clock, monkeypatch):
    calls = []

    class Agents:
        def staffed_count(self, skill):
            calls.append(skill)
            return 4

    monkeypatch.setitem(svc.__dict__, "agents", Agents())
    svc.estimates.record_handle_time("general", 300)
    assert svc.estimates.estimate("general", 5) == 450.0
    assert svc.estimates.estimate("general", 5) == 450.0
    clock.advance(60)
    svc.estimates.estimate("general", 1)
    assert calls == ["general", "general"]


def test_a_failing_staffed_count_is_an_error_not_a_silent_missing_estimate(svc, monkeypatch):
    """It used to be swallowed (AttributeError included): a real bug became "no estimate"."""

    class Broken:
        def staffed_count(self, skill):
            raise AttributeError("a bug in the routing engine")

    monkeypatch.setitem(svc.__dict__, "agents", Broken())
    svc.estimates.record_handle_time("general", 120)
    with pytest.raises(AttributeError):
        svc.estimates.estimate("general", 2)


# ---------------------------------------------------------------- announcements


def test_announcement_set_current_and_clear_with_events(svc):
    assert svc.announcements.current("fr") is None
    assert svc.announcements.set("  Panne   réseau à Rennes. ", by="marie") == ["fr", "en"]
    assert svc.announcements.current("fr") == "Panne réseau à Rennes."
    svc.announcements.set("Network outage in Rennes.", "en", by="marie")
    assert svc.announcements.current("en") == "Network outage in Rennes."
    assert svc.announcements.clear(by="marie") == ["fr", "en"]
    assert svc.announcements.current("fr") is None and svc.announcements.clear() == []
    evs = svc.events.read(types={"announcement_set", "announcement_cleared"})
    assert [(e.type, e.fields["lang"], e.fields["by"]) for e in evs] == [
        ("announcement_set", "fr", "marie"),
        ("announcement_set", "en", "marie"),
        ("announcement_set", "en", "marie"),
        ("announcement_cleared", "fr", "marie"),
        ("announcement_cleared", "en", "marie"),
    ]


@pytest.mark.parametrize("text,lang", [("", None), ("   ", "fr"), ("x" * 401, None), ("ok", "de")])
def test_bad_announcements_are_refused_and_change_nothing(svc, text, lang):
    with pytest.raises(ValueError):
        svc.announcements.set(text, lang)
    assert len(svc.events) == 0 and svc.announcements.all() == {}


@pytest.mark.parametrize(
    "times,staffed",
    [([], None), ([300], 0), ([300], None), ([200, 400, 330], 1), ([95.5, 300], 2), ([600], 3)],
)
def test_the_wait_loop_script_estimates_exactly_like_estimate_from(svc, times, staffed):
    for t in times:
        svc.estimates.record_handle_time("software", t)
    sids = [f"CA{i}" for i in range(1, 6)]
    for sid in sids:
        new_call(svc, sid, category="software")
        svc.waiting.enqueue(sid, "software")
    k = svc.keys
    for position, sid in enumerate(sids, 1):
        state, pos, size, estimate, _ = svc.scripts.wait_tick(
            keys=[k.call(sid), k.waiting("software"), k.handle_times("software"), k.events],
            args=[sid, repr(svc.clock.now()), "", "" if staffed is None else staffed, "software"],
        )
        expected = estimate_from(position, times, staffed)
        assert (state, pos, size) == ("waiting", position, 5)
        assert (float(estimate) if estimate else None) == (
            None if expected is None else round(expected, 1)
        )


def test_fail_takes_a_waiting_call_out_of_its_lines_once(svc, clock):
    new_call(svc, "CA1")
    svc.waiting.enqueue("CA1", "connection")
    clock.advance(12)
    assert svc.waiting.fail("CA1", reason="queue_full").abandoned
    assert not svc.waiting.fail("CA1", reason="queue_full").abandoned
    call = svc.calls.get("CA1")
    assert call.state == "failed" and call.wait_s == 12.0 and line(svc) == []
    assert [e.type for e in svc.events.read(types={"call_failed", "abandoned"})] == ["call_failed"]
