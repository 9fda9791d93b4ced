"""What of an article is embedded for search: its title, its tags, and its body as passages.

A customer's question usually matches one step of an article, not the whole
of it, so the body is searched as passages: each paragraph or list item,
split into chunks of at most ``SENTENCES`` sentences and ``WORDS`` words
(a step is a chunk of its own; a long paragraph becomes several). Markdown
markup (headings, emphasis, table rules) is removed first. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SENTENCES", "WORDS", "passages", "tag_line"]

SENTENCES = 2
WORDS = 40
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(“])")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_MARKUP = re.compile(r"[*_`]+|^\s*#+\s*|^\s*>\s*", re.M)
_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")  # a table's |---|---| line


def _blocks(body: str) -> list[str]:
    """Paragraphs and list items, markup removed; a table row is a block of its own."""
    blocks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        current: list[str] = []
        for line in paragraph.splitlines():
            if not line.strip() or _RULE.match(line):
                continue
            if line.lstrip().startswith("|"):  # a table row: its cells read as one sentence
                if current:
                    blocks.append(" ".join(current))
                    current = []
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                blocks.append(": ".join(c for c in cells if c))
                continue
            if _ITEM.match(line) and current:
                blocks.append(" ".join(current))
                current = []
            current.append(_ITEM.sub("", line).strip())
        if current:
            blocks.append(" ".join(current))
    return [b for b in (_MARKUP.sub("", block).strip() for block in blocks) if b]


def passages(body: str, *, sentences: int = SENTENCES, words: int = WORDS) -> list[str]:
    """The body's passages, in order, without repeats."""
    out: list[str] = []
    for block in _blocks(body):
        chunk: list[str] = []
        for sentence in (s.strip() for s in _SENTENCE.split(block)):
            if not sentence:
                continue
            if chunk and (
                len(chunk) >= sentences or len(" ".join([*chunk, sentence]).split()) > words
            ):
                out.append(" ".join(chunk))
                chunk = []
            chunk.append(sentence)
        if chunk:
            out.append(" ".join(chunk))
    return list(dict.fromkeys(out))


def tag_line(tags: Sequence[str]) -> str:
    """An article's tags as one text to embed ("" without tags)."""
    return ", ".join(tags)
