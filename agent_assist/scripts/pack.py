"""Call-script packs in TOML: steps defined once, scripts that list them in order.

The format is documented in the built-in example (``packs/northwind.toml``).
Loading validates everything and raises :class:`ScriptPackError` naming the
file and line of the first problem, so a pack either loads whole or not at all
(a typo is an error, never a silently ignored step).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeAlias

from agent_assist.errors import ScriptPackError
from agent_assist.risk.phrases import Phrase, PhraseSet, PhraseSyntaxError, normalize

__all__ = [
    "BUILTIN_PACKS",
    "DUE",
    "CallScript",
    "ScriptPack",
    "Step",
    "load_script_pack",
    "words_out_of_vocabulary",
]

Due: TypeAlias = Literal["opening", "before_hold", "before_transfer", "closing", "any"]
DUE: tuple[Due, ...] = ("opening", "before_hold", "before_transfer", "closing", "any")
BUILTIN_PACKS = ("northwind",)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# words that may stand between a phrase's words without breaking it
_FILLERS = ("um", "uh", "er", "erm", "hmm", "so", "well", "like", "just", "really", "actually",
            "you know", "i mean", "kind of", "sort of")  # fmt: skip
_PACK_KEYS = {"name", "language", "default", "opening_s", "similarity", "fillers"}
_STEP_KEYS = {"label", "required", "due", "phrases", "by_meaning", "exact", "key_words"}
_SCRIPT_KEYS = {"label", "steps", "articles"}


@dataclass(frozen=True, slots=True)
class Step:
    """One step: recognised by its example ``phrases`` (and, if ``by_meaning``, by similar
    meaning), or by its ``exact`` wording whose ``key_words`` must all be heard. ``due`` is
    the moment it is nudged if still open."""

    id: str
    label: str
    required: bool
    due: Due
    phrases: tuple[str, ...] = ()
    exact: str | None = None
    key_words: tuple[str, ...] = ()
    by_meaning: bool = True


@dataclass(frozen=True, slots=True)
class CallScript:
    """A script: its steps in order, and the knowledge articles that choose it."""

    name: str
    label: str
    steps: tuple[str, ...]
    articles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScriptPack:
    """A validated pack. ``opening_s``: seconds into the call when opening steps fall due;
    ``similarity``: the cosine an utterance needs to an example phrasing to count."""

    name: str
    language: str
    source: str
    default: str
    opening_s: float
    similarity: float
    steps: dict[str, Step]
    scripts: dict[str, CallScript]
    transfer: PhraseSet
    goodbye: PhraseSet
    fillers: tuple[tuple[str, ...], ...]

    def script_for_article(self, article_id: str) -> str | None:
        """The script that lists ``article_id`` (ids compared case-insensitively), if any."""
        wanted = article_id.casefold()
        for script in self.scripts.values():
            if any(a.casefold() == wanted for a in script.articles):
                return script.name
        return None

    def words(self) -> frozenset[str]:
        """Every word the pack's phrases and exact forms use (for vocabulary checks)."""
        phrases = [p for s in self.steps.values() for p in s.phrases]
        exact = [s.exact for s in self.steps.values() if s.exact]
        compiled = [*map(Phrase.compile, phrases), *self.transfer.phrases, *self.goodbye.phrases]
        words = {w for p in compiled for slot in p.slots for alt in slot for w in alt if w != "*"}
        return frozenset(words | {w for text in exact for w in normalize(text)})


def load_script_pack(source: str | Path) -> ScriptPack:
    """The pack in the file ``source``, or the built-in pack of that name (``northwind``)."""
    path = Path(source)
    if not path.is_file() and str(source) in BUILTIN_PACKS:
        where = f"packs/{source}.toml"
        text = resources.files("agent_assist.scripts").joinpath(where).read_text(encoding="utf-8")
        return parse_script_pack(text, path=f"<built-in {where}>")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScriptPackError(f"cannot read the script pack ({reason})", path=str(path)) from None
    return parse_script_pack(text, path=str(path))


def parse_script_pack(text: str, *, path: str) -> ScriptPack:
    """Validate and compile a pack's TOML ``text`` (``path`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(match.group(1)) if match else None
        raise ScriptPackError(f"not valid TOML: {message}", path=path, line=line) from None
    return _Builder(text, path).build(data)


class _Builder:
    def __init__(self, text: str, path: str) -> None:
        self.lines, self.path = text.splitlines(), path

    def fail(self, message: str, table: str = "", key: str = "") -> ScriptPackError:
        return ScriptPackError(message, path=self.path, line=self.locate(table, key))

    def locate(self, table: str, key: str) -> int | None:
        """The line of ``key`` in ``[table]`` (or of the table's header), if it can be found."""
        current, header = "", None
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            if stripped.startswith("[") and not stripped.startswith("[["):
                current = stripped.strip("[]").strip().replace('"', "")
                if current == table:
                    header = number
            elif current == table and key and re.match(rf"{re.escape(key)}\s*=", stripped):
                return number
        return header

    def build(self, data: dict[str, Any]) -> ScriptPack:
        for key in data:
            if key not in ("pack", "moments", "steps", "scripts"):
                raise self.fail(
                    f"unknown table [{key}] (expected pack, moments, steps, scripts)", key
                )
        meta = self.table(data, "pack", _PACK_KEYS)
        fillers = tuple(
            tuple(normalize(f))
            for f in self.strings(meta, "pack", "fillers", _FILLERS)
            if normalize(f)
        )
        moments = self.table(data, "moments", {"transfer", "goodbye"})
        steps = {
            step_id: self.step(step_id, value, fillers)
            for step_id, value in self.tables(data, "steps").items()
        }
        scripts = {
            name: self.script(name, value, steps)
            for name, value in self.tables(data, "scripts").items()
        }
        if not scripts:
            raise self.fail("a pack needs at least one [scripts.NAME] table")
        default = meta.get("default", next(iter(scripts)) if len(scripts) == 1 else None)
        if default not in scripts:
            raise self.fail(
                f"default must name one of the scripts ({', '.join(scripts)})", "pack", "default"
            )
        return ScriptPack(
            name=self.text(meta, "pack", "name", "unnamed"),
            language=self.text(meta, "pack", "language", "en"),
            source=self.path,
            default=default,
            opening_s=self.number(meta, "opening_s", 40.0, low=1.0),
            similarity=self.number(meta, "similarity", 0.75, low=0.5, high=1.0),
            steps=steps,
            scripts=scripts,
            transfer=self.phrases(moments, "moments", "transfer", fillers),
            goodbye=self.phrases(moments, "moments", "goodbye", fillers),
            fillers=fillers,
        )

    # -- tables -------------------------------------------------------------------------

    def table(self, data: dict[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"{name} must be a table", name)
        for key in value:
            if key not in allowed:
                raise self.fail(
                    f"unknown key {key!r} in [{name}] (known: {', '.join(sorted(allowed))})",
                    name,
                    key,
                )
        return value

    def tables(self, data: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
        value = data.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise self.fail(f"write each of {name} as a [{name}.ID] table", name)
        for key in value:
            if not _ID.match(key):
                raise self.fail(
                    f"{name} id {key!r} must be lower-case letters, digits, '-' or '_'",
                    f"{name}.{key}",
                )
        return value

    def step(self, step_id: str, data: dict[str, Any], fillers: Iterable[tuple[str, ...]]) -> Step:
        table = f"steps.{step_id}"
        self.table({table: data}, table, _STEP_KEYS)
        due = data.get("due", "any")
        if due not in DUE:
            raise self.fail(f"due must be one of {', '.join(DUE)}", table, "due")
        required, by_meaning = data.get("required", False), data.get("by_meaning", True)
        for key, value in (("required", required), ("by_meaning", by_meaning)):
            if not isinstance(value, bool):
                raise self.fail(f"{key} must be true or false", table, key)
        phrases = self.strings(data, table, "phrases", ())
        self.phrases(data, table, "phrases", fillers)  # syntax errors, with their line
        exact = data.get("exact")
        key_words: tuple[str, ...] = ()
        if exact is not None:
            exact = self.text(data, table, "exact", "")
            if phrases:
                raise self.fail("a step has phrases or an exact form, not both", table, "exact")
            key_words = tuple(
                w for k in self.strings(data, table, "key_words", ()) for w in normalize(k)
            )
            if not key_words:
                raise self.fail(
                    "an exact form needs key_words: the words that must all be heard",
                    table,
                    "exact",
                )
            missing = [w for w in key_words if w not in normalize(exact)]
            if missing:
                raise self.fail(
                    f"key word {missing[0]!r} is not in the exact form", table, "key_words"
                )
        elif "key_words" in data:
            raise self.fail("key_words go with an exact form", table, "key_words")
        elif not phrases:
            raise self.fail(f"step {step_id!r} needs phrases or an exact form", table)
        label = self.text(data, table, "label", "")
        return Step(step_id, label, required, due, phrases, exact, key_words, by_meaning)

    def script(self, name: str, data: dict[str, Any], steps: dict[str, Step]) -> CallScript:
        table = f"scripts.{name}"
        self.table({table: data}, table, _SCRIPT_KEYS)
        listed = self.strings(data, table, "steps", ())
        if not listed:
            raise self.fail(f"script {name!r} needs steps", table, "steps")
        for step_id in listed:
            if step_id not in steps:
                raise self.fail(f"script {name!r} lists unknown step {step_id!r}", table, "steps")
        if len(set(listed)) != len(listed):
            raise self.fail(f"script {name!r} lists a step twice", table, "steps")
        articles = self.strings(data, table, "articles", ())
        return CallScript(name, self.text(data, table, "label", name), listed, articles)

    # -- values ---------------------------------------------------------------------------

    def text(self, data: dict[str, Any], table: str, key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key} must be non-empty text", table, key)
        return value.strip()

    def strings(
        self, data: dict[str, Any], table: str, key: str, default: Iterable[str]
    ) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{key} must be a list of non-empty strings", table, key)
        return tuple(v.strip() for v in value)

    def number(
        self, data: dict[str, Any], key: str, default: float, *, low: float, high: float = math.inf
    ) -> float:
        value = data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            limits = f"from {low:g} to {high:g}" if high < math.inf else f"at least {low:g}"
            raise self.fail(f"{key} must be a number {limits}", "pack", key)
        return float(value)

    def phrases(
        self, data: dict[str, Any], table: str, key: str, fillers: Iterable[tuple[str, ...]]
    ) -> PhraseSet:
        items = self.strings(data, table, key, ())
        try:
            return PhraseSet(items, fillers=tuple(fillers))
        except PhraseSyntaxError as exc:
            raise self.fail(f"bad phrase: {exc}", table, key) from None


def words_out_of_vocabulary(pack: ScriptPack, knows: Callable[[str], bool]) -> list[str]:
    """The pack's words a recogniser can never output (``knows``: e.g. ``VoskModel.knows_word``).

    A phrase using one can only be recognised by meaning; an exact form using one can never be.
    """
    return sorted(word for word in pack.words() if not knows(word))
