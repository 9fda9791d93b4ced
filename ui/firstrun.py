"""The first run, in three steps: the headset, the speech model, the announcement server.

A window beside the agent's (never modal). Each step says in plain words what it needs
and why; nothing here names a command line. The app fills it (devices, the model
catalogue, installed models) and answers its signals (``test_device``, ``rescan``,
``install_model``, ``test_server``) through the ``show_*`` methods; **Finish** emits
``chosen`` with the settings to save (``audio.input``, ``models.path``, ``server.url``)
and the token (``"token"``, None when none was typed).

A step can be left for later only by saying so (a box to tick): finishing with nothing
chosen is not possible by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ui.desktop import pick_file

__all__ = ["Device", "FirstRun", "Model"]

_LANGUAGES = {
    "en-us": "English (US)", "en-in": "English (India)", "es": "Spanish", "fr": "French",
    "de": "German", "pt": "Portuguese", "hi": "Hindi", "ko": "Korean",
}  # fmt: skip


@dataclass(frozen=True)
class Device:
    """A microphone: ``id`` is what the settings store, ``name`` what the agent reads."""

    id: str
    name: str


@dataclass(frozen=True)
class Model:
    """A speech model: from the catalogue (``size_mb`` > 0) or installed, or both."""

    name: str
    lang: str
    size_mb: int
    note: str
    installed: bool

    def label(self) -> str:
        """What the agent reads: language, what it is for, its size, installed or not."""
        language = _LANGUAGES.get(self.lang, self.lang or "unknown language")
        size = f", about {self.size_mb} MB" if self.size_mb else ""
        state = " (installed)" if self.installed else ""
        return f"{language}: {self.note or self.name}{size}{state}"


def _later(text: str, page: QWizardPage) -> QCheckBox:
    box = QCheckBox(text)
    box.toggled.connect(page.completeChanged)
    return box


class _Headset(QWizardPage):
    def __init__(self, wizard: FirstRun) -> None:
        super().__init__()
        self.setTitle("Step 1 of 3: your headset")
        self.setSubTitle(
            "Pick the microphone you speak into on calls. Press Test and speak: the bar moves."
        )
        self.devices = QComboBox()
        self.devices.setAccessibleName("Microphone")
        self.devices.currentIndexChanged.connect(self.completeChanged)
        self.test = QPushButton("Test")
        self.test.clicked.connect(lambda: wizard.test_device.emit(self.device_id()))
        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setAccessibleName("Microphone level")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.again = QPushButton("Look again")
        self.again.clicked.connect(wizard.rescan)
        self.later = _later("Set up the microphone later (Agent Assist will not listen)", self)
        row = QHBoxLayout()
        row.addWidget(self.devices, 1)
        row.addWidget(self.test)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.level)
        layout.addWidget(self.problem)
        layout.addWidget(self.again, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        layout.addWidget(self.later)

    def device_id(self) -> str:
        return str(self.devices.currentData() or "")

    def show_devices(self, devices: list[Device], reason: str) -> None:
        self.devices.clear()
        for device in devices:
            self.devices.addItem(device.name, device.id)
        found = bool(devices)
        self.devices.setEnabled(found)
        self.test.setEnabled(found)
        self.problem.setText(
            ""
            if found
            else f"No microphone found: {reason} Plug in your headset, then press Look again."
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        """A microphone chosen, or "later" ticked."""
        return self.devices.count() > 0 or self.later.isChecked()


class _SpeechModel(QWizardPage):
    def __init__(self, wizard: FirstRun) -> None:
        super().__init__()
        self.setTitle("Step 2 of 3: the speech model")
        self.setSubTitle(
            "Speech is recognised on this PC: your calls' audio never leaves it. Pick your "
            "language; the small models suit most PCs."
        )
        self.models = QListWidget()
        self.models.setAccessibleName("Speech models")
        self.models.currentItemChanged.connect(lambda *_: self._selected())
        self.install = QPushButton("Install")
        self.install.clicked.connect(lambda: wizard.install_model.emit(self.model_name()))
        self.from_file = QPushButton("From a file…")
        self.from_file.setToolTip("A model your IT team gave you: a .zip or a signed bundle")
        self.from_file.clicked.connect(lambda: self._pick_file(wizard))
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Installing")
        self.progress.hide()
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.later = _later("Install a model later (Agent Assist will not listen)", self)
        row = QHBoxLayout()
        row.addWidget(self.install)
        row.addWidget(self.from_file)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.models, 1)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.problem)
        layout.addWidget(self.later)
        self._by_name: dict[str, Model] = {}

    def show_models(self, models: list[Model]) -> None:
        chosen = self.model_name()
        self.models.clear()
        self._by_name = {m.name: m for m in models}
        for model in models:
            item = QListWidgetItem(model.label())
            item.setData(Qt.ItemDataRole.UserRole, model.name)
            item.setToolTip(model.name)
            self.models.addItem(item)
            if model.name == chosen or (not chosen and model.installed):
                self.models.setCurrentItem(item)
        self._selected()

    def model_name(self) -> str:
        item = self.models.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    def _selected(self) -> None:
        model = self._by_name.get(self.model_name())
        self.install.setEnabled(model is not None and not model.installed)
        self.completeChanged.emit()

    def _pick_file(self, wizard: FirstRun) -> None:
        self.picker = pick_file(
            self,
            "A speech model",
            "Models (*.zip *.aabundle);;All files (*)",
            wizard.install_model.emit,
        )

    def isComplete(self) -> bool:
        """An installed model chosen, or "later" ticked."""
        model = self._by_name.get(self.model_name())
        return (model is not None and model.installed) or self.later.isChecked()


class _Server(QWizardPage):
    def __init__(self, wizard: FirstRun, *, url: str, token_set: bool) -> None:
        super().__init__()
        self.setTitle("Step 3 of 3: your team's announcement server")
        self.setSubTitle(
            "Your supervisor gives you its address and a token. No server? Leave both empty: "
            "everything else works."
        )
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("wss://announcements.example.com")
        self.url.setAccessibleName("Server address")
        self.url.textChanged.connect(self.completeChanged)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("(saved)" if token_set else "the token from your supervisor")
        self.token.setAccessibleName("Server token")
        self.test = QPushButton("Test connection")
        self.test.clicked.connect(
            lambda: wizard.test_server.emit(self.url.text().strip(), self.token.text().strip())
        )
        self.result = QLabel()
        self.result.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Address", self.url)
        form.addRow("Token", self.token)
        form.addRow("", self.test)
        form.addRow("", self.result)

    def isComplete(self) -> bool:
        """Empty (no server), or an address the app can use."""
        url = self.url.text().strip()
        return not url or url.startswith(("ws://", "wss://"))


class FirstRun(QWizard):
    """The first run (see the module docstring)."""

    test_device = Signal(str)
    rescan = Signal()
    install_model = Signal(str)  # a catalogue name or a file
    test_server = Signal(str, str)  # url, token
    chosen = Signal(object)  # dict: settings to save, and "token"

    def __init__(
        self, *, server_url: str = "", token_set: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Welcome to Agent Assist")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.headset = _Headset(self)
        self.speech = _SpeechModel(self)
        self.server = _Server(self, url=server_url, token_set=token_set)
        for page in (self.headset, self.speech, self.server):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start")

    # -- what the app answers ---------------------------------------------------------------

    def show_devices(self, devices: list[Device], reason: str = "") -> None:
        """The microphones found (none: ``reason`` says why, in plain words)."""
        self.headset.show_devices(devices, reason)

    def show_test_level(self, dbfs: float) -> None:
        """The microphone test's level (dBFS; -60 and below is empty)."""
        self.headset.level.setValue(int(max(0.0, min(1.0, (dbfs + 60.0) / 60.0)) * 100))

    def show_models(self, models: list[Model]) -> None:
        """The catalogue and what is installed."""
        self.speech.show_models(models)

    def show_install_progress(self, done: int, total: int) -> None:
        """Bytes done of ``total`` (0: unknown)."""
        bar = self.speech.progress
        bar.show()
        bar.setRange(0, 1000 if total else 0)
        if total:
            bar.setValue(int(done * 1000 / total))
        self.speech.problem.setText("")

    def model_installed(self, models: list[Model], name: str) -> None:
        """An install finished: ``models`` as they are now, ``name`` chosen."""
        self.speech.progress.hide()
        self.speech.show_models(models)
        for row in range(self.speech.models.count()):
            item = self.speech.models.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                self.speech.models.setCurrentItem(item)

    def install_failed(self, message: str) -> None:
        """Why an install did not happen."""
        self.speech.progress.hide()
        self.speech.problem.setText(message)

    def show_server_result(self, text: str) -> None:
        """The connection test's answer, in words."""
        self.server.result.setText(text)

    # -- the answer -----------------------------------------------------------------------

    def choices(self) -> dict[str, str | None]:
        """The settings to save (None: left for later) and the token (None: none typed)."""
        model = self.speech.model_name()
        installed = model in self.speech._by_name and self.speech._by_name[model].installed
        return {  # None: left for later (nothing saved)
            "audio.input": None if self.headset.later.isChecked() else self.headset.device_id(),
            "models.path": model if installed and not self.speech.later.isChecked() else None,
            "server.url": self.server.url.text().strip(),
            "token": self.server.token.text().strip() or None,
        }

    def accept(self) -> None:
        """Start: hand the choices to the app, then close."""
        self.chosen.emit(self.choices())
        super().accept()
