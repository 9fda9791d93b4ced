"""The demo's embedded marquee server (127.0.0.1) and, for the supervisor view, a demo agent."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent_assist.app.messaging import quietly, send_quietly
from agent_assist.app.workers import CallWorker, replay
from agent_assist.events import Event

DEMO_CALL = Path(__file__).parent.parent / "demo" / "call.jsonl"

_DEMO_ANNOUNCEMENTS = (  # (seconds after start, priority, text)
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


def _demo_agent(server: DemoServer, speed: float) -> list[Callable[[], None]]:
    """For the supervisor demo: an agent's app replaying the call, sharing flags, acking urgent news."""
    from agent_assist.events import Flag
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.protocol import Ack, Announcement, FlagSummary

    def on_message(message: object) -> None:
        if isinstance(message, Announcement):
            threading.Timer(3.0, lambda: send_quietly(agent, Ack(id=message.id))).start()

    agent = MarqueeClient(server.url, server.tokens["agent"], on_message=on_message)
    agent.start()

    def emit(event: Event) -> None:
        if isinstance(event, Flag) and event.severity != "praise" and agent.wait_connected(0):
            quietly(
                lambda: agent.send(
                    FlagSummary(kind=event.kind, severity=event.severity, at=time.time())
                )
            )

    worker = CallWorker(lambda stop: replay(DEMO_CALL, speed=speed, stop=stop), emit=emit)
    worker.start()
    return [agent.stop, worker.stop]
