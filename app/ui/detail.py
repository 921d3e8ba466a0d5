"""Detail view (one photo, heatmap overlay with its legend, EXIF) and compare view (2+ photos)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, QKeySequence, QPainter, QPixmap, QShortcut
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
from .item_models import reasons_text
from .legend import HeatLegend

__all__ = ["ElidedLabel", "ImageCanvas", "DetailView", "CompareView", "EXIF_FIELDS"]

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


ZOOM_STEPS = (1.0, 2.0)  # Z / click toggle fit <-> 100 %; the wheel goes between fit and MAX_ZOOM
MAX_ZOOM = 4.0
WHEEL_STEP = 1.25


class ElidedLabel(QLabel):
    """One line of text elided in the middle to the label's width ("IMG_2024…_final.jpg"), so a long
    file name never widens or overflows its column; the full text is the tooltip and :attr:`full_text`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        super().setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideMiddle, width))

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._elide()


class ImageCanvas(QWidget):
    """Draws an image and, optionally, a heatmap on top with an opacity; fitted to the widget or
    zoomed, where zoom 1.0 shows one pixel of the original photo per screen pixel.

    ``natural_size`` is the original photo's size (the drawn pixmap may be a reduced decode
    until the full-resolution one arrives through :meth:`set_image`). The view state is
    ``zoom`` (None = fit) and ``centre``, the point of the photo at the widget's centre in 0-1
    coordinates, so canvases showing photos of different sizes can follow each other
    (``view_changed`` is emitted on every user zoom/pan)."""

    view_changed = Signal()
    clicked = Signal()

    def __init__(self, parent=None, click_zooms: bool = True):
        super().__init__(parent)
        self.click_zooms = click_zooms
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self._pixmap: QPixmap | None = None
        self._heat: QPixmap | None = None
        self.natural_size = QSize()
        self.zoom: float | None = None
        self.centre = QPointF(0.5, 0.5)
        self._drag: QPointF | None = None
        self._dragged = False
        self.opacity = 0.55
        self.show_heat = True
        self.message = ""

    def clear(self, message: str = "") -> None:
        self._pixmap = self._heat = None
        self.natural_size = QSize()
        self.message = message
        self.update()

    def set_image(self, image: QImage, natural_size: QSize | None = None, sharper: bool = False) -> None:
        """Show ``image`` of a photo of ``natural_size`` (default: the image's size). ``sharper``:
        a larger decode of the photo already shown, which keeps its heatmap."""
        if not sharper:
            self._heat = None
        self._pixmap = None if image.isNull() else QPixmap.fromImage(image)
        if self._pixmap is not None:
            self.natural_size = natural_size if natural_size is not None else self._pixmap.size()
            self._clamp_centre()
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

    @property
    def pixmap_size(self) -> QSize:
        return self._pixmap.size() if self._pixmap is not None else QSize()

    # -- view state ---------------------------------------------------------
    def fit_scale(self) -> float:
        """Screen pixels per original pixel when the photo is fitted to the widget."""
        n = self.natural_size
        if not n.isValid() or n.isEmpty():
            return 1.0
        return min(self.width() / n.width(), self.height() / n.height())

    def scale(self) -> float:
        return self.fit_scale() if self.zoom is None else self.zoom

    def set_view(self, zoom: float | None, centre: QPointF | None = None, emit: bool = False) -> None:
        """Zoom (None = fit, else at most MAX_ZOOM) around ``centre``. Below both fit and 100 %
        is fit: 100 % of a photo smaller than the widget stays 1:1."""
        if zoom is not None and zoom < min(self.fit_scale(), 1.0) * 0.999:
            zoom = None
        self.zoom = None if zoom is None else min(MAX_ZOOM, zoom)
        if centre is not None:
            self.centre = centre
        self._clamp_centre()
        self.update()
        if emit:
            self.view_changed.emit()

    def _clamp_centre(self) -> None:
        if self.zoom is None or not self.natural_size.isValid():
            self.centre = QPointF(0.5, 0.5)
            return
        w, h = self.natural_size.width() * self.zoom, self.natural_size.height() * self.zoom
        half_x, half_y = min(0.5, self.width() / (2 * w)), min(0.5, self.height() / (2 * h))
        self.centre = QPointF(min(max(self.centre.x(), half_x), 1 - half_x),
                              min(max(self.centre.y(), half_y), 1 - half_y))

    def photo_point(self, pos: QPointF) -> QPointF:
        """The 0-1 photo coordinates under widget position ``pos``."""
        r = self.image_rect()
        if r.width() <= 0 or r.height() <= 0:
            return QPointF(0.5, 0.5)
        return QPointF((pos.x() - r.x()) / r.width(), (pos.y() - r.y()) / r.height())

    def zoom_at(self, zoom: float | None, pos: QPointF | None = None) -> None:
        """Zoom keeping the photo point under ``pos`` (default: the centre) where it is."""
        if pos is None:
            pos = QPointF(self.width() / 2, self.height() / 2)
        before = self.photo_point(pos)
        self.set_view(zoom)
        if self.zoom is not None:
            w, h = self.natural_size.width() * self.zoom, self.natural_size.height() * self.zoom
            self.centre = QPointF(before.x() - (pos.x() - self.width() / 2) / w,
                                  before.y() - (pos.y() - self.height() / 2) / h)
            self._clamp_centre()
        self.update()
        self.view_changed.emit()

    def toggle_zoom(self, pos: QPointF | None = None) -> None:
        """Z: fit <-> 100 % at ``pos`` (the cursor, or the centre)."""
        self.zoom_at(ZOOM_STEPS[0] if self.zoom is None else None, pos)

    def image_rect(self) -> QRectF:
        if self._pixmap is None or not self.natural_size.isValid():
            return QRectF()
        s = self.scale()
        w, h = self.natural_size.width() * s, self.natural_size.height() * s
        if self.zoom is None:
            return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        return QRectF(self.width() / 2 - self.centre.x() * w, self.height() / 2 - self.centre.y() * h, w, h)

    # -- input --------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        if self._pixmap is None:
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(self.scale() * WHEEL_STEP ** steps, event.position())
        event.accept()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag, self._dragged = event.position(), False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None and self.zoom is not None:
            d = event.position() - self._drag
            if abs(d.x()) + abs(d.y()) > 2:
                self._dragged = True
                self._drag = event.position()
                w, h = self.natural_size.width() * self.zoom, self.natural_size.height() * self.zoom
                self.set_view(self.zoom, QPointF(self.centre.x() - d.x() / w, self.centre.y() - d.y() / h),
                              emit=True)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drag is not None:
            if not self._dragged:
                self.clicked.emit()
                if self.click_zooms:  # a click toggles fit <-> 100 % at that point
                    self.toggle_zoom(event.position())
            self._drag = None
        super().mouseReleaseEvent(event)

    def resizeEvent(self, event) -> None:
        self.set_view(self.zoom)
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 24))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._pixmap is not None:
            target = self.image_rect()
            p.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
            if self._heat is not None and self.show_heat:
                p.setOpacity(self.opacity)
                p.drawPixmap(target, self._heat, QRectF(self._heat.rect()))
                p.setOpacity(1.0)
            if self.zoom is not None:
                badge = QRect(8, 8, 64, 22)
                p.fillRect(badge, QColor(0, 0, 0, 170))
                p.setPen(QColor(235, 235, 235))
                p.drawText(badge, Qt.AlignmentFlag.AlignCenter, f"{self.zoom * 100:.0f} %")
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
        self.title = ElidedLabel()
        font = self.title.font()
        font.setBold(True)
        font.setPointSize(13)
        self.title.setFont(font)
        self.score_label = QLabel()
        self.score_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.score_label.setMinimumHeight(54)
        self.decision_label = QLabel()
        self.heat_box = QCheckBox("Heatmap (H)")
        self.legend = HeatLegend()
        self.heat_box.setToolTip(self.legend.toolTip())
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
        lay.addWidget(self.legend)
        lay.addWidget(QLabel("Heatmap opacity"))
        lay.addWidget(self.opacity)
        lay.addWidget(self.heat_status)
        lay.addSpacing(8)
        lay.addLayout(form)
        lay.addStretch(1)
        hint = QLabel("← → previous / next · Esc grid\nP pick · X reject · U unflag · 0–5 stars\n"
                      "Z or click: fit ↔ 100 % · Shift+Z 200 %\nwheel: zoom · drag: pan · ? all keys")
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
                          (Qt.Key.Key_Escape, self.back.emit),
                          (Qt.Key.Key_Z, lambda: self.canvas.toggle_zoom(self._cursor())),
                          (QKeySequence("Shift+Z"), lambda: self.canvas.zoom_at(ZOOM_STEPS[1], self._cursor()))):
            sc = QShortcut(QKeySequence(key), self, context=ctx)
            sc.activated.connect(slot)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _cursor(self) -> QPointF | None:
        """The mouse position on the canvas, when it is over the canvas (Z zooms there)."""
        pos = self.canvas.mapFromGlobal(QCursor.pos())
        return QPointF(pos) if self.canvas.rect().contains(pos) else None

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
        parts = [reasons_text(e)] if e.findings else []
        if e.burst is not None and e.burst.is_burst:
            parts.append(e.burst.text + (" — best of the burst" if e.burst.best else ""))
        self.reasons_label.setText("\n".join(parts))

    def set_image(self, image: QImage, exif: dict) -> None:
        self.canvas.set_image(image)  # the photo's natural size follows with set_full_image
        for key, _ in EXIF_FIELDS:
            self.exif_labels[key].setText(_exif_text(key, exif.get(key)))

    def set_full_image(self, image: QImage) -> None:
        """The full-resolution decode: zoom shows its pixels (heatmap and view are kept)."""
        self.canvas.set_image(image, sharper=True)

    def set_heatmap(self, image: QImage) -> None:
        self.canvas.set_heatmap(image)
        self.heat_status.setText("")

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
    """2+ photos side by side (a grid of up to 3 columns), each with name, score and decision.

    One photo is *active* (framed): decisions apply to it; a click or the arrow keys change it.
    Zoom and pan are synchronised: Z (fit <-> 100 %), Shift+Z (200 %), the wheel or a drag on any
    photo moves all of them to the same magnification and the same relative point."""

    back = Signal()
    active_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setSpacing(6)
        self.cells: dict[str, tuple[ImageCanvas, QLabel]] = {}  # path -> canvas, score/decision caption
        self.entries: list[Entry] = []
        self.active = 0
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, slot in ((Qt.Key.Key_Escape, self.back.emit),
                          (Qt.Key.Key_Right, lambda: self.set_active(self.active + 1)),
                          (Qt.Key.Key_Left, lambda: self.set_active(self.active - 1)),
                          (Qt.Key.Key_Z, lambda: self._active_canvas().toggle_zoom()),
                          (QKeySequence("Shift+Z"), lambda: self._active_canvas().zoom_at(ZOOM_STEPS[1]))):
            QShortcut(QKeySequence(key), self, context=ctx).activated.connect(slot)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def show_entries(self, entries: list[Entry]) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cells.clear()
        self.entries = list(entries)
        cols = min(3, max(1, len(entries)))
        for i, e in enumerate(entries):
            box = QFrame()
            box.setObjectName("compareCell")
            lay = QVBoxLayout(box)
            lay.setContentsMargins(3, 3, 3, 3)
            canvas = ImageCanvas(click_zooms=False)
            canvas.clear("loading…")
            canvas.clicked.connect(lambda i=i: self.set_active(i))
            canvas.view_changed.connect(lambda c=canvas: self._sync_from(c))
            name = ElidedLabel()  # a long file name never widens its column
            name.setText(e.name)
            cap = QLabel()
            row = QHBoxLayout()
            row.addWidget(name, 1)
            row.addWidget(cap)
            lay.addWidget(canvas, 1)
            lay.addLayout(row)
            self.grid.addWidget(box, i // cols, i % cols)
            self.cells[str(e.path)] = (canvas, cap)
            self.update_entry(e)
        self.set_active(0)

    @property
    def active_entry(self) -> Entry | None:
        return self.entries[self.active] if self.entries else None

    def set_active(self, i: int) -> None:
        if not self.entries:
            return
        self.active = max(0, min(len(self.entries) - 1, i))
        for j, e in enumerate(self.entries):
            box = self.cells[str(e.path)][0].parentWidget()
            colour = "#4aa3ff" if j == self.active else "transparent"
            box.setStyleSheet(f"QFrame#compareCell {{ border: 3px solid {colour}; border-radius: 4px; }}")
        self.active_changed.emit()

    def _active_canvas(self) -> ImageCanvas:
        return self.cells[str(self.active_entry.path)][0]

    def _sync_from(self, source: ImageCanvas) -> None:
        for canvas, _ in self.cells.values():
            if canvas is not source:
                canvas.set_view(source.zoom, QPointF(source.centre))

    def update_entry(self, e: Entry) -> None:
        cell = self.cells.get(str(e.path))
        if cell is None:
            return
        for i, old in enumerate(self.entries):
            if old.path == e.path:
                self.entries[i] = e
        score = "—" if e.score is None else f"{e.score:.1f}"
        colour = "#888" if e.score is None else score_colour(e.score).name()
        flag = {PICK: " ⚑", REJECT: " ✕"}.get(e.flag, "")
        cell[1].setText(f"<b style='color:{colour}'>{score}</b>{flag} {'★' * e.stars}")

    def set_image(self, path: str, image: QImage, error: str) -> None:
        cell = self.cells.get(path)
        if cell is None:
            return
        if error:
            cell[0].clear(f"cannot read: {error}")
        else:
            cell[0].set_image(image)

    def set_full_image(self, path: str, image: QImage) -> None:
        """The full-resolution decode of a photo shown (after its preview): zoom shows its pixels,
        at the same synchronised zoom and point."""
        cell = self.cells.get(path)
        if cell is not None and cell[0].has_image:
            cell[0].set_image(image, sharper=True)
