"""The verbs of a plain document: Say, Play, Pause, Gather, Redirect, Hangup.

What the caller hears (time passes as timing.py says), what they answer to a
<Gather> (keys or speech, from their Party script), and the two verbs that end a
document: <Redirect> (run another one) and <Hangup>.
"""

from __future__ import annotations

from urllib.parse import urljoin

from . import timing
from .call_data import Fetch, TwimlError
from .party import Press, Silence, Speak
from .transcript import audio_name
from .twiml_attrs import collect, loops, method_of, number, text_of
from .twiml_session import CallOver, SessionCore


class VoiceVerbs(SessionCore):
    def _v_say(self, el, url, waiting):
        text = text_of(el)
        for _ in range(loops(el)):
            self._say_line("Say", text, language=el.get("language"), voice=el.get("voice"))
            self._wait(timing.say_seconds(text))

    def _v_play(self, el, url, waiting):
        digits = el.get("digits")
        if digits:
            self._say_line("Play", f"digits {digits}")
            self._wait(timing.keys_seconds(digits))
            return
        src = (el.text or "").strip()
        for _ in range(loops(el)):
            self._say_line("Play", audio_name(src), url=src)
            self._wait(getattr(self.party, "play_seconds", None) or timing.DEFAULT_PLAY_SECONDS)

    def _v_pause(self, el, url, waiting):
        length = number(el.get("length"), 1)
        self._say_line("Pause", f"{length:g}s")
        self._wait(length)

    def _v_gather(self, el, url, waiting):
        for child in el:
            if child.tag not in ("Say", "Play", "Pause"):
                raise TwimlError(f"<{child.tag}> cannot be nested in <Gather> ({url})")
            self.HANDLERS[child.tag](self, child, url, waiting)
        kinds = set((el.get("input") or "dtmf").split())
        timeout = number(el.get("timeout"), 5)
        action = urljoin(url, el.get("action") or url)
        method = method_of(el)
        answer = self.party.answer_for(kinds)
        if isinstance(answer, Press):
            digits, finished = collect(answer.keys, el.get("finishOnKey", "#"), el.get("numDigits"))
            self._wait(timing.keys_seconds(answer.keys))
            if not finished:
                self._wait(timeout)  # Twilio waits `timeout` for more keys before submitting
            self._say_line("Gather", f"pressed {answer.keys}")
            return Fetch(action, method, {"Digits": digits})
        if isinstance(answer, Speak):
            self._wait(timing.speak_seconds(answer.text))
            self._say_line("Gather", f'said "{answer.text}"', language=el.get("language"))
            return Fetch(
                action,
                method,
                {"SpeechResult": answer.text, "Confidence": f"{answer.confidence:.2f}"},
            )
        assert isinstance(answer, Silence)
        self._wait(timeout)
        self._say_line("Gather", f"no input ({timeout:g}s)")
        if (el.get("actionOnEmptyResult") or "").lower() == "true":
            return Fetch(action, method, {})
        return None

    def _v_redirect(self, el, url, waiting):
        target = (el.text or "").strip()
        if not target:
            raise TwimlError(f"<Redirect> without a URL in {url}")
        return Fetch(urljoin(url, target), method_of(el))

    def _v_hangup(self, el, url, waiting):
        self._say_line("Hangup")
        if waiting:
            self._queue_ended("hangup", follow=False)
        raise CallOver()
