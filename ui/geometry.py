"""Keeping a window inside the screen's available area, frame included.

The window manager's frame (title bar, borders) is outside ``geometry()``;
``frameGeometry()`` includes it once the window manager has told Qt how large
it is (X11: after the window is mapped; Qt then sends a move event). These
helpers work on the frame: a window is inside when its frame is.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize
from PySide6.QtWidgets import QWidget

__all__ = ["dock_rect", "fit_rect", "frame_margins", "inside"]

DEFAULT_FRAME = QMargins(0, 0, 0, 0)


def frame_margins(window: QWidget, known: QMargins = DEFAULT_FRAME) -> QMargins:
    """The frame's thickness on each side (``known`` until the window manager has said)."""
    frame, inner = window.frameGeometry(), window.geometry()
    margins = QMargins(
        inner.left() - frame.left(),
        inner.top() - frame.top(),
        frame.right() - inner.right(),
        frame.bottom() - inner.bottom(),
    )
    if any(v > 0 for v in (margins.left(), margins.top(), margins.right(), margins.bottom())):
        return margins
    return known


def inside(frame: QRect, area: QRect) -> bool:
    """True when ``frame`` lies wholly within ``area``."""
    return area.contains(frame)


def fit_rect(frame: QRect, area: QRect, minimum: QSize) -> QRect:
    """``frame`` moved (and if need be shrunk, never below ``minimum``) to lie within ``area``."""
    width = max(min(frame.width(), area.width()), min(minimum.width(), area.width()))
    height = max(min(frame.height(), area.height()), min(minimum.height(), area.height()))
    x = max(area.left(), min(frame.left(), area.right() - width + 1))
    y = max(area.top(), min(frame.top(), area.bottom() - height + 1))
    return QRect(x, y, width, height)


def dock_rect(area: QRect, side: str, width: int, height: int | None = None) -> QRect:
    """A frame ``width`` wide along the ``side`` (right | left) edge of ``area``: full height,
    or ``height`` tall at the top."""
    width = min(width, area.width())
    x = area.right() - width + 1 if side == "right" else area.left()
    return QRect(
        x, area.top(), width, area.height() if height is None else min(height, area.height())
    )
