"""The loupe's filmstrip: a row of thumbnails in the grid's order and filter, following the photo shown."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photocull.app.core.session import PICK, REJECT, Entry

from .delegate import label_colour, score_colour
from .item_models import EntryRole, ThumbRole

__all__ = ["Filmstrip"]

CELL = 96  # px, a square cell per photo


class _StripDelegate(QStyledItemDelegate):
    """Thumbnail, a score bar along the bottom, the flag in a corner; the shown photo framed."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(CELL, CELL)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        e: Entry = index.data(EntryRole)
        if e is None:
            return
        p.save()
        r = option.rect.adjusted(3, 3, -3, -3)
        p.fillRect(r, option.palette.color(QPalette.ColorRole.Base).darker(115))
        pix = index.data(ThumbRole)
        if pix is not None:
            size = pix.size().scaled(r.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(r.center())
            if e.flag == REJECT:
                p.setOpacity(0.4)  # rejects dimmed, as in the grid
            p.drawPixmap(target, pix)
            p.setOpacity(1.0)
        if e.score is not None and not e.failed:
            p.fillRect(QRect(r.left(), r.bottom() - 3, round(r.width() * e.score / 100), 4), score_colour(e.score))
        if e.flag in (PICK, REJECT):
            p.setPen(QColor(255, 255, 255))
            p.drawText(r.adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
                       "⚑" if e.flag == PICK else "✕")
        colour = label_colour(e)
        frame = QColor(74, 163, 255) if option.state & QStyle.StateFlag.State_Selected else colour
        if frame is not None:
            p.setPen(QPen(frame, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r.adjusted(1, 1, -1, -1))
        p.restore()


class Filmstrip(QListView):
    """One row of the grid's photos (the same proxy model: its order and filters). A click asks for
    that photo (``chosen(row)``); :meth:`follow` marks the photo the loupe shows and scrolls it
    into the middle. It never takes the keyboard: the arrows stay with the loupe."""

    chosen = Signal(int)  # proxy row

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setUniformItemSizes(True)  # only painted cells ask for their thumbnail
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setItemDelegate(_StripDelegate(self))
        self.setFixedHeight(CELL + self.horizontalScrollBar().sizeHint().height() + 4)
        self.clicked.connect(lambda idx: self.chosen.emit(idx.row()))

    def follow(self, row: int) -> None:
        """Mark proxy ``row`` as the photo shown and scroll it to the middle of the strip."""
        if not 0 <= row < self.model().rowCount():
            self.clearSelection()
            return
        idx = self.model().index(row, 0)
        self.selectionModel().setCurrentIndex(idx, self.selectionModel().SelectionFlag.ClearAndSelect)
        self.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)
