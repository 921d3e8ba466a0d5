"""The main window: grid, detail and compare views, culling actions, workers, log dock."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from photocull.app.core import jobs
from photocull.app.core.jobs import analysis_job, learn_job
from photocull.app.core.session import (
    DECISION_FILTERS,
    LABEL_FILTERS,
    PICK,
    REJECT,
    UNFLAGGED,
    Change,
    CullSession,
    Entry,
)

from .bridge import EngineBridge
from .delegate import PhotoDelegate
from .detail import CompareView, DetailView
from .dialogs import AutoCullDialog, BestOfBurstDialog, ExportDialog, SettingsDialog
from .filmstrip import Filmstrip
from .item_models import PhotoListModel, PhotoProxyModel
from .range_slider import RangeSlider
from .settings import Settings
from .timing import GuiTimes
from .workers import (
    DetailWorker,
    GeneratorWorker,
    LruCache,
    Prefetcher,
    ThreadRegistry,
    ThumbnailLoader,
    decode_for_loupe,
    pil_to_qimage,
)

__all__ = ["MainWindow"]

GRID, DETAIL, COMPARE = 0, 1, 2
_SORT_LABELS = {"score": "Score (best first)", "name": "File name", "date": "Date taken",
                "burst": "Bursts (best first)"}
_DECISION_LABELS = {"all": "All photos", PICK: "Picked", REJECT: "Rejected", UNFLAGGED: "Unflagged",
                    "error": "Errors"}
_LABEL_KEYS = {"6": "Red", "7": "Yellow", "8": "Green", "9": "Blue"}  # Lightroom's colour-label keys
_STAR_FILTERS = {0: "any", **{n: "≥ " + "★" * n for n in range(1, 6)}}
_LABEL_FILTER_TEXT = {"any": "any label", "none": "no label"}


class _LogBridge(QObject, logging.Handler):
    """Forwards log records of app/model loggers (any thread) to the log dock."""

    record = Signal(str, int)

    def __init__(self):
        QObject.__init__(self)
        logging.Handler.__init__(self, logging.INFO)

    def emit(self, rec: logging.LogRecord) -> None:  # logging.Handler API
        self.record.emit(self.format(rec), rec.levelno)


class GridView(QListView):
    """The thumbnail grid. Its cells are widened so the columns that fit fill the whole width
    (no unused strip on the right); ``cell`` is the smallest cell."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cell = QSize(0, 0)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # no data() call per row for layout: only painted rows load
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSpacing(2)
        self.setWordWrap(False)
        self.setAcceptDrops(False)

    def set_cell(self, cell: QSize) -> None:
        self.cell = cell
        self._fill_width()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fill_width()

    def layout_width(self) -> int:
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar())
        return self.maximumViewportSize().width() - bar - 2 * self.spacing()

    def _fill_width(self) -> None:
        if self.cell.isEmpty():
            return
        # the width Qt lays the items out in: it always keeps room for the vertical scroll bar, and a
        # spacing at both ends
        width = self.layout_width()
        grid = QSize(max(self.cell.width(), width // max(1, width // self.cell.width())), self.cell.height())
        if grid != self.gridSize():
            self.setGridSize(grid)


class MainWindow(QMainWindow):
    """photocull's window. ``bridge`` is injectable (tests pass one with a fake scorer)."""

    folder_loaded = Signal(int)  # generation; emitted when scoring of a folder ended (done or cancelled)
    export_done = Signal()
    analysis_done = Signal(int)  # generation; reasons and bursts of the folder are known
    heatmap_shown = Signal()  # the loupe's photo got its heatmap
    learn_done = Signal(object)  # LearnReport, or the message why nothing was learned

    def __init__(self, settings: Settings | None = None, bridge: EngineBridge | None = None):
        super().__init__()
        self.settings = settings or Settings()
        self.bridge = bridge or EngineBridge(self.settings)
        self.setWindowTitle("photocull")
        self.resize(1400, 900)
        self.setAcceptDrops(True)

        self.generation = 0
        self.folder: Path | None = None
        self.companions: dict[Path, list[Path]] = {}
        self._items: list = []  # the folder's scanned PhotoItems: the analysis job reuses them
        self._scan_failed: set[Path] = set()
        self.stale_dropped = 0  # results of an older generation that were ignored (for tests / debugging)
        self.registry = ThreadRegistry(self)
        self._score_worker: GeneratorWorker | None = None
        self._task_worker: GeneratorWorker | None = None
        self._analysis_worker: GeneratorWorker | None = None
        self._learn_worker: GeneratorWorker | None = None
        self.learn_box: QMessageBox | None = None
        self.cull_dialog = None  # the open Auto-cull / best-of-burst dialog
        self._detail_worker: DetailWorker | None = None
        self._prefetcher: Prefetcher | None = None
        self._detail_request = 0
        self._detail_shown = 0  # the request whose photo the loupe shows (from the cache or the worker)
        self._direction = 1  # the way the photographer moves through the loupe (+1 / -1): heatmap ahead
        self.decoded = LruCache(8)  # loupe photos decoded ahead (workers.Decoded)
        self.heats = LruCache(32)  # heat layers (QImage) of the loupe's photos, computed or ahead
        self.times = GuiTimes()  # first thumbnail, loupe photo and heatmap delays (tools/walkthrough.py)
        self._progress = {"done": 0, "total": 0, "computed": 0, "t0": 0.0}

        # models + grid
        self.list_model = PhotoListModel(self)
        self.proxy = PhotoProxyModel(self)
        self.proxy.setSourceModel(self.list_model)
        self.grid = GridView()
        self.grid.setModel(self.proxy)
        self.delegate = PhotoDelegate(200, self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.grid.set_cell(QSize(self.delegate.cell + 4, self.delegate.cell + 40))
        self.grid.doubleClicked.connect(lambda _i: self.show_detail())
        self.grid.activated.connect(lambda _i: self.show_detail())  # Enter / Return
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_status())

        self.thumbs = ThumbnailLoader(self.bridge.load_thumbnail, size=self.bridge.thumb_size, parent=self)
        self.list_model.thumbnail_requested.connect(self.thumbs.request)
        self.thumbs.ready.connect(self._on_thumbnail)
        self.previews = ThumbnailLoader(self.bridge.load_preview, size=1400, threads=2, parent=self)
        self.previews.ready.connect(self._on_compare_preview)
        self.compare_full = ThumbnailLoader(lambda p, _size: pil_to_qimage(self.bridge.load_full(p)),
                                            size=0, threads=1, parent=self)
        self.compare_full.ready.connect(lambda g, p, img, err: err or self.compare.set_full_image(p, img))

        self.detail = DetailView()
        self.detail.navigate.connect(self.navigate)
        self.detail.back.connect(self.show_grid)
        self.detail.heat_box.setChecked(self.settings.show_heatmap)
        self.detail.opacity.setValue(self.settings.heatmap_opacity)
        self.detail.heatmap_toggled.connect(self._on_heatmap_toggled)
        self.detail.opacity_changed.connect(lambda v: setattr(self.settings, "heatmap_opacity", v))
        self.compare = CompareView()
        self.compare.back.connect(self.show_grid)

        self.filmstrip = Filmstrip()
        self.filmstrip.setModel(self.proxy)
        self.filmstrip.chosen.connect(lambda row: self.show_detail_for(self.proxy.entry_at(row)))
        self.loupe = QWidget()  # the stack's loupe page: the detail view over the filmstrip
        loupe_layout = QVBoxLayout(self.loupe)
        loupe_layout.setContentsMargins(0, 0, 0, 0)
        loupe_layout.setSpacing(0)
        loupe_layout.addWidget(self.detail, 1)
        loupe_layout.addWidget(self.filmstrip)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.loupe)
        self.stack.addWidget(self.compare)
        self.empty_hint = QLabel("Open a folder of photos (Ctrl+O) or drop one here.")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet("color: gray; font-size: 16pt;")
        self.stack.addWidget(self.empty_hint)
        self.stack.setCurrentWidget(self.empty_hint)
        self.setCentralWidget(self.stack)

        self._build_log_dock()
        self._build_actions()
        self._build_toolbar()
        self._build_statusbar()
        self._status_timer = QTimer(self, singleShot=True, interval=100, timeout=self._update_status)
        # the grid's current photo, once the cursor rests on it, is readied for the loupe
        self._prepare_timer = QTimer(self, singleShot=True, interval=400, timeout=self._prepare_current)
        self.grid.selectionModel().currentChanged.connect(lambda *_: self._prepare_timer.start())

    # ------------------------------------------------------------------ UI
    def _build_log_dock(self) -> None:
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("log")
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.log_dock.hide()
        self._log_bridge = _LogBridge()
        self._log_bridge.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self._log_bridge.record.connect(self.log)
        for name in ("app", "model"):
            logging.getLogger(name).addHandler(self._log_bridge)
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.INFO)

    def _action(self, text: str, slot, shortcut=None, menu=None, checkable=False, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        if menu is not None:
            menu.addAction(a)
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.act_open = self._action("&Open folder…", self.choose_folder, QKeySequence.StandardKey.Open, f)
        self.act_export = self._action("&Export decisions…", self.choose_export, "Ctrl+E", f)
        self.act_undo_move = self._action("Undo last &move into Keep/Reject", self.undo_move, None, f)
        f.addSeparator()
        self._action("&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences, f)
        f.addSeparator()
        self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, f)

        e = mb.addMenu("&Edit")
        self.act_undo = self._action("&Undo decision", self.undo, QKeySequence.StandardKey.Undo, e)
        self.act_redo = self._action("&Redo decision", self.redo, "Ctrl+Shift+Z", e)
        e.addSeparator()
        self._action("Select &all", self.grid.selectAll, QKeySequence.StandardKey.SelectAll, e)

        p = mb.addMenu("&Photo")
        self._action("&Pick", lambda: self.set_flag(PICK), "P", p)
        self._action("&Reject", lambda: self.set_flag(REJECT), "X", p)
        self._action("&Unflag", lambda: self.set_flag(UNFLAGGED), "U", p)
        p.addSeparator()
        for n in range(6):
            self._action(f"{n} star{'s' if n != 1 else ''}", lambda _=False, n=n: self.set_stars(n), str(n), p)
        p.addSeparator()
        for key, colour in _LABEL_KEYS.items():
            self._action(f"{colour} label", lambda _=False, c=colour: self.toggle_label(c), key, p,
                         tip=f"{colour} colour label; {key} again clears it (as in Lightroom)")
        p.addSeparator()
        self.act_auto_advance = self._action("Auto-&advance after a decision", self._toggle_auto_advance,
                                             None, p, checkable=True,
                                             tip="Move to the next photo after P / X / U / stars (Lightroom's Caps Lock)")
        self.act_auto_advance.setChecked(self.settings.auto_advance)
        p.addSeparator()
        self._action("Auto-&cull…", self.choose_auto_cull, "Ctrl+K", p)
        self.act_best_of_burst = self._action(
            "Auto-cull → &best of each burst…", self.choose_best_of_burst, "Ctrl+Shift+K", p,
            tip="Pick the best shot of every burst / near-duplicate group and reject the others")
        p.addSeparator()
        self.act_learn = self._action("&Learn from my picks…", self.learn_from_picks, None, p,
                                      tip="Fine-tune a personal model on the picks and rejects of this folder")

        v = mb.addMenu("&View")
        self._action("&Grid", self.show_grid, "G", v)
        self._action("&Detail", self.show_detail, "D", v)
        self._action("&Compare selected", self.show_compare, "C", v)
        self._action("Toggle &heatmap", self.detail.toggle_heatmap, "H", v)
        self.act_full_screen = self._action("&Full screen", self.toggle_full_screen, "F", v, checkable=True)
        self._action("&Keyboard shortcuts", self.show_shortcuts, "?", v)
        v.addSeparator()
        sort_menu = v.addMenu("&Sort by")
        group = QActionGroup(self)
        self.sort_actions = {}
        for key, label in _SORT_LABELS.items():
            a = self._action(label, lambda _=False, k=key: self.set_sort(k), None, sort_menu, checkable=True)
            group.addAction(a)
            self.sort_actions[key] = a
        v.addSeparator()
        v.addAction(self.log_dock.toggleViewAction())
        self.log_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+L"))

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("main")
        tb.setMovable(False)
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        tb.addSeparator()
        tb.addWidget(QLabel(" Sort "))
        self.sort_box = QComboBox()
        for key, label in _SORT_LABELS.items():
            self.sort_box.addItem(label, key)
        self.sort_box.currentIndexChanged.connect(lambda i: self.set_sort(self.sort_box.itemData(i)))
        self.sort_box.activated.connect(self.return_focus)
        tb.addWidget(self.sort_box)
        tb.addWidget(QLabel("  Show "))
        self.decision_box = QComboBox()
        for key in DECISION_FILTERS:
            self.decision_box.addItem(_DECISION_LABELS[key], key)
        self.decision_box.currentIndexChanged.connect(
            lambda i: self.set_filter(decision=self.decision_box.itemData(i)))
        self.decision_box.activated.connect(self.return_focus)
        tb.addWidget(self.decision_box)
        self.stars_box = QComboBox()
        self.stars_box.setToolTip("Show photos with at least this many stars")
        for n, text in _STAR_FILTERS.items():
            self.stars_box.addItem("stars " + text if n == 0 else text, n)
        self.stars_box.currentIndexChanged.connect(lambda i: self.set_filter(min_stars=self.stars_box.itemData(i)))
        self.stars_box.activated.connect(self.return_focus)
        tb.addWidget(self.stars_box)
        self.label_box = QComboBox()
        self.label_box.setToolTip("Show photos with this colour label")
        for key in LABEL_FILTERS:
            self.label_box.addItem(_LABEL_FILTER_TEXT.get(key, key), key)
        self.label_box.currentIndexChanged.connect(lambda i: self.set_filter(label=self.label_box.itemData(i)))
        self.label_box.activated.connect(self.return_focus)
        tb.addWidget(self.label_box)
        tb.addWidget(QLabel("  Score "))
        self.range_slider = RangeSlider()
        self.range_slider.setRange(0, 100)
        self.range_slider.setFixedSize(300, 26)
        self.range_slider.valueChanged.connect(lambda v: self.set_filter(lo=v[0], hi=v[1]))
        self.range_slider.sliderReleased.connect(self.return_focus)
        tb.addWidget(self.range_slider)
        tb.addSeparator()
        for text, slot in (("Auto-cull…", self.choose_auto_cull), ("Compare", self.show_compare),
                           ("Export…", self.choose_export)):
            b = QPushButton(text)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            tb.addWidget(b)
        self.set_sort(self.settings.sort if self.settings.sort in _SORT_LABELS else "name")

    def return_focus(self, *_args) -> None:
        """Give the keyboard back to the grid or the loupe after a toolbar control was used, so
        arrows, P/X/U and stars act on photos again (not on the combo box)."""
        page = self.stack.currentWidget()
        target = {self.empty_hint: self.grid, self.loupe: self.detail}.get(page, page)
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.counts_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.rate_label = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel_scoring)
        self.cancel_button.hide()
        self.cancelled_label = QLabel()  # "cancelled: N of M scored", with the Resume button
        self.cancelled_label.hide()
        self.resume_button = QPushButton("Resume")
        self.resume_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.resume_button.setToolTip("Score the photos that are not scored yet (the scored ones are not rescored)")
        self.resume_button.clicked.connect(self.resume_scoring)
        self.resume_button.hide()
        sb.addWidget(self.counts_label, 1)
        sb.addPermanentWidget(self.rate_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.cancelled_label)
        sb.addPermanentWidget(self.resume_button)

    # ------------------------------------------------------------------ log
    def log(self, message: str, level: int = logging.INFO) -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = {logging.ERROR: "ERROR ", logging.WARNING: "WARNING "}.get(level, "")
        self.log_view.appendPlainText(f"{stamp} {prefix}{message}")
        if level >= logging.WARNING:
            self.log_dock.show()
            self.statusBar().showMessage(message.splitlines()[-1][:200], 8000)

    # ------------------------------------------------------------------ folder + scoring
    def choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open a folder of photos", self.settings.last_folder)
        if d:
            self.open_folder(d)

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.open_folder(event.mimeData().urls()[0].toLocalFile())

    def open_folder(self, folder: str | Path) -> int:
        """Start loading ``folder``; returns its generation. Results of older generations are dropped."""
        self.cancel_scoring()
        self.generation += 1
        gen = self.generation
        self.folder = Path(folder).resolve()
        self.settings.last_folder = str(self.folder)
        self.setWindowTitle(f"photocull — {self.folder}")
        self.thumbs.reset(gen)
        self.previews.reset(gen)
        self.compare_full.reset(gen)
        self.decoded.clear()
        self.heats.clear()
        if self._prefetcher is not None:
            self._prefetcher.reset(gen)
        self.companions, self._items = {}, []
        self._set_session(CullSession())
        self.stack.setCurrentWidget(self.grid)
        self._progress = {"done": 0, "total": 0, "computed": 0, "t0": time.monotonic()}
        self.progress.setRange(0, 0)
        self.progress.setFormat("scanning…")
        self.log(f"opening {self.folder}")
        self._start_scoring(gen, self.bridge.folder_job(self.folder))
        return gen

    def _on_thumbnail(self, gen: int, path: str, image: QImage, error: str) -> None:
        self.list_model.set_thumbnail(path, image, error)
        if not error:
            self.times.thumbnail_shown()

    def _start_scoring(self, gen: int, job) -> None:
        self.progress.show()
        self.cancel_button.show()
        self.cancelled_label.hide()
        self.resume_button.hide()
        self.rate_label.clear()
        w = GeneratorWorker(gen, job)
        w.item.connect(self._on_folder_item)
        w.failed.connect(self._on_worker_failed)
        w.finished.connect(self._on_folder_finished)
        self._score_worker = w
        self.registry.start(w, f"photocull-score-{gen}")

    def resume_scoring(self) -> None:
        """After a cancel: score the rest of the folder in the same session (decisions, undo and view
        kept); the photos already scored come back from the cache, not rescored."""
        if self.folder is None or self._score_worker is not None:
            return
        if not self._items:  # cancelled while scanning: nothing known yet, open it again
            self.open_folder(self.folder)
            return
        p = self._progress
        p.update(done=0, computed=0, t0=time.monotonic())
        self.progress.setRange(0, max(1, p["total"]))
        self.progress.setValue(0)
        self.progress.setFormat("loading model…")
        self.log(f"resuming: scoring the rest of {self.folder}")
        self._start_scoring(self.generation, self.bridge.score_job(self._items))

    def cancel_scoring(self) -> None:
        if self._analysis_worker is not None:
            self._analysis_worker.cancel()
            self._analysis_worker = None
        if self._score_worker is not None:
            self._score_worker.cancel()

    def _set_session(self, session: CullSession) -> None:
        """Show ``session``; from now on its change events save decisions and refresh the views."""
        self.list_model.session.unsubscribe(self._on_session_changed)
        self.list_model.set_session(session)  # the item model follows the events itself
        session.subscribe(self._on_session_changed)

    def _on_session_changed(self, change: Change) -> None:
        """Every session change: the photographer's decisions are saved at once; the views showing
        the changed photos are brought up to date."""
        session = self.list_model.session
        if change.decisions:
            self.bridge.save_decisions([session.get(p) for p in change.paths])
        page = self.stack.currentWidget()
        if page is self.loupe and self.detail.entry is not None and self.detail.entry.path in change.paths:
            self.detail.update_entry()
        elif page is self.compare:
            for p in change.paths:
                self.compare.update_entry(session.get(p))
        if change.decisions:
            self._update_status()
        else:  # scores arrive in many small batches: one count after them
            self._status_timer.start()

    def _on_folder_item(self, gen: int, msg: object) -> None:
        if gen != self.generation:
            self.stale_dropped += 1
            return
        if isinstance(msg, jobs.Scanned):
            entries, self.companions, self._items = msg.entries, msg.companions, msg.items
            self._scan_failed = {e.path for e in entries if e.failed}
            self._set_session(CullSession(entries))
            self._progress["total"] = sum(1 for e in entries if not e.failed)
            self.progress.setRange(0, max(1, self._progress["total"]))
            self.progress.setValue(0)
            self.progress.setFormat("loading model…")
            if self.grid.model().rowCount():
                self.grid.setCurrentIndex(self.proxy.index(0, 0))
            self.log(f"{len(entries)} photo(s) found")
        elif isinstance(msg, jobs.ModelReady):
            self.log(f"scoring with model {msg.model_id}")
            self._progress["t0"] = time.monotonic()
            self.progress.setFormat("%v / %m")
        elif isinstance(msg, jobs.Scores):
            session = self.list_model.session
            for r in msg.results:
                if r.path in session and r.path not in self._scan_failed:  # not part of the progress total
                    self._progress["done"] += 1
                    self._progress["computed"] += not r.cached
            session.set_scores(msg.results)
            p = self._progress
            self.progress.setValue(min(p["done"], self.progress.maximum()))
            elapsed = time.monotonic() - p["t0"]
            if p["computed"] and elapsed > 0:
                self.rate_label.setText(f"{p['computed'] / elapsed:.1f} img/s")
        elif isinstance(msg, jobs.Dates):
            self.list_model.session.set_taken(msg.taken)

    def _on_folder_finished(self, gen: int, cancelled: bool) -> None:
        if gen != self.generation:
            return
        self._score_worker = None
        self.progress.hide()
        self.cancel_button.hide()
        c = self.list_model.session.counts()
        if cancelled:
            text = f"cancelled: {c['scored']} of {self._progress['total'] or c['total']} scored"
            self.log(f"scoring {text}")
            self.cancelled_label.setText(text)
            self.cancelled_label.show()
            self.resume_button.show()
        else:
            self.log(f"scoring done: {c['scored']} scored, {c['errors']} error(s)")
        self._update_status()
        self.folder_loaded.emit(gen)
        if not cancelled:
            self._start_analysis(gen)
            self._prepare_current()

    # ------------------------------------------------------------------ reasons + bursts
    def _start_analysis(self, gen: int) -> None:
        entries = list(self.list_model.session.entries)
        if not entries:
            return
        w = GeneratorWorker(gen, analysis_job(self.bridge.cache, self._items, {e.path: e.score for e in entries}))
        w.item.connect(self._on_analysis_item)
        w.failed.connect(self._on_worker_failed)
        w.finished.connect(self._on_analysis_finished)
        self._analysis_worker = w
        self.registry.start(w, f"photocull-analysis-{gen}")

    def _on_analysis_item(self, gen: int, msg: object) -> None:
        if gen != self.generation:
            self.stale_dropped += 1
            return
        session = self.list_model.session
        if isinstance(msg, jobs.Reasons):
            session.set_reasons(msg.findings)
        elif isinstance(msg, jobs.Bursts):
            session.set_bursts(msg.groups)
            n = len({b.group for b in msg.groups.values() if b.is_burst})
            self.log(f"{n} burst(s) of similar shots found")

    def _on_analysis_finished(self, gen: int, cancelled: bool) -> None:
        if gen != self.generation:
            return
        self._analysis_worker = None
        if not cancelled:
            self.analysis_done.emit(gen)

    def auto_cull_best_of_burst(self, threshold: float | None = None, overwrite: bool = False,
                                stars: bool = False) -> list[Path]:
        """Pick the best shot of each burst, reject the others (singles below ``threshold`` too)."""
        proposal = self.list_model.session.preview_best_of_burst(threshold, overwrite, stars)
        return self._apply_proposal(proposal, "auto-cull (best of each burst)")

    # ------------------------------------------------------------------ learn from picks
    def learn_from_picks(self) -> None:
        """Fine-tune a personal model on this folder's picks/rejects (worker); report in a box."""
        if self.folder is None or self._learn_worker is not None:
            return
        w = GeneratorWorker(self.generation, learn_job(self.folder, self.bridge.cache, self.settings.checkpoint))
        w.item.connect(self._on_learn_item)
        w.failed.connect(self._on_worker_failed)
        w.finished.connect(lambda *_: setattr(self, "_learn_worker", None))
        self._learn_worker = w
        self.log("learning from your picks…")
        self.registry.start(w, "photocull-learn")

    def _on_learn_item(self, gen: int, msg: jobs.Learned | jobs.LearnRefused) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Learn from my picks")
        if isinstance(msg, jobs.LearnRefused):
            box.setIcon(QMessageBox.Icon.Information)
            box.setText(msg.message)
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
            self.log(msg.message, logging.WARNING)
            result = msg.message
        else:
            result = msg.report
            box.setText(result.summary() + "\n\nScore with this personal model from now on?")
            box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            box.button(QMessageBox.StandardButton.Yes).clicked.connect(
                lambda _=False, d=result.model_dir: self.use_model(d))
            self.log(result.summary())
        self.learn_box = box
        box.open()
        self.learn_done.emit(result)

    def use_model(self, model_dir: str) -> None:
        """Score with ``model_dir`` from now on (the model setting) and rescore the open folder."""
        self.settings.checkpoint = str(model_dir)
        self.log(f"model set to {model_dir}")
        if self.folder is not None:
            self.open_folder(self.folder)

    def _on_worker_failed(self, gen: int, tb: str) -> None:
        self.log(f"a background task failed:\n{tb.rstrip()}", logging.ERROR)

    # ------------------------------------------------------------------ sort / filter
    def set_sort(self, key: str) -> None:
        self.list_model.set_sort(key)
        self.settings.sort = key
        i = self.sort_box.findData(key)
        if i != self.sort_box.currentIndex():
            self.sort_box.setCurrentIndex(i)
        self.sort_actions[key].setChecked(True)

    def set_filter(self, lo: float | None = None, hi: float | None = None, decision: str | None = None,
                   min_stars: int | None = None, label: str | None = None) -> None:
        """Filter the grid (:meth:`PhotoProxyModel.set_filter`); None keeps a filter as it is."""
        self.proxy.set_filter(lo, hi, decision, min_stars, label)
        for box, value in ((self.decision_box, decision), (self.stars_box, min_stars), (self.label_box, label)):
            if value is not None and box.currentData() != value:
                box.setCurrentIndex(box.findData(value))
        self._status_timer.start()

    # ------------------------------------------------------------------ selection helpers
    def visible_entries(self) -> list[Entry]:
        return [self.proxy.entry_at(r) for r in range(self.proxy.rowCount())]

    def current_entry(self) -> Entry | None:
        idx = self.grid.currentIndex()
        return self.proxy.entry_at(idx.row()) if idx.isValid() else None

    def selected_entries(self) -> list[Entry]:
        """The photos a decision applies to: the detail photo, else the selection, else the current one."""
        if self.stack.currentWidget() is self.loupe and self.detail.entry is not None:
            return [self.detail.entry]
        if self.stack.currentWidget() is self.compare and self.compare.active_entry is not None:
            return [self.list_model.session.get(self.compare.active_entry.path)]
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        if rows:
            return [self.proxy.entry_at(r) for r in rows]
        cur = self.current_entry()
        return [cur] if cur is not None else []

    def select_path(self, path: Path) -> None:
        row = self.proxy.proxy_row_of(path)
        if row < 0:
            return
        idx = self.proxy.index(row, 0)
        self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(idx)

    # ------------------------------------------------------------------ culling
    def _next_path_after(self, entries: list[Entry], backwards: bool = True) -> Path | None:
        """The photo to move to after deciding ``entries``: the next in view order, else (with
        ``backwards``) the previous one."""
        if not entries:
            return None
        rows = [self.proxy.proxy_row_of(e.path) for e in entries]
        last, first = max(rows), min(rows)
        decided = {e.path for e in entries}
        before = range(first - 1, -1, -1) if backwards else range(0)
        for r in list(range(last + 1, self.proxy.rowCount())) + list(before):
            p = self.proxy.entry_at(r).path
            if p not in decided:
                return p
        return None

    def _move_on(self, entries: list[Entry]) -> None:
        """Where to go after deciding ``entries`` (the session's change event already saved the
        decision and refreshed the views): auto-advance, or away from a photo the filter hides."""
        advance = self.act_auto_advance.isChecked() and len(entries) == 1
        # auto-advance goes forward only: on the last photo it stays there, as in Lightroom
        target = self._next_path_after(entries, backwards=False) if advance else None
        keep_current = entries[0].path if len(entries) == 1 and not advance else None
        if self.stack.currentWidget() is self.loupe:
            if target is not None:
                self.show_detail_for(self.list_model.session.get(target))
        elif target is not None:
            self.select_path(target)
        elif keep_current is not None and self.proxy.proxy_row_of(keep_current) < 0:
            # the photo left the filtered view: move on instead of losing the place
            nxt = self._next_path_after(entries)
            if nxt is not None:
                self.select_path(nxt)

    def set_flag(self, flag: str) -> None:
        entries = self.selected_entries()
        if entries:
            self.list_model.session.set_flag([e.path for e in entries], flag)
            self._move_on(entries)

    def set_stars(self, n: int) -> None:
        entries = self.selected_entries()
        if entries:
            self.list_model.session.set_stars([e.path for e in entries], n)
            self._move_on(entries)

    def toggle_label(self, colour: str) -> None:
        """Keys 6-9: the colour label of the photos a decision applies to, or cleared if they have it."""
        entries = self.selected_entries()
        if entries:
            self.list_model.session.toggle_label([e.path for e in entries], colour)
            self._move_on(entries)

    def undo(self) -> None:
        self._after_history(self.list_model.session.undo(), "undo")

    def redo(self) -> None:
        self._after_history(self.list_model.session.redo(), "redo")

    def _after_history(self, changed: list[Path], what: str) -> None:
        if not changed:
            self.statusBar().showMessage(f"nothing to {what}", 3000)
        elif self.stack.currentWidget() is self.grid and len(changed) == 1:
            self.select_path(changed[0])

    def toggle_full_screen(self, *_args) -> None:
        """F: full screen on / off."""
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)
        self.act_full_screen.setChecked(self.isFullScreen())

    def shortcut_text(self) -> str:
        """One line per keyboard shortcut of the window's actions: "key  what it does"."""
        rows = [(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText), a.text().replace("&", ""))
                for a in self.actions() if not a.shortcut().isEmpty()]
        return "\n".join(f"{key:<14} {text}" for key, text in rows)

    def show_shortcuts(self) -> None:
        """?: the keyboard shortcuts in a box (:attr:`shortcuts_box`)."""
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", self.shortcut_text(),
                          QMessageBox.StandardButton.Close, self)
        box.setStyleSheet("QLabel { font-family: monospace; }")
        box.finished.connect(self.return_focus)
        self.shortcuts_box = box
        box.open()

    def _toggle_auto_advance(self, on: bool) -> None:
        self.settings.auto_advance = on
        self.statusBar().showMessage(f"auto-advance {'on' if on else 'off'}", 3000)

    def choose_auto_cull(self) -> None:
        """The Auto-cull dialog (non-modal: :attr:`cull_dialog`), its preview live; OK applies it."""
        session = self.list_model.session
        self._open_cull_dialog(AutoCullDialog(session.counts()["scored"], session.preview_auto_cull, self),
                               self.auto_cull)

    def choose_best_of_burst(self) -> None:
        """The best-of-burst dialog (:attr:`cull_dialog`), its preview live; OK applies it."""
        self._open_cull_dialog(BestOfBurstDialog(self.list_model.session.preview_best_of_burst, self),
                               self.auto_cull_best_of_burst)

    def _open_cull_dialog(self, dlg, apply) -> None:
        dlg.accepted.connect(lambda: apply(**dlg.params()))
        dlg.finished.connect(self.return_focus)
        self.cull_dialog = dlg
        dlg.open()

    def auto_cull(self, top_percent: float | None = None, threshold: float | None = None,
                  overwrite: bool = False, stars: bool = False) -> list[Path]:
        """Auto-cull (:meth:`CullSession.auto_cull`); ``overwrite``: the photographer's decisions too;
        ``stars``: picks get the stars of their score."""
        how = f"top {top_percent:g}%" if top_percent is not None else f"score ≥ {threshold:g}"
        proposal = self.list_model.session.preview_auto_cull(top_percent, threshold, overwrite, stars)
        return self._apply_proposal(proposal, f"auto-cull ({how})")

    def _apply_proposal(self, proposal, what: str) -> list[Path]:
        changed = self.list_model.session.apply_proposal(proposal)
        self.log(f"{what}: {len(changed)} decision(s) changed{self._left_alone()} — Ctrl+Z undoes it")
        return changed

    def _left_alone(self) -> str:
        n = len(self.list_model.session.left_alone)
        return f", left {n} of yours alone" if n else ""

    # ------------------------------------------------------------------ views
    def show_grid(self) -> None:
        if self.stack.currentWidget() is self.loupe and self.detail.entry is not None:
            self.select_path(self.detail.entry.path)
        if self.folder is not None:
            self.stack.setCurrentWidget(self.grid)
            self.grid.setFocus()

    def show_detail(self) -> None:
        e = self.current_entry()
        if e is None:
            sel = self.selected_entries()
            e = sel[0] if sel else None
        if e is not None:
            self.show_detail_for(e)

    def _ensure_detail_worker(self) -> DetailWorker:
        if self._detail_worker is None:
            b = self.bridge
            w = DetailWorker(b.load_detail, b.read_exif, b.heatmap, b.load_full, self.decoded, self.heats)
            w.image_ready.connect(self._on_detail_image)
            w.full_ready.connect(self._on_detail_full)
            w.heatmap_ready.connect(self._on_detail_heatmap)
            w.failed.connect(self._on_detail_failed)
            self._detail_worker = w
            self.registry.start(w, "photocull-detail")
            pre = Prefetcher(lambda p: decode_for_loupe(b.load_detail, b.read_exif, p), self.decoded)
            pre.reset(self.generation)
            self._prefetcher = pre
            self.registry.start(pre, "photocull-prefetch")
        return self._detail_worker

    def _prepare_current(self) -> None:
        """Decode the grid's current photo and compute its heatmap ahead (DetailWorker.prepare), so
        Return shows both at once; only while the grid is shown and the folder is scored (scoring
        has the CPU before)."""
        current = self.current_entry()
        if (current is None or current.failed or self._score_worker is not None
                or self.stack.currentWidget() is not self.grid or not self.detail.heat_box.isChecked()
                or current.path in self.heats):
            return
        self._ensure_detail_worker().prepare(current.path)

    def _loupe_neighbour(self, row: int, delta: int) -> Path | None:
        """The readable photo ``delta`` rows from ``row`` in the grid's order and filter, if any."""
        new = row + delta
        if row < 0 or not 0 <= new < self.proxy.rowCount():
            return None
        e = self.proxy.entry_at(new)
        return None if e.failed else e.path

    def show_detail_for(self, e: Entry) -> None:
        """The loupe on ``e``: at once from the photos decoded ahead (and its heatmap, when computed
        ahead), else when the detail worker has decoded it; the neighbours are decoded next."""
        self.stack.setCurrentWidget(self.loupe)
        self.detail.show_entry(e)
        self.detail.setFocus()
        row = self.proxy.proxy_row_of(e.path)
        if row >= 0:
            self.grid.setCurrentIndex(self.proxy.index(row, 0))
        self.filmstrip.follow(row)
        self._detail_request += 1
        if e.failed:
            self.detail.set_error(f"cannot read this file: {e.error}")
            return
        rid, heat_on = self._detail_request, self.detail.heat_box.isChecked()
        worker = self._ensure_detail_worker()
        self.times.requested(rid)
        cached = self.decoded.get(e.path)
        if cached is not None:
            self._show_detail_image(rid, cached.qimage, cached.exif)
            heat = self.heats.get(e.path) if heat_on else None
            if heat is not None:
                self._on_detail_heatmap(rid, heat, 0.0)
        worker.submit(rid, e.path, heat_on, self._loupe_neighbour(row, self._direction))
        self._prefetcher.want(self.generation, [p for p in (self._loupe_neighbour(row, self._direction),
                                                             self._loupe_neighbour(row, -self._direction))
                                                if p is not None])

    def navigate(self, delta: int) -> None:
        if self.detail.entry is None:
            return
        row = self.proxy.proxy_row_of(self.detail.entry.path)
        new = row + delta
        if row < 0 or not 0 <= new < self.proxy.rowCount():
            return
        self._direction = 1 if delta > 0 else -1
        self.show_detail_for(self.proxy.entry_at(new))

    def _show_detail_image(self, rid: int, image: QImage, exif: dict) -> None:
        self._detail_shown = rid
        self.detail.set_image(image, exif)
        self.times.shown(rid, "photo")

    def _on_detail_image(self, rid: int, image: QImage, exif: dict) -> None:
        if rid == self._detail_request and self._detail_shown != rid:  # not shown from the cache already
            self._show_detail_image(rid, image, exif)

    def _on_detail_full(self, rid: int, image: QImage) -> None:
        if rid == self._detail_request:
            self.detail.set_full_image(image)

    def _on_detail_heatmap(self, rid: int, image: QImage, seconds: float) -> None:
        if rid == self._detail_request and not (self.detail.canvas.has_heatmap and self._detail_shown == rid):
            self.detail.set_heatmap(image)
            self.times.shown(rid, "heatmap")
            self.heatmap_shown.emit()
            logging.getLogger(__name__).debug("heatmap made in %.2f s", seconds)

    def _on_detail_failed(self, rid: int, tb: str) -> None:
        self.log(f"detail view failed:\n{tb.rstrip()}", logging.ERROR)
        if rid == self._detail_request:
            if self.detail.canvas.has_image:
                self.detail.set_heatmap_error(tb.strip().splitlines()[-1])
            else:
                self.detail.set_error(tb.strip().splitlines()[-1])

    def _on_heatmap_toggled(self, on: bool) -> None:
        self.settings.show_heatmap = on
        if on and self.stack.currentWidget() is self.loupe and self.detail.entry is not None \
                and not self.detail.canvas.has_heatmap:
            self.show_detail_for(self.detail.entry)

    def show_compare(self) -> None:
        entries = [e for e in self.selected_entries() if not e.failed] if self.stack.currentWidget() is not self.loupe \
            else []
        if len(entries) < 2:
            self.statusBar().showMessage("select two or more photos to compare (Ctrl/Shift+click)", 5000)
            return
        entries = entries[:6]
        self.stack.setCurrentWidget(self.compare)
        self.compare.show_entries(entries)
        self.compare.setFocus()
        for e in entries:
            self.previews.request(str(e.path))

    def _on_compare_preview(self, gen: int, path: str, image: QImage, error: str) -> None:
        """A compare photo's preview is shown; its full-resolution decode (what zoom shows) follows."""
        self.compare.set_image(path, image, error)
        if not error and path in self.compare.cells:
            self.compare_full.request(path)

    # ------------------------------------------------------------------ export
    def choose_export(self) -> None:
        if self.folder is None:
            return
        dlg = ExportDialog(str(self.folder), self.settings, self)
        if dlg.exec():
            self.export(**dlg.params())

    def export(self, lists_dir: str | None = None, xmp_naming: str | None = None,
               organize: str | None = None) -> None:
        """Export the current decisions through the engine, on a worker; ``export_done`` when finished."""
        if self.folder is None:
            return
        job = self.bridge.export_job(self.folder, list(self.list_model.session.entries), self.companions,
                                      lists_dir, xmp_naming, organize)
        self._run_task(job, "export")

    def undo_move(self) -> None:
        if self.folder is not None:
            self._run_task(self.bridge.undo_move_job(self.folder), "undo-move")

    def _run_task(self, job, name: str) -> None:
        if self._task_worker is not None:
            self.statusBar().showMessage("another export is still running", 4000)
            return
        w = GeneratorWorker(self.generation, job)
        w.item.connect(self._on_task_item)
        w.failed.connect(self._on_worker_failed)
        w.finished.connect(self._on_task_finished)
        self._task_worker = w
        self._reload_after_task = False
        self.registry.start(w, f"photocull-{name}")

    def _on_task_item(self, gen: int, msg: jobs.Report | jobs.FolderChanged) -> None:
        if isinstance(msg, jobs.FolderChanged):
            self._reload_after_task = True
        elif msg.problem:
            self.log(msg.text, logging.WARNING)
        else:
            self.log(msg.text)
            self.statusBar().showMessage(msg.text, 6000)

    def _on_task_finished(self, gen: int, cancelled: bool) -> None:
        self._task_worker = None
        if self._reload_after_task and self.folder is not None and gen == self.generation:
            self.open_folder(self.folder)
        self.export_done.emit()

    # ------------------------------------------------------------------ settings / status
    def open_settings(self) -> None:
        SettingsDialog(self.settings, self).exec()

    def _update_status(self) -> None:
        c = self.list_model.session.counts()
        shown = self.proxy.rowCount()
        sel = len(self.grid.selectionModel().selectedIndexes())
        parts = [f"{c['picked']} picked", f"{c['rejected']} rejected", f"{c['left']} left"]
        if c["errors"]:
            parts.append(f"{c['errors']} error(s)")
        text = " · ".join(parts) + f"   |   {shown} of {c['total']} shown"
        if sel > 1:
            text += f", {sel} selected"
        self.counts_label.setText(text)
        self.act_undo.setEnabled(True)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop and join every worker thread and pool; safe to call twice."""
        self.cancel_scoring()
        self.thumbs.shutdown()
        self.previews.shutdown()
        self.compare_full.shutdown()
        self.registry.shutdown()
        self._detail_worker = self._prefetcher = None
        self._score_worker = None
        self._task_worker = None
        for name in ("app", "model"):
            logging.getLogger(name).removeHandler(self._log_bridge)
        self.bridge.close()
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
