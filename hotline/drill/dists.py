"""Random durations of a drill: fixed, exponential or lognormal, drawn from one seeded RNG.

Pure: a `Dist` knows its mean and draws from the `random.Random` it is given, so a drill
with the same seed plays the same way every time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

KINDS = ("fixed", "exponential", "lognormal")


@dataclass(frozen=True)
class Dist:
    kind: str  # fixed | exponential | lognormal | never (no patience: waits for ever)
    mean: float
    sd: float = 0.0

    def draw(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.mean
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0
        if self.kind == "lognormal":
            # Parameters from the mean and standard deviation people know, not mu/sigma.
            s2 = math.log(1.0 + (self.sd / self.mean) ** 2)
            return rng.lognormvariate(math.log(self.mean) - s2 / 2.0, math.sqrt(s2))
        return math.inf

    def describe(self) -> str:
        if self.kind == "never":
            return "never"
        if self.kind == "lognormal":
            return f"lognormal(mean {self.mean:g} s, sd {self.sd:g} s)"
        return f"{self.kind}({self.mean:g} s)"


NEVER = Dist("never", math.inf)
