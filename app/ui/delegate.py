"""Painting of one grid cell: thumbnail, name, score badge, flag, stars, error tile."""

from __future__ import annotations

import math

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photocull.app.core.session import PICK, REJECT, Entry

from .item_models import EntryRole, ThumbErrorRole, ThumbRole

__all__ = ["score_colour", "label_colour", "LABEL_QCOLOURS", "PhotoDelegate"]

_RED, _AMBER, _GREEN = QColor(214, 48, 49), QColor(240, 165, 0), QColor(39, 174, 96)
# colour labels as Lightroom draws them (decisions.LABEL_COLOURS); another tool's free-text label: grey
LABEL_QCOLOURS = {"Red": QColor(200, 50, 50), "Yellow": QColor(225, 200, 40), "Green": QColor(60, 170, 70),
                  "Blue": QColor(50, 110, 210), "Purple": QColor(140, 70, 180)}


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def score_colour(score: float) -> QColor:
    """Badge colour: red (0) -> amber (50) -> green (100), linear in between."""
    s = min(max(score, 0.0), 100.0) / 100.0
    return _mix(_RED, _AMBER, s * 2) if s < 0.5 else _mix(_AMBER, _GREEN, (s - 0.5) * 2)


def label_colour(e: Entry) -> QColor | None:
    """The colour a tile shows for the entry's colour label (None: no label)."""
    if e.label is None:
        return None
    return LABEL_QCOLOURS.get(e.label, QColor(150, 150, 150))


def _star(center: QPointF, r: float) -> QPolygonF:
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.45
        a = -math.pi / 2 + i * math.pi / 5
        pts.append(QPointF(center.x() + rad * math.cos(a), center.y() + rad * math.sin(a)))
    return QPolygonF(pts)


class PhotoDelegate(QStyledItemDelegate):
    """Fixed-size cells; the thumbnail is asked for (ThumbRole) only when a cell is painted."""

    def __init__(self, cell: int = 200, parent=None):
        super().__init__(parent)
        self.cell = cell

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(self.cell, self.cell + 36)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        e: Entry = index.data(EntryRole)
        if e is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect.adjusted(4, 4, -4, -4)
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        bg = pal.color(QPalette.ColorRole.Highlight) if selected else pal.color(QPalette.ColorRole.Base).darker(108)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(r, 6, 6)
        colour = label_colour(e)
        if colour is not None:  # the label as a frame round the cell
            p.setPen(QPen(colour, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(r).adjusted(1.5, 1.5, -1.5, -1.5), 6, 6)
            p.setPen(Qt.PenStyle.NoPen)

        img_rect = QRect(r.left() + 6, r.top() + 6, r.width() - 12, r.height() - 12 - 30)
        error = index.data(ThumbErrorRole)
        if error:
            self._paint_error(p, img_rect, error)
        else:
            pix = index.data(ThumbRole)
            if pix is not None:
                scaled = pix.size().scaled(img_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(0, 0, scaled.width(), scaled.height())
                target.moveCenter(img_rect.center())
                p.drawPixmap(target, pix)
                if e.flag == REJECT:  # dim rejects like Lightroom does
                    p.fillRect(target, QColor(0, 0, 0, 130))
            else:
                p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                p.drawText(img_rect, Qt.AlignmentFlag.AlignCenter, "…")

        # name
        text_rect = QRect(r.left() + 6, img_rect.bottom() + 4, r.width() - 12, 16)
        p.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        fm = QFontMetrics(p.font())
        p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(e.name, Qt.TextElideMode.ElideMiddle, text_rect.width()))

        # stars row (the label's swatch at its right end)
        if colour is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRoundedRect(QRectF(r.right() - 24, img_rect.bottom() + 22, 16, 12), 3, 3)
        if e.stars:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(250, 200, 40))
            for i in range(e.stars):
                p.drawPolygon(_star(QPointF(r.left() + 13 + i * 14, img_rect.bottom() + 28), 6))

        if not error:
            self._paint_badge(p, e, img_rect)
            self._paint_burst(p, e, img_rect)
            self._paint_reasons(p, e, img_rect)
        self._paint_flag(p, e, img_rect)
        p.restore()

    @staticmethod
    def burst_text(e: Entry) -> str:
        """The tile's burst marker: "burst 3/5", with a crown for the best shot; "" for singles."""
        if e.burst is None or not e.burst.is_burst:
            return ""
        return ("♛ " if e.burst.best else "") + e.burst.text

    def _paint_burst(self, p: QPainter, e: Entry, rect: QRect) -> None:
        text = self.burst_text(e)
        if not text:
            return
        f = QFont(p.font())
        f.setPointSizeF(max(6.0, f.pointSizeF() - 1))
        f.setBold(e.burst.best)
        p.setFont(f)
        fm = QFontMetrics(f)
        box = QRectF(rect.left() + 4, rect.bottom() - fm.height() - 6, fm.horizontalAdvance(text) + 10,
                     fm.height() + 2)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(250, 200, 40, 235) if e.burst.best else QColor(30, 30, 30, 200))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(20, 20, 20) if e.burst.best else QColor(235, 235, 235))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_reasons(self, p: QPainter, e: Entry, rect: QRect) -> None:
        """Defect badges ("blurry", "noisy", ...) stacked at the top right, under the score."""
        if not e.reasons:
            return
        f = QFont(p.font())
        f.setPointSizeF(max(6.0, f.pointSizeF() - 1.5))
        f.setBold(False)
        p.setFont(f)
        fm = QFontMetrics(f)
        y = rect.top() + fm.height() + 14
        for label in e.reasons[:3]:
            w = fm.horizontalAdvance(label) + 10
            box = QRectF(rect.right() - w - 4, y, w, fm.height() + 2)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(120, 40, 30, 220))
            p.drawRoundedRect(box, 4, 4)
            p.setPen(QColor(255, 225, 215))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
            y += fm.height() + 4

    def _paint_error(self, p: QPainter, rect: QRect, error: str) -> None:
        p.save()
        p.setPen(QPen(QColor(214, 48, 49), 2))
        p.setBrush(QColor(90, 20, 20))
        p.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 4, 4)
        f = QFont(p.font())
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor(255, 120, 120))
        p.drawText(rect.adjusted(6, 6, -6, -6), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "⚠ cannot read")
        f.setBold(False)
        f.setPointSizeF(max(6.0, f.pointSizeF() - 1))
        p.setFont(f)
        p.setPen(QColor(250, 215, 215))
        p.drawText(rect.adjusted(8, 28, -8, -6), Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap, error)
        p.restore()

    def _paint_badge(self, p: QPainter, e: Entry, rect: QRect) -> None:
        if e.failed:
            return
        text = "…" if e.score is None else f"{e.score:.0f}"
        f = QFont(p.font())
        f.setBold(True)
        p.setFont(f)
        fm = QFontMetrics(f)
        w = max(fm.horizontalAdvance(text) + 12, 28)
        badge = QRectF(rect.right() - w - 4, rect.top() + 4, w, fm.height() + 4)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(90, 90, 90, 220) if e.score is None else score_colour(e.score))
        p.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        p.setPen(Qt.GlobalColor.white)
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        f.setBold(False)
        p.setFont(f)

    def _paint_flag(self, p: QPainter, e: Entry, rect: QRect) -> None:
        if e.flag not in (PICK, REJECT):
            return
        box = QRectF(rect.left() + 4, rect.top() + 4, 22, 22)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(255, 255, 255, 235) if e.flag == PICK else QColor(20, 20, 20, 235))
        p.drawRoundedRect(box, 4, 4)
        pen = QPen(QColor(20, 20, 20) if e.flag == PICK else QColor(235, 60, 60), 2.5)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        if e.flag == PICK:  # flag glyph
            path = QPainterPath(QPointF(box.left() + 7, box.bottom() - 4))
            path.lineTo(box.left() + 7, box.top() + 4)
            path.lineTo(box.right() - 5, box.top() + 7.5)
            path.lineTo(box.left() + 7, box.top() + 11)
            p.drawPath(path)
        else:  # cross
            p.drawLine(QPointF(box.left() + 6, box.top() + 6), QPointF(box.right() - 6, box.bottom() - 6))
            p.drawLine(QPointF(box.right() - 6, box.top() + 6), QPointF(box.left() + 6, box.bottom() - 6))
