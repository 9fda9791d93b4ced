"""The settings dialog's work: saving, the microphone test, model installs, the token."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent_assist.app.messaging import report
from agent_assist.config import Settings, user_settings_path
from agent_assist.errors import AgentAssistError

if TYPE_CHECKING:
    from ui.agent_window import AgentWindow
    from ui.bridge import Bridge
    from ui.settings import SettingsDialog

__all__ = [
    "apply_live",
    "install_model",
    "load_app_settings",
    "open_settings",
    "report_settings_problems",
    "stored_token",
]


def load_app_settings() -> Settings:
    """This machine's site policy and user settings, as the app runs with them."""
    from agent_assist.policy import current_settings

    return current_settings()


def report_settings_problems(settings: Settings) -> None:
    """Each settings problem once (at start): on stderr and in the rotating log, with file
    and line; a policy that failed closed also says so in the window's banner."""
    from agent_assist.applog import log_settings_problems, open_log

    open_log()
    log_settings_problems(settings)
    if settings.policy_problem:
        report(settings.policy_problem)
    for problem in settings.problems:
        report(problem)


def open_settings(
    window: AgentWindow,
    *,
    first_run: bool,
    demo: bool = False,
    on_saved: Callable[[Settings], None] = lambda settings: None,
) -> None:
    """The settings window, non-modal (an alert in the agent's window stays reachable); saves
    what changed (locked keys cannot be changed) and the token, then ``on_saved(settings)``
    applies them live. A second request brings the open one forward."""
    from PySide6.QtCore import Qt

    from ui.bridge import Bridge
    from ui.settings import SettingsDialog

    existing = getattr(window, "settings_dialog", None)
    if existing is not None and existing.isVisible():
        existing.raise_()
        existing.activateWindow()
        return
    settings = load_app_settings()
    try:
        from audio.devices import list_input_devices
        from audio.models import ModelStore

        devices = [d.id for d in list_input_devices()]
        models = [m.name for m in ModelStore().installed()]
    except AgentAssistError as exc:
        devices, models = [], []
        window.set_source(f"Cannot list devices or models: {exc}")
    dialog = SettingsDialog(
        settings,
        devices=devices,
        models=models,
        first_run=first_run,
        token_set=bool(stored_token()),
        parent=window,
    )
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if demo:  # what the window does, the form shows: the demo shares with its demo supervisor
        dialog.fix_value(
            "privacy.flag_feed", True, "The demo shares flag summaries with its demo supervisor."
        )
    window.settings_dialog = dialog  # type: ignore[attr-defined]
    relay = Bridge()
    relay.level.connect(dialog.show_test_level)
    relay.connection.connect(dialog.show_problem)  # the microphone test's failure, if any
    relay.progress.connect(dialog.show_install_progress)
    relay.installed.connect(dialog.model_installed)
    relay.failed.connect(dialog.install_failed)
    dialog.install_model.connect(lambda source: install_model(source, relay, settings))
    dialog.test_device.connect(
        lambda spec: _test_microphone(spec, relay.level.emit, relay.connection.emit)
    )
    dialog.accepted.connect(lambda: _save(window, dialog, settings, on_saved))
    dialog.show()


def _save(
    window: AgentWindow,
    dialog: SettingsDialog,
    settings: Settings,
    on_saved: Callable[[Settings], None],
) -> None:
    from agent_assist.config import save_user_setting
    from agent_assist.errors import SettingsError

    problems = []
    for key, value in dialog.changes().items():
        try:
            settings = save_user_setting(user_settings_path(), key, value, settings=settings)
        except SettingsError as exc:
            problems.append(str(exc))
    token = dialog.new_token()
    if token and not store_token(token):
        problems.append(
            "No keyring on this desktop: set AGENT_ASSIST_TOKEN instead of saving the token."
        )
    on_saved(settings)  # theme, text size, keep on top, sharing: at once
    if problems:  # in the window's status line: never a modal box over an alert
        window.statusBar().showMessage("Not saved: " + " ".join(problems), 30000)
    else:
        window.statusBar().showMessage(
            "Saved. Theme, text size and sharing apply now; a new microphone or model "
            "when Agent Assist starts again.",
            15000,
        )


def apply_live(window: AgentWindow, settings: Settings) -> None:
    """Theme, text size and Keep on top from ``settings``, now (no restart)."""
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme, theme_named

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    dark = app.styleHints().colorScheme().name == "Dark"
    theme = theme_named(settings.get_str("ui.theme"), system_dark=dark)
    apply_theme(app, theme, font_scale=settings.get_float("ui.font_scale"))
    window.set_theme(theme)
    window.set_always_on_top(settings.get_bool("ui.always_on_top"))


def _test_microphone(
    spec: str, on_level: Callable[[float], None], on_problem: Callable[[str], None]
) -> None:
    """Three seconds of the device's level, measured on a worker thread."""

    def run() -> None:
        from audio.devices import resolve_device
        from audio.probe import probe_levels

        try:
            probe_levels(resolve_device(spec or "default"), seconds=3.0, on_level=on_level)
        except AgentAssistError as exc:
            on_problem(f"Microphone test: {exc}")

    threading.Thread(target=run, name="microphone-test", daemon=True).start()


def install_model(source: str, relay: Bridge, settings: Settings) -> None:
    """Install a model (catalog name, URL, zip, folder or signed bundle) on a worker thread."""

    def run() -> None:
        from audio.models import ModelStore

        try:
            store = ModelStore(mirror=settings.get_str("models.mirror") or None)
            installed = store.install(
                source, progress=lambda done, total: relay.progress.emit(done, total or 0)
            )
        except AgentAssistError as exc:
            relay.failed.emit(f"Could not install {source}: {exc}")
            return
        relay.installed.emit(installed.name)

    threading.Thread(target=run, name="model-install", daemon=True).start()


def store_token(token: str) -> bool:
    try:
        import keyring

        keyring.set_password("agent-assist", "marquee-token", token)
    except Exception:  # no keyring package or no usable backend
        return False
    return True


def stored_token() -> str | None:
    """The marquee token: the OS keyring when available, else AGENT_ASSIST_TOKEN."""
    import os

    try:
        import keyring

        token = keyring.get_password("agent-assist", "marquee-token")
    except Exception:  # no keyring package or no backend on this desktop
        token = None
    return token or os.environ.get("AGENT_ASSIST_TOKEN")
