"""Every setting, read from the environment (and an optional `.env`) in one place.

`Settings.from_env()` validates at start and raises ConfigError naming the
variable. Modes:

* `production` (default): Twilio credentials and HOTLINE_PUBLIC_URL are required;
  webhook signatures are always checked (there is no switch to turn that off).
* `demo` / `test`: the carrier simulator plays Twilio; when credentials are not
  given, a generated account SID and auth token are kept under HOTLINE_DATA_DIR
  so that every process (web, worker, CLI, simulator) signs and checks with the
  same pair. Signatures are still checked.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

MODES = ("production", "demo", "test")
ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Settings:
    twilio_account_sid: str
    twilio_auth_token: str
    public_url: str
    redis_url: str | None = None
    timezone: str = "Europe/Paris"
    languages: tuple[str, ...] = ("fr-FR", "en-US")
    data_dir: Path = Path(".hotline")
    key_prefix: str = "hotline:"
    mode: str = "production"
    fallback_number: str | None = None
    hotline_number: str = "+33100000000"
    clock: str = "system"
    rq_queue: str = "hotline"
    routing_strategy: str = "longest_idle"
    simulator_url: str | None = None
    # Calls and legs
    hold_music_url: str | None = None  # played in the wait loop instead of a pause
    offer_timeout_s: float = 20.0  # how long an offer holds an agent before it expires
    agent_ring_timeout_s: int = 20  # the longest an agent's phone rings
    match_window: int = 256  # most idle agents / waiting calls one routing decision looks at
    callback_ring_timeout_s: int = 30  # how long a called-back customer's phone rings
    callback_spacing_s: float = 600.0  # between two attempts to reach a customer
    callback_attempts: int = 3  # attempts before a callback request fails
    # The agent's wrap-up and the wallboard (legs/disposition.py, legs/wrapup.ready,
    # routing/away_reasons.py, wallboard.py)
    require_disposition: bool = False  # Ready refused until the call has a disposition
    wallboard_sl_target: float = 0.8  # share of calls answered within reports.SERVICE_LEVEL_S
    dispositions_file: Path | None = None  # a managers' file over legs/dispositions.yaml
    away_reasons_file: Path | None = None  # a managers' file over routing/away_reasons.yaml
    # Managers' data files, merged over (vocabulary, tips) or instead of (policies) the shipped ones
    vocabulary_files: tuple[Path, ...] = ()
    selfhelp_files: tuple[Path, ...] = ()
    overflow_file: Path | None = None
    wrapup_file: Path | None = None
    # Staffing maths (hotline/wfm/): share of paid time off the phones (breaks, training,
    # meetings), and the busiest an agent may be kept between calls
    shrinkage: float = 0.3
    max_occupancy: float = 0.85
    # The web console's sign-in limiter (accounts/signin_limit.py): failures per window,
    # per account and per client address
    signin_max_failures: int = 5
    signin_window_s: float = 900.0
    # The archive (hotline/archive/): a SQL database for what leaves Redis; SQLite in
    # data_dir when unset. Finished calls older than retention_days move there.
    archive_url: str | None = None
    retention_days: float = 35.0
    # The web console (hotline/console/): signs its session cookies; required in production
    secret_key: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def url(self, path: str) -> str:
        """Absolute URL Twilio must request for one of our paths."""
        return self.public_url.rstrip("/") + "/" + path.lstrip("/")

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls, env: dict | None = None, *, load_dotenv: bool = True, need_twilio: bool = True
    ) -> Settings:
        """`need_twilio=False` is for commands that only read or write Redis (events,
        queue, roster…): they run without credentials even in production mode."""
        if env is None:
            if load_dotenv:
                _load_dotenv()
            env = dict(os.environ)
        mode = env.get("HOTLINE_MODE", "production").strip() or "production"
        if mode not in MODES:
            raise ConfigError(f"HOTLINE_MODE: {mode!r} is not one of {', '.join(MODES)}")
        data_dir = Path(env.get("HOTLINE_DATA_DIR", ".hotline")).expanduser()

        sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
        token = env.get("TWILIO_AUTH_TOKEN", "").strip()
        if mode == "production" and need_twilio:
            if not sid:
                raise ConfigError(
                    "TWILIO_ACCOUNT_SID is not set (or set HOTLINE_MODE=demo to use the carrier simulator)"
                )
            if not token:
                raise ConfigError("TWILIO_AUTH_TOKEN is not set")
        elif mode != "production" and not (sid and token):
            sid, token = simulator_credentials(data_dir)
        if sid and not ACCOUNT_SID_RE.match(sid):
            raise ConfigError(
                f"TWILIO_ACCOUNT_SID: {sid!r} is not an account SID (AC followed by 32 hex digits)"
            )

        public_url = env.get("HOTLINE_PUBLIC_URL", "").strip()
        if not public_url:
            if mode == "production" and need_twilio:
                raise ConfigError("HOTLINE_PUBLIC_URL is not set (the https base URL Twilio calls)")
            public_url = "http://127.0.0.1:5000"
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigError(
                f"HOTLINE_PUBLIC_URL: {public_url!r} is not an absolute http(s) base URL"
            )

        redis_url = env.get("REDIS_URL", "").strip() or None
        if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(
                f"REDIS_URL: {redis_url!r} is not a redis://, rediss:// or unix:// URL"
            )

        tzname = env.get("HOTLINE_TIMEZONE", "Europe/Paris").strip() or "Europe/Paris"
        try:
            ZoneInfo(tzname)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"HOTLINE_TIMEZONE: unknown time zone {tzname!r}") from None

        langs = tuple(
            x.strip() for x in env.get("HOTLINE_LANGUAGES", "fr-FR,en-US").split(",") if x.strip()
        )
        for lang in langs:
            if not re.match(r"^[a-z]{2}-[A-Z]{2}$", lang):
                raise ConfigError(f"HOTLINE_LANGUAGES: {lang!r} is not a language tag like fr-FR")
        if not langs:
            raise ConfigError("HOTLINE_LANGUAGES is empty")

        fallback = env.get("HOTLINE_FALLBACK_NUMBER", "").strip() or None
        if fallback and not E164_RE.match(fallback):
            raise ConfigError(
                f"HOTLINE_FALLBACK_NUMBER: {fallback!r} is not an E.164 number (+33…)"
            )
        number = env.get("HOTLINE_NUMBER", "+33100000000").strip()
        if not E164_RE.match(number):
            raise ConfigError(f"HOTLINE_NUMBER: {number!r} is not an E.164 number")

        prefix = env.get("HOTLINE_KEY_PREFIX", "hotline:")
        if "|" in prefix or not prefix.strip():
            raise ConfigError(f"HOTLINE_KEY_PREFIX: {prefix!r}: a non-empty prefix without '|'")
        strategy = env.get("HOTLINE_ROUTING_STRATEGY", "longest_idle")
        if strategy not in ("longest_idle", "most_skilled_first"):
            raise ConfigError(
                f"HOTLINE_ROUTING_STRATEGY: {strategy!r} is not longest_idle or most_skilled_first"
            )
        clock = env.get("HOTLINE_CLOCK", "system")
        from .clock import clock_from_spec

        try:
            clock_from_spec(clock)
        except ValueError as e:
            raise ConfigError(str(e)) from None

        simulator_url = env.get("HOTLINE_SIMULATOR_URL", "").strip() or None
        if simulator_url and mode == "production":
            raise ConfigError(
                "HOTLINE_SIMULATOR_URL: the carrier simulator is for HOTLINE_MODE=demo or test only"
            )

        require_disposition = _bool(env, "HOTLINE_REQUIRE_DISPOSITION", False)

        music = env.get("HOTLINE_HOLD_MUSIC_URL", "").strip() or None
        if music and urlsplit(music).scheme not in ("http", "https"):
            raise ConfigError(
                f"HOTLINE_HOLD_MUSIC_URL: {music!r} is not an http(s) URL of an audio file"
            )

        secret_key = env.get("HOTLINE_SECRET_KEY", "").strip() or None
        if secret_key and len(secret_key) < 32:
            raise ConfigError(
                "HOTLINE_SECRET_KEY: at least 32 characters (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`)"
            )

        archive_url = archive_url_from(env.get("HOTLINE_ARCHIVE_URL", ""))

        return cls(
            archive_url=archive_url,
            retention_days=_number(env, "HOTLINE_RETENTION_DAYS", 35.0, 1, 36500),
            secret_key=secret_key,
            hold_music_url=music,
            offer_timeout_s=_number(env, "HOTLINE_OFFER_TIMEOUT_S", 20.0, 5, 300),
            agent_ring_timeout_s=int(
                _number(env, "HOTLINE_AGENT_RING_TIMEOUT_S", 20, 5, 120, whole=True)
            ),
            match_window=int(_number(env, "HOTLINE_MATCH_WINDOW", 256, 1, 100_000, whole=True)),
            callback_ring_timeout_s=int(
                _number(env, "HOTLINE_CALLBACK_RING_TIMEOUT_S", 30, 5, 120, whole=True)
            ),
            callback_spacing_s=_number(env, "HOTLINE_CALLBACK_SPACING_S", 600.0, 0, 7 * 86400),
            callback_attempts=int(_number(env, "HOTLINE_CALLBACK_ATTEMPTS", 3, 1, 20, whole=True)),
            require_disposition=require_disposition,
            wallboard_sl_target=_number(env, "HOTLINE_SL_TARGET", 0.8, 0, 1),
            dispositions_file=_file(env, "HOTLINE_DISPOSITIONS_FILE"),
            away_reasons_file=_file(env, "HOTLINE_AWAY_REASONS_FILE"),
            vocabulary_files=_paths(env, "HOTLINE_VOCABULARY"),
            selfhelp_files=_paths(env, "HOTLINE_SELFHELP"),
            overflow_file=_file(env, "HOTLINE_OVERFLOW_FILE"),
            wrapup_file=_file(env, "HOTLINE_WRAPUP_FILE"),
            shrinkage=_number(env, "HOTLINE_SHRINKAGE", 0.3, 0, 0.95),
            max_occupancy=_number(env, "HOTLINE_MAX_OCCUPANCY", 0.85, 0.05, 1),
            signin_max_failures=int(
                _number(env, "HOTLINE_SIGNIN_MAX_FAILURES", 5, 1, 1000, whole=True)
            ),
            signin_window_s=_number(env, "HOTLINE_SIGNIN_WINDOW_S", 900.0, 1, 86400),
            twilio_account_sid=sid,
            twilio_auth_token=token,
            public_url=public_url.rstrip("/"),
            redis_url=redis_url,
            timezone=tzname,
            languages=langs,
            data_dir=data_dir,
            key_prefix=prefix,
            mode=mode,
            fallback_number=fallback,
            hotline_number=number,
            clock=clock,
            rq_queue=env.get("HOTLINE_RQ_QUEUE", "hotline"),
            routing_strategy=strategy,
            simulator_url=simulator_url,
        )


def archive_url_from(raw: str) -> str | None:
    """HOTLINE_ARCHIVE_URL as SQLAlchemy takes it: `postgresql://` (or `postgres://`) means
    psycopg 3 (`postgresql+psycopg://`, the driver we ship); `sqlite:///path` a file."""
    url = raw.strip()
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise ConfigError(
            f"HOTLINE_ARCHIVE_URL: {url!r} is not a URL (postgresql://... or sqlite:///...)"
        )
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return "postgresql+psycopg://" + rest
    if scheme == "sqlite":
        return url
    raise ConfigError(
        f"HOTLINE_ARCHIVE_URL: {scheme}:// is not supported (postgresql://... or sqlite:///...)"
    )


def _number(
    env: dict, name: str, default: float, low: float, high: float, *, whole: bool = False
) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{name}: {raw!r} is not {kind}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: {value} is outside {low:g}..{high:g}")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name}: {raw!r} is not true or false")


def _paths(env: dict, name: str) -> tuple[Path, ...]:
    """Files separated by the OS path separator; each must exist (a typo would be silent)."""
    out = tuple(
        Path(p.strip()).expanduser() for p in (env.get(name) or "").split(os.pathsep) if p.strip()
    )
    for p in out:
        if not p.is_file():
            raise ConfigError(f"{name}: no file {p}")
    return out


def _file(env: dict, name: str) -> Path | None:
    paths = _paths(env, name)
    if len(paths) > 1:
        raise ConfigError(f"{name}: one file, not {len(paths)}")
    return paths[0] if paths else None


def web_workers(env=None) -> int:
    """gunicorn workers (gevent, hotline/web.py) for the web process: WEB_CONCURRENCY, else
    one per core plus one. Each webhook waits on a Redis round trip; with exactly one worker
    per core that core idles meanwhile, and the extra worker fills the gap (docs/benchmarks.md)."""
    env = os.environ if env is None else env
    raw = (env.get("WEB_CONCURRENCY") or "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            raise ConfigError(
                f"WEB_CONCURRENCY must be a whole number of workers, not {raw!r}"
            ) from None
        if n < 1:
            raise ConfigError(f"WEB_CONCURRENCY must be at least 1, not {n}")
        return n
    return (os.cpu_count() or 1) + 1


def simulator_credentials(data_dir: Path) -> tuple[str, str]:
    """The generated (account SID, auth token) shared by every local process."""
    text = shared_secret(
        Path(data_dir) / "simulator-credentials.json",
        lambda: json.dumps(
            {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
        ),
        valid=_credentials_ok,
    )
    d = json.loads(text)
    return d["account_sid"], d["auth_token"]


def _credentials_ok(text: str) -> bool:
    try:
        d = json.loads(text)
        return bool(d["account_sid"] and d["auth_token"])
    except (ValueError, KeyError, TypeError):
        return False


def shared_secret(path: Path, make, *, valid=bool) -> str:
    """A secret generated once and kept in `path` (0600, its folder 0700) for every local
    process: the first to write it wins, the others read theirs (link() refuses to replace)."""
    try:
        text = path.read_text()
        if valid(text):
            return text
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp%d" % os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a secret: 0600
    with os.fdopen(fd, "w") as f:
        f.write(make())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text()


def _load_dotenv() -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - declared dependency
        return
    load_dotenv(override=False)
