"""Lists of choices with a label per language, shipped as data and extended by managers.

The agents' dispositions (legs/dispositions.yaml, HOTLINE_DISPOSITIONS_FILE) and away
reasons (routing/away_reasons.yaml, HOTLINE_AWAY_REASONS_FILE) share one shape:

    <name>:
      - id: resolved_remotely
        label: {fr: "Résolu à distance", en: "Resolved remotely"}

A manager's file in the same shape is read after the shipped one: an entry with a known
id replaces its label, a new id is added at the end; every entry needs a label in every
language the shipped file has. Every problem is a ConfigError naming the variable and
the file, so a broken extension stops a process at start rather than an agent later.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ConfigError

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LABEL_MAX = 80


def _entries(path: Path, name: str, env_var: str) -> list[tuple[str, dict[str, str]]]:
    where = f"{env_var}: {path}"
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{where}: cannot read it: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get(name), list):
        raise ConfigError(f"{where}: expected `{name}:` followed by a list of {{id, label}}")
    out = []
    for n, item in enumerate(doc[name], 1):
        if not isinstance(item, dict) or set(item) != {"id", "label"}:
            raise ConfigError(f"{where}: {name} entry {n}: expected exactly `id` and `label`")
        ident, label = item["id"], item["label"]
        if not isinstance(ident, str) or not ID_RE.match(ident):
            raise ConfigError(
                f"{where}: {name} entry {n}: id {ident!r} is not a lower-case word "
                "(letters, digits, _; at most 40)"
            )
        if not isinstance(label, dict) or not label:
            raise ConfigError(f"{where}: {name} {ident}: label must map languages to texts")
        texts = {}
        for lang, text in label.items():
            if not isinstance(text, str) or not text.strip() or len(text) > LABEL_MAX:
                raise ConfigError(
                    f"{where}: {name} {ident}: label {lang!r} must be a text of 1..{LABEL_MAX} characters"
                )
            texts[str(lang)] = " ".join(text.split())
        out.append((ident, texts))
    return out


@lru_cache(maxsize=16)
def load(
    shipped: Path,
    extra: Path | None,
    name: str,
    env_var: str,
    reserved: frozenset[str] = frozenset(),
) -> tuple[dict, ...]:
    """The shipped list with `extra` merged over it: ({"id", "label": {lang: text}}, ...).
    `reserved` ids may not appear in `extra` (internal values, never chosen by people)."""
    merged: dict[str, dict[str, str]] = {}
    for ident, texts in _entries(shipped, name, env_var):
        merged[ident] = texts
    langs = set().union(*merged.values()) if merged else set()
    if extra is not None:
        for ident, texts in _entries(extra, name, env_var):
            if ident in reserved:
                raise ConfigError(f"{env_var}: {extra}: {ident!r} is internal and cannot be listed")
            missing = langs - set(texts)
            if missing:
                raise ConfigError(
                    f"{env_var}: {extra}: {name} {ident}: no label for {', '.join(sorted(missing))}"
                )
            merged[ident] = {**merged.get(ident, {}), **texts}
    return tuple({"id": i, "label": dict(t)} for i, t in merged.items())


def ids(entries: tuple[dict, ...]) -> list[str]:
    return [e["id"] for e in entries]


def check(entries: tuple[dict, ...], value: str, what: str) -> str:
    """`value` if it is one of the ids, else ValueError listing them (one clear line)."""
    known = ids(entries)
    if value not in known:
        raise ValueError(f"{what}: {value!r} is not one of {', '.join(known)}")
    return value
