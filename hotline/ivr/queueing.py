"""The caller's time in the carrier's queue: the wait loop, the Enqueue action, the status
callback, and the callback key the wait loop offers -- the webhooks of a caller who has
left the IVR's menus. The waiting line itself (wait_tick.lua, abandon.lua) is
queue/waiting.py's; this module only chooses what the caller hears.
"""

from __future__ import annotations

from .. import job_names as names
from ..queue.calls import valid_sid
from ..routing import afterhours
from . import flow, menu
from .fallback import fallback_twiml
from .intake import MAX_QUEUE_RETRIES, QUEUE_ERRORS, Intake, _count, _turn


class QueueSteps:
    def __init__(self, intake: Intake):
        self.intake = intake
        self.svc = intake.svc
        self.links = intake.links
        self.music_url = intake.music_url

    def lang(self, value):
        return self.intake.lang(value)

    def resume(self, call, lang, *, retry: int = 0) -> str:
        return self.intake.resume(call, lang, retry=retry)

    # POST /callback (the key offered in the wait loop) -------------------------------
    def callback_choice(self, form, lang_q, skill_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        if (form.get("Digits") or "").strip() != "1" or not valid_sid(sid):
            return menu.empty()  # the wait document ends; Twilio requests waitUrl again
        status = afterhours.request_callback(self.svc, sid)
        if status in ("requested", "updated"):
            return menu.callback_confirmed(lang)
        return menu.empty()

    # POST /wait (Enqueue waitUrl) -------------------------------------------------
    def wait(self, form, lang_q, skill_q) -> str:
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        skill = skill_q if skill_q in flow.SKILLS else "general"
        if not valid_sid(sid):
            return menu.leave()
        tick = self.svc.waiting.tick(
            sid,
            skill,
            queue_sid=form.get("QueueSid") or "",
            queue_time=_queue_time(form.get("QueueTime")),
        )
        state, position = tick.state, tick.position
        if not state:
            # We lost this call: leave the Twilio queue; the Enqueue action sends it back to the start.
            return menu.leave()
        if state != "waiting":
            return menu.leave() if flow.is_final(state) else menu.connecting(lang)
        if not position:
            return menu.connecting(lang)
        offer = self.links.callback(lang, skill) if tick.callback_offered else None
        return menu.wait(
            lang,
            position,
            tick.estimate_s,
            music_url=self.music_url,
            callback_url=offer,
        )

    # POST /dequeued (Enqueue action) ---------------------------------------------
    def dequeued(self, form, lang_q, skill_q, retry_q=None, turn_q=None) -> str:
        """How the caller left Twilio's queue (QueueResult), answered by what the call's
        stored state calls for; the result is recorded once per <Enqueue> (its turn)."""
        sid = form.get("CallSid", "")
        lang = self.lang(lang_q)
        result = (form.get("QueueResult") or "").strip()
        retry = _count(retry_q)
        if result == "hangup":
            # Recorded by abandon.lua (once, whichever of this and the status callback is first).
            out = self.svc.waiting.abandon(sid, via="action")
            if (
                out.state_before == "bridged"
                and self.svc.calls.step(sid, turn=_turn(turn_q) or 0).applied
            ):
                self.svc.rq_queue.enqueue(names.CALLER_ENDED, sid)  # gone before joining
            return menu.empty()
        res = self.svc.calls.step(
            sid,
            {"wait_qt": ""},  # a new <Enqueue> counts its QueueTime from 0 again
            [
                {
                    "type": "queue_result",
                    "result": result or "missing",
                    "queue_time": form.get("QueueTime"),
                    "retry": retry or None,
                }
            ],
            turn=_turn(turn_q),
        )
        if result in ("redirected", "redirected-from-bridged"):
            return menu.empty()  # the REST request that moved the call gave it its next TwiML
        call = res.call
        if call is None:
            return menu.redirect(self.links.incoming(lang))
        state = call.state
        if state in flow.WAITING and (
            result == "queue-full" or (result in QUEUE_ERRORS and retry >= MAX_QUEUE_RETRIES)
        ):
            # The carrier cannot hold the caller: say so and hand over (fallback number or
            # "call back later") rather than loop; the call leaves our lines as failed.
            self.svc.waiting.fail(sid, reason=f"queue_{result}")
            return fallback_twiml(self.svc.settings, lang)
        if state in flow.WAITING and result in QUEUE_ERRORS:
            return self.resume(call, lang, retry=retry + 1)
        if state == "bridged" and result == "bridging-in-process":
            return menu.empty()
        # bridged, bridging-in-process, leave, an unknown result: where the store says.
        # A waiting caller goes back in at its place; one bridged to an agent joins them.
        return self.resume(call, lang)

    # POST /status (status callback) -------------------------------------------------
    def status(self, form) -> str:
        sid = form.get("CallSid", "")
        status = (form.get("CallStatus") or "").strip()
        if status in flow.ENDED_STATUSES and valid_sid(sid):
            res = self.svc.waiting.abandon(
                sid, via="status", status=status, duration=form.get("CallDuration") or ""
            )
            if res.state_before == "bridged" and res.ended:
                # In conversation: ending it (durations, wrap-up) is the legs' job, in RQ.
                # The agent leg's own callbacks usually get there first; this is the second
                # signal. Only on its first delivery: a repeat must not queue the job again.
                self.svc.rq_queue.enqueue(names.CALLER_ENDED, sid)
        return menu.empty()


def _queue_time(value) -> str:
    """Twilio's QueueTime (whole seconds in the queue), or '' if absent or not a number."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return ""
    return str(n) if n >= 0 else ""
