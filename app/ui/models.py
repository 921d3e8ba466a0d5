"""Qt item models over a :class:`app.core.session.CullSession`."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from app.core.session import CullSession, Entry

__all__ = ["EntryRole", "ThumbRole", "ThumbErrorRole", "PhotoListModel", "PhotoProxyModel", "SORT_KEYS"]

EntryRole = Qt.ItemDataRole.UserRole + 1
ThumbRole = Qt.ItemDataRole.UserRole + 2
ThumbErrorRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex


class PhotoListModel(QAbstractListModel):
    """One row per session entry. Thumbnails are requested lazily when a row asks for ThumbRole.

    ``thumbnail_requested(path)`` is emitted the first time a visible row needs
    its thumbnail; :meth:`set_thumbnail` stores the result (as a QPixmap, made
    here on the GUI thread) in a bounded LRU cache.
    """

    thumbnail_requested = Signal(str)

    def __init__(self, parent=None, cache_limit: int = 3000):
        super().__init__(parent)
        self.session = CullSession()
        self._row: dict[Path, int] = {}
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._thumb_errors: dict[str, str] = {}
        self._cache_limit = cache_limit

    # -- content ------------------------------------------------------------
    def set_session(self, session: CullSession) -> None:
        self.beginResetModel()
        self.session = session
        self._row = {e.path: i for i, e in enumerate(session.entries)}
        self._thumbs.clear()
        self._thumb_errors.clear()
        self.endResetModel()

    def entry(self, row: int) -> Entry:
        return self.session.entries[row]

    def row_of(self, path: Path) -> int:
        return self._row[Path(path)]

    def refresh(self, paths) -> None:
        """Repaint (and re-sort / re-filter) the rows of ``paths``."""
        rows = sorted(self._row[Path(p)] for p in paths if Path(p) in self._row)
        if not rows:
            return
        # one dataChanged per contiguous run keeps the proxy's work proportional
        start = prev = rows[0]
        for r in rows[1:] + [None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            self.dataChanged.emit(self.index(start), self.index(prev))
            if r is not None:
                start = prev = r

    def set_thumbnail(self, path: str, image: QImage, error: str) -> None:
        if error or image.isNull():
            self._thumb_errors[path] = error or "could not decode"
        else:
            self._thumbs[path] = QPixmap.fromImage(image)
            self._thumbs.move_to_end(path)
            while len(self._thumbs) > self._cache_limit:
                self._thumbs.popitem(last=False)
        row = self._row.get(Path(path))
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [ThumbRole, ThumbErrorRole])

    def has_thumbnail(self, path: str) -> bool:
        return path in self._thumbs

    # -- QAbstractListModel -------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.session.entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.session.entries):
            return None
        e = self.session.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return e.name
        if role == EntryRole:
            return e
        if role == Qt.ItemDataRole.ToolTipRole:
            score = "scoring…" if e.score is None and not e.failed else (f"{e.score:.1f}" if e.score is not None else "—")
            tip = f"{e.path}\nscore: {score}"
            if e.failed:
                tip += f"\nerror: {e.error}"
            if e.burst is not None and e.burst.is_burst:
                tip += f"\n{e.burst.text}" + (" (best of the burst)" if e.burst.best else "")
            if e.reasons:
                tip += "\n" + ", ".join(e.reasons)
            return tip
        if role == ThumbRole:
            key = str(e.path)
            pix = self._thumbs.get(key)
            if pix is not None:
                self._thumbs.move_to_end(key)
                return pix
            if not e.failed and key not in self._thumb_errors:
                self.thumbnail_requested.emit(key)
            return None
        if role == ThumbErrorRole:
            return e.error or self._thumb_errors.get(str(e.path), "")
        return None


SORT_KEYS = ("score", "name", "date", "burst")


class PhotoProxyModel(QSortFilterProxyModel):
    """Sort by score / name / date taken / burst; filter by score range and decision.

    "burst": bursts in capture order, each group's best shot first, then its other shots in
    capture order; photos not analysed yet last.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sort_key = "name"
        self.score_range = (0.0, 100.0)
        self.decision = "all"
        # sort key per source row, computed once: Qt calls lessThan ~n log n times (140,000 for
        # 10,000 photos), and building two keys per call made opening a big folder take seconds
        self._keys: list | None = None
        self.setDynamicSortFilter(True)
        self.setSortRole(EntryRole)

    def setSourceModel(self, model) -> None:
        # connected before Qt's own handlers (which re-sort): stale keys are dropped first
        model.modelAboutToBeReset.connect(self._forget_keys)
        model.dataChanged.connect(self._refresh_keys)
        super().setSourceModel(model)

    def _forget_keys(self) -> None:
        self._keys = None

    def _refresh_keys(self, top: QModelIndex, bottom: QModelIndex, roles=()) -> None:
        if self._keys is not None:
            model = self.sourceModel()
            for row in range(top.row(), bottom.row() + 1):
                self._keys[row] = self._key(model.entry(row))

    def invalidate(self) -> None:
        """Re-sort and re-filter everything (entries changed without a dataChanged, e.g. dates)."""
        self._keys = None
        super().invalidate()

    def set_sort_key(self, key: str, descending: bool | None = None) -> None:
        if key not in SORT_KEYS:
            raise ValueError(key)
        self.sort_key = key
        self._keys = None
        if descending is None:
            descending = key == "score"  # best first; names and dates oldest first
        self.invalidate()
        self.sort(0, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)

    def set_filter(self, lo: float | None = None, hi: float | None = None, decision: str | None = None) -> None:
        cur_lo, cur_hi = self.score_range
        self.score_range = (cur_lo if lo is None else float(lo), cur_hi if hi is None else float(hi))
        if decision is not None:
            self.decision = decision
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        e = self.sourceModel().entry(source_row)
        return e.matches(*self.score_range, self.decision)

    def _key(self, e: Entry):
        if self.sort_key == "score":
            # unscored / failed sort below every score in descending order
            return (e.score is not None and not e.failed, e.score or 0.0, e.name.lower())
        if self.sort_key == "burst":
            b = e.burst
            if b is None:
                return (1, 0, 0, 0, e.name.lower())
            return (0, b.group, not b.best, b.index, e.name.lower())
        if self.sort_key == "date":
            return (e.taken if e.taken is not None else float("inf"), e.name.lower())
        return (e.name.lower(), str(e.path))

    def lessThan(self, left: Index, right: Index) -> bool:
        keys = self._keys
        if keys is None:
            model = self.sourceModel()
            keys = self._keys = [self._key(model.entry(row)) for row in range(model.rowCount())]
        return keys[left.row()] < keys[right.row()]

    def entry_at(self, proxy_row: int) -> Entry:
        return self.sourceModel().entry(self.mapToSource(self.index(proxy_row, 0)).row())

    def proxy_row_of(self, path: Path) -> int:
        src = self.sourceModel().index(self.sourceModel().row_of(path))
        return self.mapFromSource(src).row()
