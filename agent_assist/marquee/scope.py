"""Who may address and see what on the marquee server (sans-I/O).

Every token has a :class:`Scope`: the sites and teams it may address and see.

* ``admin``: everywhere (:data:`EVERYWHERE`).
* ``supervisor``: the sites it was created for and, if given, only those teams
  there. A supervisor token without a site is confined to nowhere (fail closed).
* ``agent``: its own site and team (used only for what it may receive).

An announcement keeps the scope of the token that made it (``made_in``) beside
its audience. It is delivered to an agent the audience names *and* ``made_in``
admits, so a manila supervisor's announcement "to team cards" reaches the cards
agents of manila, not those of cebu. A supervisor sees an announcement (and its
retraction and receipts) when it could reach someone in the supervisor's own
scope; it may edit or retract one only if it was made inside its scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent_assist.marquee.protocol import (
    MAX_FRAME,
    Announcement,
    Audience,
    DirectoryList,
    Member,
    Message,
    Retracted,
)

__all__ = [
    "EVERYWHERE",
    "NOWHERE",
    "Routed",
    "Scope",
    "addressing_problem",
    "delivers_to",
    "directory",
    "reaches",
    "receipts_in_scope",
]


@dataclass(frozen=True, slots=True)
class Scope:
    """Sites and teams; ``None`` means any site (team), ``()`` means none at all."""

    sites: tuple[str, ...] | None = None
    teams: tuple[str, ...] | None = None

    @property
    def empty(self) -> bool:
        """True when it admits nobody (no site or no team at all)."""
        return self.sites == () or self.teams == ()

    def admits(self, *, site: str, team: str) -> bool:
        """Is an agent of ``site`` and ``team`` inside this scope?"""
        return (self.sites is None or site in self.sites) and (
            self.teams is None or team in self.teams
        )

    def covers(self, other: Scope) -> bool:
        """Is all of ``other`` inside this scope?"""
        return _within(other.sites, self.sites) and _within(other.teams, self.teams)

    def meet(self, other: Scope) -> Scope:
        """The part both scopes share."""
        return Scope(_meet(self.sites, other.sites), _meet(self.teams, other.teams))

    def to_json(self) -> dict[str, Any]:
        """As stored beside an announcement: ``{"sites": [...] | null, "teams": ...}``."""
        return {
            "sites": None if self.sites is None else list(self.sites),
            "teams": None if self.teams is None else list(self.teams),
        }

    @classmethod
    def from_json(cls, data: Any) -> Scope:
        """The scope of ``to_json``'s dict; anything unreadable is NOWHERE (fail closed)."""
        if not isinstance(data, dict):
            return NOWHERE
        parts = []
        for key in ("sites", "teams"):
            value = data.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                return NOWHERE
            parts.append(None if value is None else tuple(value))
        return cls(parts[0], parts[1])


EVERYWHERE = Scope()
NOWHERE = Scope(sites=())


@dataclass(frozen=True, slots=True)
class Routed:
    """A message on its way through the server, with where it may go.

    ``scope``: where it was made (an announcement, a retraction) or the place it
    concerns (a flag notice or a review: the agent's site and team). ``audience``:
    an announcement's, or, for a retraction or a receipts update, the audience of
    the announcement concerned. ``epoch``: the server state the change belongs to
    ("" when not known). Clients receive only ``message``.
    """

    message: Message
    scope: Scope = EVERYWHERE
    audience: Audience | None = None
    epoch: str = ""

    @property
    def seq(self) -> int | None:
        """The seq of a change (an announcement or a retraction); None for anything else."""
        message = self.message
        return message.seq if isinstance(message, Announcement | Retracted) else None


def _within(inner: tuple[str, ...] | None, outer: tuple[str, ...] | None) -> bool:
    if outer is None:
        return True
    return inner is not None and set(inner) <= set(outer)


def _meet(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if a is None:
        return b
    if b is None:
        return a
    return tuple(x for x in a if x in b)


def delivers_to(audience: Audience, made_in: Scope, *, site: str, team: str, name: str) -> bool:
    """Does an announcement for ``audience``, made in ``made_in``, go to this agent?"""
    return made_in.admits(site=site, team=team) and audience.includes(
        site=site, team=team, name=name
    )


def reaches(audience: Audience, made_in: Scope, viewer: Scope) -> bool:
    """Could an announcement for ``audience`` made in ``made_in`` reach anyone in ``viewer``?

    Agents named one by one count only when the announcement was made inside the
    viewer's scope (where they are is not known here: when unsure, do not show).
    """
    shared = made_in.meet(viewer)
    if shared.empty:
        return False
    if audience.all:
        return True
    if audience.sites and (shared.sites is None or set(audience.sites) & set(shared.sites)):
        return True
    if audience.teams and (shared.teams is None or set(audience.teams) & set(shared.teams)):
        return True
    return bool(audience.agents) and viewer.covers(made_in)


def addressing_problem(audience: Audience, scope: Scope) -> str | None:
    """Why a token of ``scope`` may not address ``audience`` (None if it may).

    Everyone (``all``) means everyone in the scope; named agents are reached only
    if they are in it. Sites and teams outside the scope are refused, not ignored.
    """
    if scope.empty:
        return "this token may not address anyone (it was created without a site)"
    outside = [s for s in audience.sites if scope.sites is not None and s not in scope.sites]
    if outside:
        return f"this token may address only the sites {', '.join(scope.sites or ())}, not {outside[0]}"
    outside = [t for t in audience.teams if scope.teams is not None and t not in scope.teams]
    if outside:
        return f"this token may address only the teams {', '.join(scope.teams or ())}, not {outside[0]}"
    return None


def receipts_in_scope(
    audience: Audience,
    made_in: Scope,
    acks: list[tuple[str, float]],
    agents: list[tuple[str, str, str]],
    viewer: Scope,
) -> tuple[list[tuple[str, float]], list[str]]:
    """Who has seen an announcement and who it is for has not, inside ``viewer``'s scope.

    ``acks``: (name, time), oldest first; ``agents``: (name, site, team) of every live
    agent token. An acknowledgement by a name no live agent token has (a revoked
    agent) is shown only to a viewer who sees everywhere.
    """
    places: dict[str, list[tuple[str, str]]] = {}
    for name, site, team in agents:
        places.setdefault(name, []).append((site, team))

    def visible(name: str) -> bool:
        return viewer == EVERYWHERE or any(
            viewer.admits(site=site, team=team) for site, team in places.get(name, ())
        )

    seen = [(name, at) for name, at in acks if visible(name)]
    acked = {name for name, _ in acks}
    pending = sorted(
        {  # a set: one agent may hold several tokens
            name
            for name, site, team in agents
            if name not in acked
            and viewer.admits(site=site, team=team)
            and delivers_to(audience, made_in, site=site, team=team, name=name)
        }
    )
    return seen, pending


_FRAME_BUDGET = MAX_FRAME - 1024  # bytes of names per directory_list frame (the rest: JSON)


def directory(
    viewer: Scope,
    agents: list[tuple[str, str, str]],
    online: set[tuple[str, str, str]],
) -> list[DirectoryList]:
    """What a token of ``viewer``'s scope may address, as directory_list frames in order.

    ``agents``: (name, site, team) of every live agent token; ``online``: those with a
    desktop connected. Only agents inside ``viewer`` are listed, once each, by name.
    Sites and teams: the scope's own, or (where the scope is open) those of its agents.
    Each frame stays under ``MAX_FRAME``; every one but the last has ``more`` set.
    """
    if viewer.empty:
        return [DirectoryList()]
    inside = sorted({a for a in agents if viewer.admits(site=a[1], team=a[2])})
    sites = viewer.sites if viewer.sites is not None else {s for _, s, _ in inside if s}
    teams = viewer.teams if viewer.teams is not None else {t for _, _, t in inside if t}
    members = [Member(*a, online=a in online) for a in inside]
    items: list[tuple[int, str | Member]] = [
        *((0, s) for s in sorted(set(sites))),
        *((1, t) for t in sorted(set(teams))),
        *((2, m) for m in members),
    ]
    frames: list[tuple[list[str], list[str], list[Member]]] = [([], [], [])]
    size = 0
    for slot, item in items:
        # an agent's JSON: its three names and about 40 bytes of keys and punctuation
        text = [item.name, item.site, item.team] if isinstance(item, Member) else item
        cost = len(json.dumps(text, ensure_ascii=False).encode()) + 40
        if size + cost > _FRAME_BUDGET:
            frames.append(([], [], []))
            size = 0
        if isinstance(item, Member):
            frames[-1][2].append(item)
        else:
            frames[-1][slot].append(item)  # type: ignore[arg-type]
        size += cost
    return [
        DirectoryList(
            sites=tuple(f[0]), teams=tuple(f[1]), agents=tuple(f[2]), more=i < len(frames) - 1
        )
        for i, f in enumerate(frames)
    ]
