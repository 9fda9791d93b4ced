"""The demo's embedded marquee server (127.0.0.1) and, for the supervisor view, a demo agent."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from agent_assist.app.messaging import report, share_flag
from agent_assist.app.workers import CallWorker, replay
from agent_assist.marquee.protocol import Priority

__all__ = ["DEMO_ANNOUNCEMENTS", "DEMO_CALL", "DemoServer", "start_demo_agent"]

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


def start_demo_agent(server: DemoServer, speed: float) -> list[Callable[[], None]]:
    """For the supervisor demo: an agent's app replaying the call, sharing flags, acking news.

    Returns what stops it.
    """
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Ack, Announcement, Message

    def on_message(message: Message) -> None:
        if isinstance(message, Announcement):
            ack = Ack(id=message.id)
            threading.Timer(3.0, lambda: agent.send_soon(ack, on_failure=report)).start()

    agent = MarqueeClient(server.url, server.tokens["agent"], on_message=on_message)
    agent.start()
    worker = CallWorker(
        lambda stop: replay(DEMO_CALL, speed=speed, stop=stop),
        emit=lambda event: share_flag(event, agent, on_shared=lambda flag: None),
    )
    worker.start()
    return [agent.stop, worker.stop]
