"""Busy moments of a call, fed into a real AgentWindow (geometry tests and screenshots).

Each scene is the events the app would deliver, nothing else: the window is
filled exactly as the call worker and the marquee client would fill it.
"""

from __future__ import annotations

import time

from agent_assist.events import (
    Adherence,
    ArticleRef,
    Call,
    Flag,
    KindCount,
    Level,
    Mute,
    Reason,
    Script,
    Suggestion,
    Summary,
    Talk,
    Utterance,
)
from agent_assist.marquee.protocol import Announcement, Audience
from agent_assist.scripts import load_script_pack
from ui.agent_window import AgentWindow

__all__ = ["announcement", "busy_call", "flag", "hot_mic", "summary_after_call"]


def flag(kind: str, severity: str = "warning", t: float = 1.0, tip: str | None = None) -> Flag:
    return Flag(
        t=t, kind=kind, severity=severity, channel="agent", evidence="x",  # type: ignore[arg-type]
        tip=tip or f"tip for {kind}",
    )  # fmt: skip


def announcement(
    id: str, priority: str, text: str, *, created_at: float | None = None, seq: int = 1
) -> Announcement:
    return Announcement(
        id=id, seq=seq, text=text, priority=priority, audience=Audience(all=True),  # type: ignore[arg-type]
        author="Maria", created_at=time.time() if created_at is None else created_at,
    )  # fmt: skip


ARTICLES = (
    ArticleRef(
        "card-arrival", "Card has not arrived yet", 0.82,
        "Not **arrived** 10 working days after dispatch (15 if abroad): cancel the missing "
        "**card** so nobody can use it and order a replacement with free express delivery.",
        "Cards", "Order a replacement card with free express delivery", script="card-replacement",
    ),
    ArticleRef(
        "top-up-failed", "Top-up failed", 0.61,
        "A **top-up** that failed is never charged; a pending one settles within 24 hours.",
        "Payments", "Refund a duplicate top-up up to 25 USD",
    ),
    ArticleRef(
        "lost-or-stolen-card", "Lost or stolen card", 0.48,
        "Freeze the **card** at once in the app, then order a new one.", "Cards", None,
    ),
)  # fmt: skip

TRANSCRIPT = (
    ("agent", "thank you for calling northwind bank my name is ana how can i help you"),
    ("customer", "hi I ordered a new card two weeks ago and it still has not arrived"),
    ("agent", "I am sorry to hear that let me check the delivery status for you"),
    ("customer", "I really need it because I am travelling next week"),
    ("agent", "I understand that is frustrating"),
)


def busy_call(window: AgentWindow, *, urgent: bool = True, hot: bool = False) -> None:
    """Half-way through a call: announcements, levels, two coaching cards, suggestions, the
    script half done with a step due, the transcript; optionally the hot-mic banner."""
    now = time.time()
    window.show_message(
        announcement("i1", "info", "Welcome to the late shift. Card delivery times are 5–7 "
                     "working days this week.", created_at=now - 60)
    )  # fmt: skip
    window.show_message(announcement("w1", "warning", "Queue over 40: keep wrap-up under 60 seconds.", created_at=now - 30))  # fmt: skip
    if urgent:
        window.show_message(
            announcement("u1", "urgent", "Top-up outage in region 3: use the manual top-up script "
                         "(KB: top-up-failed).", created_at=now - 5)
        )  # fmt: skip
    window.set_script_pack(load_script_pack("northwind"))
    window.show_event(Call(t=0.0, state="started"))
    window.show_event(Level(t=1.0, channel="agent", dbfs=-24.0, speech=True))
    window.show_event(Level(t=1.0, channel="customer", dbfs=-18.0, speech=True))
    for i, (channel, text) in enumerate(TRANSCRIPT):
        window.show_event(
            Utterance(t=2.0 + i * 4, channel=channel, final=True, text=text, start=1.0 + i * 4, end=2.0 + i * 4)  # type: ignore[arg-type]
        )  # fmt: skip
    window.show_event(Script(t=3.0, step="greeting", state="done", evidence="thank you for calling northwind bank", script="general", label="Greet the customer and give your name"))  # fmt: skip
    window.show_event(Suggestion(t=9.0, articles=ARTICLES))
    window.show_event(Script(t=40.0, step="identity", state="due", evidence="40 s into the call", script="card-replacement", label="Verify the customer's identity"))  # fmt: skip
    window.show_event(flag("fast_speech", "info", 17.0, "You are speaking fast. Slow down and pause so the customer can follow."))  # fmt: skip
    window.show_event(flag("blame_shifting", "warning", 21.0, "Own it: say what you will do next, not what you cannot do."))  # fmt: skip
    if hot:
        hot_mic(window)


def hot_mic(window: AgentWindow, t: float = 30.0) -> None:
    """The line is live and the agent vents: the hot-mic banner."""
    window.show_event(
        flag(
            "hot_mic",
            "critical",
            t,
            "The customer can hear you. Mute now, or put the call on hold.",
        )
    )


def summary_after_call(window: AgentWindow) -> Summary:
    """The call ends: the summary, as the session makes it."""
    summary = Summary(
        t=116.0, duration=116.0, talk=Talk(agent=56.0, customer=38.0), hold=0.0, mute=7.0,
        dead_air=0.0, articles=(), commitments=(),
        flags=(KindCount("fast_speech", 2), KindCount("rudeness", 1)),
        note='Reason: Card has not arrived yet (card-arrival): "hi I ordered a new card two weeks '
        'ago and it still has not arrived"\nFollow-up: "i will take care of the top up myself '
        'right now" (at 1:15)\nKnowledge: Card has not arrived yet (opened, used)\n'
        "Call: 1:56 long, muted 0:07",
        reason=Reason("hi I ordered a new card two weeks ago", "card-arrival", "Card has not arrived yet"),
        script=Adherence(script="card-replacement", done=4, required=5, missed=("identity",)),
    )  # fmt: skip
    done = (  # what the agent said after the busy call's moment: 4 of 5 required steps
        (75.0, "fee", "Express delivery fee, word for word", "express delivery costs five pounds"),
        (
            100.0,
            "recap",
            "Recap what was done and what happens next",
            "so I have ordered a new card",
        ),
        (
            107.0,
            "closing",
            "Ask if there is anything else",
            "is there anything else I can help with",
        ),
    )
    for t, step, label, evidence in done:
        window.show_event(Script(t=t, step=step, state="done", evidence=evidence, script="card-replacement", label=label))  # fmt: skip
    window.show_event(Mute(t=110.0, muted=False, source="app"))
    window.show_event(Script(t=116.0, step="identity", state="missed", evidence="not said", script="card-replacement", label="Verify the customer's identity"))  # fmt: skip
    window.show_event(Call(t=116.0, state="ended"))
    window.show_event(summary)
    return summary
