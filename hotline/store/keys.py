"""Every Redis key name, behind one prefix (default `hotline:`).

Each family has exactly one owning module (see docs/architecture.md); other
modules read through the owner's functions, or pass the key to a Lua script.
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str = "hotline:"):
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"Keys({self.prefix!r})"

    @property
    def families(self) -> dict[str, str]:
        """The prefixes of the key families Lua scripts build names from (a line per skill,
        the pools of an agent's skills...), by the name scripts use (`F.waiting`): the script
        runner writes them into every script that says `--! use families`, so that every key
        a script touches is named here and no call pays for sending them."""
        return {
            "waiting": self.waiting(""),
            "agent": self.agent(""),
            "call": self.call(""),
            "reservation": self.reservation(""),
            "idle": self.idle_pool(""),
            "idlecall": self.idle_pool("", on_call=True),
            "aht": self.handle_times(""),
        }

    # events.py
    @property
    def events(self) -> str:
        return self.prefix + "events"

    @property
    def events_packed(self) -> str:
        """hash: the log's older part, compressed segments of entries (events.py)."""
        return self.prefix + "events:packed"

    # queue/calls.py
    def call(self, sid: str) -> str:
        return f"{self.prefix}call:{sid}"

    @property
    def calls(self) -> str:
        """zset: every call sid -> created at (for listing)."""
        return self.prefix + "calls"

    def caller(self, number: str) -> str:
        """hash: last call time and count for a caller's number (repeat callers)."""
        return f"{self.prefix}caller:{number}"

    def caller_calls(self, number: str) -> str:
        """zset: a caller's number -> its last calls, sid -> created_at (the agent's call card)."""
        return f"{self.prefix}caller_calls:{number}"

    # queue/waiting.py
    def waiting(self, skill: str) -> str:
        return f"{self.prefix}waiting:{skill}"

    @property
    def skills(self) -> str:
        """set: the skills that have (or had) a waiting line."""
        return self.prefix + "skills"

    @property
    def enqueue_seq(self) -> str:
        """string counter: sub-millisecond sequence that keeps equal effective arrivals FIFO."""
        return self.prefix + "enqueue:seq"

    # queue/estimates.py
    def handle_times(self, skill: str) -> str:
        return f"{self.prefix}aht:{skill}"

    # ivr/announcements.py
    def announcement(self, lang: str) -> str:
        return f"{self.prefix}announcement:{lang}"

    # routing/agents.py
    def agent(self, agent_id: str) -> str:
        return f"{self.prefix}agent:{agent_id}"

    @property
    def agents(self) -> str:
        return self.prefix + "agents"

    def idle(self, skill: str) -> str:
        return f"{self.prefix}idle:{skill}"

    def idle_pool(self, skill: str, lang: str | None = None, on_call: bool = False) -> str:
        """zset: available agents for a skill -> strategy score (lowest is offered first).

        `idle:{skill}` on shift, any language; `idle:{skill}:{lang}` on shift and
        speaking lang; `idlecall:…` the same for agents reached only on call.
        Lua builds the same names from `families` (see the note on keys in routing/matcher.py).
        """
        base = "idlecall" if on_call else "idle"
        return f"{self.prefix}{base}:{skill}" + (f":{lang}" if lang else "")

    # roster/store.py (the document, and who is on now)
    @property
    def roster(self) -> str:
        return self.prefix + "roster"

    @property
    def onshift(self) -> str:
        return self.prefix + "onshift"

    @property
    def oncall(self) -> str:
        return self.prefix + "oncall"

    # routing/matcher.py
    def reservation(self, sid: str) -> str:
        return f"{self.prefix}reservation:{sid}"

    @property
    def reservations(self) -> str:
        """zset: call sid -> reservation expiry (the sweep reads it)."""
        return self.prefix + "reservations"

    @property
    def sweep_lock(self) -> str:
        """string "<until> <token>": one sweep at a time across workers, held until a time
        of the clock (sweep.py, sweep_lock.lua)."""
        return self.prefix + "sweep:lock"

    def timer(self, name: str) -> str:
        """string: when the self-rescheduling RQ timer `name` (sweep, shift) next fires."""
        return f"{self.prefix}timer:{name}"

    # timers.py
    @property
    def timers(self) -> str:
        """zset: delayed job (JSON [func, args, at]) -> due, clock seconds."""
        return self.prefix + "timers"

    @property
    def timers_claimed(self) -> str:
        """zset: timer claimed by a worker's pump -> end of its lease (real seconds)."""
        return self.prefix + "timers:claimed"

    # abandoned_jobs.py
    @property
    def workers_alive(self) -> str:
        """zset: a `hotline worker` process's token -> its heartbeat's last beat (real seconds)."""
        return self.prefix + "workers:alive"

    # store/outage.py
    @property
    def outage(self) -> str:
        """hash: since/until of the last time a process found Redis unreachable (the sweep reconciles)."""
        return self.prefix + "store:outage"

    @property
    def run_id(self) -> str:
        """string: the Redis server's run_id the sweep last saw (a restart changes it)."""
        return self.prefix + "store:run_id"

    # legs/ (agent and callback call legs)
    def leg(self, call_sid: str) -> str:
        """hash: one outbound leg we placed (agent offer, callback customer), by its own CallSid."""
        return f"{self.prefix}leg:{call_sid}"

    @property
    def wrapups(self) -> str:
        """zset: agent id -> when their wrap-up ends (the timer job and the sweep read it)."""
        return self.prefix + "wrapups"

    @property
    def callback_retries(self) -> str:
        """zset: call sid -> when its next callback attempt may be routed (timer job + sweep)."""
        return self.prefix + "callback:retries"

    # webhooks/idempotency.py
    def idempotency(self, token: str) -> str:
        """string, TTL: a webhook's I-Twilio-Idempotency-Token -> the answer its first delivery got."""
        return f"{self.prefix}idem:{token}"

    # carrier simulator (carrier/)
    def sim(self, name: str) -> str:
        return f"{self.prefix}sim:{name}"

    # accounts/ (the web console's users, sign-in limiter and wallboard tokens)
    def user(self, email: str) -> str:
        """hash: one console user (role, name, agent_id, disabled, generation, password_hash...)."""
        return f"{self.prefix}user:{email}"

    @property
    def users(self) -> str:
        """set: every console user's email (accounts/users.py)."""
        return self.prefix + "users"

    def signin_failures(self, scope: str, subject: str) -> str:
        """list, TTL: times of the latest failed sign-ins of one account (scope `account`) or
        one client address (`addr`), newest first, at most the limit (accounts/signin_limit.py)."""
        return f"{self.prefix}signin:{scope}:{subject}"

    @property
    def tv_tokens(self) -> str:
        """hash: TV token id -> JSON {digest, label, created_at, by} (accounts/tokens.py)."""
        return self.prefix + "tvtokens"

    @property
    def tv_token_digests(self) -> str:
        """hash: SHA-256 of a TV token -> its id; the token itself is never stored."""
        return self.prefix + "tvtokens:digest"

    @property
    def calendar_tokens(self) -> str:
        """hash: roster agent id -> JSON {digest, token_id, created_at, by}, at most one live
        calendar-feed token per agent (accounts/calendar_tokens.py)."""
        return self.prefix + "caltokens"

    @property
    def calendar_token_digests(self) -> str:
        """hash: SHA-256 of a calendar-feed token -> its agent id; the token is never stored."""
        return self.prefix + "caltokens:digest"

    @property
    def calendar_seen(self) -> str:
        """hash: agent id -> "roster version|first served at": a feed's LAST-MODIFIED."""
        return self.prefix + "caltokens:seen"

    # archive/ (moves finished calls and old events to the SQL archive; it deletes
    # call:{sid}, `calls` entries and trims `events` through archive_calls.lua / XTRIM)
    @property
    def archive_lock(self) -> str:
        """string with TTL: one archive run at a time across workers and `hotline archive`."""
        return self.prefix + "archive:lock"
