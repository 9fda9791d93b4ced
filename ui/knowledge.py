"""The knowledge panel: live suggestions and search results as cards, the full article, and
"Add a resolution" (bubble-up; queued locally, so it works offline).

A pure view: it asks for searches, articles and feedback through signals; the
app answers on the GUI thread with :meth:`KnowledgePanel.show_results` and
:meth:`KnowledgePanel.show_article`. Each card's buttons (**Open**, **Used
it**, **Helpful**) sit right under its title, so they stay in view however
little room the panel gets. Used it and Helpful count once per article per call
and then stay pressed (:meth:`KnowledgePanel.new_call` starts counting again).
The article and the resolution form open in non-modal windows
(:mod:`ui.article`).
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from agent_assist.events import ArticleRef, Suggestion
from ui.article import ArticleWindow, Resolution, ResolutionForm, place_beside
from ui.sections import Caption
from ui.theme import Theme

__all__ = ["EMPTY_KNOWLEDGE", "KnowledgePanel", "Resolution", "snippet_html"]

_ACTIONS = (  # (label, action, label once recorded)
    ("Open", "opened", "Open"),
    ("Used it", "used", "✓ Used"),
    ("Helpful", "helpful", "✓ Helpful"),
)
EMPTY_KNOWLEDGE = (
    "The knowledge base is empty, so there is nothing to suggest yet. Your team's articles "
    "arrive on their own once the announcement server is set up (Settings, Server); your IT "
    "team can also load them onto this PC."
)


def snippet_html(snippet: str) -> str:
    """The cache's snippet (matches in **bold**) as safe HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(snippet))


class ArticleCard(QFrame):
    """One article: title, then Open / Used it / Helpful, then the snippet, who handles it and
    what the agent may do."""

    def __init__(self, ref: ArticleRef, panel: KnowledgePanel) -> None:
        super().__init__()
        self.ref = ref
        theme = panel.theme
        self.setObjectName("article")
        self.setStyleSheet(
            f"QFrame#article {{ background:{theme.panel}; border:1px solid {theme.border}; border-radius:6px; }}"
        )
        self.setAccessibleName(f"Article: {ref.title}")
        title = Caption(f"<b>{html.escape(ref.title)}</b>")
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.setSpacing(4)
        for label, action, _ in _ACTIONS:
            button = QPushButton(label)
            button.setAccessibleName(f"{label}: {ref.title}")
            button.setCheckable(action != "opened")
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            button.setMinimumWidth(10)
            button.clicked.connect(lambda _=False, a=action: panel._act(ref.id, a))
            self.buttons[action] = button
            row.addWidget(button)
        body = Caption(snippet_html(ref.snippet or ""))
        body.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(title)
        layout.addLayout(row)
        layout.addWidget(body)
        for text, tip in ((ref.department, "Handled by"), (ref.authority, "You may")):
            if text:
                badge = Caption(f"{tip}: {text}")
                badge.setToolTip(tip)
                badge.setAccessibleName(f"{tip}: {text}")
                badge.setStyleSheet(
                    f"background:{theme.accent}; color:{theme.window}; border-radius:4px; padding:1px 6px;"
                )
                layout.addWidget(badge)
        self.show_recorded(panel.recorded)

    def show_recorded(self, recorded: set[tuple[str, str]]) -> None:
        """Press the buttons whose action is already counted for this article on this call."""
        for label, action, done in _ACTIONS:
            button = self.buttons[action]
            pressed = (self.ref.id, action) in recorded
            if button.isCheckable():
                button.setChecked(pressed)
            button.setText(done if pressed and action != "opened" else label)
            button.setAccessibleDescription("recorded for this call" if pressed else "")


class KnowledgePanel(QWidget):
    """Live suggestions and the agent's own search.

    Its signals ask the app to search, open an article, record feedback or submit a resolution.
    """

    search_requested = Signal(str)
    open_requested = Signal(str)
    feedback = Signal(str, str)  # article id, action (opened/used/helpful): once per call each
    resolution_submitted = Signal(object)  # a Resolution

    def __init__(self, *, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.recorded: set[tuple[str, str]] = set()  # (article id, action) counted this call
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the knowledge base…")
        self.search.setAccessibleName("Knowledge search")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._search)
        self.heading = Caption("Suggestions appear while the customer explains")
        self.heading.setAccessibleName("Knowledge status")
        self.cards_box = QVBoxLayout()
        self.cards_box.setSpacing(4)
        self.cards_box.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.cards_box)
        self.articles_view = QScrollArea()
        self.articles_view.setWidgetResizable(True)
        self.articles_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.articles_view.setWidget(holder)
        self.articles_view.setAccessibleName("Suggested articles")
        self.articles_view.setFocusPolicy(
            Qt.FocusPolicy.NoFocus
        )  # its cards' buttons take the focus
        self.articles_view.setMinimumHeight(60)
        self.add = QPushButton("Add a resolution…")
        self.add.setAccessibleName("Add a resolution")
        self.add.clicked.connect(self.add_resolution)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.search)
        layout.addWidget(self.heading)
        layout.addWidget(self.articles_view, 1)
        layout.addWidget(self.add)
        self.cards: list[ArticleCard] = []
        self._searching = False
        self.article_window: ArticleWindow | None = None
        self.resolution_form: ResolutionForm | None = None

    def _search(self) -> None:
        self.search_requested.emit(self.search.text().strip())

    def set_theme(self, theme: Theme) -> None:
        """Redraw the cards in ``theme``'s colours."""
        self.theme = theme
        self._show(tuple(card.ref for card in self.cards))

    def set_empty(self, empty: bool) -> None:
        """Say that the knowledge base is empty, and how it gets filled."""
        if empty:
            self.heading.setText(EMPTY_KNOWLEDGE)
        elif self.heading.text() == EMPTY_KNOWLEDGE:
            self.heading.setText("Suggestions appear while the customer explains")

    def new_call(self) -> None:
        """A new call: Used it and Helpful count again."""
        self.recorded.clear()
        for card in self.cards:
            card.show_recorded(self.recorded)

    def show_suggestion(self, suggestion: Suggestion) -> None:
        """Show live suggestions, unless the agent's own search is on screen."""
        if self._searching and self.search.text().strip():
            return  # the agent's own search stays until they clear it
        self._searching = False
        self.heading.setText("Suggested for this call")
        self._show(suggestion.articles)

    def show_results(self, query: str, articles: list[ArticleRef]) -> None:
        """Show the results of the agent's search for ``query``."""
        self._searching = True
        self.heading.setText(
            f"Results for “{query}”" if articles else f"Nothing found for “{query}”"
        )
        self._show(tuple(articles))

    def _show(self, articles: tuple[ArticleRef, ...]) -> None:
        for card in self.cards:
            card.hide()
            card.deleteLater()
        self.cards = [ArticleCard(ref, self) for ref in articles]
        for index, card in enumerate(self.cards):
            self.cards_box.insertWidget(index, card)

    def _act(self, article_id: str, action: str) -> None:
        if action == "opened":
            self.open_requested.emit(article_id)
        if (article_id, action) not in self.recorded:
            self.recorded.add((article_id, action))
            self.feedback.emit(article_id, action)
        for card in self.cards:
            if card.ref.id == article_id:
                card.show_recorded(self.recorded)

    def show_article(
        self, title: str, body: str, department: str | None, authority: str | None
    ) -> None:
        """Open an article in its own non-modal window beside the agent's window."""
        if self.article_window is None:
            self.article_window = ArticleWindow()
        self.article_window.show_article(title, body, department, authority)
        if not self.article_window.isVisible():
            place_beside(self.article_window, self.window(), width=440, height=520)
        self.article_window.show()
        self.article_window.raise_()

    def add_resolution(self) -> None:
        """Open the resolution form (non-modal) beside the agent's window."""
        if self.resolution_form is None:
            self.resolution_form = ResolutionForm()
            self.resolution_form.submitted.connect(self.resolution_submitted)
        if not self.resolution_form.isVisible():
            self.resolution_form.start()
            place_beside(self.resolution_form, self.window(), width=440, height=420)
        self.resolution_form.show()
        self.resolution_form.raise_()
        self.resolution_form.activateWindow()

    def close_windows(self) -> None:
        """Close the article and resolution windows (the agent's window is closing)."""
        for window in (self.article_window, self.resolution_form):
            if window is not None:
                window.close()
