"""The absolute URLs of /webhooks/agent/* that our REST calls and TwiML hand to the carrier.

Each carries what its handler needs (call, agent, language...) in the query string,
so a status callback that arrives before the job stored the leg still knows which
offer it is about. Twilio signs the full URL, query included.
"""

from __future__ import annotations

from urllib.parse import urlencode

BASE = "/webhooks/agent"


class AgentLinks:
    def __init__(self, public_url: str):
        self.base = public_url.rstrip("/") + BASE

    def _u(self, name: str, **params) -> str:
        q = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.base}/{name}" + (f"?{q}" if q else "")

    # the agent's leg
    def answer(self, call: str, agent: str) -> str:
        """Calls `url`: requested when the agent picks up."""
        return self._u("answer", call=call, agent=agent)

    def accept(self, call: str, agent: str) -> str:
        """The whisper's <Gather action>."""
        return self._u("accept", call=call, agent=agent)

    def status(self, call: str, agent: str) -> str:
        """Calls `statusCallback` of the agent's leg."""
        return self._u("status", call=call, agent=agent)

    def ended(self, call: str, agent: str) -> str:
        """The agent's <Dial action>: requested when they leave the conference."""
        return self._u("ended", call=call, agent=agent)

    def notice(self, what: str, lang: str) -> str:
        """A short message to an agent's live leg, then hang up (redirect by REST)."""
        return self._u("notice", what=what, lang=lang)

    # the caller's / customer's leg
    def join(self, call: str) -> str:
        """Queue Members update `Url`: the dequeued caller's conference TwiML."""
        return self._u("join", call=call)

    def customer(self, call: str) -> str:
        """Calls `url` of a callback's customer leg."""
        return self._u("customer", call=call)

    def customer_status(self, call: str) -> str:
        return self._u("customer-status", call=call)
