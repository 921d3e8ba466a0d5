"""Dialogs: auto-cull, export, settings."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .settings import BACKENDS, DEVICES, ORGANIZE_CHOICES, SIDECAR_NAMINGS, Settings

__all__ = ["AutoCullDialog", "BestOfBurstDialog", "ExportDialog", "SettingsDialog"]


def _path_row(field: QLineEdit, browse) -> QWidget:
    """A path field with a "…" button that calls ``browse``."""
    button = QPushButton("…")
    button.clicked.connect(browse)
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(field, 1)
    lay.addWidget(button)
    return row


def _lay_out(dialog: QDialog, form: QFormLayout, note: str) -> None:
    """The dialogs' common body: the form, a wrapped explanatory note, OK / Cancel."""
    label = QLabel(note)
    label.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    lay = QVBoxLayout(dialog)
    lay.addLayout(form)
    lay.addWidget(label)
    lay.addWidget(buttons)


class _CullDialog(QDialog):
    """The options every auto-cull shares (overwrite, stars) and a live preview of what OK will
    do: ``preview(**params()) -> Proposal`` (:class:`~photocull.app.core.session.Proposal`),
    the session's dry run of the very code that applies it."""

    def __init__(self, title: str, preview, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self._preview = preview
        self.overwrite = QCheckBox("Also change the flags and stars you set (here or in another tool)")
        self.stars = QCheckBox("Also set stars from the score (1-5★)")
        self.preview_label = QLabel()
        self.preview_label.setObjectName("preview")
        self.preview_label.setStyleSheet("font-weight: bold;")

    def _finish(self, form: QFormLayout, note: str, *widgets) -> None:
        form.addRow(self.overwrite)
        form.addRow(self.stars)
        form.addRow(self.preview_label)
        for w in (self.overwrite, self.stars, *widgets):
            signal = w.toggled if isinstance(w, QCheckBox | QRadioButton) else w.valueChanged
            signal.connect(self.update_preview)
        _lay_out(self, form, note)
        self.update_preview()

    def params(self) -> dict:
        return {"overwrite": self.overwrite.isChecked(), "stars": self.stars.isChecked()}

    def update_preview(self, *_args) -> None:
        p = self._preview(**self.params())
        self.preview_label.setText(p.summary().capitalize()
                                   + (f" ({p.changed} change)" if p.changed == 1 else f" ({p.changed} changes)"))


class AutoCullDialog(_CullDialog):
    """Pick the best N % (or score >= threshold) and reject the rest — one undoable step."""

    def __init__(self, scored: int, preview, parent=None):
        super().__init__("Auto-cull", preview, parent)
        self.top = QRadioButton("Keep the best")
        self.thr = QRadioButton("Keep photos scoring at least")
        self.top.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.top)
        group.addButton(self.thr)
        self.percent = QDoubleSpinBox()
        self.percent.setRange(0, 100)
        self.percent.setValue(30)
        self.percent.setSuffix(" %")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0, 100)
        self.threshold.setValue(50)
        self.threshold.setDecimals(1)
        form = QFormLayout()
        form.addRow(self.top, self.percent)
        form.addRow(self.thr, self.threshold)
        self._finish(form, f"Applies to the {scored} scored photo(s): picks the kept ones, rejects the "
                     "others.\nYour own decisions are left alone, and photos that failed to score are left "
                     "for you to review. Undo with Ctrl+Z.", self.top, self.percent, self.threshold)

    def params(self) -> dict:
        """Keyword arguments for :meth:`CullSession.auto_cull`."""
        how = {"top_percent": self.percent.value()} if self.top.isChecked() else {"threshold": self.threshold.value()}
        return {**how, **super().params()}


class BestOfBurstDialog(_CullDialog):
    """Pick the best shot of each burst, reject its other shots; single shots only with a threshold."""

    def __init__(self, preview, parent=None):
        super().__init__("Auto-cull: best of each burst", preview, parent)
        self.singles = QCheckBox("Also cull single shots: keep those scoring at least")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0, 100)
        self.threshold.setValue(50)
        self.threshold.setDecimals(1)
        form = QFormLayout()
        form.addRow(self.singles, self.threshold)
        self._finish(form, "Picks the best shot of every burst / near-duplicate group and rejects its other "
                     "shots; single shots are left alone unless asked.\nYour own decisions are left alone. "
                     "Undo with Ctrl+Z.", self.singles, self.threshold)

    def params(self) -> dict:
        """Keyword arguments for :meth:`CullSession.auto_cull_best_of_burst`."""
        return {"threshold": self.threshold.value() if self.singles.isChecked() else None, **super().params()}


class ExportDialog(QDialog):
    """What to export: lists, XMP sidecars, and/or moving/copying into Keep/ and Reject/. Opens
    with the choices of the last accepted export (kept in ``settings``)."""

    def __init__(self, folder: str, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Export decisions")
        self.lists = QCheckBox("Write keep / reject / review lists (keep.txt, reject.txt, review.txt)")
        self.lists.setChecked(settings.export_lists)
        self.out_dir = QLineEdit(folder)
        row = _path_row(self.out_dir, self._browse)
        self.xmp = QCheckBox("Write XMP sidecars (rating and colour label for Lightroom / darktable / Capture One)")
        self.xmp.setChecked(settings.export_xmp)
        self.naming = QComboBox()
        self.naming.addItems(SIDECAR_NAMINGS)
        self.naming.setCurrentText(settings.sidecar_naming)
        self.organize = QComboBox()
        self.organize.addItems(["Leave photos where they are", "Move into Keep/ and Reject/",
                                "Copy into Keep/ and Reject/"])
        self.organize.setCurrentIndex(ORGANIZE_CHOICES.index(settings.export_organize))
        form = QFormLayout()
        form.addRow(self.lists)
        form.addRow("Lists folder", row)
        form.addRow(self.xmp)
        form.addRow("Sidecar naming", self.naming)
        form.addRow("Photos", self.organize)
        _lay_out(self, form, "Picks are kept, rejects rejected; unflagged photos go to review.txt and stay "
                 "in place.\nMoves are journaled: File ▸ Undo last move puts them back.")

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Lists folder", self.out_dir.text())
        if d:
            self.out_dir.setText(d)

    def accept(self) -> None:
        s = self.settings
        s.export_lists, s.export_xmp = self.lists.isChecked(), self.xmp.isChecked()
        s.sidecar_naming = self.naming.currentText()
        s.export_organize = ORGANIZE_CHOICES[self.organize.currentIndex()]
        super().accept()

    def params(self) -> dict:
        organize = ORGANIZE_CHOICES[self.organize.currentIndex()]
        return {
            "lists_dir": self.out_dir.text() if self.lists.isChecked() else None,
            "xmp_naming": self.naming.currentText() if self.xmp.isChecked() else None,
            "organize": None if organize == "none" else organize,
        }


class SettingsDialog(QDialog):
    """Model backend / device / checkpoint and sidecar naming; saved to QSettings on OK."""

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        self.backend = QComboBox()
        self.backend.addItems(BACKENDS)
        self.backend.setCurrentText(settings.backend)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.checkpoint = QLineEdit(settings.checkpoint)
        self.checkpoint.setPlaceholderText("embedded default model")
        ck = _path_row(self.checkpoint, self._browse)
        self.naming = QComboBox()
        self.naming.addItems(SIDECAR_NAMINGS)
        self.naming.setCurrentText(settings.sidecar_naming)
        form = QFormLayout()
        form.addRow("Backend", self.backend)
        form.addRow("Device", self.device)
        form.addRow("Model checkpoint", ck)
        form.addRow("XMP sidecar naming", self.naming)
        _lay_out(self, form, "replace: IMG_1.xmp (Lightroom, Capture One) · append: IMG_1.CR2.xmp "
                 "(darktable).\nModel changes apply to the next folder you open.")

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Model folder (model.safetensors + config.json)",
                                             self.checkpoint.text())
        if d:
            self.checkpoint.setText(d)

    def accept(self) -> None:
        self.settings.backend = self.backend.currentText()
        self.settings.device = self.device.currentText()
        self.settings.checkpoint = self.checkpoint.text().strip()
        self.settings.sidecar_naming = self.naming.currentText()
        self.settings.sync()
        super().accept()
