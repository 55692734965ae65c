"""What the caller heard and did, line by line, with the simulated time of each line.

    0:00  [Say fr-FR] Bonjour, vous êtes bien au support informatique…
    0:09  [Gather] pressed 1
    0:12  [Pause 5s]
    0:17  [Play music]
    0:47  [Enqueue software]
    2:47  [Caller hangs up after 120s in queue]

Lines describe the caller's side of the line. Carrier-side facts that the caller
does not hear (a Redirect, a webhook request) are kept as requests in the
call's result, not in the transcript.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

MAX_FOLDED_BLOCK = 8


@dataclass(frozen=True)
class Line:
    t: float  # seconds since the call started
    verb: str  # Say, Play, Pause, Gather, Enqueue, Leave, Hangup, Record, Dial, Caller, Carrier
    text: str = ""
    attrs: dict = field(default_factory=dict)

    def render(self) -> str:
        m, s = divmod(int(self.t), 60)
        return f"{m:2d}:{s:02d}  {self.label()}"

    def label(self) -> str:
        if self.verb == "Say":
            lang = self.attrs.get("language")
            return f"[Say {lang}] {self.text}" if lang else f"[Say] {self.text}"
        if self.verb in ("Pause", "Play", "Enqueue", "Hangup", "Leave", "Dial", "Record", "Reject"):
            head = f"{self.verb} {self.text}".strip()
            rest = self.attrs.get("note")
            return f"[{head}]" + (f" {rest}" if rest else "")
        if self.verb == "Gather":
            return f"[Gather] {self.text}"
        # Caller / Carrier events: one sentence in brackets.
        return f"[{self.text}]"

    def to_json(self) -> dict:
        d = asdict(self)
        if not d["attrs"]:
            d.pop("attrs")
        return d


def audio_name(url: str) -> str:
    """`[Play music]` rather than a long URL: the last path segment without extension,
    or "music" for Twilio's hold-music bucket."""
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0] if path else url
    if "music" in url.lower() and "music" not in name.lower():
        return "music"
    return name or url


class Transcript:
    def __init__(self, started_at: float):
        self.started_at = started_at
        self.lines: list[Line] = []

    def add(self, now: float, verb: str, text: str = "", **attrs) -> Line:
        line = Line(
            round(now - self.started_at, 1),
            verb,
            text,
            {k: v for k, v in attrs.items() if v is not None},
        )
        self.lines.append(line)
        return line

    def render(self, *, compact: bool = False) -> str:
        """The transcript as text; `compact` folds a block heard again and again (the
        wait loop) into its first occurrence and one line saying how often it came back."""
        if not compact:
            return "\n".join(line.render() for line in self.lines)
        out: list[str] = []
        i, n = 0, len(self.lines)
        keys = [(line.verb, line.text) for line in self.lines]
        while i < n:
            best_k, best_r = 1, 1
            for k in range(1, MAX_FOLDED_BLOCK + 1):
                r = 1
                while keys[i + r * k : i + (r + 1) * k] == keys[i : i + k] and i + (r + 1) * k <= n:
                    r += 1
                if r > 1 and r * k > best_r * best_k:
                    best_k, best_r = k, r
            out.extend(line.render() for line in self.lines[i : i + best_k])
            if best_r > 1:
                last = self.lines[i + best_r * best_k - 1]
                m, sec = divmod(int(last.t), 60)
                times = "once more" if best_r == 2 else f"{best_r - 1} more times"
                out.append(
                    f"{'':5}  (the same {'line' if best_k == 1 else f'{best_k} lines'} "
                    f"{times}, until {m}:{sec:02d})"
                )
            i += best_k * best_r
        return "\n".join(out)

    def to_json(self) -> list[dict]:
        return [line.to_json() for line in self.lines]

    def __iter__(self):
        return iter(self.lines)

    def texts(self, verb: str | None = None) -> list[str]:
        return [line.text for line in self.lines if verb is None or line.verb == verb]
