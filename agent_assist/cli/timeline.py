"""A call for people to read: what was said, and the flags, suggestions and script steps it
caused, in order; and every field of the summary (``agent-assist summary --timeline``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agent_assist.events import (
    Article,
    ArticleUse,
    Event,
    Flag,
    Script,
    Suggestion,
    Summary,
    Utterance,
)
from agent_assist.summary import clock

__all__ = ["render_summary", "render_timeline"]

_STEP_MARK = {"done": "done  ", "due": "DUE   ", "missed": "MISSED"}


def render_timeline(events: Iterable[Event]) -> str:
    """One line per final utterance, flag, new top suggestion, article used and script step."""
    lines, top = ["Timeline"], ""
    for event in events:
        if isinstance(event, Suggestion):  # a new leader only: the list reshuffles often
            if not event.articles or event.articles[0].id == top:
                continue
            top = event.articles[0].id
        line = _line(event)
        if line:
            lines.append(f"  {clock(event.t):>5}  {line}")
    return "\n".join(lines)


def _line(event: Event) -> str | None:
    if isinstance(event, Utterance) and event.final:
        return f"{event.channel:<8}  {event.text}"
    if isinstance(event, Flag):
        return f'flag      {event.severity.upper()} {event.kind}: "{event.evidence}"'
    if isinstance(event, Suggestion):
        best, others = event.articles[0], len(event.articles) - 1
        more = f" (+{others} more)" if others else ""
        return f"knowledge suggested {best.title} ({best.score:.2f}){more}"
    if isinstance(event, Article):
        return f"knowledge you {event.action.replace('_', ' ')} {event.title or event.id}"
    if isinstance(event, Script):
        label = event.label or event.step
        return f"script    {_STEP_MARK[event.state]} {label}: {event.evidence}"
    return None


def render_summary(summary: Summary, labels: Mapping[str, str] | None = None) -> str:
    """Every field of the summary, then the note; ``labels`` names script steps by id."""
    talk = summary.talk
    lines = [
        "Summary",
        f"  call      {clock(summary.duration)} long; talking: agent {clock(talk.agent)}, "
        f"customer {clock(talk.customer)}; on hold {clock(summary.hold)}; muted "
        f"{clock(summary.mute)}; dead air {clock(summary.dead_air)}",
    ]
    if summary.reason is not None:
        matched = (
            f" -> {summary.reason.title} ({summary.reason.article})" if summary.reason.title else ""
        )
        lines.append(f'  reason    "{summary.reason.text}"{matched}')
    suggested = sum(a.suggested for a in summary.articles)
    acted = [f"{a.title} ({_acted(a)})" for a in summary.articles if a.opened or a.used]
    lines.append(
        f"  knowledge {suggested} articles suggested; " + ("; ".join(acted) or "none opened")
    )
    for commitment in summary.commitments:
        lines.append(f'  promised  at {clock(commitment.t)}: "{commitment.text}"')
    if summary.script is not None:
        script = summary.script
        names = [(labels or {}).get(step, step) for step in script.missed]
        missed = f"; missed: {', '.join(names)}" if names else ""
        lines.append(
            f"  script    {script.script}: {script.done} of {script.required} required steps{missed}"
        )
    flags = ", ".join(f"{f.kind} {f.count}" for f in summary.flags) or "none"
    lines.append(f"  flags     {flags}")
    lines.append("Wrap-up note (edit it, then copy it into the CRM)")
    lines += [f"  {line}" for line in summary.note.splitlines()]
    return "\n".join(lines)


def _acted(use: ArticleUse) -> str:
    return ", ".join(word for word, did in (("opened", use.opened), ("used", use.used)) if did)
