"""Every exception the domain raises, in one place.

Redis errors are converted where they enter (store/, webhooks/) so that callers
choose the fallback explicitly: a caller always gets TwiML, never a 500.
"""


class HotlineError(Exception):
    """Base class: a message fit for one line on an operator's terminal."""


class ConfigError(HotlineError):
    """A setting is missing or invalid; the message names the variable."""


class StoreUnavailable(HotlineError):
    """Redis cannot be reached (or answered with an error we cannot act on)."""


class UnknownCall(HotlineError):
    """No call record for this CallSid."""


class IllegalTransition(HotlineError):
    """An agent (or call) state change that the state machine refuses."""


class RosterInvalid(HotlineError):
    """A roster document failed validation; `problems` lists every one."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NotEligible(HotlineError):
    """A routing decision that cannot be made (no such agent, no such call)."""


class DispositionRequired(HotlineError):
    """An agent's Ready refused: HOTLINE_REQUIRE_DISPOSITION and the call has no disposition."""


class ArchiveError(HotlineError):
    """An archive run refused or stopped: another run holds the lock, or a copy was not
    found in the archive after writing it (nothing was deleted from Redis)."""


class ArchiveBusy(ArchiveError):
    """Another archive run holds `archive:lock`."""
