"""The marquee ticker: supervisors' announcements across the top of the window.

Newest first: an announcement that arrives is on screen at once, whatever else
is active, then the ticker rotates through the active ones every few seconds,
newest first; text wider than the window scrolls. An urgent announcement is not
in the rotation: it holds a bar of its own that only its Acknowledge button
clears (that sends the read receipt, ``acknowledged``), and once acknowledged it
retires, so its text is never shown twice. Info and warning announcements count
as seen once shown. Scheduled and expired ones are hidden by time (``now`` is
injectable for tests). What is active and which receipt is due are decided by
:class:`~agent_assist.marquee.state.ClientState`; this is only its view.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QPushButton, QVBoxLayout, QWidget

from agent_assist.marquee.protocol import Announcement, Retracted
from agent_assist.marquee.state import ClientState
from ui.sections import Caption
from ui.theme import Theme, on_bar_button

__all__ = ["MarqueeTicker"]

_ROTATE_S = 8.0


class _Scroller(QWidget):
    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.theme = theme
        self.text = ""
        self.priority = "info"
        self.offset = 0.0

    def sizeHint(self) -> QSize:
        return QSize(200, int(QFontMetricsF(self.font()).height()) + 10)

    def minimumSizeHint(self) -> QSize:  # long text scrolls: it never widens the window
        return QSize(10, int(QFontMetricsF(self.font()).height()) + 10)

    def show_text(self, text: str, priority: str) -> None:
        if (text, priority) != (self.text, self.priority):
            self.text, self.priority, self.offset = text, priority, 0.0
            self.setAccessibleName(
                f"{priority} announcement: {text}" if text else "No announcements"
            )
            self.update()

    def step(self) -> None:
        width = QFontMetricsF(self.font()).horizontalAdvance(self.text)
        if width > self.width() - 16:
            self.offset = (self.offset + 1.5) % (width + 60)
            self.update()
        elif self.offset:
            self.offset = 0.0
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        background, colour = (
            self.theme.colours(self.priority) if self.text else (self.theme.panel, self.theme.muted)
        )
        painter.fillRect(self.rect(), QColor(background))
        painter.setPen(QColor(colour))
        label = f"{self.priority.upper()} · {self.text}" if self.text else "No announcements"
        width = QFontMetricsF(self.font()).horizontalAdvance(label)
        rect = QRectF(8 - self.offset, 0, width + 8, self.height())
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter), label)
        if self.offset:  # the start of the text follows its end round the loop
            painter.drawText(
                rect.translated(width + 60, 0), int(Qt.AlignmentFlag.AlignVCenter), label
            )
        painter.end()


class MarqueeTicker(QWidget):
    """Announcements across the top of the agent's window (see the module docstring)."""

    acknowledged = Signal(str)  # announcement id: send a read receipt
    urgent_arrived = Signal(object)  # Announcement: raise a desktop notification
    arrived = Signal(object)  # Announcement: any new one, as it comes on screen (unread counts)

    def __init__(
        self, *, theme: Theme, now: Callable[[], float] = time.time, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.theme = theme
        self._now = now
        self.state = ClientState()
        self._rotation = 0
        self._shown_since = 0.0
        self.terse = False  # a short screen: Acknowledge under the urgent text
        self.compact = False  # the compact strip: one line, the urgent bar instead of the ticker
        self.scroller = _Scroller(theme)
        self.urgent_text = Caption()
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setAccessibleName("Acknowledge urgent announcement")
        self.ack_button.clicked.connect(self._acknowledge)
        self.urgent_bar = QFrame()
        self.urgent_bar.setObjectName("urgent")
        self._bar = bar = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.urgent_bar)
        bar.setContentsMargins(8, 4, 6, 4)
        bar.addWidget(self.urgent_text, 1)
        bar.addWidget(self.ack_button)
        self.set_theme(theme)
        self.urgent_bar.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroller)
        layout.addWidget(self.urgent_bar)
        self._scroll = QTimer(self)
        self._scroll.timeout.connect(self.scroller.step)
        self._scroll.start(30)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self.refresh)
        self._tick.start(1000)
        self.refresh()

    def show_message(self, message: object) -> None:
        """Show one server message (announcements and retractions; others are ignored)."""
        if not isinstance(message, Announcement | Retracted):
            return
        delivered = self.state.receive(message, self._now())
        if isinstance(message, Announcement) and delivered:
            self._rotation, self._shown_since = 0, self._now()  # the newest comes first: now
        self._notify(a for a in delivered if isinstance(a, Announcement))
        self.refresh()

    def set_compact(self, compact: bool) -> None:
        """The compact strip: the urgent bar on one line, in place of the ticker line."""
        self.compact = compact
        self.refresh()

    def set_terse(self, terse: bool) -> None:
        """On a short screen the bar's text gets the full width (Acknowledge goes under it) and
        the ticker line gives way to the bar while an urgent announcement waits."""
        self.terse = terse
        self.refresh()
        self._bar.setDirection(
            QBoxLayout.Direction.TopToBottom if terse else QBoxLayout.Direction.LeftToRight
        )

    def set_theme(self, theme: Theme) -> None:
        """Redraw in ``theme``'s colours."""
        self.theme = self.scroller.theme = theme
        background, colour = theme.colours("urgent")
        self.urgent_bar.setStyleSheet(
            f"QFrame#urgent {{ background:{background}; border-radius:6px; }}"
            f" QLabel {{ color:{colour}; }} {on_bar_button((background, colour))}"
        )
        self.scroller.update()

    def _notify(self, arrived: Iterable[Announcement]) -> None:
        now = self._now()
        for a in arrived:
            if not a.is_active(now):
                continue
            self.arrived.emit(a)
            if a.needs_acknowledgement and not self.state.receipted(a.id):
                self.urgent_arrived.emit(a)

    def visible(self) -> list[Announcement]:
        """Active announcements, most important first."""
        return self.state.active(self._now())

    def rotation(self) -> list[Announcement]:
        """What the ticker line rotates through, newest first: the active announcements but
        the urgent ones (the bar shows one until it is acknowledged; then it retires)."""
        shown = [a for a in self.state.active(self._now()) if not a.needs_acknowledgement]
        return sorted(shown, key=lambda a: -a.created_at)

    def pending_urgent(self) -> Announcement | None:
        """The urgent announcement the bar shows until it is acknowledged."""
        return self.state.awaiting_acknowledgement(self._now())

    def refresh(self) -> None:
        """Rotate, scroll and show the bar for the current time; counts info/warning as seen."""
        now = self._now()
        self.state.expire(now)
        self._notify(self.state.due(now))  # a scheduled urgent one has started
        shown = self.rotation()
        if len(shown) > 1 and now - self._shown_since >= _ROTATE_S:
            self._rotation += 1
            self._shown_since = now
        current = shown[self._rotation % len(shown)] if shown else None
        self.scroller.show_text(
            current.text if current else "", current.priority if current else "info"
        )
        if current is not None and self.state.shown(current):
            self.acknowledged.emit(current.id)
        urgent = self.pending_urgent()
        # never an empty line; on a short screen the urgent bar alone
        self.scroller.setVisible(
            urgent is None or (current is not None and not (self.terse or self.compact))
        )
        if urgent is None:
            self.urgent_bar.hide()
        else:
            self.urgent_text.one_line(
                f"URGENT from {urgent.author}: {urgent.text}" if self.compact else None
            )
            if not self.compact:
                self.urgent_text.setText(  # server text is escaped: never markup
                    f"<b>URGENT</b> from {html.escape(urgent.author)}: {html.escape(urgent.text)}"
                )
            self.urgent_bar.setAccessibleName(
                f"Urgent announcement from {urgent.author}: {urgent.text}"
            )
            self.urgent_bar.show()

    def _acknowledge(self) -> None:
        urgent = self.pending_urgent()
        if urgent is not None and self.state.acknowledge(urgent.id):
            self.acknowledged.emit(urgent.id)
        self.refresh()
