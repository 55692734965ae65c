"""TwiML for the legs we place, as pure functions of their arguments (no Redis, no Flask).

The agent's leg: whisper + <Gather numDigits=1> (press 1 to take the call), then the
conference named after the caller's CallSid. The caller's (or customer's) leg: the
same conference. Both sides enter with endConferenceOnExit=true, so either hanging up
ends the conversation for both; the agent's <Dial action> tells us when it is over.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from twilio.twiml.voice_response import VoiceResponse

from ..ivr.prompts import spoken_digits
from ..languages import VOICE
from .links import AgentLinks

GATHER_TIMEOUT_S = 8
_PROMPTS = yaml.safe_load((Path(__file__).with_name("prompts.yaml")).read_text(encoding="utf-8"))


def t(key: str, lang: str, **fmt) -> str:
    s = _PROMPTS[key][lang]
    return s.format(**fmt) if fmt else s


def _say(node, text: str, lang: str) -> None:
    node.say(text, language=VOICE[lang])


def whisper_text(
    lang: str,
    *,
    category: str | None,
    caller_lang: str | None,
    wait_s: float | None,
    repeat: bool = False,
    error_code: str | None = None,
) -> str:
    """ "Connection problem, French, waiting 3 minutes, repeat caller." in the agent's language."""
    cats = _PROMPTS["category"]
    parts = [cats.get(category or "general", cats["general"])[lang]]
    if caller_lang in _PROMPTS["caller_lang"]:
        parts.append(_PROMPTS["caller_lang"][caller_lang][lang])
    if wait_s is not None:
        minutes = int(max(0.0, wait_s) // 60)
        parts.append(
            t("waited_short", lang)
            if minutes < 1
            else t("waited_one_minute", lang)
            if minutes == 1
            else t("waited_minutes", lang, n=minutes)
        )
    if repeat:
        parts.append(t("repeat_caller", lang))
    if error_code:
        parts.append(t("error_code", lang, code=spoken_digits(error_code)))
    return ", ".join(parts) + "."


def callback_text(
    lang: str,
    *,
    category: str | None,
    caller_lang: str | None,
    age_s: float | None,
    transcription: str | None = None,
    attempt: int = 1,
    error_code: str | None = None,
) -> str:
    """ "Callback request, Connection problem, French, 2 hours ago. Message: ..." """
    head = whisper_text(
        lang, category=category, caller_lang=caller_lang, wait_s=None, error_code=error_code
    )
    parts = [t("callback_head", lang), head[:-1]]
    if age_s is not None:
        minutes = int(max(0.0, age_s) // 60)
        parts.append(
            t("callback_age_hours", lang, n=minutes // 60)
            if minutes >= 120
            else t("callback_age_minutes", lang, n=max(1, minutes))
        )
    if attempt > 1:
        parts.append(t("callback_attempt", lang, n=attempt))
    text = ", ".join(parts) + "."
    if transcription:
        words = transcription.strip()
        text += " " + t("callback_message", lang, text=words[:200])
    return text


def offer(
    links: AgentLinks,
    call_sid: str,
    agent_id: str,
    lang: str,
    whisper: str,
    *,
    callback: bool = False,
) -> str:
    """Whisper, then press 1. No key (timeout) comes back to the same action with no Digits."""
    r = VoiceResponse()
    action = links.accept(call_sid, agent_id)
    g = r.gather(
        num_digits=1,
        timeout=GATHER_TIMEOUT_S,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    _say(g, whisper, lang)
    _say(g, t("press_to_call_back" if callback else "press_to_take", lang), lang)
    r.redirect(action, method="POST")
    return str(r)


def _conference(r: VoiceResponse, name: str, *, action: str | None = None) -> None:
    # startConferenceOnEnter on both sides: whoever is there first waits in silence
    # (waitUrl=""), not in hold music; endConferenceOnExit on both: one hangs up, both end.
    d = r.dial(action=action, method="POST") if action else r.dial()
    d.conference(
        name, start_conference_on_enter=True, end_conference_on_exit=True, beep=False, wait_url=""
    )


def agent_conference(
    links: AgentLinks, call_sid: str, agent_id: str, lang: str, *, callback: bool = False
) -> str:
    r = VoiceResponse()
    _say(r, t("calling_customer" if callback else "connecting", lang), lang)
    _conference(r, call_sid, action=links.ended(call_sid, agent_id))
    return str(r)


def caller_conference(call_sid: str, lang: str, *, customer: bool = False) -> str:
    r = VoiceResponse()
    _say(r, t("customer_greeting" if customer else "caller_join", lang), lang)
    _conference(r, call_sid)
    return str(r)


@lru_cache(maxsize=64)
def notice(what: str, lang: str) -> str:
    """A sentence to an agent (caller_gone, taken, declined, call_ended, customer_no_answer...), then hang up."""
    r = VoiceResponse()
    if what in _PROMPTS and isinstance(_PROMPTS[what], dict) and lang in _PROMPTS[what]:
        _say(r, t(what, lang), lang)
    r.hangup()
    return str(r)


def sorry(lang: str) -> str:
    return notice("sorry_gone", lang)


def empty() -> str:
    return str(VoiceResponse())
