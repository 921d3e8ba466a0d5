"""Detail view (one photo, Grad-CAM heatmap overlay, EXIF) and compare view (2+ photos)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from photocull.app.core.session import PICK, REJECT, Entry

from .delegate import score_colour

__all__ = ["ImageCanvas", "DetailView", "CompareView", "EXIF_FIELDS"]

EXIF_FIELDS = (("camera", "Camera"), ("lens", "Lens"), ("iso", "ISO"), ("shutter", "Shutter"),
               ("aperture", "Aperture"), ("focal_length", "Focal length"), ("date_taken", "Taken"))


def _exif_text(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key == "aperture":
        return f"f/{value:g}"
    if key == "shutter":
        return f"{value} s"
    if key == "focal_length":
        return f"{value:g} mm"
    if key == "date_taken":
        return str(value).replace("T", " ")[:19]
    return str(value)


class ImageCanvas(QWidget):
    """Draws an image fitted to the widget and, optionally, a heatmap on top with an opacity."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self._pixmap: QPixmap | None = None
        self._heat: QPixmap | None = None
        self.opacity = 0.55
        self.show_heat = True
        self.message = ""

    def clear(self, message: str = "") -> None:
        self._pixmap = self._heat = None
        self.message = message
        self.update()

    def set_image(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image) if not image.isNull() else None
        self._heat = None
        self.message = ""
        self.update()

    def set_heatmap(self, image: QImage | None) -> None:
        self._heat = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self.update()

    @property
    def has_image(self) -> bool:
        return self._pixmap is not None

    @property
    def has_heatmap(self) -> bool:
        return self._heat is not None

    def image_rect(self) -> QRect:
        if self._pixmap is None:
            return QRect()
        size = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        r = QRect(0, 0, size.width(), size.height())
        r.moveCenter(self.rect().center())
        return r

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 24))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._pixmap is not None:
            target = self.image_rect()
            p.drawPixmap(target, self._pixmap)
            if self._heat is not None and self.show_heat:
                p.setOpacity(self.opacity)
                p.drawPixmap(target, self._heat)
                p.setOpacity(1.0)
        if self.message:
            p.setPen(QColor(220, 220, 220))
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
                       self.message)
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(800, 600)


class DetailView(QWidget):
    """Large image + heatmap (H toggles, slider sets opacity), score, decision and EXIF.

    Emits ``navigate(+1/-1)`` for the arrow keys and ``back()`` for Escape; the
    main window supplies images through :meth:`set_image` / :meth:`set_heatmap`.
    """

    navigate = Signal(int)
    back = Signal()
    heatmap_toggled = Signal(bool)
    opacity_changed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entry: Entry | None = None
        self.canvas = ImageCanvas()
        side = QFrame()
        side.setFixedWidth(270)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.score_label = QLabel()
        self.score_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.score_label.setMinimumHeight(54)
        self.decision_label = QLabel()
        self.heat_box = QCheckBox("Heatmap (H)")
        self.heat_box.setToolTip("Grad-CAM: where the model saw the problems that lowered the score")
        self.heat_box.setChecked(True)
        self.heat_box.toggled.connect(self._on_heat_toggled)
        self.heat_status = QLabel()
        self.heat_status.setWordWrap(True)
        self.heat_status.setStyleSheet("color: gray;")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.valueChanged.connect(self._on_opacity)
        self.exif_labels: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, title in EXIF_FIELDS:
            lab = QLabel("—")
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.exif_labels[key] = lab
            form.addRow(title, lab)
        lay = QVBoxLayout(side)
        lay.addWidget(self.title)
        lay.addWidget(self.score_label)
        lay.addWidget(self.decision_label)
        self.reasons_label = QLabel()  # defects found ("blurry", "noisy") and the burst position
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setStyleSheet("color: #ffb4a0;")
        lay.addWidget(self.reasons_label)
        lay.addSpacing(8)
        lay.addWidget(self.heat_box)
        lay.addWidget(QLabel("Heatmap opacity"))
        lay.addWidget(self.opacity)
        lay.addWidget(self.heat_status)
        lay.addSpacing(8)
        lay.addLayout(form)
        lay.addStretch(1)
        hint = QLabel("← → previous/next · P pick · X reject · U unflag · 0–5 stars · Esc grid")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: gray;")
        lay.addWidget(hint)
        main = QHBoxLayout(self)
        main.setContentsMargins(0, 0, 0, 0)
        main.addWidget(self.canvas, 1)
        main.addWidget(side)
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, slot in ((Qt.Key.Key_Right, lambda: self.navigate.emit(1)),
                          (Qt.Key.Key_Left, lambda: self.navigate.emit(-1)),
                          (Qt.Key.Key_Escape, self.back.emit)):
            sc = QShortcut(QKeySequence(key), self, context=ctx)
            sc.activated.connect(slot)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- content ------------------------------------------------------------
    def show_entry(self, entry: Entry) -> None:
        """Switch to ``entry``: text now, image and heatmap when the worker delivers them."""
        self.entry = entry
        self.title.setText(entry.name)
        self.canvas.clear("loading…")
        for lab in self.exif_labels.values():
            lab.setText("…")
        self.heat_status.setText("computing heatmap…" if self.heat_box.isChecked() else "")
        self.update_entry()

    def update_entry(self) -> None:
        e = self.entry
        if e is None:
            return
        if e.failed:
            self.score_label.setText(f"cannot read:\n{e.error}")
            self.score_label.setStyleSheet("background: #d63031; color: white; border-radius: 8px;")
        elif e.score is None:
            self.score_label.setText("scoring…")
            self.score_label.setStyleSheet("background: #555; color: white; border-radius: 8px;")
        else:
            c = score_colour(e.score)
            self.score_label.setText(f"{e.score:.1f}")
            self.score_label.setStyleSheet(
                f"background: {c.name()}; color: white; font-size: 22pt; font-weight: bold; border-radius: 8px;")
        flag = {PICK: "⚑ Picked", REJECT: "✕ Rejected"}.get(e.flag, "Unflagged")
        self.decision_label.setText(f"{flag}   {'★' * e.stars}{'☆' * (5 - e.stars)}")
        parts = [", ".join(e.reasons)] if e.reasons else []
        if e.burst is not None and e.burst.is_burst:
            parts.append(e.burst.text + (" — best of the burst" if e.burst.best else ""))
        self.reasons_label.setText("\n".join(parts))

    def set_image(self, image: QImage, exif: dict) -> None:
        self.canvas.set_image(image)
        for key, _ in EXIF_FIELDS:
            self.exif_labels[key].setText(_exif_text(key, exif.get(key)))

    def set_heatmap(self, image: QImage) -> None:
        self.canvas.set_heatmap(image)
        self.heat_status.setText("red = regions that lowered the score most")

    def set_error(self, message: str) -> None:
        self.canvas.clear(message)
        self.heat_status.setText("")

    def set_heatmap_error(self, message: str) -> None:
        self.heat_status.setText(f"heatmap unavailable: {message}")

    # -- controls -----------------------------------------------------------
    def toggle_heatmap(self) -> None:
        self.heat_box.toggle()

    def _on_heat_toggled(self, on: bool) -> None:
        self.canvas.show_heat = on
        self.canvas.update()
        self.heatmap_toggled.emit(on)

    def _on_opacity(self, value: int) -> None:
        self.canvas.opacity = value / 100.0
        self.canvas.update()
        self.opacity_changed.emit(value)


class CompareView(QWidget):
    """2+ photos side by side (a grid of up to 3 columns), each with name, score and decision."""

    back = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setSpacing(6)
        self.cells: dict[str, tuple[ImageCanvas, QLabel]] = {}
        sc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(self.back.emit)

    def show_entries(self, entries: list[Entry]) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cells.clear()
        cols = min(3, max(1, len(entries)))
        for i, e in enumerate(entries):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            canvas = ImageCanvas()
            canvas.clear("loading…")
            cap = QLabel()
            cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lay.addWidget(canvas, 1)
            lay.addWidget(cap)
            self.grid.addWidget(box, i // cols, i % cols)
            self.cells[str(e.path)] = (canvas, cap)
            self.update_entry(e)

    def update_entry(self, e: Entry) -> None:
        cell = self.cells.get(str(e.path))
        if cell is None:
            return
        score = "—" if e.score is None else f"{e.score:.1f}"
        colour = "#888" if e.score is None else score_colour(e.score).name()
        flag = {PICK: " ⚑", REJECT: " ✕"}.get(e.flag, "")
        cell[1].setText(f"{e.name} · <b style='color:{colour}'>{score}</b>{flag} {'★' * e.stars}")

    def set_image(self, path: str, image: QImage, error: str) -> None:
        cell = self.cells.get(path)
        if cell is None:
            return
        if error:
            cell[0].clear(f"cannot read: {error}")
        else:
            cell[0].set_image(image)
