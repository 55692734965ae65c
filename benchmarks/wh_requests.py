"""The signed requests of a benchmark run, and the IVR path they follow.

A request is one line: path with query, form body and X-Twilio-Signature, tab-separated
(what wrk's Lua script and the Python client replay). The URLs of the menu and wait
steps are not hard-coded: `follow_to_queue` plays a caller from the incoming URL, as
Twilio would, and `marker_of` picks the piece of TwiML every correct answer of a step
contains.
"""

from __future__ import annotations

import http.client
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from wh_common import ACCOUNT_SID, FORM, HERE, HOST, HOTLINE_NUMBER, INCOMING_PATH

BARE_CALLS = 2000  # distinct calls in the bare request sets


@dataclass
class Signer:
    base_url: str
    token: str

    def line(self, url_or_path: str, params: dict) -> str:
        from twilio.request_validator import RequestValidator

        path = url_or_path.removeprefix(self.base_url)
        sig = RequestValidator(self.token).compute_signature(self.base_url + path, params)
        body = urlencode(params)
        assert "\t" not in path + body + sig and "\n" not in path + body + sig
        return f"{path}\t{body}\t{sig}"


def call_params(sid: str, n: int, **extra) -> dict:
    p = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Called": HOTLINE_NUMBER,
        "Caller": f"+336{n % 10**8:08d}",
        "Direction": "inbound",
        "From": f"+336{n % 10**8:08d}",
        "FromCountry": "FR",
        "To": HOTLINE_NUMBER,
        "ToCountry": "FR",
    }
    p.update(extra)
    return p


def sid_of(prefix: str, i: int) -> str:
    # 32 hex digits after CA, like Twilio's; the prefix keeps each run's calls apart.
    return "CA" + prefix + f"{i:0{32 - len(prefix)}x}"


def wait_params(base: dict, position: int, queue: str) -> dict:
    return {
        **base,
        "QueueSid": "QU" + "0" * 32,
        "QueuePosition": str(position),
        "QueueTime": "42",
        "AvgQueueTime": "60",
        "CurrentQueueSize": "100",
        "MaxQueueSize": "1000",
        "CallStatus": "in-progress",
    }


def http_post(port: int, line: str, timeout: float = 10.0) -> tuple[int, str]:
    path, body, sig = line.split("\t")
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(
            "POST", path, body=body, headers={"Content-Type": FORM, "X-Twilio-Signature": sig}
        )
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


# TwiML discovery: follow the IVR like Twilio does, from the incoming URL only ----------


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def first(root: ET.Element, tag: str):
    return next(iter(root.iter(tag)), None)


def marker_of(xml: str) -> str:
    """A substring every correct answer of this step contains: the path of its first URL,
    else the opening tag of its first verb."""
    root = parse(xml)
    for el in root.iter():
        for attr in ("action", "waitUrl"):
            if el.get(attr):
                return urlsplit(el.get(attr)).path
        if el.tag == "Redirect" and el.text:
            return urlsplit(el.text.strip()).path
    return "<" + root[0].tag if len(root) else "<Response"


@dataclass
class Flow:
    menu_url: str = ""
    incoming_xml: str = ""
    menu_xml: str = ""
    wait_xml: str = ""
    steps: list[str] = field(default_factory=list)


def follow_to_queue(port: int, signer: Signer, sid: str, n: int, flow: Flow | None = None):
    """Play one caller: incoming, press 1 (connection problem), then 2 at any further
    question, until an <Enqueue>. Returns (menu action URL, waitUrl, queue name)."""
    base = call_params(sid, n)
    status, xml = http_post(port, signer.line(INCOMING_PATH, base))
    if status != 200:
        raise RuntimeError(f"incoming: HTTP {status}: {xml[:300]}")
    g = first(parse(xml), "Gather")
    if g is None or not g.get("action"):
        raise RuntimeError(f"incoming: no <Gather action=...> in {xml[:500]}")
    menu_url = g.get("action")
    if flow is not None:
        flow.incoming_xml, flow.menu_url = xml, menu_url
        flow.steps.append(f"POST {INCOMING_PATH} -> Gather action={menu_url}")
    url, digits = menu_url, "1"
    for step in range(8):
        status, xml = http_post(
            port, signer.line(url, {**base, "Digits": digits}) if digits else signer.line(url, base)
        )
        if status != 200:
            raise RuntimeError(f"{url}: HTTP {status}: {xml[:300]}")
        if flow is not None:
            if step == 0:
                flow.menu_xml = xml
            flow.steps.append(
                f"POST {urlsplit(url).path}{'?' + urlsplit(url).query if urlsplit(url).query else ''}"
                f" Digits={digits or '-'}"
            )
        root = parse(xml)
        enq = first(root, "Enqueue")
        if enq is not None:
            if not enq.get("waitUrl"):
                raise RuntimeError(f"<Enqueue> without waitUrl: {xml[:500]}")
            if flow is not None:
                flow.steps.append(f"  -> Enqueue {enq.text!r} waitUrl={enq.get('waitUrl')}")
            return menu_url, enq.get("waitUrl"), (enq.text or "").strip()
        g, red = first(root, "Gather"), first(root, "Redirect")
        if g is not None and g.get("action"):
            url, digits = g.get("action"), "2"
        elif red is not None and red.text:
            url, digits = red.text.strip(), None
        else:
            raise RuntimeError(f"the IVR stopped before a queue: {xml[:500]}")
    raise RuntimeError("no <Enqueue> after 8 steps")


def queue_waiting_calls(port: int, signer: Signer, n: int) -> tuple[list[str], str]:
    """Put `n` calls in the queue; their waitUrl requests (each with its own waitUrl and
    Twilio's queue parameters) and the marker of the wait TwiML."""
    lines: list[str] = []
    wait_xml = None
    for k in range(n):
        sid = sid_of("d1", k)
        _, wait_url, queue = follow_to_queue(port, signer, sid, 10_000 + k)
        lines.append(signer.line(wait_url, wait_params(call_params(sid, 10_000 + k), k + 1, queue)))
        if wait_xml is None:
            st, wait_xml = http_post(port, lines[-1])
            if st != 200:
                raise RuntimeError(f"waitUrl: HTTP {st}: {wait_xml[:300]}")
    return lines, marker_of(wait_xml)


# Request sets --------------------------------------------------------------------------


def bare_requests(signer: Signer, path: str) -> list[str]:
    return [signer.line(path, call_params(sid_of("b", i), i)) for i in range(BARE_CALLS)]


def bare_doc(bare_url: str) -> str:
    """The constant document of bare_app.py, as it answers at `bare_url`."""
    sys.path.insert(0, str(HERE))
    from bare_app import constant_twiml

    from hotline.config import Settings

    s = Settings(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token="x", public_url=bare_url, mode="test"
    )
    return constant_twiml(s)


@dataclass
class Workload:
    """What a run replays: signed request sets, and the marker each answer must contain."""

    app: Signer
    flow: Flow
    cap: int  # distinct calls per incoming run: enough for the fastest plausible run
    markers: dict[str, str] = field(default_factory=dict)  # bare, incoming, menu, wait
    bare_lines: list[str] = field(default_factory=list)
    bare_redis_lines: list[str] = field(default_factory=list)
    wait_lines: list[str] = field(default_factory=list)

    def incoming_lines(self, prefix: str, n: int | None = None) -> list[str]:
        """A new call per request (CallSids `prefix`...): each creates a call."""
        return [
            self.app.line(INCOMING_PATH, call_params(sid_of(prefix, i), i))
            for i in range(n or self.cap)
        ]

    def menu_lines(self, prefix: str, n: int) -> list[str]:
        """Digits=1 on the calls an incoming run with this prefix created."""
        return [
            self.app.line(self.flow.menu_url, {**call_params(sid_of(prefix, i), i), "Digits": "1"})
            for i in range(n)
        ]
