"""The call-script checklist: a compact, collapsible list that ticks itself from ``script``
events (issue 15).

Each step of the script that applies shows its state (✓ done, ! due now,
✗ missed, ○ open) and whether it is required; the header always says how far
the agent is and what comes next ("2 of 4 required · next: Verify identity"), and
after the call what was missed ("4 of 5 required · missed: Verify identity").
When a required step falls **due** (its moment came and it is still open) the
header turns into a nudge in the warning colours, "Now: …", visible even with
the list collapsed, until the step is done. The script that applies follows the
events (``script`` names it: the site's default, the one the call's article
chose, or the agent's), from the pack the app hands over (:meth:`set_pack`).
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QVBoxLayout, QWidget

from agent_assist.events import Call, Script, StepState
from agent_assist.scripts import ScriptPack
from ui.sections import Caption, Section, header_style
from ui.theme import Theme, ring_for

__all__ = ["ChecklistPanel"]

_MARKS = {"done": "✓", "due": "!", "missed": "✗", None: "○"}
_WORDS = {"done": "done", "due": "due now", "missed": "missed", None: "open"}


class ChecklistPanel(Section):
    """The checklist of the call's script (see the module docstring); hidden without a pack."""

    def __init__(self, *, theme: Theme, expanded: bool = True) -> None:
        self._list = QWidget()
        self._rows = QVBoxLayout(self._list)
        self._rows.setContentsMargins(6, 0, 0, 0)
        self._rows.setSpacing(1)
        super().__init__("Call script", self._list, expanded=expanded)
        self.theme = theme
        self.pack: ScriptPack | None = None
        self.script = ""
        self.states: dict[str, StepState] = {}
        self.nudge: str | None = None  # the required step due now, if any
        self.ended = False  # the call is over: no next step, say what was missed
        self.labels: list[Caption] = []
        self.setAccessibleName("Call script checklist")
        self.hide()

    def set_pack(self, pack: ScriptPack | None) -> None:
        """The site's script pack (None: no scripts, the panel hides)."""
        self.pack = pack
        self.script = pack.default if pack is not None else ""
        self.states.clear()
        self.nudge = None
        self.setVisible(pack is not None)
        self._refresh()

    def set_theme(self, theme: Theme) -> None:
        """Redraw in ``theme``'s colours."""
        self.theme = theme
        self._refresh()

    def follow(self, event: object) -> None:
        """Tick, nudge or mark a step from a ``script`` event; a new call starts afresh."""
        if self.pack is None:
            return
        if isinstance(event, Call) and event.state == "started":
            self.script, self.nudge, self.ended = self.pack.default, None, False
            self.states.clear()
        elif isinstance(event, Call) and event.state == "ended":
            self.ended, self.nudge = True, None  # nothing comes next once the call is over
        elif isinstance(event, Script):
            if event.script and event.script in self.pack.scripts and event.script != self.script:
                self.script = event.script
            self.states[event.step] = event.state
            step = self.pack.steps.get(event.step)
            if event.state == "due" and step is not None and step.required:
                self.nudge = event.step
            elif event.step == self.nudge:
                self.nudge = None
        else:
            return
        self._refresh()

    def steps(self) -> list[tuple[str, str, bool, StepState | None]]:
        """(id, label, required, state) of the current script's steps, in order."""
        if self.pack is None or self.script not in self.pack.scripts:
            return []
        return [
            (s, self.pack.steps[s].label, self.pack.steps[s].required, self.states.get(s))
            for s in self.pack.scripts[self.script].steps
        ]

    def label_of(self, step: str) -> str:
        """A step's label (its id when the pack does not have it)."""
        found = self.pack.steps.get(step) if self.pack is not None else None
        return found.label if found is not None else step

    def next_step(self) -> str | None:
        """The label of the first step neither done nor missed."""
        return next((label for _, label, _, state in self.steps() if state is None), None)

    def _refresh(self) -> None:
        steps = self.steps()
        while len(self.labels) < len(steps):
            label = Caption()
            self._rows.addWidget(label)
            self.labels.append(label)
        for label in self.labels[len(steps) :]:
            label.hide()
        warning_bg, warning_fg = self.theme.colours("warning")
        for label, (_, text, required, state) in zip(self.labels, steps, strict=False):
            extra = " <small>(required)</small>" if required else ""
            colour = self.theme.muted if state == "done" else self.theme.text
            label.setText(
                f"<span style='color:{colour}'><b>{_MARKS[state]}</b> {html.escape(text)}{extra}</span>"
            )
            label.setAccessibleName(f"{_WORDS[state]}: {text}{' (required)' if required else ''}")
            label.setStyleSheet(
                f"background:{warning_bg}; color:{warning_fg}; border-radius:3px;"
                if state == "due"
                else ""
            )
            label.show()
        needed = [s for s in steps if s[2]]
        done = sum(1 for s in needed if s[3] == "done")
        nudge = self.pack.steps[self.nudge].label if self.pack and self.nudge else None
        if nudge:
            self.set_note(f"⚠ Now: {nudge}")
            self.header.setStyleSheet(header_style(ring_for(warning_bg), warning_bg, warning_fg))
            self.note_label.setStyleSheet(
                f"background:{warning_bg}; color:{warning_fg}; font-weight:bold;"
                " border-radius:4px; padding:1px 4px;"
            )
        else:
            following = None if self.ended else self.next_step()
            missed = [s[1] for s in needed if s[3] == "missed"]
            self.set_note(
                f"{done} of {len(needed)} required"
                + (f" · next: {following}" if following else "")
                + (f" · missed: {', '.join(missed)}" if self.ended and missed else "")
            )
            self.header.setStyleSheet(header_style(self.theme.focus))
            self.note_label.setStyleSheet("")
