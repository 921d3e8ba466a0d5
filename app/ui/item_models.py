"""Qt item models over a :class:`photocull.app.core.session.CullSession`: the grid's rows (the Qt sense
of "model"; the quality model is :mod:`photocull.model`)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from photocull.app.core.paths import as_path
from photocull.app.core.session import Change, CullSession, Entry

__all__ = ["EntryRole", "ThumbRole", "ThumbErrorRole", "PhotoListModel", "PhotoProxyModel", "SORT_KEYS", "reasons_text",
           "sort_key"]

EntryRole = Qt.ItemDataRole.UserRole + 1
ThumbRole = Qt.ItemDataRole.UserRole + 2
ThumbErrorRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex


SORT_KEYS = ("score", "name", "date", "burst")
# a refresh touching more separate runs of rows than this sends one dataChanged over their span
_MAX_RUNS = 32


def reasons_text(e: Entry) -> str:
    """The reasons named with their severity, as the detail view and the tooltip show them:
    "noisy (strong) · underexposed (mild)" (tiles show the labels alone, to stay compact)."""
    return " · ".join(f"{label} ({word})" for label, _, word in e.findings)


def sort_key(key: str, e: Entry) -> tuple:
    """What rows are ordered by. "score": unscored and failed photos below every score (in the
    descending order it is shown in); "burst": bursts in capture order, each group's best shot
    first, then its other shots in capture order; photos not analysed yet last. Ties: by name."""
    name = (e.name.lower(), str(e.path))
    if key == "score":
        return (e.score is not None and not e.failed, e.score or 0.0, *name)
    if key == "burst":
        b = e.burst
        return (1, 0, False, 0, *name) if b is None else (0, b.group, not b.best, b.index, *name)
    if key == "date":
        return (e.taken if e.taken is not None else float("inf"), *name)
    return name


class PhotoListModel(QAbstractListModel):
    """One row per session entry, in the chosen sort order.

    The order is kept here and sorted in Python by one key per row rather than by a
    ``QSortFilterProxyModel``, whose sort calls back into Python for every comparison and row
    count (see benchmarks/RESULTS.md for large folders). A change of order is one ``layoutChanged`` with
    the persistent indexes (selection, current photo) moved along.

    ``thumbnail_requested(path)`` is emitted the first time a visible row needs
    its thumbnail; :meth:`set_thumbnail` stores the result (as a QPixmap, made
    here on the GUI thread) in a bounded LRU cache.
    """

    thumbnail_requested = Signal(str)

    def __init__(self, parent=None, cache_limit: int = 3000):
        super().__init__(parent)
        self.session = CullSession()
        self.session.subscribe(self._on_change)
        self.sort_key = "name"
        self.descending = False
        self._keys: list[tuple] = []  # sort key per session entry
        self._order: list[int] = []  # row -> index in session.entries
        self._row: dict[Path, int] = {}  # path -> row
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._thumb_errors: dict[str, str] = {}
        self._cache_limit = cache_limit

    # -- content ------------------------------------------------------------
    def set_session(self, session: CullSession) -> None:
        """Show ``session``'s entries; its change events refresh the rows from now on."""
        self.beginResetModel()
        self.session.unsubscribe(self._on_change)
        self.session = session
        session.subscribe(self._on_change)
        self._keys = [sort_key(self.sort_key, e) for e in session.entries]
        self._set_order(self._sorted())
        self._thumbs.clear()
        self._thumb_errors.clear()
        self.endResetModel()

    def entry(self, row: int) -> Entry:
        return self.session.entries[self._order[row]]

    def row_of(self, path: Path) -> int:
        return self._row[as_path(path)]

    # -- order --------------------------------------------------------------
    def set_sort(self, key: str, descending: bool | None = None) -> None:
        """Order rows by ``key`` (:data:`SORT_KEYS`); by default scores best first, the others ascending."""
        if key not in SORT_KEYS:
            raise ValueError(key)
        self.sort_key = key
        self.descending = key == "score" if descending is None else bool(descending)
        self._keys = [sort_key(key, e) for e in self.session.entries]
        self._reorder()

    def _sorted(self) -> list[int]:
        keys = self._keys
        return sorted(range(len(keys)), key=keys.__getitem__, reverse=self.descending)

    def _set_order(self, order: list[int]) -> None:
        entries = self.session.entries
        self._order = order
        self._row = {entries[i].path: row for row, i in enumerate(order)}

    def _reorder(self) -> bool:
        """Apply the order of the current keys; whether any row moved."""
        order = self._sorted()
        if order == self._order:
            return False
        self.layoutAboutToBeChanged.emit()
        old = self._order
        self._set_order(order)
        persistent = self.persistentIndexList()
        if persistent:
            row_of_entry = {i: row for row, i in enumerate(order)}
            self.changePersistentIndexList(persistent, [self.index(row_of_entry[old[p.row()]]) for p in persistent])
        self.layoutChanged.emit()
        return True

    def _on_change(self, change: Change) -> None:
        self.refresh(change.paths)

    def refresh(self, paths) -> None:
        """The entries of ``paths`` changed: re-sort if their place changed (one ``layoutChanged``,
        after which every row is read again), else repaint and re-filter their rows."""
        rows = sorted({self._row[p] for p in map(as_path, paths) if p in self._row})
        if not rows:
            return
        entries, keys, moved = self.session.entries, self._keys, False
        for row in rows:
            i = self._order[row]
            key = sort_key(self.sort_key, entries[i])
            if key != keys[i]:
                keys[i], moved = key, True
        if moved and self._reorder():
            return
        runs, start = [], rows[0]
        for prev, row in zip(rows, rows[1:] + [None]):
            if row != prev + 1:
                runs.append((start, prev))
                start = row
        if len(runs) > _MAX_RUNS:  # scattered rows: one signal (the proxy re-filters the span)
            runs = [(rows[0], rows[-1])]
        for first, last in runs:
            self.dataChanged.emit(self.index(first), self.index(last))

    def set_thumbnail(self, path: str, image: QImage, error: str) -> None:
        if error or image.isNull():
            self._thumb_errors[path] = error or "could not decode"
        else:
            self._thumbs[path] = QPixmap.fromImage(image)
            self._thumbs.move_to_end(path)
            while len(self._thumbs) > self._cache_limit:
                self._thumbs.popitem(last=False)
        row = self._row.get(as_path(path))
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
        e = self.entry(index.row())
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
            if e.findings:
                tip += "\n" + reasons_text(e)
            if e.label is not None:
                tip += f"\nlabel: {e.label}"
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


class PhotoProxyModel(QSortFilterProxyModel):
    """Filter by score range, decision, stars (at least) and colour label; rows keep the source
    model's order (it sorts)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.score_range = (0.0, 100.0)
        self.decision = "all"
        self.min_stars = 0
        self.label = "any"  # a colour of LABEL_FILTERS, "none" or "any"
        self.setDynamicSortFilter(True)  # re-filter rows whose data changed

    def set_filter(self, lo: float | None = None, hi: float | None = None, decision: str | None = None,
                   min_stars: int | None = None, label: str | None = None) -> None:
        """Change the given filters (None: keep as is); see :meth:`Entry.matches`."""
        cur_lo, cur_hi = self.score_range
        self.score_range = (cur_lo if lo is None else float(lo), cur_hi if hi is None else float(hi))
        if decision is not None:
            self.decision = decision
        if min_stars is not None:
            self.min_stars = int(min_stars)
        if label is not None:
            self.label = label
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        e = self.sourceModel().entry(source_row)
        return e.matches(*self.score_range, self.decision, self.min_stars, self.label)

    def entry_at(self, proxy_row: int) -> Entry:
        return self.sourceModel().entry(self.mapToSource(self.index(proxy_row, 0)).row())

    def proxy_row_of(self, path: Path) -> int:
        src = self.sourceModel().index(self.sourceModel().row_of(path))
        return self.mapFromSource(src).row()
