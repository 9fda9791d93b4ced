"""Coaching cards: one per flag, severity colour *and* word, the tip, the time; they expire.

``hot_mic`` is impossible to miss: a full-width critical banner (not a card) that
stays until the agent dismisses it, the line is muted, or 45 s pass. At most
three cards show, newest first, so the knowledge panel keeps its room. A kind can be snoozed for the rest
of the call (``snoozed`` tells the app, which stops the risk engine raising it); the rule is the
engine's own (:mod:`agent_assist.risk.snooze`): a critical flag is never hidden, so its card offers
no snooze. Snoozes end with the call (:meth:`CoachingPanel.clear_call`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from agent_assist.events import Flag
from agent_assist.risk.snooze import Snoozes, snoozable
from ui.theme import Theme

__all__ = ["CoachingPanel"]

MAX_CARDS = 3
LIFETIME_S = {"critical": 45.0, "warning": 25.0, "info": 15.0, "praise": 10.0}
_KIND_NAMES = {
    "hot_mic": "Your line is LIVE",
    "vent_while_muted": "Venting while muted",
    "talking_while_muted": "Talking while muted",
    "mute_mismatch": "Mute state mismatch",
    "dead_air": "Dead air",
    "profanity": "Profanity",
    "rudeness": "Rudeness",
    "blame_shifting": "Take ownership",
    "raised_voice": "Raised voice",
    "fast_speech": "Speaking fast",
    "monologue": "Long monologue",
    "ownership": "Good ownership",
    "empathy": "Good empathy",
}


class CoachingCard(QFrame):
    """One flag: severity colour and word, tip and time; ``snooze``/``dismissed`` report the agent's choice."""

    dismissed = Signal(object)
    snooze = Signal(str)

    def __init__(self, flag: Flag, *, theme: Theme, shown_at: float) -> None:
        super().__init__()
        self.flag = flag
        self.expires_at = shown_at + LIFETIME_S.get(flag.severity, 15.0)
        background, text = theme.colours(flag.severity)
        title = _KIND_NAMES.get(flag.kind, flag.kind.replace("_", " ").capitalize())
        self.setObjectName("card")
        self.setStyleSheet(
            f"QFrame#card {{ background:{background}; border-radius:6px; }}"
            f" QLabel {{ color:{text}; }}"
        )
        self.setAccessibleName(f"{flag.severity} coaching: {title}")
        self.setAccessibleDescription(flag.tip)
        label = QLabel(
            f"<b>{flag.severity.upper()} · {html.escape(title)}</b> <small>at {flag.t:.0f} s</small>"
            f"<br>{html.escape(flag.tip)}"
        )
        label.setWordWrap(True)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        snooze = QToolButton()
        snooze.setText("Snooze")
        snooze.setToolTip("Do not show this kind again during this call")
        snooze.setAccessibleName(f"Snooze {title} for this call")
        snooze.clicked.connect(self._snooze_kind)
        if not snoozable(flag.severity):
            snooze.hide()  # a snooze never hides a critical flag: the customer may be hearing it
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAccessibleName(f"Dismiss {title}")
        close.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(label, 1)
        layout.addWidget(snooze)
        layout.addWidget(close)

    # slots return None: PySide6 mishandles slots that return values (see pyproject's pin)
    def _snooze_kind(self) -> None:
        self.snooze.emit(self.flag.kind)

    def _dismiss(self) -> None:
        self.dismissed.emit(self)


class CoachingPanel(QWidget):
    """Shows flags as cards, newest first; ``snoozed`` reports a kind snoozed for the call."""

    snoozed = Signal(str)

    def __init__(
        self,
        *,
        theme: Theme,
        now: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.theme = theme
        self._now = now
        self.snoozes = Snoozes()  # the engine's own rule: critical flags are never hidden
        self.hot_mic_until = 0.0
        self.setAccessibleName("Coaching")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.banner = QFrame()
        self.banner.setObjectName("hotmic")
        self.banner.setAccessibleName("Hot microphone alert")
        background, text = theme.colours("critical")
        self.banner.setStyleSheet(
            f"QFrame#hotmic {{ background:{background}; border-radius:6px; }} QLabel {{ color:{text}; }}"
        )
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        font = self.banner_text.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.banner_text.setFont(font)
        got_it = QPushButton("I'm muting now")
        got_it.setAccessibleName("Dismiss the hot microphone alert")
        got_it.clicked.connect(self._dismiss_banner)
        self.banner_text.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        banner = QVBoxLayout(self.banner)
        banner.setContentsMargins(8, 6, 8, 6)
        banner.addWidget(self.banner_text)
        banner.addWidget(got_it)
        self.banner.hide()
        self._layout.addWidget(self.banner)
        self._layout.addStretch(1)
        self.cards: list[CoachingCard] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.expire)
        self._timer.start(1000)

    def show_flag(self, flag: Flag) -> None:
        """Show a flag as a card (hot_mic as the banner) unless a snooze silences it."""
        if self.snoozes.silences(flag):
            return
        if flag.kind == "hot_mic":  # one unmissable banner instead of a card
            self.banner_text.setText(f"⚠ {flag.tip}")
            self.banner.setAccessibleDescription(flag.tip)
            self.banner.show()
            self.hot_mic_until = self._now() + LIFETIME_S["critical"]
            return
        card = CoachingCard(flag, theme=self.theme, shown_at=self._now())
        card.dismissed.connect(self._remove)
        card.snooze.connect(self._snooze)
        self.cards.insert(0, card)
        self._layout.insertWidget(1, card)  # under the banner, newest first
        for old in self.cards[MAX_CARDS:]:  # the knowledge panel needs the room
            self._remove(old)

    def line_muted(self) -> None:
        """The agent muted: the hot-mic banner has done its job."""
        self._dismiss_banner()

    def clear_call(self) -> None:
        """The call ended: snoozes end and the banner goes."""
        self.snoozes.clear()
        self._dismiss_banner()

    def expire(self) -> None:
        """Remove the cards (and the banner) whose time is up; a timer runs it every second."""
        now = self._now()
        for card in [c for c in self.cards if c.expires_at <= now]:
            self._remove(card)
        if self.hot_mic_until <= now:
            self.banner.hide()

    def _dismiss_banner(self) -> None:
        self.hot_mic_until = 0.0
        self.banner.hide()

    def _remove(self, card: CoachingCard) -> None:
        if card in self.cards:
            self.cards.remove(card)
            card.hide()
            card.deleteLater()

    def _snooze(self, kind: str) -> None:
        self.snoozes.add(kind)
        for card in [c for c in self.cards if self.snoozes.silences(c.flag)]:
            self._remove(card)
        self.snoozed.emit(kind)
