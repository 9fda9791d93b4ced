"""Starting the agent's call: a replayed demo call or live listening, and what the window says.

The call worker (:mod:`agent_assist.app.workers`) gets its searches answered by
the knowledge worker; a replay starts once the cache is open (so the demo shows
suggestions throughout), a live call at once (it never waits for knowledge).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent_assist.app.demo import DEMO_CALL
from agent_assist.app.knowledge import KnowledgeWorker
from agent_assist.app.workers import (
    CallWorker,
    Semantic,
    Source,
    as_a_call,
    lazy_listener,
    replay,
)
from agent_assist.app.wrapup import session_factory
from agent_assist.config import Settings
from agent_assist.errors import AgentAssistError
from agent_assist.events import ErrorEvent, Event

if TYPE_CHECKING:
    from ui.agent_window import AgentWindow
    from ui.bridge import Bridge

__all__ = ["CallSetup", "in_plain_words", "risk_semantic", "start_live", "start_replay"]

log = logging.getLogger("agent_assist.app")


@dataclass(frozen=True, kw_only=True)
class CallSetup:
    """How calls run beside the window: the settings (call script), demo or not, and what
    happens with each event after the window has it (the summary kept or shared)."""

    settings: Settings
    demo: bool = False
    after: Callable[[Event], None] = lambda event: None


def start_replay(
    window: AgentWindow,
    bridge: Bridge,
    knowledge: KnowledgeWorker,
    *,
    setup: CallSetup,
    events: str | None,
    audio: str | None,
    speed: float,
) -> CallWorker:
    """The demo call: from audio through the real recogniser when a model is installed, else
    events. It starts once the knowledge cache is open, so it shows suggestions throughout."""
    source: tuple[Source, Callable[[], None] | None] | None = None
    if audio:
        source = _recording_source(audio, setup.settings, window)
    if source is None:
        log = Path(events) if events else DEMO_CALL
        source = (lambda stop: replay(log, speed=speed, stop=stop)), None
        window.set_source(
            window.source.text() or f"Replaying a recorded call ({log.name}): events, not audio."
        )
        window.strip.set_status("Recogniser: not used (replaying recognised events)")
    worker = _call_worker(source, bridge, knowledge, setup)
    knowledge.when_ready(worker.start_unless_stopped)
    return worker


def _recording_source(
    audio: str, settings: Settings, window: AgentWindow
) -> tuple[Source, Callable[[], None]] | None:
    """A WAV through the installed model; None (and why, on screen) when that is not possible."""
    try:
        from audio.models import ModelStore
        from audio.pipeline import Listener
        from audio.recognizer import load_model

        installed = ModelStore().find(settings.get_str("models.path") or None)
        path = installed.path
        source, interrupt = lazy_listener(
            lambda: Listener.from_wav(audio, model=load_model(path), realtime=True)
        )
    except AgentAssistError as exc:
        window.set_source(
            f"Cannot recognise {Path(audio).name} ({exc}); replaying recorded events instead."
        )
        return None
    window.set_source(f"Replaying {Path(audio).name} through {installed.name}: real recognition.")
    window.strip.set_status(f"Recogniser: {installed.name}")
    return as_a_call(source), interrupt


def start_live(
    window: AgentWindow, bridge: Bridge, knowledge: KnowledgeWorker, *, setup: CallSetup
) -> CallWorker | None:
    """Listen to the configured headset with the configured model; None (and why) if not possible."""
    settings = setup.settings
    try:
        from audio.devices import resolve_device
        from audio.models import ModelStore
        from audio.pipeline import Listener
        from audio.recognizer import load_model

        mirror = settings.get_str("models.mirror") or None
        installed = ModelStore(mirror=mirror).find(settings.get_str("models.path") or None)
        agent = resolve_device(settings.get_str("audio.input") or "default")
        far_end = settings.get_str("audio.far_end")
        customer = resolve_device(far_end) if far_end else None
        source = lazy_listener(  # the model loads on the worker, not the GUI thread
            lambda: Listener.from_devices(
                model=load_model(installed.path), agent=agent, customer=customer
            )
        )
    except AgentAssistError as exc:
        window.set_source(f"Not listening: {in_plain_words(exc)}")
        window.strip.set_status("Recogniser: not running")
        return None
    window.set_source(
        f"Live: {agent.name}" + (f" + {customer.name}" if customer else "") + f" · {installed.name}"
    )
    worker = _call_worker(source, bridge, knowledge, setup)
    worker.start()  # a live call never waits for the knowledge cache
    return worker


def in_plain_words(problem: AgentAssistError) -> str:
    """What the window says about a problem: what to do in the app, not a command to type
    (the CLI's messages name commands)."""
    from agent_assist.errors import DeviceNotFoundError, ModelNotFoundError

    if isinstance(problem, ModelNotFoundError):
        if "no model named" in str(problem):
            return "the speech model chosen in Settings is not installed yet. Open Settings to install it."
        return "no speech model is set up yet. Open Settings to install one (it stays on this PC)."
    if isinstance(problem, DeviceNotFoundError):
        return f"the microphone was not found ({problem}). Check the headset, then open Settings."
    return str(problem)


def _call_worker(
    source: tuple[Source, Callable[[], None] | None],
    bridge: Bridge,
    knowledge: KnowledgeWorker,
    setup: CallSetup,
) -> CallWorker:
    """A CallWorker whose searches the knowledge worker answers (not started); its session
    follows the site's call script and ends each call with a summary (``setup.after``)."""
    events, interrupt = source

    def emit(event: Event) -> None:
        bridge.call_event.emit(event)
        setup.after(event)

    def problem(text: str) -> None:
        bridge.call_event.emit(ErrorEvent(t=0.0, code="call_script", message=text))

    make = session_factory(
        setup.settings,
        demo=setup.demo,
        suggest=True,
        on_problem=problem,
        semantic=risk_semantic(),
    )
    return CallWorker(
        events, emit=emit, perform=knowledge.perform, interrupt=interrupt, session=make
    )


@functools.cache
def risk_semantic() -> Semantic | None:
    """The risk engine's sentence embedder, loaded once (call it before the GUI runs: loading
    onnxruntime holds the GIL), or None: coaching then runs on the rules alone."""
    from kb_cache.embedder import load_embedder

    try:
        embedder = load_embedder(threads=1)
    except AgentAssistError as exc:
        log.warning("coaching by meaning is off, rules only: %s", exc)
        return None
    return Semantic(embed=embedder.embed_one, model=embedder.model_id)
