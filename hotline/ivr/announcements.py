"""The incident announcement: one current message per language, played after the greeting.

Owns `announcement:{lang}` (hash: text, by, at). Set and cleared by a manager
(`hotline announce`); each change is an event. The incoming webhook reads it
inside create_call.lua, in the same round trip that creates the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..languages import LANGS, spoken

if TYPE_CHECKING:
    from ..services import Services


MAX_CHARS = 400


class Announcements:
    def __init__(self, svc: Services):
        self.svc = svc
        self.r = svc.redis
        self.keys = svc.keys

    def languages(self) -> list[str]:
        """The IVR languages this hotline speaks (HOTLINE_LANGUAGES, as short codes)."""
        out = [spoken(tag, "") for tag in self.svc.settings.languages]
        return [x for x in dict.fromkeys(out) if x in LANGS] or list(LANGS)

    def _targets(self, lang: str | None) -> list[str]:
        if lang is None:
            return self.languages()
        if lang not in self.languages():
            raise ValueError(f"--lang: {lang!r} is not one of {', '.join(self.languages())}")
        return [lang]

    def set(self, text: str, lang: str | None = None, *, by: str = "manager") -> list[str]:
        """Set the message for `lang`, or for every language when lang is None (the same
        text: better than silence for a caller in the other language). Returns the languages."""
        text = " ".join((text or "").split())
        if not text:
            raise ValueError("the announcement text is empty (use --clear to remove it)")
        if len(text) > MAX_CHARS:
            raise ValueError(
                f"the announcement is {len(text)} characters; keep it under {MAX_CHARS}: callers are waiting"
            )
        langs = self._targets(lang)
        now = self.svc.clock.now()
        p = self.r.pipeline(transaction=True)
        for lg in langs:
            p.hset(self.keys.announcement(lg), mapping={"text": text, "by": by, "at": repr(now)})
            self.svc.events.append(
                "announcement_set", lang=lg, text=text, by=by, pipeline=p, ts=now
            )
        p.execute()
        return langs

    def clear(self, lang: str | None = None, *, by: str = "manager") -> list[str]:
        """Remove the message (every language by default); returns the languages that had one."""
        langs = self._targets(lang)
        return list(
            self.svc.scripts.announcement_clear(
                keys=[self.keys.events, *(self.keys.announcement(lg) for lg in langs)],
                args=[repr(self.svc.clock.now()), by, *langs],
            )
        )

    def current(self, lang: str) -> str | None:
        return self.r.hget(self.keys.announcement(lang), "text") or None

    def all(self) -> dict[str, dict]:
        p = self.r.pipeline(transaction=False)
        for lg in self.languages():
            p.hgetall(self.keys.announcement(lg))
        return {lg: h for lg, h in zip(self.languages(), p.execute()) if h}
