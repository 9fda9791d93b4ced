"""Coaching cards: one per flag, severity colour *and* word, the tip, the time; they expire.

``hot_mic`` is impossible to miss: a full-width critical banner (not a card) with
a button that mutes the microphone at once (**Mute me now**; where Agent Assist
cannot mute it, **Mark me as muted**). It stays until the line is muted, the
agent dismisses it, or 45 s pass.

Calm by design: at most :data:`MAX_CARDS` cards show (one in the compact strip,
none while the banner is up there), newest first, so the knowledge panel keeps
its room; and a card goes as soon as its condition has (:meth:`CoachingPanel.follow`):
talking or venting while muted when the line is live again, dead air when the
line is live or someone speaks, "take ownership" once the agent took it, every
card when the call ends. A kind can be snoozed for the rest of the call
(``snoozed`` tells the app, which stops the risk engine raising it); the rule is
the engine's own (:mod:`agent_assist.risk.snooze`): a critical flag is never
hidden, so its card offers no snooze.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from agent_assist.events import Call, Flag, Mute, Utterance
from agent_assist.risk.snooze import Snoozes, snoozable
from ui.sections import Caption
from ui.theme import Theme, on_bar_button

__all__ = ["MAX_CARDS", "CoachingPanel"]

MAX_CARDS = 2
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
_GONE_WHEN_LIVE = {"talking_while_muted", "vent_while_muted", "dead_air", "mute_mismatch"}


class CoachingCard(QFrame):
    """One flag: severity colour and word, tip and time; ``snooze``/``dismissed`` report the agent's choice."""

    dismissed = Signal(object)
    snooze = Signal(str)

    def __init__(self, flag: Flag, *, theme: Theme, shown_at: float) -> None:
        super().__init__()
        self.flag = flag
        self.expires_at = shown_at + LIFETIME_S.get(flag.severity, 15.0)
        title = _KIND_NAMES.get(flag.kind, flag.kind.replace("_", " ").capitalize())
        self.setObjectName("card")
        self.setAccessibleName(f"{flag.severity} coaching: {title}")
        self.setAccessibleDescription(flag.tip)
        self._rich = (
            f"<b>{flag.severity.upper()} · {html.escape(title)}</b> <small>at {flag.t:.0f} s</small>"
            f"<br>{html.escape(flag.tip)}"
        )
        self._plain = f"{flag.severity.upper()} · {title}: {flag.tip}"
        self.label = Caption(self._rich)
        self.snooze_button = QToolButton()
        self.snooze_button.setText("Snooze")
        self.snooze_button.setToolTip("Do not show this kind again during this call")
        self.snooze_button.setAccessibleName(f"Snooze {title} for this call")
        self.snooze_button.clicked.connect(self._snooze_kind)
        if not snoozable(flag.severity):
            self.snooze_button.hide()  # never hides a critical flag: the customer may hear it
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName(f"Dismiss {title}")
        self.close_button.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.snooze_button)
        layout.addWidget(self.close_button)
        self.set_theme(theme)

    def set_compact(self, compact: bool) -> None:
        """One line (the compact strip), or the title over the tip."""
        self.label.one_line(self._plain if compact else None)
        if not compact:
            self.label.setText(self._rich)

    def set_theme(self, theme: Theme) -> None:
        """Redraw in ``theme``'s colours for the flag's severity."""
        background, text = theme.colours(self.flag.severity)
        self.setStyleSheet(
            f"QFrame#card {{ background:{background}; border-radius:6px; }}"
            f" QLabel {{ color:{text}; }} {on_bar_button((background, text), 'QToolButton')}"
        )

    # slots return None: PySide6 mishandles slots that return values (see pyproject's pin)
    def _snooze_kind(self) -> None:
        self.snooze.emit(self.flag.kind)

    def _dismiss(self) -> None:
        self.dismissed.emit(self)


class CoachingPanel(QWidget):
    """Shows flags as cards, newest first; ``snoozed`` reports a kind snoozed for the call;
    ``mute_now`` is the hot-mic banner's button."""

    snoozed = Signal(str)
    mute_now = Signal()

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
        self.limit = MAX_CARDS
        self.snoozes = Snoozes()  # the engine's own rule: critical flags are never hidden
        self.hot_mic_until = 0.0
        self.setAccessibleName("Coaching")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.banner = QFrame()
        self.banner.setObjectName("hotmic")
        self.banner.setAccessibleName("Hot microphone alert")
        self.banner_text = Caption()
        font = self.banner_text.font()
        font.setBold(True)
        self.banner_text.setFont(font)
        self.mute_button = QPushButton("Mute me now")
        self.mute_button.setAccessibleName("Mute me now: the customer can hear you")
        self.mute_button.clicked.connect(self.mute_now)
        self.banner_close = QToolButton()
        self.banner_close.setText("✕")
        self.banner_close.setToolTip("Dismiss: the customer was not hearing anything wrong")
        self.banner_close.setAccessibleName("Dismiss the hot microphone alert")
        self.banner_close.clicked.connect(self._dismiss_banner)
        self._banner_box = QBoxLayout(QBoxLayout.Direction.TopToBottom, self.banner)
        self._banner_box.setContentsMargins(8, 6, 8, 6)
        self._banner_box.addWidget(self.banner_text, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.mute_button, 1)
        buttons.addWidget(self.banner_close)
        self._banner_box.addLayout(buttons)
        self.compact = False
        self._tip = ""
        self.banner.hide()
        self._layout.addWidget(self.banner)
        self.cards: list[CoachingCard] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.expire)
        self._timer.start(1000)
        self.set_theme(theme)

    def set_theme(self, theme: Theme) -> None:
        """Redraw the banner and every card in ``theme``'s colours."""
        self.theme = theme
        background, text = theme.colours("critical")
        self.banner.setStyleSheet(
            f"QFrame#hotmic {{ background:{background}; border-radius:6px; }}"
            f" QLabel {{ color:{text}; }} {on_bar_button((background, text))}"
            f" {on_bar_button((background, text), 'QToolButton')}"
        )
        for card in self.cards:
            card.set_theme(theme)

    def set_mute_mode(self, *, os_mute: bool) -> None:
        """The banner's button mutes the microphone, or (no OS mute) marks the agent muted."""
        self.mute_button.setText("Mute me now" if os_mute else "Mark me as muted")

    def set_compact(self, compact: bool) -> None:
        """The compact strip: one card (none while the banner is up), each on one line."""
        self.compact = compact
        self.limit = 1 if compact else MAX_CARDS
        self._banner_box.setDirection(
            QBoxLayout.Direction.LeftToRight if compact else QBoxLayout.Direction.TopToBottom
        )
        self._banner_line()
        for card in self.cards:
            card.set_compact(compact)
        self._show_cards()

    def _banner_line(self) -> None:
        self.banner_text.one_line(f"⚠ {self._tip}" if self.compact else None)
        if not self.compact:
            self.banner_text.setText(f"⚠ {html.escape(self._tip)}")

    def show_flag(self, flag: Flag) -> None:
        """Show a flag as a card (hot_mic as the banner) unless a snooze silences it."""
        if self.snoozes.silences(flag):
            return
        if flag.kind == "hot_mic":  # one unmissable banner instead of a card
            self._tip = flag.tip
            self._banner_line()
            self.banner.setAccessibleDescription(flag.tip)
            self.banner.show()
            self.hot_mic_until = self._now() + LIFETIME_S["critical"]
            self._show_cards()
            return
        if flag.kind == "ownership":  # the agent took ownership: the nudge to do so is done
            self._drop(lambda c: c.flag.kind == "blame_shifting")
        card = CoachingCard(flag, theme=self.theme, shown_at=self._now())
        card.set_compact(self.compact)
        card.dismissed.connect(self._remove)
        card.snooze.connect(self._snooze)
        self.cards.insert(0, card)
        self._layout.insertWidget(self._layout.indexOf(self.banner) + 1, card)  # newest first
        for old in self.cards[MAX_CARDS:]:  # the knowledge panel needs the room
            self._remove(old)
        self._show_cards()

    def follow(self, event: object) -> None:
        """Clear what an event makes stale: mute ends the hot-mic banner, a live line ends
        muted-talk and dead-air cards, speech ends dead air, the call's end ends them all."""
        if isinstance(event, Mute):
            if event.muted:
                self._dismiss_banner()
            else:
                self._drop(lambda c: c.flag.kind in _GONE_WHEN_LIVE)
        elif isinstance(event, Call):
            if event.state in ("ended", "started"):
                self.clear_call()
            elif event.state == "resumed":
                self._drop(lambda c: c.flag.kind == "dead_air")
        elif isinstance(event, Utterance) and event.final:
            self._drop(lambda c: c.flag.kind == "dead_air")

    def line_muted(self) -> None:
        """The agent muted: the hot-mic banner has done its job."""
        self._dismiss_banner()

    def clear_call(self) -> None:
        """The call ended (or a new one began): snoozes, the banner and every card go."""
        self.snoozes.clear()
        self._dismiss_banner()
        self._drop(lambda c: True)

    def expire(self) -> None:
        """Remove the cards (and the banner) whose time is up; a timer runs it every second."""
        now = self._now()
        self._drop(lambda c: c.expires_at <= now)
        if self.banner.isVisibleTo(self) and self.hot_mic_until <= now:
            self._dismiss_banner()

    def _dismiss_banner(self) -> None:
        self.hot_mic_until = 0.0
        self.banner.hide()
        self._show_cards()

    def _drop(self, which: Callable[[CoachingCard], bool]) -> None:
        for card in [c for c in self.cards if which(c)]:
            self._remove(card)

    def _remove(self, card: CoachingCard) -> None:
        if card in self.cards:
            self.cards.remove(card)
            card.hide()
            card.deleteLater()
            self._show_cards()

    def _show_cards(self) -> None:
        room = self.limit - (1 if self.compact and self.banner.isVisibleTo(self) else 0)
        for index, card in enumerate(self.cards):
            card.setVisible(index < room)

    def visible_cards(self) -> list[CoachingCard]:
        """The cards on screen, newest first."""
        return [c for c in self.cards if c.isVisibleTo(self)]

    def _snooze(self, kind: str) -> None:
        self.snoozes.add(kind)
        self._drop(lambda c: self.snoozes.silences(c.flag))
        self.snoozed.emit(kind)
