"""The call strip: level meters, the unmistakable LIVE / MUTED indicator, recogniser status."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QPushButton, QWidget

from agent_assist.events import Call, Level, Mute, Status
from ui.theme import Theme

__all__ = ["CallStrip"]

_FLOOR_DB = -60.0  # the meter's bottom, dBFS


class CallStrip(QWidget):
    """Shows the line state from ``call``/``mute`` events; ``mute_toggled`` asks for app mute."""

    mute_toggled = Signal(bool)

    def __init__(self, *, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.in_call = False
        self.muted = False
        self.on_hold = False
        self.line = QLabel()
        self.line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.line.setAccessibleName("Line state")
        font = self.line.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.line.setFont(font)
        self.line.setMinimumHeight(44)
        self.meters: dict[str, QProgressBar] = {}
        layout = QGridLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.line, 0, 0, 1, 3)
        for row, (channel, label) in enumerate(
            (("agent", "You"), ("customer", "Customer")), start=1
        ):
            meter = QProgressBar()
            meter.setRange(0, 100)
            meter.setTextVisible(False)
            meter.setMaximumHeight(10)
            meter.setAccessibleName(f"{label} level")
            self.meters[channel] = meter
            layout.addWidget(QLabel(label), row, 0)
            layout.addWidget(meter, row, 1, 1, 2)
        self.status = QLabel("Recogniser: starting")
        self.status.setAccessibleName("Recogniser status")
        self.mute_button = QPushButton("Mute")
        self.mute_button.setCheckable(True)
        self.mute_button.setAccessibleName("Mute toggle")
        self.mute_button.setShortcut("Ctrl+M")
        self.mute_button.toggled.connect(self.mute_toggled)
        layout.addWidget(self.status, 3, 0, 1, 2)
        layout.addWidget(self.mute_button, 3, 2)
        self._render()

    @property
    def state(self) -> str:
        """The line as shown: NO CALL, ON HOLD, MUTED or LIVE."""
        if not self.in_call:
            return "NO CALL"
        if self.on_hold:
            return "ON HOLD"
        return "MUTED" if self.muted else "LIVE"

    def show_event(self, event: object) -> None:
        """Follow a level, mute, call or status event."""
        if isinstance(event, Level):
            meter = self.meters.get(event.channel)
            if meter is not None:
                meter.setValue(int(max(0.0, min(1.0, (event.dbfs - _FLOOR_DB) / -_FLOOR_DB)) * 100))
        elif isinstance(event, Mute):
            self.muted = event.muted
            self.mute_button.blockSignals(True)
            self.mute_button.setChecked(event.muted)
            self.mute_button.setText("Unmute" if event.muted else "Mute")
            self.mute_button.blockSignals(False)
            self._render()
        elif isinstance(event, Call):
            self.in_call = event.state != "ended"
            self.on_hold = event.state == "hold"
            if event.state == "started":
                self.muted = False
            self._render()
        elif isinstance(event, Status):
            self.status.setText(f"Recogniser ({event.channel}): {event.state}")

    def set_status(self, text: str) -> None:
        """Show a status line (e.g. listening, device lost)."""
        self.status.setText(text)

    def _render(self) -> None:
        state = self.state
        background, text = {
            "LIVE": self.theme.live,
            "MUTED": self.theme.muted_line,
            "ON HOLD": self.theme.muted_line,
        }.get(state, (self.theme.panel, self.theme.muted))
        words = {
            "LIVE": "● LIVE: the customer hears you",
            "MUTED": "MUTED",
            "ON HOLD": "ON HOLD",
            "NO CALL": "No call",
        }
        self.line.setText(words[state])
        self.line.setAccessibleDescription(words[state])
        self.line.setStyleSheet(
            f"background:{background}; color:{text}; border-radius:6px; padding:4px;"
        )
