"""The first run in three real steps (issue 11 #7): headset, speech model, server; plain
words; nothing finished by accident; the connection test against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from agent_assist.app.firstrun import check_connection
from agent_assist.marquee.store import MarqueeStore
from tests.support.marquee import Node
from ui.firstrun import Device, FirstRun, Model

MODELS = [
    Model("vosk-model-small-en-us-0.15", "en-us", 40, "small US English", installed=False),
    Model("vosk-model-small-ko-0.22", "ko", 82, "small Korean", installed=True),
]


@pytest.fixture
def wizard(qtbot: QtBot) -> FirstRun:
    first = FirstRun()
    qtbot.addWidget(first)
    first.show_models(MODELS)
    first.show()
    return first


def test_it_is_three_steps_and_never_modal(wizard: FirstRun) -> None:
    assert len(wizard.pageIds()) == 3
    assert [wizard.page(i).title() for i in wizard.pageIds()] == [
        "Step 1 of 3: your headset",
        "Step 2 of 3: the speech model",
        "Step 3 of 3: your team's announcement server",
    ]
    assert QApplication.activeModalWidget() is None


def test_no_microphone_says_so_and_why_and_the_step_waits(wizard: FirstRun) -> None:
    wizard.show_devices([], "this PC reports no microphone.")
    page = wizard.headset
    assert "No microphone found: this PC reports no microphone." in page.problem.text()
    assert not page.isComplete()
    page.later.setChecked(True)  # only by saying so
    assert page.isComplete()


def test_found_microphones_are_listed_by_name_and_tested(wizard: FirstRun, qtbot: QtBot) -> None:
    wizard.show_devices([Device("pulse:headset", "USB headset"), Device("pulse:builtin", "Laptop")])
    assert wizard.headset.devices.itemText(0) == "USB headset"
    assert wizard.headset.isComplete()
    with qtbot.waitSignal(wizard.test_device) as tested:
        wizard.headset.test.click()
    assert tested.args == ["pulse:headset"]
    wizard.show_test_level(-12.0)
    assert wizard.headset.level.value() == 80


def test_the_catalogue_shows_language_and_size_and_installs_with_progress(
    wizard: FirstRun, qtbot: QtBot
) -> None:
    labels = [wizard.speech.models.item(i).text() for i in range(wizard.speech.models.count())]
    assert "English (US): small US English, about 40 MB" in labels
    assert "Korean: small Korean, about 82 MB (installed)" in labels
    english = wizard.speech.models.item(labels.index("English (US): small US English, about 40 MB"))
    wizard.speech.models.setCurrentItem(english)
    assert not wizard.speech.isComplete()  # not installed yet
    with qtbot.waitSignal(wizard.install_model) as asked:
        wizard.speech.install.click()
    assert asked.args == ["vosk-model-small-en-us-0.15"]
    wizard.show_install_progress(20, 40)
    assert wizard.speech.progress.isVisibleTo(wizard.speech)
    assert wizard.speech.progress.value() == 500
    installed = [MODELS[0].__class__(**{**MODELS[0].__dict__, "installed": True}), MODELS[1]]
    wizard.model_installed(installed, "vosk-model-small-en-us-0.15")
    assert wizard.speech.isComplete()
    assert wizard.choices()["models.path"] == "vosk-model-small-en-us-0.15"


def test_a_failed_install_says_why(wizard: FirstRun) -> None:
    wizard.install_failed("Could not install vosk-model-small-en-us-0.15: no network")
    assert "no network" in wizard.speech.problem.text()


def test_the_server_step_accepts_nothing_or_a_usable_address(wizard: FirstRun) -> None:
    page = wizard.server
    assert page.isComplete()  # no server: everything else works
    page.url.setText("announcements.example.com")
    assert not page.isComplete()
    page.url.setText("wss://announcements.example.com")
    assert page.isComplete()


def test_start_hands_over_the_choices(wizard: FirstRun, qtbot: QtBot) -> None:
    wizard.show_devices([Device("pulse:headset", "USB headset")])
    wizard.server.url.setText("ws://127.0.0.1:9/")
    wizard.server.token.setText("secret")
    with qtbot.waitSignal(wizard.chosen) as chosen:
        wizard.accept()
    assert chosen.args[0] == {
        "audio.input": "pulse:headset",
        "models.path": "vosk-model-small-ko-0.22",
        "server.url": "ws://127.0.0.1:9/",
        "token": "secret",
    }
    assert wizard.buttonText(QWizard.WizardButton.FinishButton) == "Start"


def test_the_connection_test_talks_to_a_real_server(tmp_path: Path) -> None:
    store_path = tmp_path / "marquee.db"
    token = MarqueeStore(store_path).create_token(role="agent", name="ana", site="demo")
    node = Node(lambda: MarqueeStore(store_path)).start()
    try:
        assert check_connection(node.url, token, timeout=20).startswith("Connected")
        refused = check_connection(node.url, "not-a-token", timeout=20)
        assert refused.startswith("Not connected")
    finally:
        node.stop()


def test_the_connection_test_says_what_is_missing() -> None:
    assert "No address" in check_connection("", "t", timeout=1)
    assert "token" in check_connection("ws://127.0.0.1:9/", "", timeout=1)


def test_the_app_fills_the_steps_and_saves_the_choices(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QSettings

    from agent_assist.app.firstrun import open_first_run
    from agent_assist.config import Settings
    from ui.agent_window import AgentWindow
    from ui.theme import THEMES

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    user = tmp_path / "user.toml"
    monkeypatch.setenv("AGENT_ASSIST_USER_SETTINGS", str(user))
    monkeypatch.setenv("AGENT_ASSIST_SITE_POLICY", str(tmp_path / "no-site.toml"))
    window = AgentWindow(theme=THEMES["light"])
    qtbot.addWidget(window)
    seen: list[Settings] = []
    wizard = open_first_run(window, on_saved=seen.append)
    qtbot.addWidget(wizard)
    names = [wizard.speech.models.item(i).toolTip() for i in range(wizard.speech.models.count())]
    assert "vosk-model-small-en-us-0.15" in names  # the catalogue, not only what is installed
    # the sound server answers on a worker thread: a list, or why there is none
    qtbot.waitUntil(
        lambda: wizard.headset.devices.count() > 0 or bool(wizard.headset.problem.text()),
        timeout=20_000,
    )
    wizard.server.url.setText("ws://127.0.0.1:9/")
    wizard.headset.later.setChecked(True)
    wizard.accept()
    assert 'url = "ws://127.0.0.1:9/"' in user.read_text()
    assert seen
    assert seen[0].get_str("server.url") == "ws://127.0.0.1:9/"
    assert "Agent Assist listens once" in window.statusBar().currentMessage()


def test_picking_a_model_file_blocks_nothing(wizard: FirstRun, qtbot: QtBot) -> None:
    wizard.next()  # the speech model step
    wizard.speech.from_file.click()
    picker = wizard.speech.picker
    assert picker.isVisible()
    assert QApplication.activeModalWidget() is None
    with qtbot.waitSignal(wizard.install_model) as asked:
        picker.fileSelected.emit("/media/usb/vosk-model-small-en-us-0.15.zip")
    assert asked.args == ["/media/usb/vosk-model-small-en-us-0.15.zip"]
    picker.close()
