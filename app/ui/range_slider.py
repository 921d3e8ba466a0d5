"""A two-handle slider for the toolbar's score range (lower and upper bound in one control)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["RangeSlider"]

_HANDLE = 7.0  # handle radius, px
_TEXT_W = 64  # room for "lo – hi" right of the groove


class RangeSlider(QWidget):
    """Whole-number range ``(lo, hi)`` within ``minimum..maximum``, set by dragging either handle
    (a press moves the nearer one there). ``valueChanged((lo, hi))`` on every change;
    ``sliderReleased()`` when the mouse lets go (the window gives the keyboard back then)."""

    valueChanged = Signal(tuple)
    sliderReleased = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.minimum, self.maximum = 0, 100
        self._value = (0, 100)
        self._dragging: int | None = None  # 0 = lower handle, 1 = upper handle
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolTip("Show photos whose score is in this range (unscored photos always show)")

    def setRange(self, minimum: int, maximum: int) -> None:
        self.minimum, self.maximum = int(minimum), int(maximum)
        self.setValue(self._value)

    def value(self) -> tuple[int, int]:
        return self._value

    def setValue(self, value: tuple[float, float]) -> None:
        lo, hi = sorted(min(self.maximum, max(self.minimum, round(v))) for v in value)
        if (lo, hi) != self._value:
            self._value = (lo, hi)
            self.update()
            self.valueChanged.emit(self._value)

    # -- geometry -----------------------------------------------------------
    def _groove(self) -> QRectF:
        return QRectF(_HANDLE + 1, self.height() / 2 - 2, self.width() - _TEXT_W - 2 * _HANDLE - 2, 4)

    def _x_of(self, v: float) -> float:
        g = self._groove()
        return g.left() + g.width() * (v - self.minimum) / max(1, self.maximum - self.minimum)

    def _value_at(self, x: float) -> int:
        g = self._groove()
        frac = (x - g.left()) / g.width() if g.width() > 0 else 0.0
        return round(self.minimum + min(1.0, max(0.0, frac)) * (self.maximum - self.minimum))

    def sizeHint(self) -> QSize:
        return QSize(300, 26)

    # -- input --------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = event.position().x()
        lo, hi = (self._x_of(v) for v in self._value)
        # the nearer handle; two on one spot: the one that can move (the lower one at the top end)
        self._dragging = 0 if x < (lo + hi) / 2 or (lo == hi and self._value[1] == self.maximum) else 1
        self._drag_to(x)

    def mouseMoveEvent(self, event) -> None:
        if self._dragging is not None:
            self._drag_to(event.position().x())

    def mouseReleaseEvent(self, event) -> None:
        if self._dragging is not None:
            self._dragging = None
            self.sliderReleased.emit()

    def _drag_to(self, x: float) -> None:
        v = self._value_at(x)
        lo, hi = self._value
        self.setValue((min(v, hi), hi) if self._dragging == 0 else (lo, max(v, lo)))

    # -- paint --------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        g = self._groove()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color(QPalette.ColorRole.Mid))
        p.drawRoundedRect(g, 2, 2)
        lo, hi = (self._x_of(v) for v in self._value)
        p.setBrush(pal.color(QPalette.ColorRole.Highlight))
        p.drawRect(QRectF(lo, g.top(), hi - lo, g.height()))
        p.setBrush(QColor(235, 235, 235))
        p.setPen(pal.color(QPalette.ColorRole.Dark))
        for x in (lo, hi):
            p.drawEllipse(QPointF(x, g.center().y()), _HANDLE, _HANDLE)
        p.setPen(pal.color(QPalette.ColorRole.WindowText))
        text = QRectF(self.width() - _TEXT_W, 0, _TEXT_W, self.height())
        p.drawText(text, Qt.AlignmentFlag.AlignCenter, f"{self._value[0]} – {self._value[1]}")
        p.end()
