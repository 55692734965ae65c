"""`hotline call` and `hotline demo` end to end: the real IVR over real HTTP, through the simulator.

The CLI builds its own app from the environment (REDIS_URL = the test session's
Redis, flushed around each test by the `svc` fixture), serves it on a loopback
port and calls it; the test then reads what the app stored through `svc`.
"""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from hotline.carrier.loopback import LoopbackServer
from hotline.cli import main


@pytest.fixture
def env(redis_url, tmp_path):
    return {
        "REDIS_URL": redis_url,
        "HOTLINE_MODE": "test",
        "HOTLINE_DATA_DIR": str(tmp_path / "d"),
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        "HOTLINE_PUBLIC_URL": None,
        "HOTLINE_CLOCK": None,
        "HOTLINE_KEY_PREFIX": None,
    }


def run(env, *args):
    result = CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    return result


def event_types(svc, sid):
    return [e.type for e in svc.events.read(call_sid=sid)]


def test_call_press_1_is_a_connection_problem_that_waits_then_hangs_up(svc, env):
    result = run(env, "call", "--press", "1", "--hangup-after", "60", "--from", "+33698765432")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[Say fr-FR] Bonjour" in out
    assert "[Gather] pressed 1" in out
    assert "[Enqueue connection]" in out
    assert "[Caller hangs up after 60s in queue]" in out
    sid = out.strip().splitlines()[-1].split()[2]
    assert sid.startswith("CA")
    types = event_types(svc, sid)
    assert types[0] == "call_created"
    assert {"classified", "enqueued", "abandoned"} <= set(types)
    abandoned = svc.events.read(call_sid=sid, types={"abandoned"})
    assert len(abandoned) == 1  # the Enqueue action and the status callback count it once
    # The app read the simulator's virtual clock: it logged the hang-up when the caller heard it.
    created = svc.events.read(call_sid=sid, types={"call_created"})[0]
    hangup_line = next(x for x in out.splitlines() if "Caller hangs up" in x)
    minutes, seconds = hangup_line.split()[0].split(":")
    assert abandoned[0].ts - created.ts == pytest.approx(int(minutes) * 60 + int(seconds), abs=1)


def test_call_json_has_the_transcript_and_every_request_was_accepted(svc, env):
    result = run(env, "call", "--press", "2,1", "--json")
    assert result.exit_code == 0, result.output
    call = json.loads(result.stdout)
    assert call["status"] == "completed"
    assert call["transcript"][-1]["verb"] == "Hangup"
    assert all(r["status"] == 200 for r in call["requests"])
    assert call["requests"][-1]["url"].endswith("/webhooks/voice/status")
    assert "selfhelp_resolved" in event_types(svc, call["call_sid"])


def test_call_in_english_by_speech(svc, env):
    result = run(
        env, "call", "--lang", "en", "--say", "Excel crashes when I open it", "--hangup-after", "30"
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[Gather] pressed 9" in out
    assert '[Gather] said "Excel crashes when I open it"' in out
    assert "[Say en-US]" in out
    assert "[Enqueue software]" in out


def test_bad_keys_are_one_clear_error_line(svc, env):
    result = run(env, "call", "--press", "1,x")
    assert result.exit_code == 1
    assert "phone keys" in result.output
    assert len(svc.events) == 0


def test_call_url_goes_to_a_running_app_with_signed_requests(svc, env):
    from hotline.app import create_app

    with LoopbackServer() as http:
        svc.settings = svc.settings.with_(public_url=http.url)
        http.mount(create_app(svc))
        # Real time on the caller's side, sped up 1000x so the Says take milliseconds.
        env = {
            **env,
            "HOTLINE_MODE": "test",
            "TWILIO_ACCOUNT_SID": svc.settings.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": svc.settings.twilio_auth_token,
            "HOTLINE_CLOCK": f"scaled:{time.time()}:{time.time()}:1000",
        }
        result = run(env, "call", "--url", http.url, "--press", "2,1")
    assert result.exit_code == 0, result.output
    assert "[Gather] pressed 1" in result.stdout
    assert "selfhelp_resolved" in [e.type for e in svc.events.read()]


def test_call_url_with_the_wrong_token_fails_loudly(svc, env):
    from hotline.app import create_app

    with LoopbackServer() as http:
        svc.settings = svc.settings.with_(public_url=http.url)
        http.mount(create_app(svc))
        env = {
            **env,
            "TWILIO_ACCOUNT_SID": svc.settings.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": "wrong",
        }
        result = run(env, "call", "--url", http.url, "--press", "1")
    assert result.exit_code == 1
    assert "403" in result.output
    assert len(svc.events) == 0
