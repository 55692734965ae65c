"""<Dial>: a <Conference> room, or a child leg to a <Number>/<Client> bridged in a private room.

<Conference> puts the call in a room of conference.py (startConferenceOnEnter,
endConferenceOnExit, timeLimit) until the room ends, the call hangs up, or the REST
API moves it. <Number>/<Client> (or a bare number) has the Carrier place a child leg
(ParentCallSid) to that endpoint of the phone network (phones.py); the callee runs
the noun's `url` first (a whisper, `_bridged_leg`), then both talk in a two-party
room. The Dial `action` gets DialCallStatus, DialCallSid and DialCallDuration; no
action = the verb after <Dial>.
"""

from __future__ import annotations

from urllib.parse import urljoin

from ..errors import HotlineError
from .call_data import Fetch, TwimlError
from .conference import Participant
from .phones import normalize_address
from .twiml_attrs import method_of, noun_target, number, text_of, truthy
from .twiml_session import CallOver, SessionCore

DIAL_NOUNS = {"Number", "Client", "Conference", "Queue", "Sip"}
# A participant alone in a room re-checks it this often (a cheap wake in virtual time);
# the room wakes its participants itself on every change, this is only the safety net.
ROOM_SLICE_S = 60.0


class DialVerbs(SessionCore):
    def _v_dial(self, el, url, waiting):
        timeout = number(el.get("timeout"), 30)
        time_limit = number(el.get("timeLimit"), 14400)
        nouns = [c for c in el if c.tag in DIAL_NOUNS]
        others = [c.tag for c in el if c.tag not in DIAL_NOUNS]
        if others:
            raise TwimlError(f"<{others[0]}> cannot be nested in <Dial> ({url})")
        for n in nouns:
            if n.tag in ("Queue", "Sip"):
                raise TwimlError(f"<Dial><{n.tag}> is not supported by the simulator ({url})")
        conf = next((n for n in nouns if n.tag == "Conference"), None)
        child_sid = None
        if conf is not None:
            status, talked = self._dial_conference(conf, time_limit)
        else:
            if nouns:
                noun = nouns[0]  # Twilio rings every noun at once; we ring the first (documented)
                target = noun_target(noun)
                whisper = urljoin(url, noun.get("url")) if noun.get("url") else None
            else:
                target, whisper = text_of(el), None
            status, talked, child_sid = self._dial_leg(
                target, whisper, timeout, time_limit, el.get("callerId")
            )
        action = el.get("action")
        if action:
            params = {"DialCallStatus": status, "DialCallDuration": talked}
            if child_sid:
                params["DialCallSid"] = child_sid
            return Fetch(urljoin(url, action), method_of(el), params)
        return None

    def _dial_conference(self, el, time_limit: float) -> tuple[str, int]:
        name = text_of(el)
        if not name:
            raise TwimlError("<Conference> without a name")
        start = (el.get("startConferenceOnEnter") or "true").strip().lower() != "false"
        end = truthy(el.get("endConferenceOnExit"))
        self._say_line("Dial", f"conference {name}")
        conf, joined, _ = self._in_room(name, start=start, end=end, time_limit=time_limit)
        now = self.timeline.now()
        self._say_line(
            "Dial",
            f"left conference {name}",
            note="(the conference ended)" if conf.ended_at is not None else None,
        )
        return "completed", round(now - joined)

    def _dial_leg(
        self,
        target: str,
        whisper: str | None,
        timeout: float,
        time_limit: float,
        caller_id: str | None,
    ) -> tuple[str, int, str | None]:
        """<Dial><Number>/<Client>: ring a child leg; if it answers, talk in a private room."""
        try:
            address = normalize_address(target)
        except HotlineError:
            self._say_line("Dial", target, note="not a valid number")
            return "failed", 0, None
        if self.carrier is None:
            raise TwimlError("<Dial> to a number needs a Carrier with a phone network")
        room = f"dial:{self.spec.sid}:{self._seq}:{len(self.result.exchanges)}"
        self._say_line("Dial", address)
        # The caller is in the room first (it does not start it): the callee's arrival starts it.
        child = self.carrier.place(
            to=address,
            from_=caller_id or self.spec.to,
            timeout=timeout,
            parent_sid=self.spec.sid,
            bridge=(room, whisper),
        )
        child.on_end.append(self._wake)
        try:
            _, _, talk_from = self._in_room(
                room,
                start=False,
                end=True,
                time_limit=time_limit,
                give_up=lambda: child.ended and not child.answered,
            )
        except BaseException:
            if not child.ended:
                child.hangup()
            raise
        if talk_from is None:
            if not child.ended:
                child.hangup()
            status = child.call_status if child.ended else "no-answer"
            self._say_line("Dial", address, note=status)
            return (status if status != "completed" else "no-answer"), 0, child.spec.sid
        talked = round(self.timeline.now() - talk_from)
        self._say_line("Dial", address, note=f"call ended after {talked}s")
        return "completed", talked, child.spec.sid

    def _bridged_leg(self) -> None:
        """The callee of a <Dial><Number>/<Client>: its whisper, then the two-party room."""
        room, whisper = self.spec.bridge
        if whisper:
            self._run_document(Fetch(whisper, "POST"))
        self._in_room(room, start=True, end=True, time_limit=14400.0)
        raise CallOver()

    def _in_room(self, name: str, *, start: bool, end: bool, time_limit: float, give_up=None):
        """Stay in the room until it ends, time_limit passes, or give_up() says so.

        Returns (conference, joined at, talk started at or None). Hanging up, a REST
        redirect or the end of the simulation leave the room on the way out."""
        sid = self.spec.sid
        conf = self.conferences.join(
            name,
            Participant(sid, start, end, wake=self._wake, label=self.party.name),
            self.timeline.now(),
        )
        joined = self.timeline.now()
        talk_from = None
        try:
            while sid in conf.participants:
                now = self.timeline.now()
                if (
                    talk_from is None
                    and conf.started_at is not None
                    and len(conf.participants) >= 2
                ):
                    talk_from = now
                    if self.party.talk_seconds is not None:
                        self._talk_deadline = now + self.party.talk_seconds
                if give_up is not None and talk_from is None and give_up():
                    break
                if now >= joined + time_limit:
                    break
                self._wait(min(joined + time_limit - now, ROOM_SLICE_S))
        finally:
            self._talk_deadline = None
            self.conferences.leave(conf, sid, self.timeline.now())
        return conf, joined, talk_from
