"""What of an article is embedded: its body as passages a question can match."""

from __future__ import annotations

from kb_cache.passages import passages, tag_line


def test_each_step_is_a_passage_and_markup_is_gone() -> None:
    body = (
        "## When to use\n\nThe customer's card is **late**. Check the order first.\n\n"
        "1. Open *Cards* in the console.\n2. Standard delivery takes 3-5 working days.\n"
        "- Wrong address: reorder free."
    )
    assert passages(body) == [
        "When to use",
        "The customer's card is late. Check the order first.",
        "Open Cards in the console.",
        "Standard delivery takes 3-5 working days.",
        "Wrong address: reorder free.",
    ]


def test_a_long_paragraph_becomes_chunks_of_two_sentences() -> None:
    body = "One is here. Two is here. Three is here. Four is here. Five."
    assert passages(body) == ["One is here. Two is here.", "Three is here. Four is here.", "Five."]


def test_a_table_row_reads_as_one_passage() -> None:
    body = "| Where | How |\n| --- | --- |\n| App | Card settings > Unblock PIN |"
    assert passages(body) == ["Where: How", "App: Card settings > Unblock PIN"]


def test_repeated_passages_are_embedded_once() -> None:
    assert passages("Call back.\n\nCall back.") == ["Call back."]


def test_tags_are_one_line() -> None:
    assert tag_line(("card", "late card")) == "card, late card"
    assert tag_line(()) == ""
