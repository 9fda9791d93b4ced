"""The demo's embedded marquee server (127.0.0.1) and, for the supervisor view, a demo agent."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.app.messaging import report, share_flag
from agent_assist.app.workers import CallWorker, replay
from agent_assist.marquee.protocol import Priority

if TYPE_CHECKING:
    from agent_assist.marquee.store import MarqueeStore

__all__ = [
    "DEMO_ANNOUNCEMENTS",
    "DEMO_CALL",
    "DemoServer",
    "seed_demo_stats",
    "start_demo_agent",
]

DEMO_CALL = Path(__file__).parent.parent / "demo" / "call.jsonl"

DEMO_ANNOUNCEMENTS: tuple[tuple[float, Priority, str], ...] = (  # (s after start, priority, text)
    (2.0, "info", "Welcome to the late shift. Card delivery times are 5–7 working days this week."),
    (
        18.0,
        "urgent",
        "Top-up outage in region 3: use the manual top-up script (KB: top-up-failed).",
    ),
    (40.0, "warning", "Queue over 40: keep wrap-up under 60 seconds."),
)


class DemoServer:
    """An embedded marquee server on 127.0.0.1 (free port) with demo tokens."""

    def __init__(self) -> None:
        import asyncio

        from agent_assist.marquee.server import MarqueeServer
        from agent_assist.marquee.store import MarqueeStore

        self._folder = tempfile.TemporaryDirectory(prefix="agent-assist-demo-")
        store = MarqueeStore(Path(self._folder.name) / "marquee.db")
        self.tokens = {
            "agent": store.create_token(role="agent", name="you", site="demo", team="cards"),
            "supervisor": store.create_token(role="supervisor", name="Maria", site="demo"),
        }
        for name in ("Ben", "Chloe", "Dev"):  # colleagues in the read receipts
            store.create_token(role="agent", name=name, site="demo", team="cards")
        seed_demo_stats(store)
        self._loop = asyncio.new_event_loop()
        self._server = MarqueeServer(store, port=0, flag_feed=True)
        self.port = self._loop.run_until_complete(self._server.start())
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="demo-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._folder.cleanup()


def seed_demo_stats(store: MarqueeStore, *, days: int = 7, seed: int = 15) -> None:
    """A made-up week of team stats (two teams) for the supervisor demo's Team view, and an
    urgent announcement of two hours ago (expired) that the agents acknowledged."""
    import datetime
    import random
    import time

    from agent_assist.marquee.protocol import Announce, Announcement, Audience, CallStats, FlagCount
    from agent_assist.marquee.stats import record
    from agent_assist.marquee.store import Identity

    rng = random.Random(seed)
    people = [("you", "cards"), ("Ben", "cards"), ("Chloe", "cards"), ("Dev", "cards"),
              ("Eve", "loans"), ("Finn", "loans")]  # fmt: skip
    today = datetime.date.today()
    for name, team in people:
        agent = Identity("agent", name, "demo", team)
        pace = rng.uniform(0.7, 1.3)  # each agent their own rhythm
        for back in range(days):
            day = (today - datetime.timedelta(days=back)).isoformat()
            for n in range(rng.randint(4, 9) if back else rng.randint(1, 4)):
                duration = rng.uniform(150, 420) * pace
                kinds = rng.sample(
                    ["rudeness", "dead_air", "fast_speech", "empathy"], rng.randint(0, 2)
                )
                stats = CallStats(
                    call=f"demo-{day}-{n}", day=day, duration=round(duration, 1),
                    talk_agent=round(duration * 0.45, 1), talk_customer=round(duration * 0.4, 1),
                    hold=round(rng.choice([0.0, 0.0, 30.0, 55.0]), 1), script_required=4,
                    script_done=rng.choice([3, 4, 4, 4]), flags=tuple(FlagCount(k, 1) for k in kinds),
                    articles_suggested=rng.randint(1, 5), articles_opened=rng.randint(0, 2),
                    articles_used=rng.randint(0, 1),
                )  # fmt: skip
                store.stats.add(record(stats, agent=agent, received_at=time.time()))
    for name in ("Eve", "Finn"):
        store.create_token(role="agent", name=name, site="demo", team="loans")
    when = time.time() - 2 * 3600
    urgent = Announce(
        text="Card system restart at noon: warn callers about a short delay.",
        priority="urgent",
        audience=Audience(all=True),
        expires_at=when + 1800,
    )
    news = store.announce(urgent, author="Maria", now=when)[0].message
    assert isinstance(news, Announcement)
    for name, team in people:
        agent = Identity("agent", name, "demo", team)
        store.ack(news.id, agent, now=when + rng.uniform(15, 120))


def start_demo_agent(server: DemoServer, speed: float) -> list[Callable[[], None]]:
    """For the supervisor demo: an agent's app replaying the call, sharing flags, acking news.

    Returns what stops it.
    """
    from agent_assist.app.wrapup import AfterCall
    from agent_assist.events import Event
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Ack, Announcement, Message
    from agent_assist.session import CallSession

    def on_message(message: Message) -> None:
        if isinstance(message, Announcement):
            ack = Ack(id=message.id)
            threading.Timer(3.0, lambda: agent.send_soon(ack, on_failure=report)).start()

    agent = MarqueeClient(server.url, server.tokens["agent"], on_message=on_message)
    agent.start()
    after = AfterCall(client=agent, on_failure=report)  # the call's numbers, at its end

    def emit(event: Event) -> None:
        share_flag(event, agent, on_shared=lambda flag: None)
        after(event)

    worker = CallWorker(
        lambda stop: replay(DEMO_CALL, speed=speed, stop=stop),
        emit=emit,
        session=lambda: CallSession(summary=True),
    )
    worker.start()
    return [agent.stop, worker.stop]
