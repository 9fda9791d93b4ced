"""Issue 15 in the agent's window: the call-script checklist ticks itself, shows the next
step and nudges for a due required step; the after-call summary shows with an editable
note copied with one click; both fold away and keep the window on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent_assist.events import Call, Script
from agent_assist.scripts import load_script_pack
from tests.support.scenes import busy_call, summary_after_call
from ui.agent_window import AgentWindow
from ui.theme import THEMES

SCREEN = QRect(0, 0, 1366, 728)


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path) -> None:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))


@pytest.fixture
def window(qtbot: QtBot) -> AgentWindow:
    win = AgentWindow(theme=THEMES["light"], available=lambda: SCREEN, dock="right")
    qtbot.addWidget(win)
    win.set_script_pack(load_script_pack("northwind"))
    win.show()
    return win


def script(step: str, state: str, t: float = 5.0, name: str = "general") -> Script:
    return Script(t=t, step=step, state=state, evidence="e", script=name, label=step)  # type: ignore[arg-type]


def test_the_checklist_ticks_itself_and_shows_the_next_step(window: AgentWindow) -> None:
    checklist = window.checklist
    window.show_event(Call(t=0.0, state="started"))
    first, second = [label for _, label, _, _ in checklist.steps()][:2]
    assert checklist.next_step() == first
    step_id = checklist.steps()[0][0]
    window.show_event(script(step_id, "done"))
    assert checklist.steps()[0][3] == "done"
    assert checklist.next_step() == second


def test_a_due_required_step_nudges_until_it_is_done(window: AgentWindow) -> None:
    checklist = window.checklist
    window.show_event(Call(t=0.0, state="started"))
    required = next(s for s, _, req, _ in checklist.steps() if req)
    window.show_event(script(required, "due"))
    assert checklist.nudge == required
    assert "Now:" in checklist.header_note
    window.show_event(script(required, "done", t=9.0))
    assert checklist.nudge is None
    assert "Now:" not in checklist.header_note


def test_a_new_call_starts_the_checklist_afresh(window: AgentWindow) -> None:
    window.show_event(Call(t=0.0, state="started"))
    step_id = window.checklist.steps()[0][0]
    window.show_event(script(step_id, "done"))
    window.show_event(Call(t=60.0, state="ended"))
    window.show_event(Call(t=90.0, state="started"))
    assert all(state is None for *_, state in window.checklist.steps())


def test_the_summary_shows_after_the_call_and_its_note_is_copied_as_edited(
    window: AgentWindow,
) -> None:
    busy_call(window, urgent=False)
    summary = summary_after_call(window)
    panel = window.summary
    assert panel.isVisibleTo(window)
    assert panel.expanded
    assert panel.note.toPlainText() == summary.note
    assert "missed: Verify the customer&#x27;s identity" in panel.numbers.text()  # by its label
    panel.note.setPlainText(summary.note + "\nCustomer asked for SMS updates.")
    panel.copy.click()
    clipboard = QApplication.clipboard()
    assert clipboard is not None
    assert clipboard.text().endswith("Customer asked for SMS updates.")
    assert "Copied" in panel.copied.text()


def test_after_the_call_the_checklist_names_no_next_step_but_what_was_missed(
    window: AgentWindow,
) -> None:
    busy_call(window, urgent=False)
    summary_after_call(window)
    note = window.checklist.note_label.text()
    assert "next:" not in note
    assert note == "4 of 5 required · missed: Verify the customer's identity"


def test_the_next_call_folds_the_summary_away_but_keeps_it(window: AgentWindow) -> None:
    busy_call(window, urgent=False)
    summary_after_call(window)
    window.show_event(Call(t=200.0, state="started"))
    assert not window.summary.expanded
    assert window.summary.isVisibleTo(window)


def test_checklist_and_summary_keep_the_window_inside_the_screen(
    window: AgentWindow, qtbot: QtBot
) -> None:
    busy_call(window, hot=True)
    window.checklist.set_expanded(True)
    summary_after_call(window)
    qtbot.wait(20)
    window.fit()
    assert SCREEN.contains(window.frameGeometry())
