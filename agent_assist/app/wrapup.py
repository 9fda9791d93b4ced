"""After each call: keep the summary where the site allows it, share its numbers where the site
opts in to team stats, and build the call session with the site's call script.

* ``privacy.store_summaries`` (default off): each ``summary`` event is
  appended to ``summaries.jsonl`` in the user data folder. Off, it is shown and
  forgotten.
* ``share.stats`` (default off): one ``call_stats`` message per call goes to
  the marquee server: seconds and counts from the summary, never words (no
  reason, note, commitments or article ids). ``on_shared`` hears exactly what
  was sent, for the agent to see.
* ``scripts.pack``: the call-script pack the session follows ("" = none; the
  demo uses the built-in ``northwind``). Its steps are recognised by meaning
  with a sentence model of its own (kb_cache's embedder, one thread), so a
  knowledge search never waits for a script step or the other way round.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.errors import AgentAssistError
from agent_assist.events import Event, Summary, encode
from agent_assist.marquee.protocol import CallStats, FlagCount

if TYPE_CHECKING:
    from agent_assist.app.messaging import Sender
    from agent_assist.app.workers import Semantic
    from agent_assist.config import Settings
    from agent_assist.scripts import ScriptPack
    from agent_assist.session import CallSession

__all__ = [
    "AfterCall",
    "call_stats",
    "script_pack",
    "session_factory",
    "shared_text",
    "summaries_path",
]

log = logging.getLogger("agent_assist.app")
SHARE_WAIT = 300.0  # s a call's stats wait for the connection before they are dropped


def summaries_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("agent-assist", appauthor=False)) / "summaries.jsonl"


def call_stats(summary: Summary, *, call: str, day: str) -> CallStats:
    """The numbers of ``summary`` as the team-stats message: nothing textual rides along."""
    script = summary.script
    return CallStats(
        call=call,
        day=day,
        duration=summary.duration,
        talk_agent=summary.talk.agent,
        talk_customer=summary.talk.customer,
        hold=summary.hold,
        mute=summary.mute,
        dead_air=summary.dead_air,
        script_done=script.done if script else 0,
        script_required=script.required if script else 0,
        flags=tuple(FlagCount(f.kind, f.count) for f in summary.flags),
        articles_suggested=sum(a.suggested for a in summary.articles),
        articles_opened=sum(a.opened for a in summary.articles),
        articles_used=sum(a.used for a in summary.articles),
    )


def shared_text(stats: CallStats) -> str:
    """What was shared, in words for the agent: every number sent, nothing else."""
    minutes, seconds = divmod(round(stats.duration), 60)
    flags = sum(f.count for f in stats.flags)
    script = (
        f"script {stats.script_done}/{stats.script_required}, " if stats.script_required else ""
    )
    return (
        f"Shared for team stats: a {minutes}:{seconds:02d} call, {script}{flags} flags, knowledge "
        f"{stats.articles_used} used, hold {round(stats.hold)} s, mute {round(stats.mute)} s"
        " · numbers only, never your words"
    )


@dataclass(kw_only=True)
class AfterCall:
    """Called with every event of the call (on the call worker's thread); acts on summaries."""

    store: Path | None = None  # where summaries are kept; None: not kept (the default)
    client: Sender | None = None  # where stats are shared; None: not shared (the default)
    on_shared: Callable[[CallStats], None] = lambda stats: None
    on_failure: Callable[[str], None] = lambda reason: None
    today: Callable[[], str] = lambda: datetime.date.today().isoformat()

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Summary):
            return
        if self.store is not None:
            self._keep(event, self.store)
        if self.client is not None:
            stats = call_stats(event, call=secrets.token_hex(8), day=self.today())
            self.client.send_soon(
                stats,
                on_sent=lambda: self.on_shared(stats),
                on_failure=lambda why: self.on_failure(f"call stats not shared: {why}"),
                wait=SHARE_WAIT,
            )

    def _keep(self, summary: Summary, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(encode(summary) + "\n")
        except OSError as exc:
            self.on_failure(f"cannot keep the call summary in {path}: {exc.strerror}")


def script_pack(settings: Settings, *, demo: bool) -> ScriptPack | None:
    """The site's call-script pack (the built-in example in the demo); None if there is none.

    Raises AgentAssistError (file and line) when the configured pack is not valid.
    """
    from agent_assist.scripts import load_script_pack

    source = settings.get_str("scripts.pack") or ("northwind" if demo else "")
    return load_script_pack(source) if source else None


def session_factory(
    settings: Settings,
    *,
    demo: bool,
    suggest: bool,
    on_problem: Callable[[str], None],
    semantic: Semantic | None = None,
) -> Callable[[], CallSession]:
    """Builds the call's session on the call worker: risk engine, suggester (if ``suggest``),
    the site's script (its examples embedded first) and the summary. A pack that cannot be
    used is reported and the call goes on without a script. ``semantic`` is the call's own
    sentence embedder, shared by the risk engine and the script (both run on the call's
    thread); without it both work on phrases alone."""

    def make() -> CallSession:
        from agent_assist.risk.pack import load_pack
        from agent_assist.scripts import ScriptEngine
        from agent_assist.session import CallSession

        engine = None
        try:
            pack = script_pack(settings, demo=demo)
        except AgentAssistError as exc:
            on_problem(f"No call script: {exc}")
            pack = None
        if pack is not None:
            engine = ScriptEngine(pack, embed=semantic.embed if semantic else None)
            engine.prepare()
        return CallSession(
            pack=load_pack(None),
            suggest=suggest,
            script=engine,
            summary=True,
            embed=semantic.embed if semantic else None,
            embed_model=semantic.model if semantic else None,
        )

    return make
