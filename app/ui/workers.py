"""Worker threads that turn the engine's blocking calls and generators into Qt signals.

Rules kept here (and asserted by tests):

* every result is stamped with the *generation* it was requested for; the GUI
  drops results of an older generation, so a folder that is still loading
  never paints over a newer one;
* images cross threads as ``QImage`` (built in the worker); ``QPixmap`` is
  only ever created on the GUI thread;
* a worker exception is caught and sent as a ``failed`` signal with the
  traceback text (shown in the log dock), never swallowed;
* :class:`ThreadRegistry.shutdown` cancels and joins every thread it started.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from photocull.app.core.jobs import Cancelled

__all__ = [
    "pil_to_qimage",
    "Cancelled",
    "GeneratorWorker",
    "ThreadRegistry",
    "ThumbnailLoader",
    "DetailWorker",
    "Decoded",
    "LruCache",
    "Prefetcher",
    "decode_for_loupe",
    "PREPARE",
]


def pil_to_qimage(img: Image.Image) -> QImage:
    """A deep-copied QImage (safe to send to another thread) from a PIL image."""
    if img.mode == "RGBA":
        fmt, img_ = QImage.Format.Format_RGBA8888, img
    else:
        fmt, img_ = QImage.Format.Format_RGB888, img.convert("RGB")
    data = img_.tobytes()
    channels = 4 if fmt == QImage.Format.Format_RGBA8888 else 3
    q = QImage(data, img_.width, img_.height, img_.width * channels, fmt)
    return q.copy()  # detach from the Python bytes buffer


class GeneratorWorker(QObject):
    """Runs ``job(cancel_event)`` — a generator — on its own QThread.

    Each yielded value is emitted as ``item(generation, value)``; the cancel
    event is checked between yields (the engine yields between batches).
    ``finished(generation, cancelled)`` always ends a run, after ``failed``
    when the job raised.
    """

    item = Signal(int, object)
    failed = Signal(int, str)
    finished = Signal(int, bool)

    def __init__(self, generation: int, job: Callable[[threading.Event], Iterator[object]]):
        super().__init__()
        self.generation = generation
        self._job = job
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    @Slot()
    def run(self) -> None:
        cancelled = False
        gen = None
        try:
            gen = self._job(self.cancel_event)
            for value in gen:
                if self.cancel_event.is_set():
                    cancelled = True
                    break
                self.item.emit(self.generation, value)
        except Cancelled:
            cancelled = True
        except Exception:  # noqa: BLE001 - reported to the GUI's log dock
            self.failed.emit(self.generation, traceback.format_exc())
        finally:
            if gen is not None:
                gen.close()  # runs the engine's cleanup (its decode pool) on this thread, now
        self.finished.emit(self.generation, cancelled or self.cancel_event.is_set())


class ThreadRegistry(QObject):
    """Starts workers on QThreads and joins them all on shutdown."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: list[tuple[QThread, QObject]] = []
        self._closed = False

    def start(self, worker: QObject, name: str) -> QThread | None:
        """Run ``worker`` on a new thread; after :meth:`shutdown` nothing starts (a queued signal
        arriving while the window closes must not leave a thread running at exit)."""
        if self._closed:
            return None
        thread = QThread(self)
        thread.setObjectName(name)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        thread.finished.connect(lambda t=thread: self._forget(t))
        self._running.append((thread, worker))
        thread.start()
        return thread

    def _forget(self, thread: QThread) -> None:
        self._running = [(t, w) for t, w in self._running if t is not thread]
        thread.deleteLater()

    def threads(self) -> list[QThread]:
        return [t for t, _ in self._running]

    def cancel_all(self) -> None:
        for _, worker in self._running:
            worker.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel every worker, stop the threads and wait for them; True when all ended."""
        self._closed = True
        self.cancel_all()
        ok = True
        for thread, _ in list(self._running):
            thread.quit()
            ok = thread.wait(timeout_ms) and ok
        self._running.clear()
        return ok


class _ThumbSignals(QObject):
    ready = Signal(int, str, QImage, str)  # generation, path, image (null on error), error


class _ThumbJob(QRunnable):
    def __init__(self, signals: _ThumbSignals, generation: int, path: str, size: int,
                 load: Callable[[Path, int], QImage], alive: Callable[[int], bool]):
        super().__init__()
        self.setAutoDelete(True)
        self._signals, self._gen, self._path, self._size = signals, generation, path, size
        self._load, self._alive = load, alive

    def run(self) -> None:
        if not self._alive(self._gen):  # folder changed while queued
            return
        try:
            q, err = self._load(Path(self._path), self._size), ""
        except Exception as exc:  # noqa: BLE001 - becomes an error tile with the reason
            q, err = QImage(), str(exc) or type(exc).__name__
        self._signals.ready.emit(self._gen, self._path, q, err)


class ThumbnailLoader(QObject):
    """On-demand thumbnail decoding on a small thread pool.

    ``load(path, size)`` runs on a pool thread and returns a QImage (or raises:
    the message becomes the error tile's reason).
    ``request(path)`` queues a decode unless it is already pending; results come
    back as ``ready(generation, path, QImage, error)`` on the GUI thread.
    """

    ready = Signal(int, str, QImage, str)

    def __init__(self, load: Callable[[Path, int], QImage], size: int = 256,
                 threads: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self._load = load
        self.size = size
        self.generation = 0
        self._pending: set[str] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._signals = _ThumbSignals()
        self._signals.ready.connect(self._on_ready)
        self._lock = threading.Lock()

    def _alive(self, generation: int) -> bool:
        with self._lock:
            return generation == self.generation

    def reset(self, generation: int) -> None:
        """Forget queued work of older generations (running decodes finish and are dropped)."""
        with self._lock:
            self.generation = generation
        self._pool.clear()
        self._pending.clear()

    def request(self, path: str) -> None:
        if path in self._pending:
            return
        self._pending.add(path)
        self._pool.start(_ThumbJob(self._signals, self.generation, path, self.size, self._load, self._alive))

    def pending(self) -> int:
        return len(self._pending)

    @Slot(int, str, QImage, str)
    def _on_ready(self, generation: int, path: str, image: QImage, error: str) -> None:
        if generation != self.generation:
            return
        self._pending.discard(path)
        self.ready.emit(generation, path, image, error)

    def shutdown(self) -> None:
        with self._lock:
            self.generation = -1
        self._pool.clear()
        self._pool.waitForDone()

    def active_threads(self) -> int:
        return self._pool.activeThreadCount()


@dataclass(frozen=True)
class Decoded:
    """One photo decoded for the loupe: the PIL image (what the heatmap is computed on), the same
    as a QImage (made on the decoding thread, shown at once) and its EXIF summary."""

    image: Image.Image
    qimage: QImage
    exif: dict


class LruCache:
    """A small thread-safe least-recently-used cache (path -> value); the loupe's decoded photos
    and heatmaps, shared by the GUI thread and the workers that fill it."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def decode_for_loupe(load_image: Callable[[Path], Image.Image], read_exif: Callable[[Path], dict],
                     path: Path) -> Decoded:
    img = load_image(path)
    return Decoded(img, pil_to_qimage(img), read_exif(path))


class Prefetcher(QObject):
    """Decodes the loupe's neighbours (the photos before and after the one shown) ahead of the
    arrow keys, into ``cache``, on its own thread so a heatmap being computed never delays them.

    :meth:`want` replaces the list of photos wanted (the newest list only is worked on, nearest
    first). Every request carries the folder *generation*: a decode finished after the folder
    changed (:meth:`reset`) is dropped, not cached (``dropped`` counts them), since the path may
    now be another photo or gone. ``decoded(generation, path)`` after each one cached."""

    decoded = Signal(int, str)
    failed = Signal(int, str)
    finished = Signal()
    _wake = Signal()

    def __init__(self, decode: Callable[[Path], Decoded], cache: LruCache):
        super().__init__()
        self._decode, self.cache = decode, cache
        self._lock = threading.Lock()
        self._generation = 0
        self._wanted: list[Path] = []
        self._stop = False
        self.dropped = 0
        self._wake.connect(self._work)

    def reset(self, generation: int) -> None:
        """A new folder: forget what was wanted; decodes of older generations are dropped."""
        with self._lock:
            self._generation, self._wanted = generation, []

    def want(self, generation: int, paths: list[Path]) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._wanted = [Path(p) for p in paths]
        self._wake.emit()

    @Slot()
    def run(self) -> None:  # the thread's event loop delivers _wake to _work
        pass

    def _next(self) -> tuple[int, Path] | None:
        with self._lock:
            while self._wanted and not self._stop:
                path = self._wanted.pop(0)
                if path not in self.cache:
                    return self._generation, path
            return None

    @Slot()
    def _work(self) -> None:
        while (job := self._next()) is not None:
            generation, path = job
            try:
                value = self._decode(path)
            except Exception as exc:  # noqa: BLE001 - the loupe decodes it again and shows the reason
                self.failed.emit(generation, f"{path}: {exc}")
                continue
            with self._lock:
                stale = generation != self._generation or self._stop
            if stale:
                self.dropped += 1
                continue
            self.cache.put(path, value)
            self.decoded.emit(generation, str(path))

    def cancel(self) -> None:
        with self._lock:
            self._stop = True
            self._wanted = []
        self.finished.emit()


# The request id of :meth:`DetailWorker.prepare`: a photo readied before the loupe opens, never shown.
PREPARE = -1


class DetailWorker(QObject):
    """Long-lived worker for the detail view: the photo (from ``decoded``, the cache the
    :class:`Prefetcher` fills, else decoded here), its heatmap (from ``heats``, else computed), the
    full-resolution decode the loupe zooms into (``load_full``, when given), then the heatmap of
    the photo the photographer is likely to look at next (``ahead``), into ``heats``.

    The GUI calls :meth:`submit`; only the newest request is worked on (arrow keys held down never
    queue a backlog), and the heatmap ahead is neither started nor kept for a request that is no
    longer the newest. The explainer (which loads the model lazily on this thread) is created on
    first use.
    """

    image_ready = Signal(int, QImage, object)  # request id, image, exif dict
    heatmap_ready = Signal(int, QImage, float)  # request id, heat colour image (same size as image), seconds
    full_ready = Signal(int, QImage)  # request id, the photo at full resolution
    ahead_ready = Signal(str)  # path whose heatmap was computed ahead, now in ``heats``
    failed = Signal(int, str)
    finished = Signal()
    _wake = Signal()

    def __init__(self, load_image: Callable[[Path], Image.Image], read_exif: Callable[[Path], dict],
                 make_heatmap: Callable[[Image.Image], Image.Image],
                 load_full: Callable[[Path], Image.Image] | None = None,
                 decoded: LruCache | None = None, heats: LruCache | None = None):
        super().__init__()
        self._load_image, self._read_exif, self._make_heatmap = load_image, read_exif, make_heatmap
        self._load_full = load_full
        self.decoded = decoded if decoded is not None else LruCache(8)
        self.heats = heats if heats is not None else LruCache(16)
        self._lock = threading.Lock()
        self._request: tuple[int, Path, bool, Path | None] | None = None
        self._stop = False
        self._wake.connect(self._work)

    def submit(self, request_id: int, path: Path, want_heatmap: bool, ahead: Path | None = None) -> None:
        with self._lock:
            self._request = (request_id, Path(path), want_heatmap, None if ahead is None else Path(ahead))
        self._wake.emit()

    def prepare(self, path: Path) -> None:
        """Decode ``path`` and compute its heatmap into the caches (the photo the loupe is likely to
        open first: the first heatmap of a session then costs nothing, and the explainer's model
        is loaded meanwhile). Its results are signalled under the request id :data:`PREPARE`."""
        self.submit(PREPARE, path, True)

    def _latest(self, request_id: int) -> bool:
        with self._lock:
            return not self._stop and (self._request is None or self._request[0] == request_id)

    @Slot()
    def run(self) -> None:  # the thread's event loop delivers _wake to _work
        pass

    def _photo(self, path: Path) -> Decoded:
        value = self.decoded.get(path)
        if value is None:
            value = decode_for_loupe(self._load_image, self._read_exif, path)
            self.decoded.put(path, value)
        return value

    def _heat(self, path: Path, img: Image.Image) -> tuple[QImage, float]:
        t0 = time.perf_counter()
        heat = self.heats.get(path)
        if heat is None:
            heat = pil_to_qimage(self._make_heatmap(img))
            self.heats.put(path, heat)
        return heat, time.perf_counter() - t0

    @Slot()
    def _work(self) -> None:
        with self._lock:
            req, self._request = self._request, None
        if req is None or self._stop:
            return
        rid, path, want_heatmap, ahead = req
        try:
            photo = self._photo(path)
            if not self._latest(rid):
                return
            self.image_ready.emit(rid, photo.qimage, photo.exif)
            if want_heatmap:
                heat, seconds = self._heat(path, photo.image)
                if self._latest(rid):
                    self.heatmap_ready.emit(rid, heat, seconds)
            if self._load_full is not None and rid != PREPARE and self._latest(rid):
                full = self._load_full(path)
                if full.size != photo.image.size and self._latest(rid):
                    self.full_ready.emit(rid, pil_to_qimage(full))
        except Exception:  # noqa: BLE001 - shown in the log dock and the view
            self.failed.emit(rid, traceback.format_exc())
            return
        if want_heatmap and ahead is not None and self._latest(rid) and ahead not in self.heats:
            try:
                self._heat(ahead, self._photo(ahead).image)
            except Exception:  # noqa: BLE001 - computed again (and reported) when that photo is shown
                return
            self.ahead_ready.emit(str(ahead))

    def cancel(self) -> None:
        with self._lock:
            self._stop = True
            self._request = None
        self.finished.emit()
