"""`hotline call`: place one simulated call through the IVR and print what the caller heard.

Without --url the app runs in this process on a loopback port (real HTTP, the
embedded Redis or REDIS_URL, virtual time: a two-minute wait takes
milliseconds). With --url the call goes to a running `hotline serve`, in real
time (or the scaled time of HOTLINE_CLOCK, which both sides must share).
"""

from __future__ import annotations

import json
import sys

import click

from ..carrier.party import Party, script
from ..carrier.twiml_exec import CallResult
from ..errors import HotlineError

PRESS_HELP = (
    "Keys for the Gathers, in order, comma-separated: '1' answers the menu; '2,1' "
    "chooses software then presses 1 after the self-help tip; '3,8007#' keys in an "
    "error code; an empty entry ('9,,1') stays silent at that Gather."
)


def register(main: click.Group) -> None:
    main.add_command(call)


@click.command()
@click.option(
    "--from",
    "from_",
    default="+33612345678",
    show_default=True,
    help="The caller's number (E.164).",
)
@click.option("--press", default=None, help=PRESS_HELP)
@click.option(
    "--say", default=None, help='Answer the first menu by speech, e.g. "ma connexion wifi coupe".'
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default="fr",
    show_default=True,
    help="en presses 9 at the greeting first.",
)
@click.option(
    "--hangup-after",
    "patience",
    default=120.0,
    show_default=True,
    type=float,
    help="The caller's patience in the queue, in (simulated) seconds.",
)
@click.option(
    "--confidence",
    default=0.92,
    show_default=True,
    type=float,
    help="Confidence reported for --say.",
)
@click.option(
    "--url",
    default=None,
    help="Base URL of a running `hotline serve` (default: run the app in-process).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="The call, its transcript and its requests as one JSON object.",
)
def call(from_, press, say, lang, patience, confidence, url, as_json):
    """Place one simulated call and print its transcript."""
    if patience <= 0:
        raise HotlineError("--hangup-after must be a positive number of seconds")
    party = Party(script(press=press, say=say, lang=lang, confidence=confidence), patience=patience)
    result = _remote(url, party, from_) if url else _local(party, from_)
    _print(result, as_json)
    if result.error is not None:
        sys.exit(1)


def _local(party: Party, from_: str) -> CallResult:
    from ..carrier.local import LocalHotline

    with LocalHotline() as hotline:
        return hotline.call(party, from_=from_)


def _remote(url: str, party: Party, from_: str) -> CallResult:
    from urllib.parse import urlsplit

    from ..carrier.local import offline_settings
    from ..carrier.simulator import Carrier, CarrierConfig
    from ..carrier.timing import RealTimeline
    from ..clock import ManualClock, SystemClock, clock_from_spec

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HotlineError(f"--url: {url!r} is not an http(s) base URL like http://127.0.0.1:5000")
    # Demo mode only decides where the credentials come from: TWILIO_* when set (a server in
    # production mode checks with those), else the generated pair a demo-mode server shares.
    settings = offline_settings()
    clock = clock_from_spec(settings.clock)
    if isinstance(clock, ManualClock):  # a manual clock cannot be shared with another process
        clock = SystemClock()
    cfg = CarrierConfig.from_settings(settings.with_(public_url=url.rstrip("/")))
    carrier = Carrier(cfg, RealTimeline(clock))
    try:
        return carrier.call(party, from_=from_)
    finally:
        carrier.close()


def _print(result: CallResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    click.echo(result.transcript.render())
    click.echo(summary(result))
    if result.error is not None:
        click.echo(f"hotline: error: {result.error}", err=True)


def summary(result: CallResult) -> str:
    d = result.duration
    took = f" after {d // 60}m{d % 60:02d}s" if d is not None else ""
    queue = f", left the queue: {result.queue_result}" if result.queue_result else ""
    return f"-- call {result.sid} from {result.from_}: {result.status}{took}{queue}"
