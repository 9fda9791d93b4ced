"""Themes: light, dark and high-contrast palettes, severity/priority colours, font scaling.

Colours are chosen for contrast (WCAG AA or better for text on its background)
and severity is never shown by colour alone: every card also carries a word
("CRITICAL", "URGENT") for colour-blind agents and screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["THEMES", "Theme", "apply_theme", "theme_named"]


@dataclass(frozen=True, slots=True)
class Theme:
    """One theme's colours: surfaces, text, accent, and (background, text) per severity or priority."""

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
    ),
    "dark": Theme(
        "dark", "#1e1f24", "#2a2b31", "#ececf1", "#9a9aa6", "#64b5f6", "#3a3b42",
        _DARK_SEVERITY, live=("#43a047", "#0b1a0c"), muted_line=("#78909c", "#0e1418"),
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
    ),
}  # fmt: skip


def theme_named(name: str, *, system_dark: bool = False) -> Theme:
    """The theme for a setting value (``system`` follows the desktop's light/dark choice)."""
    if name == "system":
        return THEMES["dark" if system_dark else "light"]
    return THEMES.get(name, THEMES["light"])


def apply_theme(app: QApplication, theme: Theme, *, font_scale: float = 1.0) -> None:
    """Set the application palette and base font size (``font_scale`` 0.75..2.0 of 10 pt)."""
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
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(10.0 * max(0.75, min(2.0, font_scale)))
    app.setFont(font)
    app.setProperty("agentAssistTheme", theme.name)
