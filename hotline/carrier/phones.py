"""The phone network behind the simulated carrier: who answers an outbound call, and how.

An outbound call (REST Calls create, or a <Dial><Number>/<Client> child leg) rings
an *endpoint*, found in the `Network` by its address: an E.164 number or
`client:identity`. Each endpoint is a small behaviour:

* `AgentPhone` -- a simulated helpdesk agent (their mobile, desk phone or browser
  softphone). Per offer, in order, one of: `accept` (answers after `answer_after`
  seconds, hears the whisper, presses `accept_key`), `miss` (lets it ring until
  the carrier's timeout: no-answer), `decline` (answers, presses `decline_key`),
  `hangup` (answers, hangs up during the whisper), `busy`, `fail`. When the
  script of offers runs out, `default`, except that with `miss_probability` a
  seeded draw may turn an offer into a miss. In a conversation the agent talks
  `talk_seconds` (a number, or a [low, high] range drawn per call with the seed)
  and then hangs up, unless the caller hangs up first.
* `CustomerPhone` -- a caller being called back: `answer` or `miss`, then talks
  `talk_seconds`.

Unknown addresses: a `client:` identity nobody registered is offline (no-answer
after the timeout, as a Twilio Client that is not connected); an E.164 number
nobody registered answers like `Network.default_customer` (a person who picks up
after 5 s and stays until the other side hangs up); anything else fails
(Twilio's 21205-style "not a valid phone number" is reported at REST time).

The draws use one `random.Random(seed)` per endpoint, so a scenario replays the
same way every time.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

from ..errors import HotlineError
from .party import Party, Press, Silence

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CLIENT = re.compile(r"^client:[A-Za-z0-9_.@-]{1,121}$")
OFFER_KINDS = ("accept", "miss", "decline", "hangup", "busy", "fail")


def normalize_address(to: str) -> str:
    """The address as the network knows it; HotlineError when it is no phone address at all."""
    to = (to or "").strip()
    if E164.match(to):
        return to
    if to.startswith("client:") and CLIENT.match(to):
        return to
    if re.match(r"^[A-Za-z0-9_.@-]{1,121}$", to) and not to[0].isdigit() and not to.startswith("+"):
        return "client:" + to  # a bare <Client> identity
    raise HotlineError(f"{to!r} is not a valid phone number or client identity")


@dataclass(frozen=True)
class Ring:
    """How one outbound call goes on the callee's side."""

    kind: str  # answer | no-answer | busy | failed
    after: float = 0.0  # seconds of ringing before the answer (or the busy/failed signal)
    party: Party | None = None  # who speaks once answered


def _draw(rng: random.Random, value) -> float:
    if isinstance(value, (list, tuple)):
        lo, hi = float(value[0]), float(value[1])
        return round(rng.uniform(lo, hi), 1)
    return float(value)


@dataclass
class AgentPhone:
    agent_id: str
    address: str
    answer_after: float | tuple = 4.0
    talk_seconds: float | tuple = 240.0
    offers: list[str] = field(default_factory=list)
    default: str = "accept"
    miss_probability: float = 0.0
    accept_key: str = "1"
    decline_key: str = "2"
    seed: int = 0
    history: list[str] = field(default_factory=list)  # what happened to each offer

    def __post_init__(self):
        for k in [*self.offers, self.default]:
            if k not in OFFER_KINDS:
                raise HotlineError(
                    f"agent {self.agent_id}: offer behaviour {k!r} is not one of "
                    f"{', '.join(OFFER_KINDS)}"
                )
        self._rng = random.Random(f"{self.seed}:{self.agent_id}")
        self._lock = threading.Lock()

    def ring(self) -> Ring:
        with self._lock:
            n = len(self.history)
            kind = self.offers[n] if n < len(self.offers) else self.default
            if (
                kind == "accept"
                and self.miss_probability
                and self._rng.random() < self.miss_probability
            ):
                kind = "miss"
            self.history.append(kind)
            answer_after = _draw(self._rng, self.answer_after)
            talk = _draw(self._rng, self.talk_seconds)
        if kind == "miss":
            return Ring("no-answer")
        if kind == "busy":
            return Ring("busy", 1.0)
        if kind == "fail":
            return Ring("failed")
        if kind == "decline":
            answers = [Press(self.decline_key)]
        elif kind == "hangup":
            answers = []
        else:
            answers = [Press(self.accept_key)]
        party = Party(answers, patience=3600.0, name=self.agent_id, talk_seconds=talk)
        if kind == "hangup":
            # Answers, hears the start of the whisper, and puts the phone down.
            party.max_call_seconds = answer_after + 2.0
        return Ring("answer", answer_after, party)


@dataclass
class CustomerPhone:
    address: str
    answers: bool | list[bool] = True
    answer_after: float = 5.0
    talk_seconds: float | None = None  # None: stays until the other side hangs up
    name: str = "customer"
    history: list[str] = field(default_factory=list)

    def ring(self) -> Ring:
        n = len(self.history)
        if isinstance(self.answers, list):
            yes = (
                self.answers[n]
                if n < len(self.answers)
                else self.answers[-1]
                if self.answers
                else True
            )
        else:
            yes = bool(self.answers)
        self.history.append("answer" if yes else "miss")
        if not yes:
            return Ring("no-answer")
        return Ring(
            "answer",
            self.answer_after,
            Party([Silence()], patience=3600.0, name=self.name, talk_seconds=self.talk_seconds),
        )


class Network:
    """Address -> endpoint. Thread-safe; shared by every call of one Carrier."""

    def __init__(self, default_customer: CustomerPhone | None = None):
        self._lock = threading.Lock()
        self._endpoints: dict[str, AgentPhone | CustomerPhone] = {}
        self.default_customer = default_customer or CustomerPhone("*")

    def add(self, endpoint: AgentPhone | CustomerPhone) -> None:
        with self._lock:
            self._endpoints[normalize_address(endpoint.address)] = endpoint

    def get(self, address: str):
        with self._lock:
            return self._endpoints.get(address)

    def agents(self) -> list[AgentPhone]:
        with self._lock:
            return [e for e in self._endpoints.values() if isinstance(e, AgentPhone)]

    def ring(self, address: str) -> Ring:
        ep = self.get(address)
        if ep is not None:
            return ep.ring()
        if address.startswith("client:"):
            return Ring("no-answer")  # a browser softphone nobody has open
        d = self.default_customer
        return CustomerPhone(address, d.answers, d.answer_after, d.talk_seconds).ring()
