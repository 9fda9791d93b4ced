"""Themes: light, dark and high-contrast palettes, severity/priority colours, font scaling.

Colours are chosen for contrast (WCAG AA or better for text on its background)
and severity is never shown by colour alone: every card also carries a word
("CRITICAL", "URGENT") for colour-blind agents and screen readers.

Controls are drawn by Qt's Fusion style (the same on every desktop, and it
follows our palette) plus one application style sheet (:func:`app_stylesheet`):
a focus ring at least 2 px thicker than the resting border, in a colour with at
least 3:1 contrast against what it covers (WCAG 2.2 focus appearance), and
checkbox and meter outlines that stay visible on the dark themes. A button that
sits on a coloured bar (Acknowledge, Mute me now) is drawn inverted, with a
black or white ring (:func:`on_bar_button`). :func:`apply_theme` may be called
again at any time: the settings apply live.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

__all__ = [
    "THEMES",
    "Theme",
    "app_stylesheet",
    "apply_theme",
    "contrast",
    "on_bar_button",
    "ring_for",
    "theme_named",
]


@dataclass(frozen=True, slots=True)
class Theme:
    """One theme's colours: surfaces, text, accent, and (background, text) per severity or priority.

    ``control`` outlines checkboxes, buttons and meter tracks (3:1 or more against
    ``window``); ``focus`` is the keyboard focus ring; ``track`` fills an empty meter.
    """

    name: str
    window: str
    panel: str
    text: str
    muted: str  # partial transcript, secondary text
    accent: str
    border: str
    severity: dict[str, tuple[str, str]]  # kind -> (background, text)
    live: tuple[str, str]  # the line is live: (background, text)
    muted_line: tuple[str, str]  # the agent is muted
    control: str = "#767680"
    focus: str = "#0b3d91"
    track: str = "#e4e4ea"

    def colours(self, level: str) -> tuple[str, str]:
        """(background, text) for a severity or priority; info's for an unknown one."""
        return self.severity.get(level, self.severity["info"])


_LIGHT_SEVERITY = {
    "critical": ("#b00020", "#ffffff"),
    "urgent": ("#b00020", "#ffffff"),
    "warning": ("#ffd54f", "#1a1a1a"),
    "info": ("#e3f2fd", "#0d2b45"),
    "praise": ("#c8e6c9", "#0f3d12"),
}
_DARK_SEVERITY = {
    "critical": ("#ff5252", "#1a0000"),
    "urgent": ("#ff5252", "#1a0000"),
    "warning": ("#ffca28", "#1a1400"),
    "info": ("#1e3a5f", "#e3f2fd"),
    "praise": ("#2e7d32", "#ffffff"),
}

THEMES = {
    "light": Theme(
        "light", "#f7f7f9", "#ffffff", "#1a1a1a", "#6b6b76", "#1565c0", "#d0d0d8",
        _LIGHT_SEVERITY, live=("#2e7d32", "#ffffff"), muted_line=("#455a64", "#ffffff"),
        control="#767680", focus="#0b3d91", track="#e4e4ea",
    ),
    "dark": Theme(
        "dark", "#1e1f24", "#2a2b31", "#ececf1", "#9a9aa6", "#64b5f6", "#3a3b42",
        _DARK_SEVERITY, live=("#43a047", "#0b1a0c"), muted_line=("#78909c", "#0e1418"),
        control="#8a8b96", focus="#ffca28", track="#3a3b42",
    ),
    "high-contrast": Theme(
        "high-contrast", "#000000", "#000000", "#ffffff", "#ffff00", "#00ffff", "#ffffff",
        {
            "critical": ("#ff0000", "#ffffff"),
            "urgent": ("#ff0000", "#ffffff"),
            "warning": ("#ffff00", "#000000"),
            "info": ("#000000", "#ffffff"),
            "praise": ("#00ff00", "#000000"),
        },
        live=("#00ff00", "#000000"), muted_line=("#ffffff", "#000000"),
        control="#ffffff", focus="#ffff00", track="#000000",
    ),
}  # fmt: skip


def theme_named(name: str, *, system_dark: bool = False) -> Theme:
    """The theme for a setting value (``system`` follows the desktop's light/dark choice)."""
    if name == "system":
        return THEMES["dark" if system_dark else "light"]
    return THEMES.get(name, THEMES["light"])


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ring_for(background: str) -> str:
    """Black or white, whichever stands out more on ``background``: a focus ring's colour."""
    return (
        "#000000"
        if contrast("#000000", background) >= contrast("#ffffff", background)
        else "#ffffff"
    )


FOCUS_WIDTH = 3  # px; resting borders are 1 px, so the ring adds 2 px of contrast around them


def on_bar_button(bar: tuple[str, str], selector: str = "QPushButton") -> str:
    """Style sheet for a button on a coloured bar ``(background, text)``: drawn inverted (the
    bar's text colour as its face), with a black or white focus ring."""
    background, text = bar
    ring = ring_for(text)
    return (
        f"{selector} {{ background:{text}; color:{background}; border:1px solid {background};"
        f" border-radius:4px; padding:4px 10px; font-weight:bold; }}"
        f" {selector}:hover {{ border:1px solid {ring}; }}"
        f" {selector}:focus {{ border:{FOCUS_WIDTH}px solid {ring}; padding:2px 8px; }}"
        f" {selector}:disabled {{ color:{background}; background:{text}; }}"
    )


class _ThemedStyle(QProxyStyle):
    """Fusion, with check boxes drawn in the theme's colours: an outline that shows on every
    background (Fusion's is the window colour, darker: invisible on a dark theme) and a
    check mark in the ring colour. Drawn, not an image: nothing is written to disk."""

    def __init__(self, theme: Theme) -> None:
        super().__init__("Fusion")
        self.theme = theme

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        """Check boxes in the theme's colours; everything else as Fusion draws it."""
        if element != QStyle.PrimitiveElement.PE_IndicatorCheckBox:
            super().drawPrimitive(element, option, painter, widget)
            return
        t = self.theme
        on = bool(option.state & QStyle.StateFlag.State_On)
        box = QRectF(option.rect).adjusted(1.5, 1.5, -1.5, -1.5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(t.accent if on else t.control), 2.0)
        if not option.state & QStyle.StateFlag.State_Enabled:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(t.accent if on else t.panel))
        painter.drawRoundedRect(box, 3, 3)
        if on:
            painter.setPen(QPen(QColor(ring_for(t.accent)), 2.0))
            w, h, x, y = box.width(), box.height(), box.left(), box.top()
            painter.drawPolyline(
                [QPointF(x + w * 0.2, y + h * 0.52), QPointF(x + w * 0.42, y + h * 0.74),
                 QPointF(x + w * 0.8, y + h * 0.26)]
            )  # fmt: skip
        painter.restore()


def app_stylesheet(theme: Theme) -> str:
    """The application style sheet: buttons with a visible focus ring, outlined checkboxes
    and meter tracks (see the module docstring)."""
    t = theme
    ring = f"{FOCUS_WIDTH}px solid {t.focus}"
    return f"""
QPushButton, QToolButton {{ background:{t.panel}; color:{t.text}; border:1px solid {t.control};
    border-radius:4px; padding:3px 8px; }}
QPushButton:hover, QToolButton:hover {{ border-color:{t.accent}; }}
QPushButton:checked, QToolButton:checked {{ background:{t.accent}; color:{ring_for(t.accent)}; }}
QPushButton:disabled, QToolButton:disabled {{ color:{t.muted}; border-style:dashed; }}
QPushButton:focus, QToolButton:focus {{ border:{ring}; padding:1px 6px; }}
QToolButton::menu-indicator {{ subcontrol-position: right center; }}
QLineEdit {{ border:1px solid {t.control}; border-radius:3px; padding:2px 3px; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextBrowser:focus, QListWidget:focus,
QComboBox:focus, QScrollArea:focus {{ border:{ring}; }}
QCheckBox:focus {{ border:{ring}; border-radius:3px; }}
QProgressBar {{ border:1px solid {t.control}; border-radius:3px; background:{t.track}; }}
QProgressBar::chunk {{ background:{t.accent}; border-radius:2px; }}
"""


def apply_theme(app: QApplication, theme: Theme, *, font_scale: float = 1.0) -> None:
    """Set the style, palette, style sheet and base font size (``font_scale`` 0.75..2.0 of
    10 pt); call it again to change them while the app runs."""
    app.setStyle(_ThemedStyle(theme))  # Fusion follows the palette on every desktop
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.Base: theme.panel,
        QPalette.ColorRole.AlternateBase: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.panel,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: theme.window,
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.ToolTipBase: theme.panel,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Link: theme.accent,
        QPalette.ColorRole.Mid: theme.control,
        QPalette.ColorRole.Dark: theme.control,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(theme.muted))
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(theme.muted)
    )
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(theme.muted)
    )
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(10.0 * max(0.75, min(2.0, font_scale)))
    app.setFont(font)
    app.setStyleSheet(app_stylesheet(theme))
    app.setProperty("agentAssistTheme", theme.name)
    app.setProperty("agentAssistFontScale", font_scale)
