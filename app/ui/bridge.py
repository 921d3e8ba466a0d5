"""The GUI's single door to ``photocull.app.core`` and ``model``: :class:`EngineBridge`.

(Named a bridge so it is not mistaken for an inference backend, torch or ONNX, which the
settings choose and :func:`photocull.model.load_scorer` loads.)

Everything here is called from worker threads except where noted; nothing here
creates a QPixmap or touches a widget. The scorer (which also makes the heatmaps) is
loaded lazily, on the first worker that needs it, and reused across folders
while the settings that select it stay the same.

Tests inject ``scorer_factory`` (a small fake scorer) and ``cache_path``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from photocull.app.core import decode, engine, export, jobs, journal, organise, thumbs, xmp
from photocull.app.core.cache import Cache
from photocull.app.core.decisions import Decision
from photocull.app.core.scan import PhotoItem, scan_folder
from photocull.app.core.session import Entry

from .settings import Settings
from .workers import Cancelled, pil_to_qimage

__all__ = ["EngineBridge", "heat_layer"]

log = logging.getLogger(__name__)

# How often the scoring job reports progress (seconds) at most.
_FLUSH_S = 0.15


def heat_layer(cam: np.ndarray) -> Image.Image:
    """RGBA layer of a heatmap in [0, 1]: 'jet' colours, transparent where the map is low.

    Drawn over the photo with the user's opacity, it shows *where* the model
    found what lowered the score without washing out the rest of the image.
    """
    from photocull.model.explain import jet  # torch-free (the standalone build has neither torch nor matplotlib)

    cam = np.clip(np.nan_to_num(cam.astype(np.float32)), 0.0, 1.0)
    alpha = (np.clip(cam * 1.6, 0.0, 1.0) ** 0.7 * 255).astype(np.uint8)
    return Image.fromarray(np.dstack([jet(cam), alpha]), "RGBA")


class EngineBridge:
    """The engine seen from the GUI: the cache, the lazily loaded scorer and explainer, the
    folder/scoring/export jobs the window runs on worker threads, and image loading."""

    def __init__(self, settings: Settings, scorer_factory: Callable[[], object] | None = None,
                 explainer_factory: Callable[[], Callable[[Image.Image], np.ndarray]] | None = None,
                 cache_path: str | Path | None = None, batch_size: int = 16, decode_workers: int | None = None):
        self.settings = settings
        self._scorer_factory = scorer_factory
        self._explainer_factory = explainer_factory
        self._cache_path = cache_path
        self._cache: Cache | None = None
        self.batch_size = batch_size
        self.decode_workers = engine.default_workers() if decode_workers is None else decode_workers
        self._cache_lock = threading.Lock()  # never held while a model loads: thumbnails go on meanwhile
        self._lock = threading.Lock()  # guards the lazily loaded scorer / explainer
        self._scorer = None
        self._scorer_key = None
        self._scorer_device = None  # the device asked of load_scorer: the setting, or "cpu" by auto_device
        self._explainer = None
        self._explainer_key = None
        self.thumb_size = thumbs.THUMB_SIZE

    # -- shared resources (thread-safe, lazy) -------------------------------
    @property
    def cache(self) -> Cache:
        with self._cache_lock:
            if self._cache is None:
                self._cache = Cache(self._cache_path)
            return self._cache

    def _model_key(self) -> tuple:
        s = self.settings
        return (s.backend, s.device, s.checkpoint)

    def scorer(self, photos: int | None = None):
        """The scorer for the current settings, loaded on first use (on the calling worker thread).

        ``photos``: how many photos it is about to score. With the device setting "auto", a folder
        too small to pay for CUDA's start-up is scored on the CPU (``model.auto_device``), so the
        scorer is reloaded when a folder's size moves it across that line; ``None`` (the
        explainer, a resumed job of unknown size) takes whichever scorer of these settings is loaded.
        """
        from photocull.model import auto_device

        with self._lock:
            key = self._model_key()
            backend, device, ckpt = key
            wanted = auto_device(device, photos)
            if self._scorer is None or key != self._scorer_key or (photos is not None and wanted != self._scorer_device):
                t0 = time.perf_counter()
                if self._scorer_factory is not None:
                    self._scorer = self._scorer_factory()
                else:
                    from photocull.model import load_scorer

                    self._scorer = load_scorer(ckpt or None, backend=backend, device=wanted)
                self._scorer_key, self._scorer_device = key, wanted
                log.info("model %s loaded in %.1f s", self._scorer.model_id, time.perf_counter() - t0)
            return self._scorer

    def explainer(self) -> Callable[[Image.Image], np.ndarray]:
        """``img -> heatmap`` of the low-quality regions (``photocull.model.explain.heatmap``: the scorer's
        patch scores with the measured defects), made on first use."""
        if self._explainer_factory is None:
            scorer = self.scorer()  # outside self._lock: scorer() takes it
        with self._lock:
            key = self._model_key()
            if self._explainer is None or key != self._explainer_key:
                if self._explainer_factory is not None:
                    self._explainer = self._explainer_factory()
                else:
                    from photocull.model.explain import heatmap

                    # the "low" map takes the scorer itself (its patch scores; ONNX Runtime and torch
                    # sessions may run from two threads at once)
                    self._explainer = lambda img, m=scorer: heatmap(m, img, mode="low")
                self._explainer_key = key
            return self._explainer

    def close(self) -> None:
        with self._cache_lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    # -- folder: scan + decisions + scores (worker job) ---------------------
    def folder_job(self, folder: str | Path) -> Callable[[threading.Event], Iterator[tuple]]:
        """A job for :class:`~photocull.app.ui.workers.GeneratorWorker` that yields, in order:

        :class:`~photocull.app.core.jobs.Scanned` once (with the photographer's decisions applied:
        stored ones, and for photos seen for the first time the ratings/labels of their XMP, read in;
        its ``items`` are for the jobs that follow: no photo is stat'ed again), then what
        :meth:`score_job` yields.
        """
        folder = Path(folder)

        def job(cancel: threading.Event):
            items = scan_folder(folder)
            cache = self.cache
            stored, problems = xmp.import_decisions(items, cache)
            for problem in problems:
                log.warning("rating not read in: %s", problem)
            entries = []
            for it in items:
                d = stored.get(it.path, Decision())
                entries.append(Entry(it.path, error=it.error, flag=d.flag, stars=d.stars, label=d.label,
                                     taken=it.mtime_ns / 1e9 if it.mtime_ns else None))
            yield jobs.Scanned(entries, {it.path: list(it.companions) for it in items if it.companions}, items)
            if cancel.is_set():
                raise Cancelled
            yield from self.score_job(items)(cancel)

        return job

    def score_job(self, items: list[PhotoItem]) -> Callable[[threading.Event], Iterator[tuple]]:
        """The scoring part of :meth:`folder_job` on ``items`` alone (what a resumed scoring runs):
        :class:`~photocull.app.core.jobs.ModelReady`, :class:`~photocull.app.core.jobs.Scores`
        batches, then :class:`~photocull.app.core.jobs.Dates` (EXIF capture times)."""

        def job(cancel: threading.Event):
            cache = self.cache
            scorer = self.scorer(photos=len(items))
            yield jobs.ModelReady(scorer.model_id)
            batch, last = [], time.monotonic()
            # thumbnails and the reasons/bursts analysis come from the decode scoring does anyway
            # (no second decode per photo when the analysis job runs next)
            for r in engine.score_items(items, scorer, cache, batch_size=self.batch_size,
                                        workers=self.decode_workers, thumb_size=self.thumb_size,
                                        analyze=True):
                batch.append(r)
                if time.monotonic() - last >= _FLUSH_S:
                    yield jobs.Scores(batch)
                    batch, last = [], time.monotonic()
            if batch:
                yield jobs.Scores(batch)
            yield jobs.Dates(jobs.capture_dates(items, cache, cancel))

        return job

    # -- images (worker threads) --------------------------------------------
    def load_thumbnail(self, path: Path, size: int) -> QImage:
        """Thumbnail as a QImage (cached JPEG from the engine); raises DecodeError with the reason."""
        data = thumbs.make_thumbnail(path, size, self.cache)
        img = QImage.fromData(data)
        if img.isNull():
            raise decode.DecodeError("thumbnail could not be read back")
        return img

    def load_preview(self, path: Path, size: int) -> QImage:
        img = decode.load_image(path, min_side=size)
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        return pil_to_qimage(img)

    def load_detail(self, path: Path, size: int = 1600) -> Image.Image:
        img = decode.load_image(path, min_side=size)
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        return img

    def load_full(self, path: Path) -> Image.Image:
        """The photo at full resolution for the loupe's zoom (a RAW: its largest embedded preview)."""
        return decode.load_image(path)

    def read_exif(self, path: Path) -> dict:
        return decode.read_exif_summary(path)

    def heatmap(self, img: Image.Image, max_side: int = 768) -> Image.Image:
        """RGBA heat layer for ``img`` (computed on a copy at most ``max_side`` wide)."""
        small = img.copy()
        small.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        return heat_layer(self.explainer()(small))

    # -- decisions (GUI thread; short SQLite transactions) ------------------
    def save_decisions(self, entries: list[Entry]) -> None:
        self.cache.set_decisions({e.path: Decision(e.flag, e.stars, e.label) for e in entries})

    # -- export (worker job) -------------------------------------------------
    def export_job(self, folder: Path, entries: list[Entry], companions: dict[Path, list[Path]],
                   lists_dir: str | None, xmp_naming: str | None, organize: str | None):
        """Job yielding :class:`~photocull.app.core.jobs.Report` lines (:mod:`photocull.app.core.organise`:
        the CLI's code path; one photo that fails is reported and the others go on), and
        :class:`~photocull.app.core.jobs.FolderChanged` after a move."""
        results = organise.results_from_entries(entries)

        def job(cancel: threading.Event):
            if lists_dir:
                written = export.write_lists(results, lists_dir)
                yield jobs.Report("lists written: " + ", ".join(str(p) for p in written.values()))
            if xmp_naming:
                rep = organise.write_sidecars(results, xmp_naming, companions, cancel)
                for err in rep.errors:
                    yield jobs.Report(err.describe(folder), problem=True)
                if rep.cancelled:
                    raise Cancelled
                yield jobs.Report(f"{rep.written} XMP sidecar(s) written ({xmp_naming} naming)")
            if organize:
                rep = organise.organise(folder, results, companions, organize, self.cache)
                for err in rep.errors:
                    yield jobs.Report(err.describe(folder), problem=True)
                batch = rep.batch
                yield jobs.Report(f"{len(batch.done)} file(s) {journal.DONE[organize]} into Keep/ and Reject/"
                                  + (f" (journal {batch.journal.name})" if batch.journal else ""))
                if organize == "move" and batch.done:
                    yield jobs.FolderChanged()

        return job

    def undo_move_job(self, folder: Path):
        """Job putting the last Keep/Reject batch back: :class:`~photocull.app.core.jobs.Report`
        lines, then :class:`~photocull.app.core.jobs.FolderChanged`."""

        def job(cancel: threading.Event):
            rep = organise.undo(folder, self.cache)
            if rep.journal is None:
                yield jobs.Report("nothing to undo: no Keep/Reject batch in this folder")
                return
            for p in rep.problems:
                yield jobs.Report(p, problem=True)
            yield jobs.Report(f"undone: {len(rep.restored)} file(s) put back, {len(rep.removed)} copy(ies) removed")
            yield jobs.FolderChanged()

        return job
