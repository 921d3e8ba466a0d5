"""How fast the desktop app is, measured on the real window: opening a folder (for benchmarks/)
and, as the photographer uses it, the loupe (:class:`GuiTimes`, for tools/walkthrough.py)."""

from __future__ import annotations

import os
import tempfile
import time

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from .settings import Settings

__all__ = ["open_folder_timings", "GuiTimes"]


class GuiTimes:
    """What the window records as it runs: the wall-clock time (``time.time()``) the first
    thumbnail was shown, and per loupe request (an arrow, a click) the milliseconds until its
    photo and until its heatmap were handed to the view. Only the newest request is timed, as
    only it is shown."""

    def __init__(self):
        self.first_thumbnail_at: float | None = None
        self.photo_ms: list[float] = []
        self.heatmap_ms: list[float] = []
        self._request: tuple[int, float] | None = None
        self._done: set[str] = set()

    def thumbnail_shown(self) -> None:
        if self.first_thumbnail_at is None:
            self.first_thumbnail_at = time.time()

    def requested(self, request_id: int) -> None:
        self._request, self._done = (request_id, time.perf_counter()), set()

    def shown(self, request_id: int, what: str) -> None:
        """``what`` ("photo" / "heatmap") of ``request_id`` is on screen."""
        if self._request is None or self._request[0] != request_id or what in self._done:
            return
        self._done.add(what)
        (self.photo_ms if what == "photo" else self.heatmap_ms).append(
            (time.perf_counter() - self._request[1]) * 1000.0)

    def as_dict(self) -> dict:
        return {"first_thumbnail_at": self.first_thumbnail_at, "photo_ms": self.photo_ms,
                "heatmap_ms": self.heatmap_ms}


def open_folder_timings(folder, cache, screen: int = 24, wait_scores: bool = True) -> dict:
    """Open ``folder`` in a fresh ``MainWindow`` (settings in a temp dir, cache file ``cache``, the
    real model) and return seconds until the first thumbnail of the first ``screen`` tiles is
    shown and, with ``wait_scores``, until every score is shown and until the folder's job ended
    (after the scores it reads the photos' capture dates, from the cache when it has them)."""
    from .bridge import EngineBridge
    from .mainwindow import MainWindow

    app = QApplication.instance() or QApplication([])
    done: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, EngineBridge(settings, cache_path=cache))
        win.resize(1400, 900)
        win.show()
        win.folder_loaded.connect(lambda gen: done.append(gen))

        def wait(cond, timeout_s=3600.0) -> float:
            end = time.perf_counter() + timeout_s
            while not cond():
                if time.perf_counter() > end:
                    raise TimeoutError("the GUI did not get there in time")
                app.processEvents()
                time.sleep(0.002)
            return time.perf_counter() - t0

        t0 = time.perf_counter()
        win.open_folder(folder)
        proxy = win.proxy

        def first_screen() -> list:  # only the first tiles: polling every row would slow the app down
            return [proxy.entry_at(r) for r in range(min(screen, proxy.rowCount()))]

        out = {"first_thumbnail_s": wait(lambda: any(win.list_model.has_thumbnail(str(e.path)) for e in first_screen()))}
        if wait_scores:
            bar = win.progress  # its value counts the photos scored, up to the folder's total
            out["all_scores_s"] = wait(lambda: bool(done) or 0 < bar.maximum() <= bar.value())
            out["folder_done_s"] = wait(lambda: bool(done))  # then capture dates, read in the background
            out["scored"] = sum(e.score is not None for e in win.list_model.session.entries)
        out["photos"] = len(win.list_model.session.entries)
        win.close()
        win.deleteLater()
        app.processEvents()
    return out
