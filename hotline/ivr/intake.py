"""The IVR steps: what one webhook request does to the call and what the caller hears next.

Each method takes the request's form parameters and query values (plain dicts
and strings, no Flask) and returns TwiML. Decisions come from flow.py, sentences
from prompts.py, TwiML from menu.py. The steps every caller repeats (incoming,
menu, wait loop) cost one Redis round trip each, a Lua script that writes the
call and its events together; entering the line also queues the routing job,
and, once a roster exists, asks routing whether anyone can take the call.

Surprises never leave the caller in silence: a call we do not know is sent back
to the incoming URL (which creates it), a request that arrives out of order
(a retried webhook, a step for a call already waiting) resumes the call where
its stored state says it is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from .. import job_names as names
from ..languages import spoken
from ..legs import conversation
from ..queue.calls import Call, valid_sid
from ..routing import afterhours
from . import flow, menu, prompts
from .classify import selfhelp_tip as _tip
from .classify import speech_hints as _hints
from .fallback import fallback_twiml
from .menu import Links

if TYPE_CHECKING:
    from ..services import Services


log = logging.getLogger(__name__)

MAX_SPEECH_CHARS = 300


# Twilio's Enqueue results that a new <Enqueue> may cure, and how many times to try.
QUEUE_ERRORS = ("error", "system-error")
MAX_QUEUE_RETRIES = 2


def _count(value) -> int:
    try:
        return min(max(int(value), 0), 99)
    except (TypeError, ValueError):
        return 0


def _attempt(value) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), flow.MAX_MENU_PLAYS)


def _turn(value) -> int | None:
    """The `t` of a request URL: the turn its document was made at (None: not given)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 0 < n < 10_000 else None


class Intake:
    def __init__(self, svc: Services):
        self.svc = svc
        self.links = Links(svc.settings.public_url)
        self.default_lang = spoken(svc.settings.default_language)
        self.music_url = svc.settings.hold_music_url

    def lang(self, value: str | None) -> str:
        return spoken(value, self.default_lang)

    # Where a call is, by its stored state (for out-of-order, repeated and replayed requests).
    def resume(self, call: Call | None, lang: str, *, retry: int = 0) -> str:
        """The document the caller should be in now, changing nothing: the IVR stage at the
        current turn, the queue, the agent's conference, or goodbye. A bridged call never
        hears the menu."""
        if call is None:
            return menu.redirect(self.links.incoming(lang))
        lang = self.lang(call.lang or lang)
        state, turn = call.state, call.turn or None
        if state in flow.WAITING:
            return menu.enqueue(self.links, lang, call.skill or "general", retry=retry, turn=turn)
        if state == "bridged":
            return self._bridged(call.sid, lang)
        if flow.is_final(state) or state == flow.CALLBACK or state not in flow.IN_IVR:
            return menu.goodbye(lang)
        # Every step writes its stage (after hours keeps state `selfhelp`): dispatch on it.
        stage = call.ivr_stage or ("selfhelp" if state == "selfhelp" else "menu")
        if stage == "selfhelp":
            category = call.category or "general"
            return menu.selfhelp(
                self.links, lang, category, _tip(category, lang), code=call.error_code, turn=turn
            )
        if stage == "error_code":
            return menu.error_code(self.links, lang, turn=turn)
        if stage == "confirm":
            full = self.svc.calls.get(call.sid)
            category = (full.extra.get("pending_category") if full else None) or "general"
            return menu.confirm(self.links, lang, category, max(1, call.menu_attempts), turn=turn)
        if stage == "after_hours":
            return self._after_hours_twiml(call.skill or "general", call.category, lang)
        attempt = min(call.menu_attempts + 1, flow.MAX_MENU_PLAYS)
        if call.turn <= 1:
            return menu.greeting(
                self.links,
                lang,
                self.svc.announcements.current(lang),
                hints=_hints(lang),
                turn=turn,
            )
        return menu.menu(self.links, lang, attempt, hints=_hints(lang), turn=turn)

    def _bridged(self, sid: str, lang: str) -> str:
        """A caller whose call is bridged to an agent, found outside the conference (an
        Enqueue action, an out-of-order request): into the agent's conference if the
        conversation has not begun, else it is over."""
        if self.svc.redis.hget(self.svc.keys.call(sid), "bridged_at"):
            return menu.hangup()  # the conversation took place: it is over
        return conversation.join(self.svc, sid, sid, who="caller")

    def _stale(self, res, lang: str) -> str:
        return self.resume(res.call, lang)

    # POST /incoming ----------------------------------------------------------
    def incoming(self, form, lang_q: str | None = None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        if not valid_sid(sid):
            log.warning("incoming call without a usable CallSid: %r", sid)
            return fallback_twiml(self.svc.settings, lang)
        a = self.svc.calls.arrive(sid, form.get("From", ""), form.get("To", ""), lang)
        if not a.created:
            return self.resume(a.call, lang)  # a retried webhook: where the call is now
        lang = self.lang(a.call.lang)
        return menu.greeting(
            self.links, lang, a.announcement, hints=_hints(lang), turn=a.call.turn or None
        )

    # POST /menu ------------------------------------------------------------------
    def menu_answer(self, form, lang_q, attempt_q, turn_q=None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        attempt = _attempt(attempt_q)
        turn = _turn(turn_q)
        digits = (form.get("Digits") or "").strip()[:8]
        speech = (form.get("SpeechResult") or "").strip()[:MAX_SPEECH_CHARS]
        d = flow.decide_menu(digits, speech, lang, attempt)
        answer = None
        if digits or speech:
            answer = {
                "digit": digits or None,
                "speech": speech or None,
                "speech_confidence": form.get("Confidence") or None,
                "attempt": attempt,
            }
        said = [{"type": "menu_choice", **answer}] if answer else []

        if d.kind == "switch_language":
            res = self.svc.calls.step(
                sid,
                {"lang": d.lang, "menu_attempts": 0, "ivr_stage": "menu"},
                [*said, {"type": "language_chosen", "lang": d.lang}],
                states=("ivr",),
                turn=turn,
            )
            if res.call is None or not res.applied:
                return self._stale(res, lang)
            return menu.menu(
                self.links,
                d.lang,
                1,
                announcement=self.svc.announcements.current(d.lang),
                hints=_hints(d.lang),
                turn=res.call.turn,
            )
        if d.kind == "retry":
            return self._retry(sid, lang, attempt, d, said, turn)
        if d.kind == "confirm":
            res = self.svc.calls.step(
                sid,
                {
                    "menu_attempts": attempt,
                    "confidence": d.confidence,
                    "ivr_stage": "confirm",
                    "pending_category": d.category,
                },
                [
                    *said,
                    {
                        "type": "confirmation_asked",
                        "category": d.category,
                        "confidence": d.confidence,
                        "matched": ",".join(d.matched),
                    },
                ],
                states=("ivr",),
                turn=turn,
            )
            if res.call is None or not res.applied:
                return self._stale(res, lang)
            return menu.confirm(self.links, lang, d.category, attempt, turn=res.call.turn)
        # The answer that classifies the call is recorded on `classified` itself: one
        # event for one decision (and one XADD fewer on the busiest IVR step).
        return self._classified(sid, d, [], answer=answer, turn=turn)

    # POST /confirm ---------------------------------------------------------------
    def confirm_answer(self, form, lang_q, category_q, attempt_q, turn_q=None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        attempt = _attempt(attempt_q)
        turn = _turn(turn_q)
        digits = (form.get("Digits") or "").strip()[:8]
        d = flow.decide_confirm(digits, category_q, lang, attempt)
        said = (
            [{"type": "menu_choice", "digit": digits, "attempt": attempt, "confirming": category_q}]
            if digits
            else []
        )
        if d.kind == "classified":
            return self._classified(
                sid,
                d,
                [*said, {"type": "classification_confirmed", "category": d.category}],
                turn=turn,
            )
        if d.kind == "retry":
            return self._retry(sid, lang, attempt, d, said, turn)
        return self._classified(sid, d, said, turn=turn)

    def _retry(
        self,
        sid: str,
        lang: str,
        attempt: int,
        d: flow.MenuDecision,
        said: list[dict],
        turn: int | None,
    ) -> str:
        """No input, or input outside the menu: the menu again (flow decides when to stop)."""
        res = self.svc.calls.step(
            sid,
            {"menu_attempts": attempt, "ivr_stage": "menu"},
            [*said, {"type": "menu_retry", "reason": d.reason, "attempt": d.attempt}],
            states=("ivr",),
            turn=turn,
        )
        if res.call is None or not res.applied:
            return self._stale(res, lang)
        return menu.menu(
            self.links, lang, d.attempt, reason=d.reason, hints=_hints(lang), turn=res.call.turn
        )

    def _classified(
        self,
        sid: str,
        d: flow.MenuDecision,
        said: list[dict],
        answer: dict | None = None,
        turn: int | None = None,
    ) -> str:
        """The caller has a category (by key, speech, confirmation, or after three misses).
        `answer`: the menu answer that gave it (digit, speech...), kept on the event."""
        lang, category = d.lang, d.category or "general"
        skill = flow.skill_for(category)
        before = ("to_general",) if d.kind == "general_fallback" else ()
        fields = {
            "category": category,
            "skill": skill,
            "confidence": d.confidence,
            "menu_attempts": d.attempt,
            "classified_by": d.method,
        }
        events = [
            *said,
            {
                "type": "classified",
                "category": category,
                "skill": skill,
                "confidence": d.confidence,
                "method": d.method,
                "matched": ",".join(d.matched) or None,
                "reason": d.reason,
                **(answer or {}),
            },
        ]
        code_first = flow.needs_error_code(category)
        if code_first:
            fields["ivr_stage"] = "error_code"
        else:
            fields["state"] = "selfhelp"
            fields["ivr_stage"] = "selfhelp"
            events.append({"type": "selfhelp_offered", "category": category})
        res = self.svc.calls.step(sid, fields, events, states=("ivr",), turn=turn)
        if res.call is None or not res.applied:
            return self._stale(res, lang)
        if code_first:
            return menu.error_code(self.links, lang, before=before, turn=res.call.turn)
        return menu.selfhelp(
            self.links, lang, category, _tip(category, lang), before=before, turn=res.call.turn
        )

    # POST /error-code ------------------------------------------------------------
    def error_code(self, form, lang_q, turn_q=None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        code = flow.clean_error_code(form.get("Digits"))
        events = [{"type": "error_code_captured", "error_code": code}] if code else []
        events.append({"type": "selfhelp_offered", "category": "error_message"})
        fields = {"state": "selfhelp", "ivr_stage": "selfhelp"}
        if code:
            fields["error_code"] = code
        res = self.svc.calls.step(sid, fields, events, states=("ivr",), turn=_turn(turn_q))
        if res.call is None or not res.applied:
            return self._stale(res, lang)
        return menu.selfhelp(
            self.links,
            lang,
            "error_message",
            _tip("error_message", lang),
            code=code,
            turn=res.call.turn,
        )

    # POST /selfhelp --------------------------------------------------------------
    def selfhelp_answer(self, form, lang_q, category_q, turn_q=None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        turn = _turn(turn_q)
        digits = (form.get("Digits") or "").strip()[:8]
        if flow.selfhelp_resolved(digits):
            res = self.svc.calls.step(
                sid,
                {"state": "resolved", "ended_at": self.svc.clock.now()},
                [{"type": "selfhelp_resolved", "category": category_q}],
                states=("selfhelp",),
                turn=turn,
            )
            if res.call is None or not res.applied:
                return self._stale(res, lang)
            return menu.goodbye(lang, "resolved")
        category = category_q if category_q in flow.SKILL_OF else None
        skill = flow.skill_for(category)
        closed = self._after_hours(sid, lang, skill, category, turn)
        if closed is not None:
            return closed
        res = self.svc.waiting.enqueue(sid, skill, category=category)
        if res.status == "refused":
            return self.resume(self.svc.calls.get(sid) if res.state else None, lang)
        if res.status == "enqueued":
            self._notify_routing(sid)
        return menu.enqueue(
            self.links, lang, skill, repeat=res.repeat and res.status == "enqueued", turn=res.turn
        )

    def _after_hours(
        self, sid: str, lang: str, skill: str, category: str | None, turn: int | None = None
    ) -> str | None:
        """TwiML for a call nobody can take now (routing/afterhours.py), else None.

        Only once a roster is loaded: without one we know nothing of shifts, and the
        caller waits in the line, as in a hotline without shifts."""
        if not self.svc.redis.exists(self.svc.keys.roster):
            return None
        info = afterhours.check(self.svc, skill, category)
        if info.open:
            return None
        res = self.svc.calls.step(
            sid,
            {"skill": skill, "category": category or skill, "ivr_stage": "after_hours"},
            [{"type": "after_hours_offered", "skill": skill, "next_cover_at": info.next_cover_at}],
            states=flow.IN_IVR,
            turn=turn,
        )
        if res.call is None or not res.applied:
            return self._stale(res, lang)
        return self._after_hours_twiml(skill, category, lang, info)

    def _after_hours_twiml(self, skill: str, category: str | None, lang: str, info=None) -> str:
        info = info or afterhours.check(self.svc, skill, category)
        now = self.svc.clock.now()
        message = prompts.after_hours_message(lang, info.next_cover_at, self.svc.settings.tz, now)
        return menu.after_hours(self.links, lang, message)

    # POST /voicemail (Record action) and /transcription (transcribeCallback) -------
    def voicemail(self, form, lang_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        if valid_sid(sid):
            status = afterhours.request_callback(
                self.svc, sid, form.get("RecordingUrl") or "", form.get("RecordingDuration") or ""
            )
            if status in ("not_found", "too_late"):
                log.warning(
                    "voicemail for call %s not turned into a callback: %s (%s)",
                    sid,
                    status,
                    form.get("RecordingUrl"),
                )
        return menu.goodbye(lang, "voicemail_thanks")

    def transcription(self, form) -> str:
        sid = form.get("CallSid", "")
        if valid_sid(sid):
            afterhours.add_transcription(
                self.svc, sid, (form.get("TranscriptionText") or "")[:4000]
            )
        return menu.empty()

    def _notify_routing(self, sid: str) -> None:
        # The caller is already safe in the line; if the job cannot be queued the routing
        # engine's periodic sweep still finds the call, so the caller is not failed for it.
        try:
            self.svc.rq_queue.enqueue(names.CALL_WAITING, sid)
        except redis.RedisError:
            log.exception(
                "could not enqueue %s for %s; the routing sweep will pick it up",
                names.CALL_WAITING,
                sid,
            )
