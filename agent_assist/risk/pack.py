"""Rule packs: phrases, thresholds, cool-downs, severities and tips, in TOML.

The built-in pack (``packs/en.toml``) is always the base. A site pack written
in the same format is merged onto it: scalar settings and whole tables
override key by key; a list is replaced, unless the site writes ``extra_X``
to append to list ``X`` (e.g. ``[lexicon.rudeness] extra_phrases = [...]``).

Loading validates everything and raises :class:`RulePackError` naming the
file and line of the first problem; nothing half-loaded ever reaches an engine,
so the pack that was active stays active.

The built-in pack's profanity comes from a generated list (``[pack] profanity``
names a JSON file beside the pack, see ``bench/risk_lexicon.py``): each term is
``mild`` (profanity), ``strong`` or ``slur`` (profanity *and* venting, so a hot
mic when live); its guards (names, idioms) join the pack's negatives.

A lexicon may also list ``examples``: whole sentences of that kind, which the
semantic layer compares utterances with, and ``[pack] heads`` names the
semantic layer's trained heads (a JSON file beside the pack, see
``bench/risk_train.py``). Both are used only when an embedder is given.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from agent_assist.errors import RulePackError
from agent_assist.risk.phrases import PhraseSet, PhraseSyntaxError, normalize
from agent_assist.risk.semantic import Heads, parse_heads

__all__ = ["KINDS", "KindRule", "RulePack", "Thresholds", "load_pack", "words_out_of_vocabulary"]

KINDS = (
    "hot_mic", "vent_while_muted", "talking_while_muted", "mute_mismatch", "dead_air",
    "profanity", "rudeness", "blame_shifting", "raised_voice", "fast_speech", "monologue",
    "ownership", "empathy",
)  # fmt: skip
_SEVERITIES = ("info", "warning", "critical", "praise")
_LEXICONS = {
    "profanity": ("words", "phrases"),
    "venting": ("words", "phrases", "examples"),
    "rudeness": ("words", "phrases", "examples"),
    "blame_shifting": ("words", "phrases", "unless_followed_by", "examples"),
    "ownership": ("words", "phrases", "examples"),
    "empathy": ("words", "phrases", "examples"),
}
_SEVERITY_LEXICONS = {
    "mild": ("profanity",),
    "strong": ("profanity", "venting"),
    "slur": ("profanity", "venting"),
}
_GUARDS = ("negatives", "quote_prefixes", "fillers", "not_praise")
_BUILTIN = "packs/en.toml"


@dataclass(frozen=True, slots=True)
class KindRule:
    """How one flag kind is raised: severity, cool-down (s) and the coaching tip."""

    severity: str
    cooldown: float
    tip: str


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Numeric limits (seconds, dB, words per minute); see the built-in pack for meanings."""

    min_word_conf: float = 0.5
    talking_while_muted_s: float = 3.0
    dead_air_mute_s: float = 30.0
    dead_air_hold_s: float = 60.0
    dead_air_silence_s: float = 15.0
    raised_voice_db: float = 10.0
    raised_voice_s: float = 1.5
    raised_voice_baseline_s: float = 5.0
    fast_speech_wpm: float = 190.0
    fast_speech_window_s: float = 20.0
    fast_speech_min_words: float = 25
    monologue_s: float = 60.0
    monologue_customer_s: float = 1.0
    monologue_pause_s: float = 5.0
    semantic_stable_s: float = 0.5
    semantic_example_min: float = 0.82


@dataclass(frozen=True)
class RulePack:
    """A validated, compiled pack ready for the engine."""

    name: str
    language: str
    sources: tuple[str, ...]
    kinds: dict[str, KindRule]
    thresholds: Thresholds
    lexicon_words: dict[str, frozenset[str]]  # single whole words per lexicon
    lexicons: dict[str, PhraseSet]  # phrases per lexicon: profanity, venting, rudeness, ...
    blame_unless: PhraseSet
    negatives: PhraseSet
    quotes: PhraseSet
    not_praise: PhraseSet
    phrase_words: frozenset[str]  # every word a pack phrase uses (for vocabulary checks)
    names: frozenset[str] = frozenset()  # profane words that are also names ("Dick")
    heads: Heads | None = None  # the semantic layer's trained heads, if the pack names some
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lexicon -> sentences


def load_pack(site: str | Path | None = None) -> RulePack:
    """The built-in pack, with the site pack at ``site`` merged onto it if given."""
    text = resources.files("agent_assist.risk").joinpath(_BUILTIN).read_text(encoding="utf-8")
    data = _parse(text, path=f"<built-in {_BUILTIN}>")
    sources = [f"built-in {_BUILTIN}"]
    texts = {sources[0]: text}
    if site is not None:
        path = str(site)
        try:
            site_text = Path(site).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulePackError(f"cannot read the rule pack ({exc})", path=path) from None
        site_data = _parse(site_text, path=path)
        _check_shape(site_data, site_text, path)
        data = _merge(data, site_data)
        sources.append(path)
        texts[path] = site_text
    return _build(data, sources=tuple(sources), texts=texts)


def _parse(text: str, *, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise RulePackError(f"not valid TOML: {message}", path=path, line=line) from None


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _check_shape(data: dict[str, Any], text: str, path: str) -> None:
    """Reject unknown tables and keys so a typo is an error, not a silently ignored rule."""

    def fail(message: str, needle: str) -> None:
        raise RulePackError(message, path=path, line=_line_of(text, needle))

    allowed = {"pack", "thresholds", "kinds", "lexicon", "guards"}
    for key in data:
        if key not in allowed:
            fail(f"unknown table [{key}] (expected one of {', '.join(sorted(allowed))})", key)
    for key in ("profanity", "heads"):
        listed = data.get("pack", {}).get(key, "")
        if not isinstance(listed, str) or (listed and not _packaged(listed)):
            fail(f'{key} must name a file shipped with Agent Assist (or be "" for none)', key)
    known_thresholds = {f.name for f in fields(Thresholds)}
    for key, value in data.get("thresholds", {}).items():
        if key not in known_thresholds:
            fail(f"unknown threshold {key!r}", key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            fail(f"threshold {key!r} must be a non-negative number", key)
    for kind, rule in data.get("kinds", {}).items():
        if kind not in KINDS:
            fail(f"unknown flag kind {kind!r} (known: {', '.join(KINDS)})", kind)
        for key, value in rule.items():
            if key == "severity" and value not in _SEVERITIES:
                fail(f"severity of {kind} must be one of {', '.join(_SEVERITIES)}", "severity")
            elif key == "cooldown" and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                fail(f"cooldown of {kind} must be a non-negative number of seconds", "cooldown")
            elif key == "tip" and (not isinstance(value, str) or not value.strip()):
                fail(f"tip of {kind} must be a non-empty string", "tip")
            elif key not in ("severity", "cooldown", "tip"):
                fail(f"unknown setting {key!r} for kind {kind}", key)
    for table, lists in (("lexicon", None), ("guards", _GUARDS)):
        for name, value in data.get(table, {}).items():
            entries = value.items() if table == "lexicon" else [(name, value)]
            if table == "lexicon" and name not in _LEXICONS:
                fail(f"unknown lexicon {name!r} (known: {', '.join(_LEXICONS)})", name)
            allowed_keys = _LEXICONS.get(name, ()) if table == "lexicon" else (lists or ())
            for key, items in entries:
                base = key.removeprefix("extra_")
                if base not in allowed_keys:
                    fail(
                        f"unknown list {key!r} in [{table}{'.' + name if table == 'lexicon' else ''}]",
                        key,
                    )
                if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                    fail(f"{key!r} must be a list of strings", key)


def _merge(base: dict[str, Any], site: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in site.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        elif key.startswith("extra_") and isinstance(value, list):
            target = key.removeprefix("extra_")
            merged[target] = [*merged.get(target, []), *value]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _build(data: dict[str, Any], *, sources: tuple[str, ...], texts: dict[str, str]) -> RulePack:
    site = sources[-1]

    def phrases(items: list[str]) -> PhraseSet:
        try:
            return PhraseSet(items, fillers=fillers)
        except PhraseSyntaxError as exc:
            bad = str(exc).split("'")[1] if "'" in str(exc) else ""
            line = next(
                (_line_of(t, bad) for t in texts.values() if bad and _line_of(t, bad)), None
            )
            raise RulePackError(f"bad phrase: {exc}", path=site, line=line) from None

    _check_shape(data, texts[site], site)
    guards = data.get("guards", {})
    fillers = [tuple(normalize(f)) for f in guards.get("fillers", []) if normalize(f)]
    lexicon = data.get("lexicon", {})
    kinds = {}
    for kind in KINDS:
        rule = data.get("kinds", {}).get(kind)
        if rule is None or not {"severity", "cooldown", "tip"} <= set(rule):
            raise RulePackError(f"kind {kind!r} needs severity, cooldown and tip", path=site)
        kinds[kind] = KindRule(rule["severity"], float(rule["cooldown"]), rule["tip"].strip())
    meta = data.get("pack", {})
    listed = _profanity_list(meta.get("profanity", ""))
    extra_words: dict[str, list[str]] = {name: [] for name in _LEXICONS}
    extra_phrases: dict[str, list[str]] = {name: [] for name in _LEXICONS}
    for term, severity in listed.get("terms", {}).items():
        target = extra_phrases if len(normalize(term)) > 1 else extra_words
        for name in _SEVERITY_LEXICONS[severity]:
            target[name].append(term)
    lexicons = {
        name: phrases([*lexicon.get(name, {}).get("phrases", []), *extra_phrases[name]])
        for name in _LEXICONS
    }
    lexicon_words = {
        name: frozenset(
            w
            for item in [*lexicon.get(name, {}).get("words", []), *extra_words[name]]
            for w in normalize(item)
        )
        for name in _LEXICONS
    }
    phrase_words = frozenset(
        w
        for phrase_set in lexicons.values()
        for phrase in phrase_set.phrases
        for slot in phrase.slots
        for alternative in slot
        for w in alternative
        if w != "*"
    )
    return RulePack(
        name=str(meta.get("name", "unnamed")),
        language=str(meta.get("language", "en")),
        sources=sources,
        kinds=kinds,
        thresholds=Thresholds(**{k: float(v) for k, v in data.get("thresholds", {}).items()}),
        lexicon_words=lexicon_words,
        lexicons=lexicons,
        blame_unless=phrases(lexicon.get("blame_shifting", {}).get("unless_followed_by", [])),
        negatives=phrases([*guards.get("negatives", []), *listed.get("guards", [])]),
        quotes=phrases(guards.get("quote_prefixes", [])),
        not_praise=phrases(guards.get("not_praise", [])),
        phrase_words=phrase_words.union(*lexicon_words.values()),
        names=frozenset(listed.get("names", [])),
        heads=_heads(meta.get("heads", "")),
        examples={
            name: tuple(e.strip() for e in lexicon.get(name, {}).get("examples", []) if e.strip())
            for name in _LEXICONS
            if lexicon.get(name, {}).get("examples")
        },
    )


def _packaged(name: str) -> bool:
    return (
        "/" not in name
        and "\\" not in name
        and resources.files("agent_assist.risk").joinpath("packs", name).is_file()
    )


def _heads(name: str) -> Heads | None:
    if not name:
        return None
    text = resources.files("agent_assist.risk").joinpath("packs", name).read_text(encoding="utf-8")
    return parse_heads(text, source=f"<built-in packs/{name}>")


def _profanity_list(name: str) -> dict[str, Any]:
    """The generated profanity list ``name`` from the package (empty for "")."""
    if not name:
        return {}
    text = resources.files("agent_assist.risk").joinpath("packs", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def words_out_of_vocabulary(pack: RulePack, knows: Callable[[str], bool]) -> list[str]:
    """Pack words a recogniser can never output (``knows`` is e.g. ``VoskModel.knows_word``).

    A phrase using one of them can never fire with that model: report them
    when a pack meets a model, so a site can rephrase or pick a better model.
    """
    return sorted(word for word in pack.phrase_words if not knows(word))
