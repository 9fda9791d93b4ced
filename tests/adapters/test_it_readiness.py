"""What IT meets on a PC: the banner of a broken policy, one-line errors, no display."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_assist.cli import main
from agent_assist.cli.app import check_display
from agent_assist.config import POLICY_UNREADABLE
from agent_assist.errors import AgentAssistError
from agent_assist.locations import MachinePaths
from agent_assist.marquee.store import MarqueeStore
from agent_assist.marquee.tls import PinMismatchError
from tests.adapters.test_marquee_features import certificate, tls_node, tok, wss  # noqa: F401
from tests.support.marquee import Node
from ui.agent_window import AgentWindow
from ui.theme import THEMES


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's own folders (settings, data, logs, Qt settings) inside the test's tmp_path."""
    monkeypatch.setenv("AGENT_ASSIST_USER_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    return tmp_path


def test_a_broken_site_policy_shows_a_banner_logs_and_keeps_users_out(
    machine: MachinePaths, profile: Path, qapp: QApplication
) -> None:
    from agent_assist.app import AppOptions, run_app

    machine.policy_dir.mkdir(parents=True)
    machine.site_policy.write_text('locked = ["privacy.*"]\n[server]\nurl = "wss://it.example\n')
    (profile / "settings.toml").write_text(
        '[server]\nurl = "ws://evil.example:1/"\n[privacy]\nstore_transcripts = true\n'
    )
    events = profile / "call.jsonl"
    events.write_text('{"type":"call","t":0.0,"state":"started"}\n')
    seen: dict[str, object] = {}

    def look() -> None:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, AgentWindow))
        seen["banner"] = window.policy_banner.text()
        seen["visible"] = window.policy_banner.isVisible()
        seen["connection"] = window.connection.text()

    QTimer.singleShot(800, look)
    try:
        assert run_app(AppOptions(events=str(events), quit_after=1.5)) == 0
    finally:
        # After the app's exec() has returned, every QEventLoop started in this process
        # returns at once (qtbot.wait and waitUntil with it) until exec() runs again: one
        # empty run puts the shared QApplication back for the tests that follow.
        QTimer.singleShot(0, qapp.quit)
        qapp.exec()
    assert seen == {
        "banner": POLICY_UNREADABLE,
        "visible": True,
        "connection": "Announcements: no server configured",  # not the user's evil.example
    }
    log = (profile / "state" / "agent-assist" / "log" / "agent-assist.log").read_text()
    assert POLICY_UNREADABLE in log
    assert f"{machine.site_policy} line 3: not valid TOML" in log


def test_the_banner_is_hidden_when_the_policy_is_sound(qtbot: QtBot) -> None:
    window = AgentWindow(theme=THEMES["light"])
    qtbot.addWidget(window)
    window.show()
    assert not window.policy_banner.isVisible()


# -- one-line errors -----------------------------------------------------------------------


def test_a_pin_mismatch_reads_as_a_sentence_not_a_tuple() -> None:
    error = PinMismatchError(("the server's certificate (ab...) does not match the pinned one",))
    assert str(error) == "the server's certificate (ab...) does not match the pinned one"


def test_a_wrong_pin_is_one_plain_line(
    tls_node: Node,  # noqa: F811
    store: MarqueeStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["marquee", "list", "--server", wss(tls_node), "--token",
                 tok(store, "agent", "ana"), "--pin", "ab" * 32])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "does not match the pinned one)" in err
    assert "((" not in err


# -- no display ----------------------------------------------------------------------------


def test_no_display_at_all_is_named_as_such() -> None:
    with pytest.raises(AgentAssistError, match="no graphical display: neither DISPLAY nor"):
        check_display({}, platform="linux")


def test_an_x_display_nobody_answers_is_named() -> None:
    with pytest.raises(AgentAssistError, match="cannot connect to the X display :987"):
        check_display({"DISPLAY": ":987"}, platform="linux")


def test_qt_platform_choices_and_other_systems_are_left_to_qt() -> None:
    check_display({"QT_QPA_PLATFORM": "offscreen"}, platform="linux")
    check_display({}, platform="win32")
    check_display({"WAYLAND_DISPLAY": "wayland-0"}, platform="linux")


def test_the_app_without_a_display_exits_1_with_that_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 1
    assert capsys.readouterr().err.startswith("agent-assist: no graphical display:")


def test_policy_show_json_lists_no_registry_off_windows(
    machine: MachinePaths, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["registry"] == []
