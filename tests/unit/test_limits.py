"""The bounds every reader of outside data shares (agent_assist.limits), sans-I/O."""

from __future__ import annotations

import json

import pytest

from agent_assist.limits import LimitError, check_depth, loads


def test_the_depth_check_ignores_brackets_inside_strings() -> None:
    check_depth(json.dumps({"text": "[[[[[[[[[[" * 100, "q": '\\"[[[['}), 3)
    with pytest.raises(LimitError):
        check_depth('{"a":' + "[" * 4 + "]" * 4 + "}", 3)
    assert loads('["\\u005b"]', max_bytes=100, max_depth=1) == ["["]
