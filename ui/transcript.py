"""The live transcript: partials in grey, solid when final; auto-scroll pauses when scrolled up."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from agent_assist.events import Utterance
from ui.theme import Theme

__all__ = ["TranscriptView"]

_KEEP = 300  # lines kept on screen; nothing is stored


class TranscriptView(QListWidget):
    """The live transcript: a line per utterance; a partial grows in place until its final."""

    def __init__(self, *, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.setAccessibleName("Live transcript")
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._partial: dict[str, QListWidgetItem] = {}
        self.following = True  # stick to the newest line unless the agent scrolled up
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._grew)

    def _scrolled(self, value: int) -> None:
        self.following = value >= self.verticalScrollBar().maximum() - 4

    def _grew(self, _low: int, high: int) -> None:
        if self.following:  # new lines are laid out after they are added: follow them here
            self.verticalScrollBar().setValue(high)

    def show_utterance(self, event: Utterance) -> None:
        """Show a partial (replacing the channel's last partial) or a final."""
        who = "You" if event.channel == "agent" else "Customer"
        item = self._partial.pop(event.channel, None)
        if item is None:
            item = QListWidgetItem()
            self.addItem(item)
        item.setText(f"{who}: {event.text}")
        colour = self.theme.text if event.final else self.theme.muted
        item.setForeground(QBrush(QColor(colour)))
        font = item.font()
        font.setItalic(not event.final)
        font.setBold(event.channel == "customer" and event.final)
        item.setFont(font)
        item.setData(Qt.ItemDataRole.UserRole, event.final)
        if not event.final:
            self._partial[event.channel] = item
        while self.count() > _KEEP:
            dropped = self.takeItem(0)
            for channel, partial in list(self._partial.items()):
                if partial is dropped:
                    del self._partial[channel]

    def lines(self) -> list[tuple[str, bool]]:
        """(text, final) of every line shown, oldest first (for tests and accessibility)."""
        return [
            (self.item(i).text(), bool(self.item(i).data(Qt.ItemDataRole.UserRole)))
            for i in range(self.count())
        ]
