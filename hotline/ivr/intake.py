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

import redis

from ..queue.calls import Call, valid_sid
from ..webhooks.fallback import fallback_twiml
from . import flow, menu
from .classify import selfhelp_tip as _tip
from .classify import speech_hints as _hints
from .menu import Links
from .prompts import lang_of

log = logging.getLogger(__name__)

MAX_SPEECH_CHARS = 300
CALL_WAITING_JOB = "hotline.jobs.call_waiting"


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


class Intake:
    def __init__(self, svc):
        self.svc = svc
        self.links = Links(svc.settings.public_url)
        self.default_lang = lang_of(svc.settings.default_language)
        self.music_url = (svc.settings.extra or {}).get("hold_music_url")

    def lang(self, value: str | None) -> str:
        return lang_of(value, self.default_lang)

    # Where a call is, by its stored state (for out-of-order and repeated requests).
    def resume(self, call: Call | None, lang: str, *, retry: int = 0) -> str:
        if call is None:
            return menu.redirect(self.links.incoming(lang))
        lang = self.lang(call.lang or lang)
        if call.state in flow.WAITING:
            return menu.enqueue(self.links, lang, call.skill or "general", retry=retry)
        if flow.is_final(call.state) or call.state == flow.CALLBACK:
            return menu.goodbye(lang)
        return menu.menu(self.links, lang, 1, hints=_hints(lang))

    # POST /incoming ----------------------------------------------------------
    def incoming(self, form, lang_q: str | None = None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        if not valid_sid(sid):
            log.warning("incoming call without a usable CallSid: %r", sid)
            return fallback_twiml(self.svc.settings, lang)
        a = self.svc.calls.arrive(sid, form.get("From", ""), form.get("To", ""), lang)
        if not a.created and a.call.state not in flow.IN_IVR:
            return self.resume(a.call, lang)
        lang = self.lang(a.call.lang)
        return menu.greeting(self.links, lang, a.announcement, hints=_hints(lang))

    # POST /menu ------------------------------------------------------------------
    def menu_answer(self, form, lang_q, attempt_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        attempt = _attempt(attempt_q)
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
                {"lang": d.lang, "menu_attempts": 0},
                said + [{"type": "language_chosen", "lang": d.lang}],
                states=flow.IN_IVR,
            )
            if res.call is None or not res.applied:
                return self.resume(res.call, lang)
            return menu.menu(
                self.links,
                d.lang,
                1,
                announcement=self.svc.announcements.current(d.lang),
                hints=_hints(d.lang),
            )
        if d.kind == "retry":
            return self._retry(sid, lang, attempt, d, said)
        if d.kind == "confirm":
            res = self.svc.calls.step(
                sid,
                {"menu_attempts": attempt, "confidence": d.confidence},
                said
                + [
                    {
                        "type": "confirmation_asked",
                        "category": d.category,
                        "confidence": d.confidence,
                        "matched": ",".join(d.matched),
                    }
                ],
                states=flow.IN_IVR,
            )
            if res.call is None or not res.applied:
                return self.resume(res.call, lang)
            return menu.confirm(self.links, lang, d.category, attempt)
        # The answer that classifies the call is recorded on `classified` itself: one
        # event for one decision (and one XADD fewer on the busiest IVR step).
        return self._classified(sid, d, [], answer=answer)

    # POST /confirm ---------------------------------------------------------------
    def confirm_answer(self, form, lang_q, category_q, attempt_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        attempt = _attempt(attempt_q)
        digits = (form.get("Digits") or "").strip()[:8]
        d = flow.decide_confirm(digits, category_q, lang, attempt)
        said = (
            [{"type": "menu_choice", "digit": digits, "attempt": attempt, "confirming": category_q}]
            if digits
            else []
        )
        if d.kind == "classified":
            return self._classified(
                sid, d, said + [{"type": "classification_confirmed", "category": d.category}]
            )
        if d.kind == "retry":
            return self._retry(sid, lang, attempt, d, said)
        return self._classified(sid, d, said)

    def _retry(self, sid: str, lang: str, attempt: int, d: flow.MenuDecision, said: list[dict]) -> str:
        """No input, or input outside the menu: the menu again (flow decides when to stop)."""
        res = self.svc.calls.step(
            sid,
            {"menu_attempts": attempt},
            said + [{"type": "menu_retry", "reason": d.reason, "attempt": d.attempt}],
            states=flow.IN_IVR,
        )
        if res.call is None or not res.applied:
            return self.resume(res.call, lang)
        return menu.menu(self.links, lang, d.attempt, reason=d.reason, hints=_hints(lang))

    def _classified(self, sid: str, d: flow.MenuDecision, said: list[dict], answer: dict | None = None) -> str:
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
        events = said + [
            {
                "type": "classified",
                "category": category,
                "skill": skill,
                "confidence": d.confidence,
                "method": d.method,
                "matched": ",".join(d.matched) or None,
                "reason": d.reason,
                **(answer or {}),
            }
        ]
        if flow.needs_error_code(category):
            twiml = menu.error_code(self.links, lang, before=before)
        else:
            fields["state"] = "selfhelp"
            events.append({"type": "selfhelp_offered", "category": category})
            twiml = menu.selfhelp(self.links, lang, category, _tip(category, lang), before=before)
        res = self.svc.calls.step(sid, fields, events, states=flow.IN_IVR)
        if res.call is None or not res.applied:
            return self.resume(res.call, lang)
        return twiml

    # POST /error-code ------------------------------------------------------------
    def error_code(self, form, lang_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        code = flow.clean_error_code(form.get("Digits"))
        events = [{"type": "error_code_captured", "error_code": code}] if code else []
        events.append({"type": "selfhelp_offered", "category": "error_message"})
        fields = {"state": "selfhelp"}
        if code:
            fields["error_code"] = code
        res = self.svc.calls.step(sid, fields, events, states=flow.IN_IVR)
        if res.call is None or not res.applied:
            return self.resume(res.call, lang)
        return menu.selfhelp(
            self.links, lang, "error_message", _tip("error_message", lang), code=code
        )

    # POST /selfhelp --------------------------------------------------------------
    def selfhelp_answer(self, form, lang_q, category_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        digits = (form.get("Digits") or "").strip()[:8]
        if flow.selfhelp_resolved(digits):
            res = self.svc.calls.step(
                sid,
                {"state": "resolved", "ended_at": self.svc.clock.now()},
                [{"type": "selfhelp_resolved", "category": category_q}],
                states=("selfhelp",),
            )
            if res.call is None or not res.applied:
                return self.resume(res.call, lang)
            return menu.goodbye(lang, "resolved")
        category = category_q if category_q in flow.SKILL_OF else None
        skill = flow.skill_for(category)
        closed = self._after_hours(sid, lang, skill, category)
        if closed is not None:
            return closed
        res = self.svc.waiting.enqueue(sid, skill, category=category)
        if res.status == "refused":
            return self.resume(self.svc.calls.get(sid) if res.state else None, lang)
        if res.status == "enqueued":
            self._notify_routing(sid)
        return menu.enqueue(self.links, lang, skill, repeat=res.repeat and res.status == "enqueued")

    def _after_hours(self, sid: str, lang: str, skill: str, category: str | None) -> str | None:
        """TwiML for a call nobody can take now (routing/afterhours.py), else None.

        Only once a roster is loaded: without one we know nothing of shifts, and the
        caller waits in the line as in a hotline with no roster (issue 2's behaviour)."""
        if not self.svc.redis.exists(self.svc.keys.roster):
            return None
        from ..routing import afterhours

        info = afterhours.check(self.svc, skill, category)
        if info.open:
            return None
        now = self.svc.clock.now()
        res = self.svc.calls.step(
            sid,
            {"skill": skill, "category": category or skill},
            [{"type": "after_hours_offered", "skill": skill, "next_cover_at": info.next_cover_at}],
            states=flow.IN_IVR,
        )
        if res.call is None or not res.applied:
            return self.resume(res.call, lang)
        message = afterhours.message(lang, info.next_cover_at, self.svc.settings.tz, now)
        return menu.after_hours(self.links, lang, message)

    # POST /voicemail (Record action) and /transcription (transcribeCallback) -------
    def voicemail(self, form, lang_q) -> str:
        from ..routing import afterhours

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
        from ..routing import afterhours

        sid = form.get("CallSid", "")
        if valid_sid(sid):
            afterhours.add_transcription(
                self.svc, sid, (form.get("TranscriptionText") or "")[:4000]
            )
        return menu.empty()

    # POST /callback (the key offered in the wait loop) -------------------------------
    def callback_choice(self, form, lang_q, skill_q) -> str:
        from ..routing import afterhours

        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        if (form.get("Digits") or "").strip() != "1" or not valid_sid(sid):
            return menu.empty()  # the wait document ends; Twilio requests waitUrl again
        status = afterhours.request_callback(self.svc, sid)
        if status in ("requested", "updated"):
            return menu.callback_confirmed(lang)
        return menu.empty()

    def _notify_routing(self, sid: str) -> None:
        # The caller is already safe in the line; if the job cannot be queued the routing
        # engine's periodic sweep still finds the call, so the caller is not failed for it.
        try:
            self.svc.rq_queue.enqueue(CALL_WAITING_JOB, sid)
        except redis.RedisError:
            log.exception(
                "could not enqueue %s for %s; the routing sweep will pick it up",
                CALL_WAITING_JOB,
                sid,
            )

    # POST /wait (Enqueue waitUrl) -------------------------------------------------
    def wait(self, form, lang_q, skill_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        skill = skill_q if skill_q in flow.SKILLS else "general"
        if not valid_sid(sid):
            return menu.leave()
        k = self.svc.keys
        staffed = self.svc.estimates.staffed(skill)
        state, position, _size, estimate, callback_offered = self.svc.scripts.wait_tick(
            keys=[k.call(sid), k.waiting(skill), k.handle_times(skill), k.events],
            args=[
                sid,
                repr(self.svc.clock.now()),
                form.get("QueueSid") or "",
                "" if staffed is None else staffed,
                skill,
            ],
        )
        if not state:
            # We lost this call: leave the Twilio queue; the Enqueue action sends it back to the start.
            return menu.leave()
        if state != "waiting":
            return menu.leave() if flow.is_final(state) else menu.connecting(lang)
        if not position:
            return menu.connecting(lang)
        offer = self.links.callback(lang, skill) if callback_offered == "1" else None
        return menu.wait(
            lang,
            int(position),
            float(estimate) if estimate else None,
            music_url=self.music_url,
            callback_url=offer,
        )

    # POST /dequeued (Enqueue action) ---------------------------------------------
    def dequeued(self, form, lang_q, skill_q, retry_q=None) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        result = (form.get("QueueResult") or "").strip()
        if result == "hangup":
            self.svc.waiting.abandon(sid, via="action")
            return menu.empty()
        retry = _count(retry_q)
        if result == "queue-full" or (result in QUEUE_ERRORS and retry >= MAX_QUEUE_RETRIES):
            # The carrier cannot hold the caller: say so and hand over (fallback number or
            # "call back later") rather than loop; the call leaves our lines as failed.
            self.svc.waiting.fail(sid, reason=f"queue_{result}")
            return fallback_twiml(self.svc.settings, lang)
        res = self.svc.calls.step(
            sid,
            {},
            [
                {
                    "type": "queue_result",
                    "result": result or "missing",
                    "queue_time": form.get("QueueTime"),
                    "retry": retry or None,
                }
            ],
        )
        if res.call is None:
            return menu.redirect(self.links.incoming(lang))
        if result == "bridged":
            # The conversation with the agent is over (Twilio calls the action after the bridge).
            return menu.hangup()
        if result in ("redirected", "redirected-from-bridged"):
            return menu.empty()  # the REST request that moved the call gave it its next TwiML
        # leave / error / system-error: a caller still waiting goes back in (its place is in Redis).
        return self.resume(res.call, lang, retry=retry + 1 if result in QUEUE_ERRORS else 0)

    # POST /status (status callback) -------------------------------------------------
    def status(self, form) -> str:
        sid = form.get("CallSid", "")
        status = (form.get("CallStatus") or "").strip()
        if status in flow.ENDED_STATUSES and valid_sid(sid):
            res = self.svc.waiting.abandon(
                sid, via="status", status=status, duration=form.get("CallDuration") or ""
            )
            if res.state_before == "bridged":
                # In conversation: ending it (durations, wrap-up) is the legs' job, in RQ.
                # The agent leg's own callbacks usually get there first; this is the second signal.
                self.svc.rq_queue.enqueue("hotline.jobs.caller_ended", sid)
        return menu.empty()
