"""<Enqueue> and <Leave>: the caller waits in the carrier's queue, on the app's wait TwiML.

Enqueue joins the named queue (queues.py), requests `waitUrl` with Twilio's queue
parameters and runs the wait TwiML (only the WAIT_VERBS), again each time it ends.
<Leave> requests the Enqueue `action` with QueueResult=leave and runs its answer; a
REST redirect reports QueueResult=redirected and runs the new TwiML instead. Leaving
on a hang-up is SessionCore._queue_ended / _caller_hung_up.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urljoin

from .call_data import Fetch
from .twiml_attrs import method_of, text_of
from .twiml_session import LeftQueue, Redirected, SessionCore


class QueueVerbs(SessionCore):
    def _v_leave(self, el, url, waiting):
        if not waiting:
            return  # Twilio ignores <Leave> outside a queue
        raise LeftQueue()

    def _v_enqueue(self, el, url, waiting):
        name = text_of(el) or "default"
        action = el.get("action")
        self._enqueue_action = (urljoin(url, action), method_of(el)) if action else None
        wait_url = urljoin(url, el.get("waitUrl")) if el.get("waitUrl") else None
        wait_method = (el.get("waitUrlMethod") or "POST").upper()
        now = self.timeline.now()
        self._queue = name
        self._queue_sid = self.queues.join(name, self.spec.sid, now)
        self._queue_joined_at = now
        self._queue_deadline = now + self.party.patience
        self._say_line("Enqueue", name)
        try:
            while True:
                if wait_url is None:
                    # Twilio's default classical playlist.
                    self.HANDLERS["Play"](self, ET.fromstring("<Play>music</Play>"), url, True)
                    self._check_pending()
                    continue
                params = self.queues.stats(name, self.spec.sid, self.timeline.now())
                # A Redirect or a Gather action inside the wait TwiML is followed there.
                self._run_document(Fetch(wait_url, wait_method, params), waiting=True)
        except LeftQueue:
            self._say_line("Leave")
            return self._queue_ended("leave")
        except Redirected as r:
            self._queue_ended("redirected", follow=False)
            return r.fetch
