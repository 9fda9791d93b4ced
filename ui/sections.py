"""Layout pieces for a narrow window: collapsible sections and a row that wraps.

A :class:`Section` is a header button (▾ open / ▸ closed, keyboard-reachable,
its state read out by screen readers) over its content; collapsed, only the
header shows, with a one-line summary beside the title. A :class:`FlowRow`
lays buttons out left to right and wraps them onto another line when the
window is too narrow (large text, high scaling) instead of widening it.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

__all__ = ["Caption", "FlowRow", "Section", "header_style"]


def header_style(
    focus: str, background: str = "transparent", text: str = "palette(window-text)"
) -> str:
    """A section header's style: flat, bold, with the theme's ``focus`` ring."""
    return (
        f"QToolButton {{ text-align:left; font-weight:bold; border:1px solid {background};"
        f" border-radius:4px; padding:2px 4px; background:{background}; color:{text}; }}"
        " QToolButton:hover { border-color:palette(highlight); }"
        f" QToolButton:focus {{ border:3px solid {focus}; padding:0px 2px; }}"
    )


class Caption(QLabel):
    """A wrapped label that never asks for more width than it is given; :meth:`one_line`
    shows plain text on one line instead, cut short with "…" (the whole in its tooltip)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._line: str | None = None

    def minimumSizeHint(self) -> QSize:
        """Narrow: a caption wraps or elides, it never widens the window."""
        return QSize(10, super().minimumSizeHint().height())

    def one_line(self, plain: str | None) -> None:
        """Show ``plain`` on one line (None: back to wrapping the text set with setText)."""
        self._line = plain
        self.setWordWrap(plain is None)
        self.setToolTip(plain or "")
        if plain is not None:
            self._elide()
        else:
            self.setTextFormat(Qt.TextFormat.AutoText)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Elide again at the new width (one-line captions)."""
        super().resizeEvent(event)
        if self._line is not None:
            self._elide()

    def _elide(self) -> None:
        assert self._line is not None
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(
            self.fontMetrics().elidedText(
                self._line, Qt.TextElideMode.ElideRight, max(10, self.width())
            )
        )


class Section(QWidget):
    """A titled, collapsible part of the window; ``toggled(open)`` when the agent opens or
    closes it."""

    toggled = Signal(bool)

    def __init__(
        self, title: str, content: QWidget, *, expanded: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.content = content
        self.header = QToolButton()
        self.header.setCheckable(True)
        self.header.setChecked(expanded)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.header.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.header.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.focus_colour = "palette(highlight)"
        self.header.setStyleSheet(header_style(self.focus_colour))
        self.header.toggled.connect(self._toggled)
        self.header_note = ""
        self.note_label = Caption()  # wraps: a long note never widens the window
        self.note_label.setAccessibleName(f"{title} summary")
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.header, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.note_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(content, 1)
        self._render()

    def set_focus_colour(self, colour: str) -> None:
        """The theme's focus ring colour for the header."""
        self.focus_colour = colour
        self.header.setStyleSheet(header_style(colour))

    @property
    def expanded(self) -> bool:
        """True while the content shows."""
        return self.header.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        """Open or close the section (as the agent's click would)."""
        self.header.setChecked(expanded)

    def set_note(self, note: str) -> None:
        """A short summary shown beside the title (e.g. "3 of 5 · next: recap")."""
        self.header_note = note
        self._render()

    def _toggled(self, expanded: bool) -> None:
        self._render()
        self.toggled.emit(expanded)

    def _render(self) -> None:
        expanded = self.header.isChecked()
        self.content.setVisible(expanded)
        note = f" · {self.header_note}" if self.header_note else ""
        self.header.setText(f"{'▾' if expanded else '▸'} {self.title}")
        self.note_label.setText(self.header_note)
        self.note_label.setVisible(bool(self.header_note))
        self.header.setAccessibleName(f"{self.title} section")
        self.header.setAccessibleDescription(
            f"{'open' if expanded else 'closed'}{note}; press to {'close' if expanded else 'open'}"
        )
        policy = QSizePolicy.Policy.Preferred if expanded else QSizePolicy.Policy.Maximum
        self.setSizePolicy(QSizePolicy.Policy.Preferred, policy)


class FlowRow(QLayout):
    """Widgets left to right, wrapping onto the next line when they do not fit."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        """Qt's layout API: add ``item`` at the end of the row."""
        self._items.append(item)

    def add(self, widget: QWidget) -> None:
        """Add a widget at the end of the row."""
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))

    def count(self) -> int:
        """Qt's layout API: the number of items."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        """Qt's layout API: the item at ``index`` (None past the end)."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        """Qt's layout API: remove and return the item at ``index``."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        """Qt's layout API: the row does not ask for extra space."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        """Qt's layout API: yes, the height depends on the width (items wrap)."""
        return True

    def heightForWidth(self, width: int) -> int:
        """Qt's layout API: the height the items need when wrapped at ``width``."""
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        """Qt's layout API: place the items, wrapping to new lines as needed."""
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        """Qt's layout API: the preferred size (the minimum: the row wraps)."""
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        """Qt's layout API: wide enough for the widest item."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, line = area.x(), area.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, line = area.x(), y + line + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y() + margins.bottom()
