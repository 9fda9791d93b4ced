"""Settings: devices, model, server, privacy, appearance; keys locked by IT are shown locked.

Built from :data:`agent_assist.config.SCHEMA`, so a value the dialog offers is a
value the settings layer accepts. The dialog only collects changes
(:meth:`SettingsDialog.changes`); the app saves them (and the token, which goes
to the OS keyring, not the settings file). First run shows a short welcome and
the three things an agent must choose: microphone, speech model, server.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent_assist.config import SCHEMA, Settings, Value

__all__ = ["FIELDS", "SettingsDialog"]

FIELDS: tuple[tuple[str, str], ...] = (
    ("audio.input", "Microphone (your headset)"),
    ("audio.far_end", "Customer audio (optional)"),
    ("models.path", "Speech model"),
    ("server.url", "Announcement server"),
    ("privacy.flag_feed", "Share flag summaries with my supervisor"),
    ("privacy.store_transcripts", "Keep transcripts after the call"),
    ("knowledge.sync", "Keep the knowledge base in sync"),
    ("ui.theme", "Theme"),
    ("ui.font_scale", "Text size"),
    ("ui.always_on_top", "Keep this window on top"),
)
_LOCK_TIP = "Set by your IT team (site policy); it cannot be changed here."


_TEXT_SIZES = (0.75, 0.9, 1.0, 1.15, 1.25, 1.5, 1.75, 2.0)


class SettingsDialog(QDialog):
    """Edits the user's settings; keys the site policy locks are shown, disabled."""

    test_device = Signal(str)  # the app plays back levels through show_test_level
    install_model = Signal(str)  # catalog name, URL, zip or folder: the app reports progress back

    def __init__(
        self,
        settings: Settings,
        *,
        devices: list[str] = (),  # type: ignore[assignment]
        models: list[str] = (),  # type: ignore[assignment]
        first_run: bool = False,
        token_set: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Agent Assist" if first_run else "Settings")
        self.settings = settings
        self.editors: dict[str, QWidget] = {}
        self._fixed: set[str] = set()  # fix_value: shown, not saved
        layout = QVBoxLayout(self)
        if first_run:
            welcome = QLabel(
                "<b>Three quick choices and you are ready.</b><br>Pick your headset microphone, a speech "
                "model (everything is recognised on this PC: audio never leaves it) and, if your team uses "
                "one, the announcement server."
            )
            welcome.setWordWrap(True)
            layout.addWidget(welcome)
        form = QFormLayout()
        options = {
            "audio.input": list(devices),
            "audio.far_end": ["", *devices],
            "models.path": list(models),
        }
        for key, label in FIELDS:
            editor = self._editor(key, options.get(key))
            locked = settings.locked(key)
            editor.setEnabled(not locked)
            editor.setAccessibleName(label + (" (locked by IT)" if locked else ""))
            if locked:
                editor.setToolTip(_LOCK_TIP)
            self.editors[key] = editor
            row: QWidget = editor
            if key == "audio.input":
                row = self._with_test(editor)
            elif key == "models.path" and not locked:
                row = self._with_install(editor)
            form.addRow(_locked_label(label) if locked else QLabel(label), row)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(
            "(saved)" if token_set else "paste the token from your supervisor"
        )
        self.token.setAccessibleName("Server token")
        form.addRow("Server token", self.token)
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _editor(self, key: str, choices: list[str] | None) -> QWidget:
        spec, value = SCHEMA[key], self.settings.get(key)
        if spec.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if key == "ui.font_scale":  # in words, not a raw factor
            sizes = QComboBox()
            for scale in _TEXT_SIZES:
                sizes.addItem(f"{round(scale * 100)} %", scale)
            nearest = min(_TEXT_SIZES, key=lambda scale: abs(scale - float(value)))
            sizes.setCurrentIndex(_TEXT_SIZES.index(nearest))
            return sizes
        if spec.kind in ("float", "int"):
            spin = QDoubleSpinBox()
            spin.setRange(
                spec.low if spec.low is not None else 0.0,
                spec.high if spec.high is not None else 1e6,
            )
            spin.setSingleStep(0.05 if spec.kind == "float" else 1)
            spin.setValue(float(value))
            return spin
        if spec.choices or choices is not None:
            combo = QComboBox()
            combo.setEditable(not spec.choices)
            combo.addItems(list(spec.choices) or [c for c in choices or [] if c != str(value)])
            if str(value) and combo.findText(str(value)) < 0:
                combo.insertItem(0, str(value))
            combo.setCurrentText(str(value))
            return combo
        line = QLineEdit(str(value))
        return line

    def _with_test(self, editor: QWidget) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        test = QPushButton("Test")
        test.setAccessibleName("Test the microphone level")
        self.test_meter = QProgressBar()
        self.test_meter.setRange(0, 100)
        self.test_meter.setTextVisible(False)
        self.test_meter.setMaximumWidth(80)
        self.test_meter.setAccessibleName("Microphone test level")
        test.clicked.connect(self._test)
        row.addWidget(test)
        row.addWidget(self.test_meter)
        return box

    def _with_install(self, editor: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(editor, 1)
        install = QPushButton("Install")
        install.setToolTip(
            "Download the model named here (or from this URL), through the site's mirror"
        )
        install.setAccessibleName("Install the model named here")
        install.clicked.connect(lambda: self._install(str(self.value("models.path"))))
        browse = QPushButton("From file…")
        browse.setAccessibleName("Install a model from a zip file or an offline bundle")
        browse.clicked.connect(self._browse_model)
        row.addWidget(install)
        row.addWidget(browse)
        self.install_progress = QProgressBar()
        self.install_progress.setAccessibleName("Model install progress")
        self.install_progress.hide()
        column.addLayout(row)
        column.addWidget(self.install_progress)
        return box

    def _browse_model(self) -> None:
        from ui.desktop import pick_file

        self.picker = pick_file(
            self,
            "Install a speech model",
            "Model zip or signed bundle (*.zip);;All files (*)",
            self._install,
        )

    def _install(self, source: str) -> None:
        if not source.strip():
            self.show_problem(
                "Type a model name (see `agent-assist models list`) or choose a file."
            )
            return
        self.install_progress.setRange(0, 0)  # busy until the size is known
        self.install_progress.show()
        self.show_problem(f"Installing {source} …")
        self.install_model.emit(source.strip())

    def show_install_progress(self, done: int, total: int) -> None:
        """Show a model install's progress: ``done`` of ``total`` bytes (0: unknown)."""
        if total > 0:
            self.install_progress.setRange(0, 1000)
            self.install_progress.setValue(int(done * 1000 / total))

    def model_installed(self, name: str) -> None:
        """The app finished installing ``name``: select it."""
        self.install_progress.hide()
        combo = self.editors["models.path"]
        if isinstance(combo, QComboBox):
            if combo.findText(name) < 0:
                combo.addItem(name)
            combo.setCurrentText(name)
        self.show_problem(f"Installed {name}.")

    def install_failed(self, message: str) -> None:
        """The install failed: hide the progress, say why."""
        self.install_progress.hide()
        self.show_problem(message)

    def _test(self) -> None:
        self.test_device.emit(self.value("audio.input"))

    def show_test_level(self, dbfs: float) -> None:
        """Show the device test's level (dBFS; -60 and below is empty)."""
        self.test_meter.setValue(int(max(0.0, min(1.0, (dbfs + 60.0) / 60.0)) * 100))

    def value(self, key: str) -> Value:
        """The value in the editor for ``key``, typed as the setting."""
        editor = self.editors[key]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QDoubleSpinBox):
            return round(editor.value(), 2)
        if isinstance(editor, QComboBox):
            data = editor.currentData()
            return data if isinstance(data, float) else editor.currentText().strip()
        assert isinstance(editor, QLineEdit)
        return editor.text().strip()

    def fix_value(self, key: str, value: Value, why: str) -> None:
        """Show ``key`` as ``value``, not editable (what the app does whatever is saved)."""
        editor = self.editors[key]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        editor.setEnabled(False)
        editor.setToolTip(why)
        self._fixed.add(key)

    def changes(self) -> dict[str, Value]:
        """Edited, unlocked keys whose value differs from the current settings."""
        return {
            key: self.value(key)
            for key, _ in FIELDS
            if not self.settings.locked(key)
            and key not in self._fixed
            and self.value(key) != self.settings.get(key)
        }

    def new_token(self) -> str | None:
        """The token typed in, or None when the field is empty."""
        return self.token.text().strip() or None

    def show_problem(self, text: str) -> None:
        """Say why something cannot be done."""
        self.message.setText(text)


def _locked_label(text: str) -> QWidget:
    """The label of a key IT locked: a drawn lock (an emoji needs a font that may be
    missing) before the text."""
    from PySide6.QtWidgets import QHBoxLayout

    from ui.icons import lock_pixmap

    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    lock = QLabel()
    lock.setPixmap(lock_pixmap(box.palette().windowText().color().name()))
    lock.setAccessibleName("locked by IT")
    row.addWidget(lock)
    row.addWidget(QLabel(text), 1)
    box.setToolTip(_LOCK_TIP)
    return box
