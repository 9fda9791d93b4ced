"""Icons drawn with QPainter: they need no emoji font and no image files.

``lock_pixmap`` marks settings IT locked (an emoji 🔒 shows as an empty box
on desktops without an emoji font); ``app_icon`` is the window and tray icon,
with the number of unread announcements as a badge.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

__all__ = ["app_icon", "lock_pixmap"]


def lock_pixmap(colour: str, size: int = 16) -> QPixmap:
    """A padlock, ``size`` px square, in ``colour``."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 16
    painter.setPen(QPen(QColor(colour), 1.8 * s))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    shackle = QPainterPath()
    shackle.moveTo(4.5 * s, 8 * s)
    shackle.lineTo(4.5 * s, 5.5 * s)
    shackle.arcTo(QRectF(4.5 * s, 1.5 * s, 7 * s, 7 * s), 180, -180)
    shackle.lineTo(11.5 * s, 8 * s)
    painter.drawPath(shackle)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor(colour)))
    painter.drawRoundedRect(QRectF(2.5 * s, 7.5 * s, 11 * s, 7.5 * s), 1.5 * s, 1.5 * s)
    painter.end()
    return pixmap


def app_icon(unread: int = 0, *, size: int = 64) -> QIcon:
    """Agent Assist's icon (a speech bubble with a headset's mic dot); with ``unread`` > 0, a
    red badge with the count (9+ above nine)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor("#1565c0")))
    bubble = QPainterPath()
    bubble.addRoundedRect(QRectF(4 * s, 8 * s, 52 * s, 38 * s), 10 * s, 10 * s)
    tail = QPainterPath()
    tail.moveTo(16 * s, 44 * s)
    tail.lineTo(12 * s, 58 * s)
    tail.lineTo(28 * s, 44 * s)
    painter.drawPath(bubble.united(tail))
    painter.setBrush(QBrush(QColor("#ffffff")))
    for x in (18, 30, 42):
        painter.drawEllipse(QRectF((x - 4) * s, 23 * s, 8 * s, 8 * s))
    if unread > 0:
        painter.setBrush(QBrush(QColor("#b00020")))
        painter.setPen(QPen(QColor("#ffffff"), 3 * s))
        painter.drawEllipse(QRectF(34 * s, 30 * s, 30 * s, 30 * s))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(18 * s))
        painter.setFont(font)
        painter.drawText(
            QRectF(34 * s, 30 * s, 30 * s, 30 * s),
            int(Qt.AlignmentFlag.AlignCenter),
            str(unread) if unread < 10 else "9+",
        )
    painter.end()
    return QIcon(pixmap)
