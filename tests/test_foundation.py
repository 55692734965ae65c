"""The foundation: settings validation, clock, embedded Redis, event log, signatures."""

import json

import pytest
from click.testing import CliRunner

from hotline.clock import ManualClock, ScaledClock, clock_from_spec
from hotline.config import Settings
from hotline.errors import ConfigError
from hotline.events import parse_since
from hotline.store.embedded import EmbeddedRedis


def env(**kw):
    base = {
        "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
        "TWILIO_AUTH_TOKEN": "tok",
        "HOTLINE_PUBLIC_URL": "https://hotline.example.org",
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    "var,value,needle",
    [
        ("TWILIO_ACCOUNT_SID", None, "TWILIO_ACCOUNT_SID"),
        ("TWILIO_ACCOUNT_SID", "XX123", "TWILIO_ACCOUNT_SID"),
        ("TWILIO_AUTH_TOKEN", None, "TWILIO_AUTH_TOKEN"),
        ("HOTLINE_PUBLIC_URL", None, "HOTLINE_PUBLIC_URL"),
        ("HOTLINE_PUBLIC_URL", "ftp://x", "HOTLINE_PUBLIC_URL"),
        ("HOTLINE_TIMEZONE", "Mars/Olympus", "HOTLINE_TIMEZONE"),
        ("HOTLINE_LANGUAGES", "french", "HOTLINE_LANGUAGES"),
        ("REDIS_URL", "http://localhost", "REDIS_URL"),
        ("HOTLINE_MODE", "yolo", "HOTLINE_MODE"),
        ("HOTLINE_FALLBACK_NUMBER", "0612345678", "HOTLINE_FALLBACK_NUMBER"),
    ],
)
def test_each_bad_setting_is_named(var, value, needle):
    with pytest.raises(ConfigError, match=needle):
        Settings.from_env(env(**{var: value}))


def test_production_defaults():
    s = Settings.from_env(env())
    assert s.timezone == "Europe/Paris"
    assert s.languages == ("fr-FR", "en-US")
    assert s.redis_url is None
    assert (
        s.url("/webhooks/voice/incoming") == "https://hotline.example.org/webhooks/voice/incoming"
    )


def test_demo_mode_generates_shared_simulator_credentials(tmp_path):
    e = {"HOTLINE_MODE": "demo", "HOTLINE_DATA_DIR": str(tmp_path)}
    a = Settings.from_env(e)
    b = Settings.from_env(e)
    assert a.twilio_account_sid.startswith("AC") and len(a.twilio_account_sid) == 34
    assert (a.twilio_account_sid, a.twilio_auth_token) == (
        b.twilio_account_sid,
        b.twilio_auth_token,
    )


def test_clocks():
    c = ManualClock(100.0)
    c.advance(5)
    assert c.now() == 105.0
    assert isinstance(clock_from_spec("system").now(), float)
    s = ScaledClock(real_start=0.0, sim_start=1000.0, speed=30)
    assert s.real_delay(60) == 2.0
    again = clock_from_spec(s.spec())
    assert abs(again.now() - s.now()) < 1.0
    with pytest.raises(ValueError):
        clock_from_spec("scaled:nope")


def test_embedded_redis_is_shared_and_persists(tmp_path):
    d = tmp_path / "r"
    first = EmbeddedRedis(d)
    assert first.ensure() is True
    try:
        second = EmbeddedRedis(d)
        assert second.ensure() is False  # reused, not started twice
        import redis

        r = redis.Redis.from_url(second.url)
        r.set("k", "v")
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("appendfsync") == {"appendfsync": "everysec"}
        r.close()
    finally:
        first.stop()
    assert not first.ping()
    third = EmbeddedRedis(d)
    third.ensure()
    try:
        import redis

        assert redis.Redis.from_url(third.url).get("k") == b"v"  # AOF kept it
    finally:
        third.stop()


def test_event_log_uses_the_injected_clock(svc, clock):
    svc.events.append("call_created", call_sid="CA1", from_number="+33600000000")
    clock.advance(90)
    svc.events.append("abandoned", call_sid="CA1", wait_s=90.0)
    evs = svc.events.read()
    assert [e.type for e in evs] == ["call_created", "abandoned"]
    assert evs[0].ts == clock.now() - 90
    j = evs[1].to_json(svc.settings.tz)
    assert j["call_sid"] == "CA1" and j["type"] == "abandoned"
    assert j["ts"].endswith("+02:00")  # Paris, summer time at T0
    assert [e.type for e in svc.events.read(since=clock.now() - 10)] == ["abandoned"]


def test_parse_since(svc):
    now = 10_000.0
    assert parse_since("15m", now, svc.settings.tz) == now - 900
    assert parse_since("2026-01-01T00:00:00+00:00", now, svc.settings.tz) == 1767225600.0
    with pytest.raises(ValueError):
        parse_since("yesterday", now, svc.settings.tz)


def test_cli_events_json(svc, monkeypatch, redis_url, settings):
    svc.events.append("call_created", call_sid="CA9")
    from hotline.cli import main

    monkeypatch.setenv("HOTLINE_MODE", "test")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    res = CliRunner().invoke(main, ["events", "--json"])
    assert res.exit_code == 0, res.output
    line = json.loads(res.output.strip().splitlines()[-1])
    assert {"id", "ts", "type", "call_sid"} <= set(line)


def test_web_workers_follow_web_concurrency_else_cores_plus_one(monkeypatch):
    from hotline.config import web_workers

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert web_workers({}) == 3
    assert web_workers({"WEB_CONCURRENCY": "5"}) == 5
    for bad in ("two", "0"):
        with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
            web_workers({"WEB_CONCURRENCY": bad})
