"""The first run's work: finding microphones, the model catalogue, installs and the
connection test, each on a thread of its own (the window never waits), answered through
a :class:`ui.bridge.Bridge`; then the choices are saved and applied.

What the agent reads is plain words: a problem says what is wrong and what to do on
this PC, never which command to type.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_assist.app.dialogs import install_model, load_app_settings, stored_token
from agent_assist.config import Settings
from agent_assist.errors import AgentAssistError

if TYPE_CHECKING:
    from ui.agent_window import AgentWindow
    from ui.bridge import Bridge
    from ui.firstrun import FirstRun, Model

__all__ = ["check_connection", "open_first_run"]

_TEST_S = 5.0  # how long the connection test waits for the server


def open_first_run(
    window: AgentWindow, *, on_saved: Callable[[Settings], None] = lambda settings: None
) -> FirstRun:
    """Show the three steps beside ``window``; on Start save the choices and ``on_saved``."""
    from ui.article import place_beside
    from ui.bridge import Bridge
    from ui.firstrun import FirstRun

    settings = load_app_settings()
    wizard = FirstRun(
        server_url=settings.get_str("server.url"), token_set=bool(stored_token()), parent=window
    )
    relay = Bridge(wizard)
    relay.level.connect(wizard.show_test_level)
    relay.connection.connect(wizard.show_server_result)
    relay.progress.connect(wizard.show_install_progress)
    relay.installed.connect(lambda name: wizard.model_installed(_models(settings), name))
    relay.failed.connect(wizard.install_failed)
    wizard.rescan.connect(lambda: _find_devices(wizard, relay))
    wizard.test_device.connect(lambda spec: _test_device(spec, relay))
    wizard.install_model.connect(lambda source: install_model(source, relay, settings))
    wizard.test_server.connect(
        lambda url, token: _in_thread(
            "connection-test",
            lambda: relay.connection.emit(check_connection(url, token or stored_token() or "")),
        )
    )
    wizard.chosen.connect(lambda choices: _save(window, choices, on_saved))
    wizard.show_models(_models(settings))
    _find_devices(wizard, relay)
    window.first_run = wizard  # type: ignore[attr-defined]  # kept alive while it is open
    place_beside(wizard, window, width=560, height=420)  # the window's alerts stay in view
    wizard.show()
    return wizard


def _in_thread(name: str, job: Callable[[], None]) -> None:
    threading.Thread(target=job, name=name, daemon=True).start()


def _find_devices(wizard: FirstRun, relay: Bridge) -> None:
    from ui.firstrun import Device

    def run() -> None:
        try:
            from audio.devices import list_input_devices

            found = [d for d in list_input_devices() if not d.loopback]
            devices = [Device(d.id, d.description or d.name) for d in found]
            reason = "this PC reports no microphone."
        except AgentAssistError as exc:
            devices, reason = [], f"the sound system could not be asked ({exc})."
        relay.run_on_main(lambda: wizard.show_devices(devices, reason))

    _in_thread("find-microphones", run)


def _test_device(spec: str, relay: Bridge) -> None:
    def run() -> None:
        from audio.devices import resolve_device
        from audio.probe import probe_levels

        try:
            probe_levels(resolve_device(spec or "default"), seconds=3.0, on_level=relay.level.emit)
        except AgentAssistError as exc:
            relay.failed.emit(f"The microphone test did not work: {exc}")

    _in_thread("microphone-test", run)


def _models(settings: Settings) -> list[Model]:
    """The catalogue, with what is installed (installed models outside it too)."""
    from audio.models import CATALOG, ModelStore
    from ui.firstrun import Model

    try:
        installed = {
            m.name: m
            for m in ModelStore(mirror=settings.get_str("models.mirror") or None).installed()
        }
    except AgentAssistError:
        installed = {}
    models = [Model(e.name, e.lang, e.approx_mb, e.note, e.name in installed) for e in CATALOG]
    known = {e.name for e in CATALOG}
    models += [
        Model(m.name, m.lang or "", 0, "", True) for m in installed.values() if m.name not in known
    ]
    return sorted(models, key=lambda m: (not m.installed, not m.lang.startswith("en")))


def check_connection(url: str, token: str, *, timeout: float = _TEST_S) -> str:
    """Connect to the marquee server once; the answer in words. Blocking (a worker thread)."""
    from agent_assist.marquee.client import MarqueeClient
    from agent_assist.marquee.tls import context_for

    if not url:
        return "No address: announcements stay off (you can add one later in Settings)."
    if not token:
        return "Type the token from your supervisor first."
    try:
        client = MarqueeClient(
            url, token, on_message=lambda message: None, ssl_context=context_for(url)
        )
    except (AgentAssistError, ValueError) as exc:
        return f"That address cannot be used: {exc}"
    client.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and client.failure is None:
            if client.wait_connected(0.1):  # short waits: a refused token ends it at once
                return "Connected: announcements will reach you."
        why = client.failure or f"no answer from {url} within {timeout:.0f} s"
        return f"Not connected: {why}. Check the address with your supervisor."
    finally:
        client.stop()


def _save(
    window: AgentWindow, choices: dict[str, str | None], on_saved: Callable[[Settings], None]
) -> None:
    from agent_assist.app.dialogs import store_token
    from agent_assist.config import save_user_setting, user_settings_path
    from agent_assist.errors import SettingsError

    settings = load_app_settings()
    problems = []
    for key, value in choices.items():
        if key == "token" or value is None or settings.locked(key):
            continue
        try:
            settings = save_user_setting(user_settings_path(), key, value, settings=settings)
        except SettingsError as exc:
            problems.append(str(exc))
    token = choices.get("token")
    if token and not store_token(token):
        problems.append("this desktop has no password store for the token: ask IT to set it.")
    on_saved(settings)
    ready = bool(choices.get("audio.input") and choices.get("models.path"))
    window.statusBar().showMessage(
        ("Not everything was saved: " + " ".join(problems))
        if problems
        else "Ready."
        + ("" if ready else " Agent Assist listens once a microphone and a model are set."),
        30000,
    )
