"""The heatmap's legend: which map is shown, and what its colours mean.

The "low" heatmap (``photocull.model.explain.low_map``, named by ``heatmap_kind``) is the mean of the
measured defects (on the reasons' scale) and the model's own map: transparent/blue = nothing there
lowers the score, red = what lowers it most.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QWidget

from photocull.model.explain import heatmap_kind, jet

__all__ = ["HeatLegend", "TICKS"]

# (position 0-1 on the bar, text under it)
TICKS = ((0.0, "nothing"), (0.5, "lowers the score"), (1.0, "most"))


class HeatLegend(QWidget):
    """A jet colour bar with the meaning of its colours and the map's name above it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kind = heatmap_kind()
        self.setToolTip("How much each region lowers the score: the measured defects (blur, noise, exposure, "
                        "clipping, compression) together with the model's own map")
        self.setMinimumHeight(46)

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.update()

    def title(self) -> str:
        return f"Heatmap: {self.kind}"

    def sizeHint(self) -> QSize:
        return QSize(250, 46)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = p.fontMetrics()
        line = fm.height()
        w = self.width() - 2
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(1, 0, w, line), Qt.AlignmentFlag.AlignLeft, self.title())
        bar = QRectF(1, line + 2, w, 10)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(11):
            r, g, b = (int(c) for c in jet(i / 10))
            grad.setColorAt(i / 10, QColor(r, g, b))
        p.fillRect(bar, grad)
        for pos, text in TICKS:
            x = 1 + pos * w
            p.drawLine(int(x), int(bar.bottom()), int(x), int(bar.bottom()) + 3)
            tw = fm.horizontalAdvance(text)
            left = min(max(0.0, x - tw / 2), self.width() - tw)
            p.drawText(QRectF(left, bar.bottom() + 3, tw + 1, line), Qt.AlignmentFlag.AlignLeft, text)
        p.end()
