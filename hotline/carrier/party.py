"""A simulated caller: a small script of inputs, answered to each <Gather> in order.

A `Party` holds a list of answers. Each <Gather> the caller meets takes the next
answer if the Gather accepts that kind of input (keys need `dtmf` in `input`,
speech needs `speech`); otherwise the caller stays silent there and keeps the
answer for a later Gather (a French greeting that takes only the key 9 does not
eat a spoken answer meant for the menu). A `Silence()` answer deliberately lets
one Gather time out. When the answers run out, the caller stays silent.

`patience` is how long the caller stays in a queue (<Enqueue>) before hanging
up; `talk_seconds` how long they talk once someone else is in the conversation
(a <Dial>ed party or a conference with another participant) before hanging up
(None: until the other side does); `max_call_seconds` caps the whole call
wherever the caller is. Simulated agents (phones.py) are parties too.

The written form used by `hotline call --press` and by scenario files:
"9,2,1" = one answer per Gather, in order; "3,8007#" keys in 3 and then the
error code 8007 ended by #; an empty entry ("9,,1") stays silent at that Gather.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HotlineError

DTMF_KEYS = set("0123456789*#")


@dataclass(frozen=True)
class Press:
    keys: str

    def __post_init__(self):
        if not self.keys or set(self.keys) - DTMF_KEYS:
            raise HotlineError(
                f"--press: {self.keys!r} is not a sequence of phone keys (0-9, *, #)"
            )


@dataclass(frozen=True)
class Speak:
    text: str
    confidence: float = 0.92

    def __post_init__(self):
        if not self.text.strip():
            raise HotlineError("--say: the caller must say something")
        if not 0.0 <= self.confidence <= 1.0:
            raise HotlineError(f"speech confidence {self.confidence} is not between 0 and 1")


@dataclass(frozen=True)
class Silence:
    pass


Answer = Press | Speak | Silence


@dataclass(frozen=True)
class Message:
    """What the caller leaves at a <Record>: seconds of talk, its transcription, the key
    that ends it (None = the caller stops talking and Record's silence timeout ends it)."""

    seconds: float = 8.0
    text: str = ""
    finish_key: str | None = "#"


@dataclass
class Party:
    answers: list = field(default_factory=list)
    patience: float = 120.0
    max_call_seconds: float = 3600.0
    message: Message | None = None
    name: str = "caller"
    talk_seconds: float | None = None
    _next: int = 0

    def answer_for(self, input_kinds: set[str]) -> Answer:
        """The caller's answer to a Gather accepting `input_kinds` ({'dtmf', 'speech'})."""
        if self._next >= len(self.answers):
            return Silence()
        ans = self.answers[self._next]
        if isinstance(ans, Silence):
            self._next += 1
            return ans
        wanted = "dtmf" if isinstance(ans, Press) else "speech"
        if wanted not in input_kinds:
            return Silence()
        self._next += 1
        return ans


def parse_press(text: str | None) -> list:
    """`--press 9,2,1` -> [Press('9'), Press('2'), Press('1')]; an empty entry is Silence()."""
    if text is None:
        return []
    out: list = []
    for part in text.split(","):
        part = part.strip()
        out.append(Press(part) if part else Silence())
    return out


def script(
    *,
    press: str | None = None,
    say: str | None = None,
    lang: str | None = None,
    confidence: float = 0.92,
) -> list:
    """The answers of `hotline call`: `--lang en` presses 9 at the greeting; `--say`
    answers the first menu Gather by speech; `--press` answers the Gathers after that."""
    answers: list = []
    if lang not in (None, "fr", "en"):
        raise HotlineError(f"--lang: {lang!r} is not fr or en")
    if lang == "en":
        answers.append(Press("9"))
    if say is not None:
        answers.append(Speak(say, confidence))
    answers.extend(parse_press(press))
    return answers
