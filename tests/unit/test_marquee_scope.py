"""Who sees an announcement (agent_assist.marquee.scope), sans-I/O: the rule every read uses."""

from __future__ import annotations

import pytest

from agent_assist.marquee.protocol import Audience
from agent_assist.marquee.scope import EVERYWHERE, NOWHERE, Scope, reaches


@pytest.mark.parametrize(
    ("audience", "made_in", "viewer", "seen"),
    [
        (Audience(all=True), EVERYWHERE, Scope(("manila",)), True),
        (Audience(sites=("cebu",)), EVERYWHERE, Scope(("manila",)), False),
        (Audience(teams=("cards",)), Scope(("cebu",)), Scope(("manila",)), False),
        (Audience(teams=("cards",)), Scope(("manila",)), Scope(("manila",), ("loans",)), False),
        (Audience(agents=("ana",)), Scope(("manila",)), Scope(("manila",)), True),
        (Audience(agents=("ana",)), EVERYWHERE, Scope(("manila",)), False),  # unsure: not shown
        (Audience(all=True), EVERYWHERE, NOWHERE, False),
    ],
)
def test_who_sees_an_announcement(
    audience: Audience, made_in: Scope, viewer: Scope, seen: bool
) -> None:
    assert reaches(audience, made_in, viewer) is seen
