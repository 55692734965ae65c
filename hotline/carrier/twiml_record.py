"""<Record>: the party's Message (or silence), a recording, and its transcription callback.

No audio: the Message gives the duration, the finishing key and the text. The
`action` (default: the current document) gets RecordingUrl, RecordingSid,
RecordingDuration (and Digits when a key finished it); a transcribeCallback is
posted after the call's status callback (SessionCore._deferred).
"""

from __future__ import annotations

from urllib.parse import urljoin

from . import timing
from .call_data import API_VERSION, Fetch, new_sid
from .twiml_attrs import method_of, number, truthy
from .twiml_session import SessionCore


class RecordVerb(SessionCore):
    def _v_record(self, el, url, waiting):
        msg = getattr(self.party, "message", None)
        if truthy(el.get("playBeep", "true")):
            self._say_line("Carrier", "Beep")
        silence = number(el.get("timeout"), 5)
        max_length = number(el.get("maxLength"), 3600) or 3600
        if msg is None:
            self._wait(silence)
            self._say_line("Record", "", note="nothing recorded (silence)")
            return None  # empty recording: Twilio goes on with the next verb
        seconds = min(msg.seconds, max_length)
        self._wait(seconds)
        finish_keys = el.get("finishOnKey", "1234567890*#")
        params = {}
        if msg.finish_key and msg.finish_key in finish_keys and seconds < max_length:
            self._wait(timing.KEY_PRESS_SECONDS)
            params["Digits"] = msg.finish_key
        elif seconds < max_length:
            self._wait(silence)
        rec_sid = new_sid("RE")
        rec_url = (
            f"{self.recordings_base}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{rec_sid}"
        )
        self.recordings.append(
            {"sid": rec_sid, "url": rec_url, "duration": int(seconds), "text": msg.text}
        )
        self._say_line("Record", f"{seconds:g}s", note=f'"{msg.text}"' if msg.text else None)
        callback = el.get("transcribeCallback")
        if callback:
            self._deferred.append(
                Fetch(
                    urljoin(url, callback),
                    "POST",
                    {
                        "TranscriptionSid": new_sid("TR"),
                        "TranscriptionText": msg.text,
                        "TranscriptionStatus": "completed",
                        "TranscriptionType": "fast",
                        "TranscriptionUrl": f"{rec_url}/Transcriptions",
                        "RecordingSid": rec_sid,
                        "RecordingUrl": rec_url,
                    },
                )
            )
        action = urljoin(url, el.get("action") or url)
        return Fetch(
            action,
            method_of(el),
            {
                **params,
                "RecordingUrl": rec_url,
                "RecordingSid": rec_sid,
                "RecordingDuration": int(seconds),
            },
        )
