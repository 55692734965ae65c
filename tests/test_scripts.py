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
    with pytest.raises(redis.ResponseError, match="(?i)unknown .*command"):
        bad()
    assert _arrive(svc).created


def test_each_thread_and_each_forked_process_has_its_own_connection(svc, monkeypatch):
    runner: Scripts = svc.scripts
    here = runner._connection()
    assert runner._connection() is here
    seen = []
    t = threading.Thread(target=lambda: seen.append(runner._connection()))
    t.start()
    t.join()
    assert seen and seen[0] is not here
    # A forked child (gunicorn worker, RQ work horse) must not write on its parent's socket.
    monkeypatch.setattr(scripts_mod.os, "getpid", lambda: -1)
    assert runner._connection() is not here


def test_closing_the_services_closes_the_script_connections(svc):
    _arrive(svc)
    conn = svc.scripts._connection()
    assert conn._sock is not None
    svc.scripts.close()
    assert conn._sock is None
    assert _arrive(svc, "CA" + "8" * 32).created  # and scripts still run afterwards
