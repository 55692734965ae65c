"""TwiML for each IVR step, as pure functions returning the XML string.

Every URL is absolute (Twilio, or the simulator, needs to know only the incoming
URL) and carries the caller's language, so a step never has to read it back.
Every <Gather> is followed by a <Redirect> to its own action: Twilio falls
through to the next verb when the caller gives no input, and that request then
arrives with no Digits, which the step treats as "no input".

A document depends only on its arguments (language, attempt, category, the
announcement text, a position...), so each builder is memoised: serialising
XML costs more CPU than the Redis call behind a webhook, and the same few
hundred documents are served over and over.
"""

from __future__ import annotations

import math
from functools import lru_cache
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from ..languages import VOICE, other
from . import prompts
from .prompts import text

MENU_TIMEOUT_S = 6
CONFIRM_TIMEOUT_S = 6
ERROR_CODE_TIMEOUT_S = 10
SELFHELP_TIMEOUT_S = 6
WAIT_PAUSE_S = 20
CONNECTING_PAUSE_S = 5
BASE = "/webhooks/voice"
CACHE = 2048


class Links:
    """The absolute URLs the IVR hands to Twilio, built from HOTLINE_PUBLIC_URL."""

    def __init__(self, public_url: str):
        self.base = public_url.rstrip("/") + BASE

    def _u(self, name: str, **params) -> str:
        q = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}/{name}" + (f"?{q}" if q else "")

    def incoming(self, lang=None):
        return self._u("incoming", lang=lang)

    # `t` is the call's turn when the document was made (queue/calls.py): a request that
    # comes back with an older turn is a repeat or a replay, and changes nothing.
    def menu(self, lang, attempt, turn=None):
        return self._u("menu", lang=lang, attempt=attempt, t=turn)

    def confirm(self, lang, category, attempt, turn=None):
        return self._u("confirm", lang=lang, category=category, attempt=attempt, t=turn)

    def error_code(self, lang, turn=None):
        return self._u("error-code", lang=lang, t=turn)

    def selfhelp(self, lang, category, turn=None):
        return self._u("selfhelp", lang=lang, category=category, t=turn)

    def wait(self, lang, skill):
        return self._u("wait", lang=lang, skill=skill)

    def dequeued(self, lang, skill, retry=None, turn=None):
        return self._u("dequeued", lang=lang, skill=skill, retry=retry or None, t=turn)

    def callback(self, lang, skill):
        return self._u("callback", lang=lang, skill=skill)

    def voicemail(self, lang):
        return self._u("voicemail", lang=lang)

    def transcription(self, lang):
        return self._u("transcription", lang=lang)


def _say(node, key_or_text: str, lang: str, *, raw: bool = False, **fmt) -> None:
    node.say(key_or_text if raw else text(key_or_text, lang, **fmt), language=VOICE[lang])


def _menu_gather(r: VoiceResponse, links: Links, lang: str, attempt: int, hints: str, turn=None):
    return r.gather(
        input="dtmf speech",
        num_digits=1,
        timeout=MENU_TIMEOUT_S,
        speech_timeout="auto",
        language=VOICE[lang],
        hints=hints or None,
        action=links.menu(lang, attempt, turn),
        method="POST",
    )


@lru_cache(maxsize=CACHE)
def greeting(
    links: Links, lang: str, announcement: str | None, hints: str = "", *, turn=None
) -> str:
    """Greeting, the other language's key, the incident announcement, the menu: one Gather,
    so a caller who knows what they want can press it at once."""
    r = VoiceResponse()
    g = _menu_gather(r, links, lang, 1, hints, turn)
    _say(g, "greeting", lang)
    _say(g, "language_offer", other(lang))
    if announcement:
        _say(g, "announcement", lang, text=announcement)
    _say(g, "menu", lang)
    r.redirect(links.menu(lang, 1, turn), method="POST")
    return str(r)


RETRY_PROMPT = {
    "no_input": "retry_no_input",
    "invalid_digit": "retry_invalid",
    "no_match": "retry_no_match",
    "not_confirmed": None,
}


@lru_cache(maxsize=CACHE)
def menu(
    links: Links,
    lang: str,
    attempt: int,
    *,
    reason: str | None = None,
    announcement: str | None = None,
    hints: str = "",
    turn=None,
) -> str:
    """The menu again: after a miss (`reason`), or in the other language (with its announcement)."""
    r = VoiceResponse()
    g = _menu_gather(r, links, lang, attempt, hints, turn)
    key = RETRY_PROMPT.get(reason or "")
    if key:
        _say(g, key, lang)
    if announcement:
        _say(g, "announcement", lang, text=announcement)
    if reason is None:
        # Only just switched language: the key to switch back is offered once more.
        _say(g, "language_offer", other(lang))
    _say(g, "menu", lang)
    r.redirect(links.menu(lang, attempt, turn), method="POST")
    return str(r)


@lru_cache(maxsize=CACHE)
def confirm(links: Links, lang: str, category: str, attempt: int, *, turn=None) -> str:
    r = VoiceResponse()
    url = links.confirm(lang, category, attempt, turn)
    g = r.gather(input="dtmf", num_digits=1, timeout=CONFIRM_TIMEOUT_S, action=url, method="POST")
    _say(g, "confirm", lang, category=prompts.category_name(category, lang))
    r.redirect(url, method="POST")
    return str(r)


@lru_cache(maxsize=CACHE)
def error_code(links: Links, lang: str, *, before: tuple[str, ...] = (), turn=None) -> str:
    r = VoiceResponse()
    url = links.error_code(lang, turn)
    g = r.gather(
        input="dtmf", finish_on_key="#", timeout=ERROR_CODE_TIMEOUT_S, action=url, method="POST"
    )
    for key in before:
        _say(g, key, lang)
    _say(g, "error_code_ask", lang)
    r.redirect(url, method="POST")
    return str(r)


@lru_cache(maxsize=CACHE)
def selfhelp(
    links: Links,
    lang: str,
    category: str,
    tip: str,
    *,
    before: tuple[str, ...] = (),
    code: str | None = None,
    turn=None,
) -> str:
    """The tip (which ends with "press 1 if that solved it"); silence means "queue me"."""
    r = VoiceResponse()
    url = links.selfhelp(lang, category, turn)
    g = r.gather(input="dtmf", num_digits=1, timeout=SELFHELP_TIMEOUT_S, action=url, method="POST")
    for key in before:
        _say(g, key, lang)
    if code:
        _say(g, "error_code_thanks", lang, code=prompts.spoken_digits(code))
    _say(g, "selfhelp_intro", lang)
    _say(g, tip, lang, raw=True)
    r.redirect(url, method="POST")
    return str(r)


@lru_cache(maxsize=CACHE)
def enqueue(
    links: Links, lang: str, skill: str, *, repeat: bool = False, retry: int = 0, turn=None
) -> str:
    """Hold the caller in a Twilio queue named after the skill; our Redis line decides the order.

    `retry` counts re-entries after the carrier reported an error: it rides on the action
    URL so that the next error knows how many came before (and a repeat is not re-announced).
    """
    r = VoiceResponse()
    if not retry:
        _say(r, "queue_intro", lang)
    if repeat:
        _say(r, "repeat_caller", lang)
    r.enqueue(
        skill,
        wait_url=links.wait(lang, skill),
        wait_url_method="POST",
        action=links.dequeued(lang, skill, retry, turn),
        method="POST",
    )
    return str(r)


def estimate_sentence_key(estimate_s: float | None) -> tuple[str, dict]:
    if estimate_s is None:
        return "wait_unknown", {}
    minutes = max(1, math.ceil(estimate_s / 60))
    return ("wait_one_minute", {}) if minutes == 1 else ("wait_minutes", {"minutes": minutes})


def wait(
    lang: str,
    position: int,
    estimate_s: float | None,
    *,
    music_url: str | None = None,
    pause_s: int = WAIT_PAUSE_S,
    callback_url: str | None = None,
) -> str:
    """One turn of the wait loop: Twilio requests waitUrl again when it ends.

    With `callback_url` (the routing engine offered a callback), the turn is one
    <Gather> around the sentences and the hold, so the key works during the music too.
    """
    key, fmt = estimate_sentence_key(estimate_s)
    return _wait(lang, position, key, fmt.get("minutes"), music_url, pause_s, callback_url)


@lru_cache(maxsize=CACHE)
def _wait(lang, position, key, minutes, music_url, pause_s, callback_url) -> str:
    r = VoiceResponse()
    node = r
    if callback_url:
        node = r.gather(input="dtmf", num_digits=1, timeout=1, action=callback_url, method="POST")
    if position <= 1:
        _say(node, "position_next", lang)
    else:
        _say(node, "position", lang, position=position)
    _say(node, key, lang, **({"minutes": minutes} if minutes else {}))
    if callback_url:
        _say(node, "callback_offer", lang)
    if music_url:
        node.play(music_url)
    else:
        node.pause(length=pause_s)
    return str(r)


@lru_cache(maxsize=CACHE)
def callback_confirmed(lang: str) -> str:
    """Said inside the wait loop: the caller leaves the Twilio queue but keeps its Redis place."""
    r = VoiceResponse()
    _say(r, "callback_confirmed", lang)
    r.leave()
    return str(r)


VOICEMAIL_MAX_S = 120


@lru_cache(maxsize=CACHE)
def after_hours(links: Links, lang: str, message: str) -> str:
    """Nobody can take this call now: when they can (the message), then a voicemail."""
    r = VoiceResponse()
    _say(r, message, lang, raw=True)
    r.record(
        action=links.voicemail(lang),
        method="POST",
        max_length=VOICEMAIL_MAX_S,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
        transcribe=True,
        transcribe_callback=links.transcription(lang),
    )
    # Twilio goes on to the next verb when nothing was recorded.
    _say(r, "goodbye", lang)
    r.hangup()
    return str(r)


@lru_cache(maxsize=CACHE)
def connecting(lang: str) -> str:
    """The call left our line (an agent is being offered it): no position to give."""
    r = VoiceResponse()
    _say(r, "connecting", lang)
    r.pause(length=CONNECTING_PAUSE_S)
    return str(r)


@lru_cache(maxsize=CACHE)
def leave() -> str:
    r = VoiceResponse()
    r.leave()
    return str(r)


@lru_cache(maxsize=CACHE)
def goodbye(lang: str, key: str = "goodbye", *, before: tuple[str, ...] = ()) -> str:
    r = VoiceResponse()
    for k in before:
        _say(r, k, lang)
    _say(r, key, lang)
    r.hangup()
    return str(r)


@lru_cache(maxsize=CACHE)
def redirect(url: str) -> str:
    r = VoiceResponse()
    r.redirect(url, method="POST")
    return str(r)


@lru_cache(maxsize=CACHE)
def hangup() -> str:
    r = VoiceResponse()
    r.hangup()
    return str(r)


@lru_cache(maxsize=CACHE)
def empty() -> str:
    return str(VoiceResponse())
