"""The knowledge panel: live suggestions and search results as cards, the full article, and
"Add a resolution" (bubble-up; queued locally, so it works offline).

A pure view: it asks for searches, articles and feedback through signals; the
app answers on the GUI thread with :meth:`show_results` and :meth:`show_article`.
"""

from __future__ import annotations

import html
import re
from typing import TypedDict

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from agent_assist.events import ArticleRef, Suggestion
from agent_assist.marquee.protocol import ProtocolError, Submit, validate
from ui.theme import Theme

__all__ = ["KnowledgePanel", "Resolution", "ResolutionDialog", "snippet_html"]


class Resolution(TypedDict):
    """A resolution the agent wrote in the panel (``resolution_submitted`` carries one)."""

    title: str
    steps: str
    triggers: list[str]


def snippet_html(snippet: str) -> str:
    """The cache's snippet (matches in **bold**) as safe HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(snippet))


class ArticleCard(QFrame):
    """One article: title, snippet, who handles it, what the agent may do; Open, Used it, Helpful."""

    def __init__(self, ref: ArticleRef, panel: KnowledgePanel) -> None:
        super().__init__()
        self.ref = ref
        theme = panel.theme
        self.setObjectName("article")
        self.setStyleSheet(
            f"QFrame#article {{ background:{theme.panel}; border:1px solid {theme.border}; border-radius:6px; }}"
        )
        self.setAccessibleName(f"Article: {ref.title}")
        title = QLabel(f"<b>{html.escape(ref.title)}</b>")
        title.setWordWrap(True)
        body = QLabel(snippet_html(ref.snippet or ""))
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.RichText)
        badges = QVBoxLayout()  # stacked: authority texts are long
        for text, tip in ((ref.department, "Handled by"), (ref.authority, "You may")):
            if text:
                badge = QLabel(text)
                badge.setWordWrap(True)
                badge.setToolTip(tip)
                badge.setAccessibleName(f"{tip}: {text}")
                badge.setStyleSheet(
                    f"background:{theme.accent}; color:{theme.window}; border-radius:4px; padding:1px 6px;"
                )
                badges.addWidget(badge)
        buttons = QHBoxLayout()
        for label, action in (("Open", "opened"), ("Used it", "used"), ("Helpful", "helpful")):
            button = QPushButton(label)
            button.setAccessibleName(f"{label}: {ref.title}")
            button.clicked.connect(lambda _=False, a=action: panel._act(ref.id, a))
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(title)
        layout.addWidget(body)
        layout.addLayout(badges)
        layout.addLayout(buttons)


class KnowledgePanel(QWidget):
    """Live suggestions and the agent's own search.

    Its signals ask the app to search, open an article, record feedback or submit a resolution.
    """

    search_requested = Signal(str)
    open_requested = Signal(str)
    feedback = Signal(str, str)  # article id, action (opened/used/helpful)
    resolution_submitted = Signal(object)  # a Resolution

    def __init__(self, *, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the knowledge base…")
        self.search.setAccessibleName("Knowledge search")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._search)
        self.heading = QLabel("Suggestions appear while the customer explains")
        self.heading.setWordWrap(True)
        self.cards_box = QVBoxLayout()
        self.cards_box.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.cards_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        scroll.setAccessibleName("Suggested articles")
        add = QPushButton("Add a resolution…")
        add.setAccessibleName("Add a resolution")
        add.clicked.connect(self._add_resolution)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.heading)
        layout.addWidget(scroll, 1)
        layout.addWidget(add)
        self.cards: list[ArticleCard] = []
        self._searching = False

    def _search(self) -> None:
        self.search_requested.emit(self.search.text().strip())

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
        self.feedback.emit(article_id, action)
        if action == "opened":
            self.open_requested.emit(article_id)

    def show_article(
        self, title: str, body: str, department: str | None, authority: str | None
    ) -> None:
        """Open an article in a dialog: its steps, who handles it, what the agent may do."""
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        view = QTextBrowser()
        view.setAccessibleName("Article")
        extra = "".join(
            f"<p><b>{label}:</b> {html.escape(value)}</p>"
            for label, value in (("Handled by", department), ("You may", authority))
            if value
        )
        view.setHtml(
            f"<h3>{html.escape(title)}</h3>{extra}<p>{html.escape(body).replace(chr(10), '<br>')}</p>"
        )
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(view)
        layout.addWidget(close)
        dialog.resize(420, 480)
        dialog.open()

    def _add_resolution(self) -> None:
        dialog = ResolutionDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.resolution_submitted.emit(dialog.value())
            QMessageBox.information(
                self,
                "Thank you",
                "Queued for your supervisor's review. It is sent when the server is reachable.",
            )


class ResolutionDialog(QDialog):
    """Title, steps and how customers put it; personal data is scrubbed before it is stored."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a resolution")
        self.title = QLineEdit()
        self.title.setAccessibleName("Resolution title")
        self.title.setMaxLength(200)
        self.steps = QPlainTextEdit()
        self.steps.setAccessibleName("Resolution steps")
        self.triggers = QLineEdit()
        self.triggers.setAccessibleName("How customers put it")
        self.triggers.setPlaceholderText("e.g. my card never came | card not delivered")
        self.note = QLabel(
            "Card numbers, phone numbers and e-mail addresses are removed before saving."
        )
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Title", self.title)
        form.addRow("What resolved it", self.steps)
        form.addRow("Customer phrasings", self.triggers)
        form.addRow(self.note)
        form.addRow(self.buttons)

    def value(self) -> Resolution:
        """What the agent wrote: title, steps and customer phrasings (trimmed)."""
        return {
            "title": self.title.text().strip(),
            "steps": self.steps.toPlainText().strip(),
            "triggers": [t.strip() for t in self.triggers.text().split("|") if t.strip()],
        }

    def _accept(self) -> None:
        if not self.title.text().strip() or not self.steps.toPlainText().strip():
            self.note.setText("A resolution needs a title and what resolved it.")
            return
        value = self.value()
        try:  # what the server would refuse is refused now, while the agent can still fix it
            validate(
                Submit(
                    ref="check",
                    title=value["title"],
                    body=value["steps"],
                    triggers=tuple(value["triggers"]),
                )
            )
        except ProtocolError as exc:
            self.note.setText(f"Please change this: {exc}")
            return
        self.accept()
