"""Per-photo analysis besides the score: reason indicators, perceptual hash, capture time.

:func:`analyze_items` decodes each photo once at the reduced size of
:data:`photocull.app.core.reasons.ANALYSIS_SIDE` (in a small thread pool) and yields one
:class:`Analysis` per item: the 0-1 indicators of :func:`photocull.app.core.reasons.analyze`,
the :func:`photocull.app.core.bursts.dhash` and the capture time of
:func:`photocull.app.core.bursts.capture_time`. Results are cached in the photocull cache
(table ``analysis``, keyed like scores by path + size + mtime_ns, plus the
analysis version), so a second run costs no decode. Per-file problems become
an :class:`Analysis` with ``error`` set, never exceptions. The scoring engine
(``score_items(..., analyze=True)``) fills the same cache from its own decode, so a
folder scored that way is analysed without decoding anything a second time.

:func:`burst_groups` groups analysed photos with their scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from photocull.app.core import bursts, reasons
from photocull.app.core.cache import Cache
from photocull.app.core.decode import DecodeError, load_image, read_exif_summary
from photocull.app.core.scan import PhotoItem

__all__ = ["VERSION", "Analysis", "analyze_image", "analyze_item", "analyze_items", "burst_groups",
           "cached_analyses", "describe", "store_analyses"]

VERSION = f"r{reasons.VERSION}-h1"


@dataclass(frozen=True)
class Analysis:
    path: Path
    indicators: dict[str, float] = field(default_factory=dict)
    hash: int | None = None
    taken: float | None = None
    error: str = ""
    cached: bool = False

    @property
    def labels(self) -> list[str]:
        return reasons.labels(self.indicators)

    def to_dict(self) -> dict:
        """What the cache stores (:meth:`photocull.app.core.cache.Cache.put_analyses`)."""
        return {"indicators": self.indicators, "hash": self.hash, "taken": self.taken, "error": self.error}


def analyze_item(item: PhotoItem) -> Analysis:
    """Decode and analyse one photo (never raises)."""
    if not item.ok:
        return Analysis(item.path, taken=_taken_fallback(item), error=item.error)
    try:
        img = load_image(item.path, min_side=reasons.ANALYSIS_SIDE)
    except DecodeError as exc:
        return Analysis(item.path, taken=_taken_fallback(item), error=exc.reason)
    return analyze_image(item, img)


def analyze_image(item: PhotoItem, img: Image.Image) -> Analysis:
    """Analyse an already decoded photo (e.g. the engine's scoring decode; never raises)."""
    try:
        indicators = reasons.analyze(img)
        h = bursts.dhash(img)
        taken = bursts.capture_time(item.path, item.mtime_ns, read_exif_summary(item.path))
    except Exception as exc:  # noqa: BLE001 - one odd file must not end the run
        return Analysis(item.path, taken=_taken_fallback(item), error=f"analysis failed: {type(exc).__name__}: {exc}")
    return Analysis(item.path, indicators, h, taken)


def _taken_fallback(item: PhotoItem) -> float | None:
    return item.mtime_ns / 1e9 if item.mtime_ns else None


def cached_analyses(cache: Cache, items: list[PhotoItem]) -> dict[Path, Analysis]:
    """The cached analyses of ``items`` (same path, size, mtime_ns and :data:`VERSION`)."""
    found = cache.get_analyses(((it.path, it.size, it.mtime_ns) for it in items), VERSION)
    return {path: Analysis(path, d["indicators"], d["hash"], d["taken"], d["error"], cached=True)
            for path, d in found.items()}


def store_analyses(cache: Cache, rows: list[tuple[PhotoItem, Analysis]]) -> None:
    """Cache analyses of readable photos (failures are not stored: they are retried next time)."""
    cache.put_analyses(((it.path, it.size, it.mtime_ns, a.to_dict()) for it, a in rows if it.ok and not a.error),
                       VERSION)


def analyze_items(items: Iterable[PhotoItem], cache: Cache | None = None, workers: int = 2,
                  chunk: int = 16) -> Iterator[Analysis]:
    """Analyses of ``items``: cache hits first, then the rest as they are computed (in chunks).

    Only analyses of readable files are cached (a failure is retried next time). The caller may
    stop iterating between chunks.
    """
    items = list(items)
    hits = cached_analyses(cache, [it for it in items if it.ok]) if cache is not None else {}
    yield from hits.values()
    todo = [it for it in items if it.path not in hits]
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="photocull-analyze") as pool:
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            done = list(pool.map(analyze_item, part))
            if cache is not None:
                store_analyses(cache, list(zip(part, done)))
            yield from done


def burst_groups(analyses: Iterable[Analysis], scores: dict[Path, float | None],
                 max_gap: float = bursts.MAX_GAP_S,
                 max_distance: int = bursts.MAX_DISTANCE) -> dict[Path, bursts.BurstInfo]:
    """:func:`photocull.app.core.bursts.group_bursts` over analysed photos with their scores."""
    shots = [bursts.Shot(a.path, a.taken, a.hash, scores.get(a.path)) for a in analyses]
    return bursts.group_bursts(shots, max_gap, max_distance)


def describe(a: Analysis | None) -> str:
    """The labels as one export field: ``"blurry; noisy"`` (empty when none fire)."""
    return "; ".join(a.labels) if a is not None else ""

