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
from collections.abc import Callable, Iterator
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


class DetailWorker(QObject):
    """Long-lived worker for the detail view: big image, EXIF, the Grad-CAM heatmap, then the
    full-resolution decode that the loupe zooms into (``load_full``, when given).

    The GUI calls :meth:`submit`; only the newest request is worked on (arrow
    keys held down never queue a backlog). The explainer (which loads the model
    lazily on this thread) is created on first use.
    """

    image_ready = Signal(int, QImage, object)  # request id, image, exif dict
    heatmap_ready = Signal(int, QImage, float)  # request id, heat colour image (same size as image), seconds
    full_ready = Signal(int, QImage)  # request id, the photo at full resolution
    failed = Signal(int, str)
    finished = Signal()
    _wake = Signal()

    def __init__(self, load_image: Callable[[Path], Image.Image], read_exif: Callable[[Path], dict],
                 make_heatmap: Callable[[Image.Image], Image.Image],
                 load_full: Callable[[Path], Image.Image] | None = None):
        super().__init__()
        self._load_image, self._read_exif, self._make_heatmap = load_image, read_exif, make_heatmap
        self._load_full = load_full
        self._lock = threading.Lock()
        self._request: tuple[int, Path, bool] | None = None
        self._stop = False
        self._wake.connect(self._work)

    def submit(self, request_id: int, path: Path, want_heatmap: bool) -> None:
        with self._lock:
            self._request = (request_id, Path(path), want_heatmap)
        self._wake.emit()

    def _latest(self, request_id: int) -> bool:
        with self._lock:
            return not self._stop and (self._request is None or self._request[0] == request_id)

    @Slot()
    def run(self) -> None:  # the thread's event loop delivers _wake to _work
        pass

    @Slot()
    def _work(self) -> None:
        with self._lock:
            req, self._request = self._request, None
        if req is None or self._stop:
            return
        rid, path, want_heatmap = req
        try:
            img = self._load_image(path)
            exif = self._read_exif(path)
            if not self._latest(rid):
                return
            self.image_ready.emit(rid, pil_to_qimage(img), exif)
            if want_heatmap:
                t0 = time.perf_counter()
                heat = self._make_heatmap(img)
                seconds = time.perf_counter() - t0  # the exif dict now belongs to the GUI thread: not written to
                if self._latest(rid):
                    self.heatmap_ready.emit(rid, pil_to_qimage(heat), seconds)
            if self._load_full is not None and self._latest(rid):
                full = self._load_full(path)
                if full.size != img.size and self._latest(rid):
                    self.full_ready.emit(rid, pil_to_qimage(full))
        except Exception:  # noqa: BLE001 - shown in the log dock and the view
            self.failed.emit(rid, traceback.format_exc())

    def cancel(self) -> None:
        with self._lock:
            self._stop = True
            self._request = None
        self.finished.emit()
