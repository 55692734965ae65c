"""The Lua script runner: one EVALSHA on the thread's own connection, and the cases
where that connection or the server's script cache is not what it was."""

from __future__ import annotations

import threading

import pytest
import redis

from hotline.store import scripts as scripts_mod
from hotline.store.scripts import Scripts

SID = "CA" + "7" * 32


def _arrive(svc, sid=SID):
    return svc.calls.arrive(sid, "+33612345678", "+33100000000", "fr")


def test_a_script_runs_again_after_the_server_forgot_it(svc, rclient):
    assert _arrive(svc).created
    rclient.script_flush()
    res = svc.calls.step(SID, {"menu_attempts": 2}, [{"type": "menu_retry", "attempt": 2}])
    assert res.applied and res.call.menu_attempts == 2


def test_a_connection_the_server_closed_is_replaced_without_losing_the_call(svc, rclient):
    assert _arrive(svc).created
    # The server drops every other client (restart, idle timeout, CLIENT KILL).
    rclient.client_kill_filter(_type="normal", skipme=True)
    res = svc.calls.step(SID, {"menu_attempts": 3}, [])
    assert res.applied and res.call.menu_attempts == 3
    assert rclient.hget(svc.keys.call(SID), "menu_attempts") == "3"


def test_errors_from_the_script_reach_the_caller_and_the_connection_stays_usable(svc):
    bad = scripts_mod.LuaScript(svc.scripts, "bad", "return redis.call('NOSUCHCOMMAND')")
    with pytest.raises(redis.ResponseError, match=r"(?i)unknown .*command"):
        bad()
    assert _arrive(svc).created


def test_connections_are_reused_not_opened_per_thread(svc):
    # A thread-per-request server (the demo's, the simulator's) must not leave one
    # connection behind for every request it ever served.
    for _ in range(20):
        t = threading.Thread(target=_arrive, args=(svc, "CA%032d" % _))
        t.start()
        t.join()
    assert len(svc.scripts._free) == 1


def test_calls_at_the_same_time_get_different_connections_and_a_child_gets_its_own(
    svc, monkeypatch
):
    runner: Scripts = svc.scripts
    _arrive(svc)
    first, second = runner._take(), runner._take()
    assert first is not second
    runner._free += [first, second]
    # A forked child (gunicorn worker, RQ work horse) must not write on its parent's socket.
    monkeypatch.setattr(scripts_mod.os, "getpid", lambda: -1)
    assert runner._take() not in (first, second)


def test_closing_the_services_closes_the_script_connections(svc):
    _arrive(svc)
    conn = svc.scripts._free[-1]
    assert conn._sock is not None
    svc.scripts.close()
    assert conn._sock is None
    assert _arrive(svc, "CA" + "8" * 32).created  # and scripts still run afterwards


def _counting_script(svc, tmp_path, monkeypatch):
    """A script with a visible side effect (INCR), to count how often it really ran."""
    from hotline.store import scripts as scripts_mod

    lua = tmp_path / "count_once.lua"
    lua.write_text("-- KEYS[1] a counter\nreturn redis.call('INCR', KEYS[1])\n")
    monkeypatch.setattr(scripts_mod, "LUA_DIR", tmp_path)
    return svc.scripts.count_once


def test_a_reply_lost_after_the_send_is_not_sent_again(svc, tmp_path, monkeypatch):
    """The script may have run: running it again would apply its step twice."""
    import redis as redis_mod

    script = _counting_script(svc, tmp_path, monkeypatch)
    assert script(keys=["ctr"]) == 1
    conn = svc.scripts._free[-1]
    real = conn.read_response

    def lost(*a, **kw):
        conn.read_response = real
        real(*a, **kw)  # the reply arrives...
        raise redis_mod.ConnectionError("connection lost")  # ...and is lost on the way

    conn.read_response = lost
    with pytest.raises(redis_mod.ConnectionError):
        script(keys=["ctr"])
    assert svc.redis.get("ctr") == "2"  # ran once, not twice
    assert script(keys=["ctr"]) == 3  # and the runner goes on


def test_a_failed_send_is_tried_once_more_and_runs_once(svc, tmp_path, monkeypatch):
    import redis as redis_mod

    script = _counting_script(svc, tmp_path, monkeypatch)
    assert script(keys=["ctr"]) == 1
    conn = svc.scripts._free[-1]
    real = conn.send_command

    def broken(*a, **kw):
        conn.send_command = real
        raise redis_mod.ConnectionError("Error 32 while writing to socket. Broken pipe.")

    conn.send_command = broken
    assert script(keys=["ctr"]) == 2


def test_no_lua_script_names_a_key_family_itself():
    """Key names are made in store/keys.py: a script builds data-dependent names from the
    families written into it (Keys.families, store/scripts.py), never from literals."""
    import re

    families = (
        "waiting",
        "agent",
        "call",
        "reservation",
        "idle",
        "idlecall",
        "aht",
        "leg",
        "timer",
        "caller",
    )
    literal = re.compile(r"""['"](?:%s):['"]""" % "|".join(families))
    found = [
        f"{p.name}:{i}"
        for p in sorted(scripts_mod.LUA_DIR.rglob("*.lua"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if not line.lstrip().startswith("--") and literal.search(line)
    ]
    assert not found, found


@pytest.mark.parametrize("prefix", ["hotline:", "{hotline}:", 'it\'s \\ a\n"strange" préfixe]]:'])
def test_the_key_families_written_into_a_script_are_the_names_keys_py_makes(svc, prefix):
    from hotline.store.keys import Keys

    families = Keys(prefix).families
    body = "return {F.waiting, F.agent, F.call, F.reservation, F.idle, F.idlecall, F.aht}"
    preamble = scripts_mod.families_preamble(families)
    script = scripts_mod.LuaScript(svc.scripts, "families_probe", preamble + body)
    assert script() == list(families.values())


def test_a_script_that_uses_the_families_needs_them():
    with pytest.raises(ValueError, match="key families"):
        scripts_mod.source("match_call")
    assert scripts_mod.source("match_call", {"waiting": "x:"}).startswith("-- the key families")
