"""Access tokens: who a bearer token stands for, and how new ones are made.

Only a token's SHA-256 is ever stored; a token's *id* (``token list``,
``token revoke``) is the start of that hash, safe to show and to log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from agent_assist.errors import UsageError
from agent_assist.marquee.protocol import Role, name_problem
from agent_assist.marquee.scope import EVERYWHERE, NOWHERE, Scope

__all__ = ["Identity", "TokenInfo", "hash_token", "new_token", "token_id"]

_ID_LENGTH = 12  # hex digits of a token's hash shown as its id


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a token belongs to. For a supervisor, ``site`` and ``team`` may list several
    (comma-separated: names have no commas); ``token`` is the token's id."""

    role: Role
    name: str
    site: str = ""
    team: str = ""
    token: str = ""

    @property
    def can_broadcast(self) -> bool:
        """Supervisors and admins may announce, edit, retract, read receipts and review."""
        return self.role in ("supervisor", "admin")

    @property
    def sites(self) -> tuple[str, ...]:
        """The sites named by the token (a supervisor may have several)."""
        return _split(self.site)

    @property
    def teams(self) -> tuple[str, ...]:
        """The teams named by the token (none: any team of its sites)."""
        return _split(self.team)

    @property
    def scope(self) -> Scope:
        """What this token may address and see (agents: their own site and team)."""
        if self.role == "admin":
            return EVERYWHERE
        if self.role == "supervisor":
            return Scope(self.sites, self.teams or None) if self.sites else NOWHERE
        return Scope((self.site,), (self.team,))


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One token as ``token list`` shows it (never the token itself)."""

    id: str
    role: str
    name: str
    site: str
    team: str
    created_at: float
    revoked_at: float | None


def _split(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.split(",") if part)


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (a stolen database does not reveal tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(token_hash: str) -> str:
    """The id ``token list`` shows and ``token revoke`` takes: the start of the hash."""
    return token_hash[:_ID_LENGTH]


def new_token(
    *,
    role: Role,
    name: str,
    site: str | tuple[str, ...] = "",
    team: str | tuple[str, ...] = "",
) -> tuple[str, Identity]:
    """A fresh bearer token and the identity it stands for; raises UsageError on bad fields.

    Agents belong to at most one site and team; a supervisor needs at least one site
    and may be limited to teams there; an admin takes neither (it has every site).
    """
    if role not in ("agent", "supervisor", "admin"):
        raise UsageError(f"unknown role {role!r}")
    sites = (site,) if isinstance(site, str) else tuple(site)
    teams = (team,) if isinstance(team, str) else tuple(team)
    sites, teams = tuple(s for s in sites if s), tuple(t for t in teams if t)
    for label, values in (("--name", (name,)), ("--site", sites), ("--team", teams)):
        for value in values:
            problem = name_problem(value)
            if problem is not None:
                raise UsageError(f"{label} {value!r} {problem}")
    if role == "agent" and (len(sites) > 1 or len(teams) > 1):
        raise UsageError("an agent belongs to one --site and one --team")
    if role == "supervisor" and not sites:
        raise UsageError(
            "a supervisor token needs --site (the sites it may address); "
            "use --role admin for every site"
        )
    if role == "admin" and (sites or teams):
        raise UsageError("an admin token has every site: leave out --site and --team")
    token = "-"
    while token.startswith("-"):  # a leading '-' would read as an option on a command line
        token = secrets.token_urlsafe(32)
    identity = Identity(role, name, ",".join(sites), ",".join(teams), token_id(hash_token(token)))
    return token, identity
