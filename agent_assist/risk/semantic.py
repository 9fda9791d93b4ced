"""The semantic layer: what an utterance *means*, from sentence embeddings, behind a precision guard.

Rules catch the phrasings someone wrote down; real people find others ("What
kind of programmer are you?"). This layer turns an utterance into a sentence
vector with an injected ``embed`` function (the composition root passes the
shipped MiniLM embedder; the engine never loads a model itself) and scores it:

* **heads** - logistic-regression heads: a 384-number dot product each, in
  pure Python. Their weights and thresholds are a small JSON file beside the
  rule pack, trained by ``bench/risk_train.py`` on real, licensed text (see
  NOTICE.md). The built-in pack has one, ``offensive``, whose threshold keeps
  its false flags on real agent replies within 1 per 1,000 (measured on text
  it was not trained on); it raises ``rudeness`` when the utterance speaks to
  the listener ("you", "sir") and venting otherwise. A head may also be named
  after a lexicon (``venting``, ``rudeness``, ``blame_shifting``, ``empathy``,
  ``ownership``) and then raises that lexicon;
* **examples** - a site's own sentences per lexicon (``examples = [...]`` in a
  rule pack), embedded once when the layer is built: an utterance whose cosine
  similarity to one of them reaches ``semantic_example_min`` raises that kind.
  No retraining.

The layer only *adds* cues: the rules keep firing on their own, and the engine
drops a semantic cue for a kind the rules already raised for the same phrase.
Heads record the embedding model they were trained for; vectors from another
model are refused with one clear error, since the weights would be meaningless.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent_assist.errors import RulePackError

__all__ = ["Embed", "Head", "Heads", "SemanticCue", "SemanticLayer", "parse_heads"]

Embed = Callable[[str], Sequence[float]]
LEXICONS = ("venting", "rudeness", "blame_shifting", "empathy", "ownership")
HEAD_NAMES = ("offensive", *LEXICONS)
_ADDRESSED = re.compile(r"\b(you|your|yours|yourself|you're|youre|sir|madam|ma'am)\b", re.I)


@dataclass(frozen=True, slots=True)
class Head:
    """A logistic-regression head: fires when ``weights . v + bias >= threshold`` (a logit)."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def score(self, vector: Sequence[float]) -> float:
        """The head's logit for ``vector``: weights . vector + bias (higher: more likely the kind)."""
        return float(sum(map(operator.mul, self.weights, vector))) + self.bias


@dataclass(frozen=True, slots=True)
class Heads:
    """The heads of one file and the embedding model (``model``) they were trained for."""

    source: str
    model: str
    dimensions: int
    heads: dict[str, Head]


def parse_heads(text: str, *, source: str) -> Heads:
    """Validate a heads file; :class:`RulePackError` names what is wrong with it."""

    def fail(message: str) -> RulePackError:
        return RulePackError(f"semantic heads: {message}", path=source)

    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        raise fail("no embedding model recorded")
    dimensions = data.get("dimensions")
    if not isinstance(dimensions, int) or dimensions <= 0:
        raise fail("no vector size recorded")
    heads = {}
    for name, raw in (data.get("heads") or {}).items():
        if name not in HEAD_NAMES:
            raise fail(f"unknown head {name!r} (known: {', '.join(HEAD_NAMES)})")
        try:
            weights = tuple(float(w) for w in raw["weights"])
            head = Head(weights, float(raw["bias"]), float(raw["threshold"]))
        except (KeyError, TypeError, ValueError):
            raise fail(f"head {name!r} needs weights, bias and threshold") from None
        if len(weights) != dimensions or not all(math.isfinite(w) for w in weights):
            raise fail(f"head {name!r} needs {dimensions} finite weights")
        heads[name] = head
    return Heads(source, data["model"], dimensions, heads)


@dataclass(frozen=True, slots=True)
class SemanticCue:
    """A lexicon the meaning of the text matches, and how strongly (head logit or similarity)."""

    lexicon: str
    score: float
    via: str  # "head" or "example"


class SemanticLayer:
    """Scores texts with the heads and a pack's examples (see the module docstring).

    Args:
        embed: text -> unit vector (the same model the heads were trained for).
        model: the name ``embed``'s vectors come from (e.g. ``Embedder.model_id``).
        heads: trained heads, or None for examples only.
        examples: lexicon -> example sentences (embedded here, once).
        example_min: cosine similarity to an example that raises its lexicon.
    Raises:
        RulePackError: ``model`` is not the model the heads were trained for.
    """

    def __init__(
        self,
        *,
        embed: Embed,
        model: str,
        heads: Heads | None,
        examples: dict[str, tuple[str, ...]],
        example_min: float,
    ) -> None:
        if heads is not None and heads.heads and heads.model != model:
            raise RulePackError(
                f"semantic heads were trained for the embedding model {heads.model!r}, "
                f"but the embedder given is {model!r}: use that model, or retrain the heads "
                "with bench/risk_train.py",
                path=heads.source,
            )
        self._embed = embed
        self._heads = heads.heads if heads is not None else {}
        self._example_min = example_min
        self._examples = {
            lexicon: [_unit(embed(e)) for e in sentences]
            for lexicon, sentences in examples.items()
            if lexicon in LEXICONS and sentences
        }

    @property
    def empty(self) -> bool:
        """Nothing to score with (no heads and no examples)."""
        return not self._heads and not self._examples

    def judge(self, text: str) -> list[SemanticCue]:
        """The lexicons ``text`` matches by meaning, best evidence first (one embedding)."""
        if self.empty or not text.strip():
            return []
        vector = _unit(self._embed(text))
        found: dict[str, SemanticCue] = {}
        for name, head in self._heads.items():
            score = head.score(vector)
            if score >= head.threshold:
                lexicon = name
                if name == "offensive":
                    lexicon = "rudeness" if _ADDRESSED.search(text) else "venting"
                found[lexicon] = SemanticCue(lexicon, score, "head")
        for lexicon, vectors in self._examples.items():
            best = max(sum(map(operator.mul, vector, e)) for e in vectors)
            if best >= self._example_min and lexicon not in found:
                found[lexicon] = SemanticCue(lexicon, best, "example")
        return list(found.values())


def _unit(vector: Sequence[float]) -> list[float]:
    values = [float(x) for x in vector]
    norm = math.sqrt(sum(x * x for x in values)) or 1.0
    return [x / norm for x in values]
