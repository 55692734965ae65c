"""TwiML attributes and texts read the way Twilio reads them (numbers, booleans, keys)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .call_data import TwimlError


def text_of(el: ET.Element) -> str:
    """The element's text, nested text included, with runs of whitespace made one space."""
    return " ".join("".join(el.itertext()).split())


def number(value: str | None, default: float) -> float:
    if value is None or value == "":
        return float(default)
    try:
        n = float(value)
    except ValueError:
        raise TwimlError(f"{value!r} is not a number") from None
    if n < 0:
        raise TwimlError(f"{value!r} is negative")
    return n


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def loops(el: ET.Element, default: int = 1) -> int:
    try:
        n = int(el.get("loop", default))
    except ValueError:
        n = default
    return 1000 if n <= 0 else n  # Twilio: loop="0" repeats until the call ends


def method_of(el: ET.Element) -> str:
    return (el.get("method") or "POST").upper()


def collect(keys: str, finish_on_key: str, num_digits: str | None) -> tuple[str, bool]:
    """(Digits Twilio reports, whether input ended without waiting for the timeout)."""
    limit = int(num_digits) if num_digits else None
    out = ""
    for k in keys:
        if finish_on_key and k in finish_on_key:
            return out, True
        out += k
        if limit is not None and len(out) >= limit:
            return out, True
    return out, False


def noun_target(noun: ET.Element) -> str:
    """The address a <Dial> noun rings: a number, or client:identity."""
    if noun.tag == "Client":
        ident = noun.find("Identity")
        name = (ident.text if ident is not None else noun.text) or ""
        return "client:" + name.strip()
    return text_of(noun)
