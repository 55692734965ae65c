"""What is the caller's problem? A transparent keyword-and-phrase classifier.

The caller says a sentence ("ma connexion wifi coupe sans arrêt", "Excel crashes
on startup"); Twilio transcribes it; `classify(text, lang)` picks one of
CATEGORIES with a confidence. No statistics and no training: a manager must be
able to open `data/vocabulary.yaml` and see why a sentence went where it went,
and extend it without a developer.

How a sentence is scored
------------------------
1. Text and vocabulary are folded the same way: Unicode NFKD with the accents
   dropped, case folded, œ/æ spelled out, apostrophes and hyphens become spaces.
   "Écran bleu", "ecran bleu" and "ÉCRAN-BLEU" are the same three letters apart.
2. The sentence is read left to right; at each word the LONGEST vocabulary entry
   that matches there wins and its words are consumed. So a phrase beats the
   words it contains: "mise à jour" is software even though "jour" is nothing,
   "pas de message d'erreur" (weight 0) hides the "message d'erreur" inside it.
   At equal length an exact word beats a `prefix*` one.
3. An entry is a word (weight 1), a phrase of several words (weight 2), or any
   weight written after it (`connect*: 0.5`). `word*` matches any word starting
   with `word`; `<num>` matches a number, written in digits ("404", "0x80070005")
   or spelled out by speech recognition ("quatre cent quatre", "four oh four").
   Weight 0 recognises a phrase in order to ignore it (negations); a negative
   weight counts against its category.
4. Each category's score is the sum of its matched weights (never below 0).
   Nothing scored: `general`, confidence 0.
5. confidence = (best − second best) / (best + 1). The +1 is a prior: a single
   plain word with no competitor gives exactly 0.5 = CONFIDENCE_THRESHOLD, a
   phrase alone gives 0.67, two rival words give 0. Below the threshold the IVR
   asks the caller to confirm by key. A tie goes to the first of CATEGORIES,
   with confidence 0, so it is always confirmed.

Policy decisions encoded in the shipped vocabulary (say so to callers' managers):
* An error message or code on screen makes the call `error_message`, whatever
  program shows it: "message d'erreur quand j'ouvre Outlook" is error_message.
  A crash without a message is `software`; a crash "avec un code" is error_message.
* Network words (wifi, VPN, box, réseau…) make it `connection`, including
  "je n'arrive pas à me connecter au VPN". Bare "se connecter" weighs only 0.5
  because callers also use it for logging in.
* Passwords, locked accounts, logging into one's session, printers and other
  hardware are `general` (the generalist agents reset passwords), except the
  wifi password, which is `connection`.

Extending the vocabulary
------------------------
Set HOTLINE_VOCABULARY to one or more yaml files (separated by the OS path
separator, ':' on Linux) in the same format as data/vocabulary.yaml; they are
merged over the shipped file in order: an entry already present in the same
language (after folding) is replaced (new category and weight), a new one is
added, and weight 0 neutralises a shipped entry. HOTLINE_SELFHELP does the same
for data/selfhelp.yaml. Both are settings (config.py); the app hands them over at
start (`check_data(settings)`), and they are read once per process (the IVR webhooks
are benchmarked); `reload_data()` forgets the cache.

This module is pure Python: no Redis, no Flask.
"""

from __future__ import annotations

import functools
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

from ..errors import ConfigError

CATEGORIES: tuple[str, ...] = ("connection", "software", "error_message", "general")
SKILL_FOR_CATEGORY = MappingProxyType({c: c for c in CATEGORIES})
_ONE_OF = ", ".join(CATEGORIES)

CONFIDENCE_THRESHOLD = 0.5
WORD_WEIGHT = 1.0
PHRASE_WEIGHT = 2.0
PRIOR = 1.0

DEFAULT_LANGUAGE = "fr"
DATA_DIR = Path(__file__).parent / "data"
SHIPPED_VOCABULARY = DATA_DIR / "vocabulary.yaml"
SHIPPED_SELFHELP = DATA_DIR / "selfhelp.yaml"
# The managers' files merged over the shipped ones: set by `configure` (from the settings).
_extra_files: dict[str, tuple[Path, ...]] = {"HOTLINE_VOCABULARY": (), "HOTLINE_SELFHELP": ()}

ANY = "any"  # vocabulary entries valid in every language (brand names, "wifi", "VPN")
NUM = "<num>"

# Twilio's <Gather hints>: at most 500 entries of at most 100 characters.
MAX_HINTS = 500
MAX_HINT_CHARS = 100

# Speech recognition often spells numbers out. "un"/"une"/"a" are left out:
# they are articles far more often than digits.
NUMBER_WORDS = frozenset(
    [
        "zero",
        "deux",
        "trois",
        "quatre",
        "cinq",
        "six",
        "sept",
        "huit",
        "neuf",
        "dix",
        "onze",
        "douze",
        "treize",
        "quatorze",
        "quinze",
        "seize",
        "vingt",
        "vingts",
        "trente",
        "quarante",
        "cinquante",
        "soixante",
        "cent",
        "cents",
        "mille",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
    ]
)

_LANG_KEY = re.compile(r"^[a-z]{2,3}$")
_TEXT_TOKEN = re.compile(r"[a-z0-9]+")
_TERM_TOKEN = re.compile(r"<num>|[a-z0-9]+\*?")
_EXACT, _PREFIX, _NUMBER = 0, 1, 2


def fold(text: str) -> str:
    """Accents dropped, case folded: what both speech and vocabulary become."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold().replace("œ", "oe").replace("æ", "ae")


def words(text: str) -> list[str]:
    """The folded words of a sentence; punctuation, apostrophes and hyphens split."""
    return _TEXT_TOKEN.findall(fold(text))


def normalize_language(lang: str | None) -> str | None:
    """'fr-FR' -> 'fr', 'en_US' -> 'en'; None for nothing usable."""
    if not lang:
        return None
    base = str(lang).strip().lower().replace("_", "-").split("-")[0]
    return base if _LANG_KEY.match(base) else None


def _is_number(word: str) -> bool:
    return word in NUMBER_WORDS or any(ch.isdigit() for ch in word)


@dataclass(frozen=True)
class Term:
    """One vocabulary entry, as the manager wrote it and as it is matched."""

    entry: str
    category: str
    lang: str
    weight: float
    pattern: tuple[tuple[int, str], ...]

    @property
    def key(self) -> tuple:
        return (self.lang, self.pattern)

    @property
    def specificity(self) -> tuple[int, int]:
        return (len(self.pattern), sum(1 for kind, _ in self.pattern if kind == _EXACT))

    @staticmethod
    def word_matches(part: tuple[int, str], word: str) -> bool:
        kind, value = part
        if kind == _EXACT:
            return word == value
        if kind == _PREFIX:
            return word.startswith(value)
        return _is_number(word)

    def matches_at(self, text: list[str], i: int) -> bool:
        if i + len(self.pattern) > len(text):
            return False
        return all(Term.word_matches(p, w) for p, w in zip(self.pattern, text[i:]))

    @property
    def speakable(self) -> bool:
        """Usable as a speech hint: real words only, and evidence for its category."""
        return self.weight > 0 and all(kind == _EXACT for kind, _ in self.pattern)


def _parse_pattern(entry: str) -> tuple[tuple[int, str], ...]:
    out = []
    for tok in _TERM_TOKEN.findall(fold(entry)):
        if tok == NUM:
            out.append((_NUMBER, tok))
        elif tok.endswith("*"):
            out.append((_PREFIX, tok[:-1]))
        else:
            out.append((_EXACT, tok))
    return tuple(out)


class _Index:
    """The terms of one language, found by first word so matching stays cheap."""

    MAX_MEMO = 20_000  # distinct words remembered; a bound, not a tuning knob

    def __init__(self, terms: list[Term]):
        self.terms = terms
        self.by_first: dict[str, list[Term]] = {}
        self.other: list[Term] = []  # first word is a prefix* or <num>
        for t in terms:
            kind, value = t.pattern[0]
            if kind == _EXACT:
                self.by_first.setdefault(value, []).append(t)
            else:
                self.other.append(t)
        # word -> the terms that can start at it, longest first: speech repeats
        # the same few hundred words, so the prefix scan runs once per word.
        self._starting: dict[str, tuple[Term, ...]] = {}

    def starting_with(self, word: str) -> tuple[Term, ...]:
        found = self._starting.get(word)
        if found is None:
            first = [t for t in self.other if Term.word_matches(t.pattern[0], word)]
            candidates = [*self.by_first.get(word, ()), *first]
            found = tuple(sorted(candidates, key=lambda t: t.specificity, reverse=True))
            if len(self._starting) >= self.MAX_MEMO:
                self._starting.clear()
            self._starting[word] = found
        return found

    def longest_at(self, text: list[str], i: int) -> Term | None:
        for t in self.starting_with(text[i]):
            if t.matches_at(text, i):
                return t
        return None


class Vocabulary:
    """Terms per language, merged from the shipped file and managers' extensions."""

    def __init__(self, terms: list[Term], sources: tuple[str, ...]):
        self.terms = tuple(terms)
        self.sources = sources
        self.languages = frozenset(t.lang for t in terms if t.lang != ANY)
        self._indexes = {lang: _Index(self._terms_for(lang)) for lang in self.languages}
        # Unknown language: every language's words at once, the best guess we have.
        self._indexes[None] = _Index(list(self.terms))

    def _terms_for(self, lang: str) -> list[Term]:
        own = [t for t in self.terms if t.lang == lang]
        mine = {t.pattern for t in own}
        return [t for t in self.terms if t.lang == ANY and t.pattern not in mine] + own

    def index(self, lang: str | None) -> _Index:
        base = normalize_language(lang)
        return self._indexes[base if base in self.languages else None]

    def merged_with(self, other: Vocabulary) -> Vocabulary:
        by_key = {t.key: t for t in self.terms}
        for t in other.terms:
            by_key.pop(t.key, None)  # re-inserted last: the extension's version wins
            by_key[t.key] = t
        return Vocabulary(list(by_key.values()), self.sources + other.sources)


def _read_yaml(path: str | os.PathLike, env_var: str) -> tuple[object, str]:
    """The parsed document of a data file and the name to quote in errors.

    An unreadable file names `env_var`, the setting that pointed at it.
    """
    where = str(Path(path))
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{env_var}: cannot read {where}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {e}") from None
    return ({} if doc is None else doc), where  # an empty extension file adds nothing


def load_vocabulary(path: str | os.PathLike, base: Vocabulary | None = None) -> Vocabulary:
    """Read and check one vocabulary file; with `base`, merge it over base.

    Raises ConfigError naming the file and the faulty entry; nothing is cached.
    """
    doc, where = _read_yaml(path, "HOTLINE_VOCABULARY")
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping of category -> language -> entries")
    terms: list[Term] = []
    seen: dict[tuple, str] = {}
    for category, langs in doc.items():
        if category not in CATEGORIES:
            raise ConfigError(f"{where}: unknown category {category!r}; expected one of {_ONE_OF}")
        if not isinstance(langs, dict):
            raise ConfigError(
                f"{where}: {category}: expected a mapping of language -> list of entries"
            )
        for lang, entries in langs.items():
            lang = str(lang)
            if lang != ANY and not _LANG_KEY.match(lang):
                raise ConfigError(
                    f"{where}: {category}: {lang!r} is not a language code like fr, en or any"
                )
            if not isinstance(entries, list):
                raise ConfigError(f"{where}: {category}/{lang}: expected a list of entries")
            for item in entries:
                term = _parse_entry(item, category, lang, f"{where}: {category}/{lang}")
                if term.key in seen:
                    raise ConfigError(
                        f"{where}: {category}/{lang}: {term.entry!r} is listed twice "
                        f"(also as {seen[term.key]})"
                    )
                seen[term.key] = f"{category}/{lang} {term.entry!r}"
                terms.append(term)
    loaded = Vocabulary(terms, (where,))
    return base.merged_with(loaded) if base is not None else loaded


def _parse_entry(item, category: str, lang: str, where: str) -> Term:
    if isinstance(item, str):
        entry, weight = item, None
    elif isinstance(item, dict) and len(item) == 1:
        ((entry, weight),) = item.items()
        numeric = isinstance(weight, (int, float)) and not isinstance(weight, bool)
        if not numeric or not math.isfinite(weight):
            raise ConfigError(f"{where}: {entry!r}: the weight must be a number, got {weight!r}")
    else:
        raise ConfigError(
            f"{where}: {item!r}: an entry is a word or phrase, optionally 'phrase: weight'"
        )
    entry = str(entry).strip()
    pattern = _parse_pattern(entry)
    if not pattern:
        raise ConfigError(f"{where}: {entry!r} contains no word")
    if weight is None:
        weight = WORD_WEIGHT if len(pattern) == 1 else PHRASE_WEIGHT
    return Term(entry=entry, category=category, lang=lang, weight=float(weight), pattern=pattern)


def configure(vocabulary_files=(), selfhelp_files=()) -> None:
    """Use these files (HOTLINE_VOCABULARY, HOTLINE_SELFHELP) from now on."""
    new = {"HOTLINE_VOCABULARY": tuple(vocabulary_files), "HOTLINE_SELFHELP": tuple(selfhelp_files)}
    if new != _extra_files:
        _extra_files.update(new)
        reload_data()


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The shipped vocabulary with HOTLINE_VOCABULARY's files merged over it, once."""
    vocab = load_vocabulary(SHIPPED_VOCABULARY)
    for extra in _extra_files["HOTLINE_VOCABULARY"]:
        vocab = load_vocabulary(extra, base=vocab)
    return vocab


@dataclass(frozen=True)
class Classification:
    """The verdict on one utterance, with what it rests on (for logs and agents)."""

    category: str
    confidence: float
    matched: tuple[str, ...] = ()
    # (category, score) pairs, best first; for the event log and for tuning.
    scores: tuple[tuple[str, float], ...] = ()

    @property
    def is_confident(self) -> bool:
        """True: route straight away. False: ask the caller to confirm by key."""
        return self.confidence >= CONFIDENCE_THRESHOLD

    @property
    def skill(self) -> str:
        return SKILL_FOR_CATEGORY[self.category]


def classify(text: str, lang: str, *, vocabulary: Vocabulary | None = None) -> Classification:
    """Category of a transcribed utterance in `lang` ('fr', 'en', 'fr-FR'…).

    An unknown or missing language uses every language's vocabulary. Empty or
    non-text input is `general` with confidence 0, never an exception: it comes
    straight from a webhook.
    """
    if not isinstance(text, str) or not text.strip():
        return Classification("general", 0.0)
    index = (vocabulary or default_vocabulary()).index(lang)
    text_words = words(text)
    scores = dict.fromkeys(CATEGORIES, 0.0)
    matched: list[str] = []
    i = 0
    while i < len(text_words):
        term = index.longest_at(text_words, i)
        if term is None:
            i += 1
            continue
        scores[term.category] += term.weight
        if term.entry not in matched:
            matched.append(term.entry)
        i += len(term.pattern)
    ranked = sorted(
        ((c, max(0.0, s)) for c, s in scores.items()),
        key=lambda cs: (-cs[1], CATEGORIES.index(cs[0])),
    )
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    shown = tuple((c, s) for c, s in ranked if s > 0)
    if best_score <= 0:
        return Classification("general", 0.0, tuple(matched), shown)
    confidence = (best_score - second_score) / (best_score + PRIOR)
    return Classification(best, round(confidence, 3), tuple(matched), shown)


@functools.lru_cache(maxsize=64)  # bounded: the tag comes from a request
def speech_hints(lang: str) -> str:
    """Comma-separated words and phrases for Twilio's <Gather hints> in `lang`.

    The entries as written (accents kept, which the recogniser wants), heaviest
    first when Twilio's limit of 500 would be exceeded; prefixes (`install*`),
    numbers and weight-0 negations are left out.
    """
    index = default_vocabulary().index(lang)
    seen: set[str] = set()
    hints: list[tuple[float, int, str]] = []
    for n, t in enumerate(index.terms):
        entry = " ".join(t.entry.replace(",", " ").split())
        if not t.speakable or len(entry) > MAX_HINT_CHARS or fold(entry) in seen:
            continue
        seen.add(fold(entry))
        hints.append((t.weight, n, entry))
    if len(hints) > MAX_HINTS:
        hints = sorted(sorted(hints, key=lambda h: -h[0])[:MAX_HINTS], key=lambda h: h[1])
    return ", ".join(h[2] for h in hints)


# ---------------------------------------------------------------- self-help


@dataclass(frozen=True)
class SelfHelp:
    """One tip per category and language, and the closing sentence per language."""

    tips: MappingProxyType  # category -> {lang: text}
    closing: MappingProxyType  # lang -> text

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.closing)


def load_selfhelp(path: str | os.PathLike, base: SelfHelp | None = None) -> SelfHelp:
    """Read and check a self-help file; with `base`, its texts replace base's."""
    doc, where = _read_yaml(path, "HOTLINE_SELFHELP")
    if not isinstance(doc, dict) or set(doc) - {"closing", "tips"}:
        raise ConfigError(f"{where}: expected a mapping with 'closing' and 'tips'")
    closing = dict(base.closing) if base else {}
    tips = {c: dict(base.tips[c]) for c in base.tips} if base else {}
    for lang, text in _texts(doc.get("closing") or {}, f"{where}: closing").items():
        closing[lang] = text
    raw_tips = doc.get("tips") or {}
    if not isinstance(raw_tips, dict):
        raise ConfigError(f"{where}: tips: expected a mapping of category -> language -> text")
    for category, per_lang in raw_tips.items():
        if category not in CATEGORIES:
            raise ConfigError(
                f"{where}: tips: unknown category {category!r}; expected one of {_ONE_OF}"
            )
        tips.setdefault(category, {}).update(_texts(per_lang, f"{where}: tips/{category}"))
    for category in CATEGORIES:
        for lang in closing:
            if lang not in tips.get(category, {}):
                raise ConfigError(f"{where}: tips/{category}: no text for language {lang!r}")
    if not closing:
        raise ConfigError(f"{where}: closing: no language")
    return SelfHelp(
        tips=MappingProxyType({c: MappingProxyType(tips[c]) for c in CATEGORIES}),
        closing=MappingProxyType(closing),
    )


def _texts(doc, where: str) -> dict[str, str]:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping of language -> text")
    out = {}
    for lang, text in doc.items():
        if not _LANG_KEY.match(str(lang)):
            raise ConfigError(f"{where}: {lang!r} is not a language code like fr or en")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}/{lang}: expected a non-empty text")
        out[str(lang)] = " ".join(text.split())
    return out


@functools.cache
def default_selfhelp() -> SelfHelp:
    """The shipped tips with HOTLINE_SELFHELP's files merged over them, once."""
    sh = load_selfhelp(SHIPPED_SELFHELP)
    for extra in _extra_files["HOTLINE_SELFHELP"]:
        sh = load_selfhelp(extra, base=sh)
    return sh


@functools.lru_cache(maxsize=256)
def selfhelp_tip(category: str, lang: str) -> str:
    """The tip for `category`, spoken in `lang`, closing with "press 1 if solved".

    An unknown language falls back to DEFAULT_LANGUAGE (the hotline's first
    language); an unknown category is a programming error: ValueError.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of {_ONE_OF}")
    sh = default_selfhelp()
    base = normalize_language(lang)
    if base not in sh.languages:
        base = DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in sh.languages else sorted(sh.languages)[0]
    return f"{sh.tips[category][base]} {sh.closing[base]}"


def check_data(settings=None) -> None:
    """Take the settings' files (when given) and load vocabulary and tips now; raises
    ConfigError naming the bad file.

    For process start (web, worker, CLI), so that a manager's broken extension
    file stops the start with one clear line instead of failing a caller later.
    """
    if settings is not None:
        configure(settings.vocabulary_files, settings.selfhelp_files)
    default_vocabulary()
    default_selfhelp()


def reload_data() -> None:
    """Forget the cached vocabulary and tips (after editing the files or the env)."""
    for f in (default_vocabulary, default_selfhelp, speech_hints, selfhelp_tip):
        f.cache_clear()


__all__ = [
    "CATEGORIES",
    "CONFIDENCE_THRESHOLD",
    "SKILL_FOR_CATEGORY",
    "Classification",
    "SelfHelp",
    "Vocabulary",
    "check_data",
    "classify",
    "configure",
    "default_selfhelp",
    "default_vocabulary",
    "fold",
    "load_selfhelp",
    "load_vocabulary",
    "normalize_language",
    "reload_data",
    "selfhelp_tip",
    "speech_hints",
    "words",
]
