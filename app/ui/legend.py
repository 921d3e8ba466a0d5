"""The heatmap's legend: which map is shown, and what its colours mean.

The "low" heatmap (``photocull.model.explain.low_map``, named by ``heatmap_kind``) combines the
measured defects (on the reasons' scale) with the model's scores of the photo's parts:
transparent/blue = nothing there lowers the score, red = what lowers it most.

The tick labels are laid out from their measured width (:meth:`HeatLegend.label_rects`): the end
labels sit flush with the bar's ends, the middle one is centred but kept clear of them, and a label
that does not fit in the room left is elided, so labels never overlap at any width or font size.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QLinearGradient, QPainter
from PySide6.QtWidgets import QWidget

from photocull.model.explain import heatmap_kind, jet

__all__ = ["HeatLegend", "TICKS"]

# (position 0-1 on the bar, text under it)
TICKS = ((0.0, "nothing"), (0.5, "lowers the score"), (1.0, "most"))
GAP = 6.0  # the least room between two labels, in pixels
BAR = 10.0  # bar height


class HeatLegend(QWidget):
    """A jet colour bar with the meaning of its colours and the map's name above it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kind = heatmap_kind()
        self.setToolTip("How much each region lowers the score: the measured defects (blur, noise, exposure, "
                        "clipping, compression) together with how the model scores each part of the photo")

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.update()

    def title(self) -> str:
        return f"Heatmap: {self.kind}"

    def _height(self) -> int:
        return int(2 * QFontMetricsF(self.font()).height() + BAR + 8)

    def sizeHint(self) -> QSize:
        return QSize(self._width_needed(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._height())

    def _width_needed(self) -> int:
        """The width at which every label shows in full, the middle one centred."""
        fm = QFontMetricsF(self.font())
        (_, first), (_, mid), (_, last) = TICKS
        half = max(fm.horizontalAdvance(first), fm.horizontalAdvance(last)) + GAP + fm.horizontalAdvance(mid) / 2
        return int(max(2 * half, fm.horizontalAdvance(self.title()))) + 4

    def label_rects(self, width: float | None = None) -> list[tuple[QRectF, str]]:
        """Where each tick label is drawn at ``width`` (default: the widget's), with the text drawn
        (elided where the room is short). The rects never intersect and stay inside the widget."""
        fm = QFontMetricsF(self.font())
        w = float(self.width() if width is None else width)
        top, line = fm.height() + 2 + BAR + 3, fm.height()
        (_, first), (_, mid), (_, last) = TICKS

        def fit(text: str, room: float) -> str:
            """``text``, elided to ``room`` when it is wider, or "" when not even that fits."""
            if fm.horizontalAdvance(text) > room:
                text = fm.elidedText(text, Qt.TextElideMode.ElideRight, room)
            return text if fm.horizontalAdvance(text) <= room else ""

        # the end labels share the width when both do not fit, then the middle one takes what is left
        half = max(0.0, (w - GAP) / 2)
        first, last = fit(first, half), fit(last, half)
        left = QRectF(0, top, fm.horizontalAdvance(first), line)
        right_w = fm.horizontalAdvance(last)
        right = QRectF(w - right_w, top, right_w, line)
        out = [(left, first)]
        lo, hi = left.right() + GAP, right.left() - GAP
        room = hi - lo
        mid = fit(mid, room) if room > 0 else ""
        if mid:
            mw = fm.horizontalAdvance(mid)
            x = min(max(w * TICKS[1][0] - mw / 2, lo), hi - mw)
            out.append((QRectF(x, top, mw, line), mid))
        out.append((right, last))
        return [(r, t) for r, t in out if t]

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = QFontMetricsF(self.font())
        line = fm.height()
        w = self.width()
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, w, line), Qt.AlignmentFlag.AlignLeft,
                   fm.elidedText(self.title(), Qt.TextElideMode.ElideRight, w))
        bar = QRectF(0, line + 2, w, BAR)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(11):
            r, g, b = (int(c) for c in jet(i / 10))
            grad.setColorAt(i / 10, QColor(r, g, b))
        p.fillRect(bar, grad)
        for pos, _ in TICKS:
            x = min(max(pos * w, 0.5), w - 0.5)
            p.drawLine(int(x), int(bar.bottom()), int(x), int(bar.bottom()) + 3)
        for rect, text in self.label_rects(w):
            p.drawText(rect.adjusted(0, 0, 1, 0), Qt.AlignmentFlag.AlignLeft, text)
        p.end()
