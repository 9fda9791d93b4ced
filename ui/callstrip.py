"""The call strip: the unmistakable LIVE / MUTED line state, the Mute button, level meters and
the recogniser's status.

The line state follows the same rule as the risk engine
(:class:`agent_assist.risk.line.LineState`): muted only when every mute source
that has spoken says muted. The strip never turns MUTED because a button was
pressed: only a ``mute`` event does, and the app sends the ``os`` one only once
the operating system has confirmed the microphone is muted (read back).

The Mute button is honest about what it does (:meth:`CallStrip.set_mute_mode`):
with an OS mute it reads **Mute** / **Unmute** (and **Muting…** until the
system confirms); without one, **Mark me as muted** / **Mark me as live**, which
only tells the coaching. Pressing it (or Ctrl+M, or the hot-mic banner's button)
emits ``mute_requested`` with the opposite of the state shown: a true toggle.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from agent_assist.events import Call, Level, Mute, Status
from agent_assist.risk.line import LineState
from ui.sections import Caption
from ui.theme import Theme

__all__ = ["CallStrip"]

_FLOOR_DB = -60.0  # the meter's bottom, dBFS
# A level meter repaints at once on every new value (QProgressBar.setValue), and levels come
# tens of times a second per channel, in bursts when the GUI thread was busy: a meter shows a
# new value at most this often (seconds), the last one of a burst once it has passed.
METER_INTERVAL_S = 0.04
_WORDS = {
    "LIVE": ("● LIVE", "the customer hears you"),
    "MUTED": ("MUTED", "your microphone is muted"),
    "MARKED MUTED": ("MUTED", "as you marked it: Agent Assist cannot mute this microphone"),
    "ON HOLD": ("ON HOLD", "the customer is waiting"),
    "NO CALL": ("No call", ""),
}


class CallStrip(QWidget):
    """Shows the line state from ``call``/``mute`` events; ``mute_requested(muted)`` asks the
    app to mute or unmute (see the module docstring)."""

    mute_requested = Signal(bool)

    def __init__(self, *, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.line_state = LineState(ended=True)
        self.os_mute = False  # set_mute_mode: does the button mute the microphone itself?
        self.pending: bool | None = None  # a mute asked for and not yet confirmed
        self.compact = False
        self.terse = False  # the line state without its second line (short screens)
        self.line = QLabel()
        self.line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.line.setWordWrap(True)
        self.line.setTextFormat(Qt.TextFormat.RichText)
        self.line.setAccessibleName("Line state")
        self.line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.line.setMinimumWidth(10)
        self.meters: dict[str, QProgressBar] = {}
        self.meter_labels: list[QLabel] = []
        self._meter_shown: dict[str, float] = {}  # when each meter last took a value (monotonic s)
        self._meter_due: dict[str, int] = {}  # values waiting for the interval to pass
        self._meter_timer = QTimer(self)
        self._meter_timer.setSingleShot(True)
        self._meter_timer.setInterval(int(METER_INTERVAL_S * 1000))
        self._meter_timer.timeout.connect(self._show_due_levels)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setVerticalSpacing(3)
        layout.addWidget(self.line, 0, 0, 1, 2)
        self.mute_button = QPushButton()
        self.mute_button.setCheckable(True)  # pressed while muted
        self.mute_button.setAccessibleName("Mute toggle")
        self.mute_button.clicked.connect(self._clicked)
        self.mute_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Expanding)
        layout.addWidget(self.mute_button, 0, 2)
        self.full_button = QToolButton()  # the compact strip's way back to the full view
        self.full_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.full_button.hide()
        layout.addWidget(self.full_button, 0, 3)
        levels = QHBoxLayout()  # both meters on one row: the strip stays short
        levels.setSpacing(4)
        for channel, label in (("agent", "You"), ("customer", "Customer")):
            meter = QProgressBar()
            meter.setRange(0, 100)
            meter.setTextVisible(False)
            meter.setFixedHeight(10)
            meter.setMinimumWidth(20)
            meter.setAccessibleName(f"{label} level")
            self.meters[channel] = meter
            name = QLabel(label)
            self.meter_labels.append(name)
            levels.addWidget(name)
            levels.addWidget(meter, 1)
        layout.addLayout(levels, 1, 0, 1, 4)
        self.status = Caption("Recogniser: not started")  # the window shows it in its footer
        self.status.setAccessibleName("Recogniser status")
        layout.setColumnStretch(0, 1)
        self._render()

    @property
    def state(self) -> str:
        """The line as shown: NO CALL, ON HOLD, MUTED or LIVE."""
        line = self.line_state
        if not line.active:
            return "NO CALL"
        if line.on_hold:
            return "ON HOLD"
        return "MUTED" if line.muted else "LIVE"

    @property
    def muted(self) -> bool:
        """The line is muted (every source that spoke says so)."""
        return self.line_state.active and self.line_state.muted

    def set_mute_mode(self, *, os_mute: bool, target: str = "") -> None:
        """Whether the button mutes the microphone (``target``, in words) in the operating
        system, or only marks the agent as muted for the coaching (``target``: why)."""
        self.os_mute = os_mute
        self.mute_button.setToolTip(
            f"Mute {target} in the operating system (Ctrl+M)"
            if os_mute
            else f"Agent Assist cannot mute this microphone{f' ({target})' if target else ''}: "
            "this only tells the coaching you muted (Ctrl+M). Mute in your softphone or on "
            "your headset."
        )
        self._render()

    def request_toggle(self) -> None:
        """Ask for the opposite of the state shown (the button, Ctrl+M); ignored while a
        request is still waiting for the system's answer."""
        if self.pending is None:
            self.request(not self.muted)

    def request(self, muted: bool) -> None:
        """Ask the app to mute (True) or unmute; the button waits for the answer."""
        self.pending = muted if self.os_mute else None
        self.mute_requested.emit(muted)
        self._render()

    def mute_failed(self, reason: str) -> None:
        """The system refused: the line stays as it was, and the strip says why."""
        self.pending = None
        self.status.setText(reason)
        self._render()

    def _clicked(self) -> None:
        self.request_toggle()

    def show_event(self, event: object) -> None:
        """Follow a level, mute, call or status event."""
        if isinstance(event, Level):
            if event.channel in self.meters:
                fraction = max(0.0, min(1.0, (event.dbfs - _FLOOR_DB) / -_FLOOR_DB))
                self._show_level(event.channel, int(fraction * 100))
        elif isinstance(event, Mute | Call):
            self.line_state.apply(event)
            if isinstance(event, Mute) and event.source == "os":
                self.pending = None  # the system answered
            if isinstance(event, Call) and event.state == "ended":
                self._meter_due.clear()  # a level still waiting must not come back
                for meter in self.meters.values():
                    meter.setValue(0)  # no call, no levels
            self._render()
        elif isinstance(event, Status):
            self.status.setText(f"Recogniser ({event.channel}): {event.state}")

    def _show_level(self, channel: str, value: int) -> None:
        now = time.monotonic()
        if (
            channel not in self._meter_due
            and now - self._meter_shown.get(channel, -1.0) >= METER_INTERVAL_S
        ):
            self.meters[channel].setValue(value)
            self._meter_shown[channel] = now
            return
        self._meter_due[channel] = value  # the newest value of a burst is the one shown
        if not self._meter_timer.isActive():
            self._meter_timer.start()

    def _show_due_levels(self) -> None:
        now = time.monotonic()
        for channel, value in self._meter_due.items():
            self.meters[channel].setValue(value)
            self._meter_shown[channel] = now
        self._meter_due.clear()

    def set_status(self, text: str) -> None:
        """Show a status line (e.g. listening, device lost, not listening and why)."""
        self.status.setText(text)

    def set_compact(self, compact: bool) -> None:
        """The compact strip: line state and Mute only (no meters, status or explanation)."""
        self.compact = compact
        for widget in (*self.meters.values(), *self.meter_labels):
            widget.setVisible(not compact)
        self._render()

    def set_terse(self, terse: bool) -> None:
        """Drop the line state's second line ("the customer hears you"): short screens."""
        self.terse = terse
        self._render()

    def full_view(self, compact: bool, action: QAction) -> None:
        """In the compact strip, a button beside Mute that leaves it (``action``)."""
        if self.full_button.defaultAction() is not action:
            self.full_button.setDefaultAction(action)
        self.full_button.setText("Full view")
        self.full_button.setAccessibleName("Leave the compact strip")
        self.full_button.setVisible(compact)

    def tools(self) -> list[QWidget]:
        """The strip's buttons beside Mute that are on screen (for the Tab order)."""
        return [self.full_button] if self.full_button.isVisibleTo(self) else []

    def set_theme(self, theme: Theme) -> None:
        """Redraw in ``theme``'s colours."""
        self.theme = theme
        self._render()

    def changeEvent(self, event: QEvent) -> None:
        """A new text size: the line state's large type follows it."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._render()

    def _render(self) -> None:
        state = self.state
        marked = (
            state == "MUTED"
            and not self.line_state.mute_by_source.get("os", False)
            and not self.line_state.mute_by_source.get("cti", False)
        )
        word, why = _WORDS["MARKED MUTED" if marked else state]
        background, text = {
            "LIVE": self.theme.live,
            "MUTED": self.theme.muted_line,
            "ON HOLD": self.theme.muted_line,
        }.get(state, (self.theme.panel, self.theme.muted))
        size = self.font().pointSizeF()
        small = (
            "" if self.compact or self.terse or not why else f"<br><span>{html.escape(why)}</span>"
        )
        self.line.setText(
            f"<span style='font-size:{size * 1.6:.1f}pt; font-weight:bold'>{html.escape(word)}</span>"
            + small
        )
        self.line.setAccessibleDescription(f"{word}: {why}" if why else word)
        self.line.setStyleSheet(
            f"background:{background}; color:{text}; border-radius:6px; padding:3px;"
        )
        self._render_button()

    def _render_button(self) -> None:
        muted = self.muted
        if self.pending is not None:
            label = "Muting…" if self.pending else "Unmuting…"
        elif self.os_mute:
            label = "Unmute" if muted else "Mute"
        else:
            label = "Mark me as live" if muted else "Mark me as muted"
        self.mute_button.setText(label)
        self.mute_button.setEnabled(self.pending is None)
        self.mute_button.setChecked(muted)
        self.mute_button.setAccessibleDescription(
            f"{label} (Ctrl+M); the line is {self.state.lower()}"
        )
