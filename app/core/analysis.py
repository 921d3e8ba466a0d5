"""Per-photo analysis besides the score: reason indicators, perceptual hash, capture time.

:func:`analyze_items` decodes each photo once at the reduced size of
:data:`photocull.app.core.reasons.ANALYSIS_SIDE` (in a small thread pool) and yields one
:class:`Analysis` per item: the 0-1 indicators of :func:`photocull.app.core.reasons.analyze`,
the :func:`photocull.app.core.bursts.dhash` and the capture time of
:func:`photocull.app.core.bursts.capture_time`, from the photo's EXIF summary: the cached one
when the cache has it, else read once and cached with the analysis. Results are cached in the photocull cache
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

from photocull.app.core import bursts, decode, reasons
from photocull.app.core.cache import Cache
from photocull.app.core.decode import DecodeError, load_image
from photocull.app.core.scan import PhotoItem

__all__ = ["VERSION", "Analysis", "analyze_image", "analyze_item", "analyze_items", "burst_groups",
           "cached_analyses", "cached_exifs", "describe", "store_analyses"]

VERSION = f"r{reasons.VERSION}-h1"


@dataclass(frozen=True)
class Analysis:
    path: Path
    indicators: dict[str, float] = field(default_factory=dict)
    hash: int | None = None
    taken: float | None = None
    error: str = ""
    cached: bool = False
    # the EXIF summary read for this analysis, to be cached with it (None: it was known already)
    exif: dict | None = field(default=None, compare=False, repr=False)

    @property
    def labels(self) -> list[str]:
        return reasons.labels(self.indicators)

    @property
    def findings(self) -> list[reasons.Finding]:
        """The reasons named, each with its indicator and severity (:func:`reasons.findings`)."""
        return reasons.findings(self.indicators)

    def to_dict(self) -> dict:
        """What the cache stores (:meth:`photocull.app.core.cache.Cache.put_analyses`)."""
        return {"indicators": self.indicators, "hash": self.hash, "taken": self.taken, "error": self.error}


def analyze_item(item: PhotoItem, exif: dict | None = None) -> Analysis:
    """Decode and analyse one photo (never raises); ``exif``: as for :func:`analyze_image`."""
    if not item.ok:
        return Analysis(item.path, taken=_taken_fallback(item), error=item.error)
    try:
        img = load_image(item.path, min_side=reasons.ANALYSIS_SIDE)
    except DecodeError as exc:
        return Analysis(item.path, taken=_taken_fallback(item), error=exc.reason)
    return analyze_image(item, img, exif)


def analyze_image(item: PhotoItem, img: Image.Image, exif: dict | None = None) -> Analysis:
    """Analyse an already decoded photo (e.g. the engine's scoring decode; never raises).

    ``exif``: the photo's cached :func:`~photocull.app.core.decode.read_exif_summary`; when None it
    is read here and travels in :attr:`Analysis.exif` to be cached (:func:`store_analyses`).
    """
    new = exif is None
    try:
        indicators = reasons.analyze(img)
        h = bursts.dhash(img)
        if new:
            exif = decode.read_exif_summary(item.path)
        taken = bursts.capture_time(exif, item.mtime_ns)
    except Exception as exc:  # noqa: BLE001 - one odd file must not end the run
        return Analysis(item.path, taken=_taken_fallback(item), error=f"analysis failed: {type(exc).__name__}: {exc}")
    return Analysis(item.path, indicators, h, taken, exif=exif if new else None)


def _taken_fallback(item: PhotoItem) -> float | None:
    return item.mtime_ns / 1e9 if item.mtime_ns else None


def cached_analyses(cache: Cache, items: list[PhotoItem]) -> dict[Path, Analysis]:
    """The cached analyses of ``items`` (same path, size, mtime_ns and :data:`VERSION`)."""
    found = cache.get_analyses(((it.path, it.size, it.mtime_ns) for it in items), VERSION)
    return {path: Analysis(path, d["indicators"], d["hash"], d["taken"], d["error"], cached=True)
            for path, d in found.items()}


def cached_exifs(cache: Cache, items: list[PhotoItem]) -> dict[Path, dict]:
    """The cached EXIF summaries of the readable ``items`` (same path, size and mtime_ns)."""
    return cache.get_exifs((it.path, it.size, it.mtime_ns) for it in items if it.ok)


def store_analyses(cache: Cache, rows: list[tuple[PhotoItem, Analysis]]) -> None:
    """Cache analyses of readable photos (failures are not stored: they are retried next time),
    and the EXIF summaries read for them."""
    cache.put_analyses(((it.path, it.size, it.mtime_ns, a.to_dict()) for it, a in rows if it.ok and not a.error),
                       VERSION)
    exifs = [(it.path, it.size, it.mtime_ns, a.exif) for it, a in rows if it.ok and a.exif is not None]
    if exifs:
        cache.put_exifs(exifs)


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
    known = cached_exifs(cache, todo) if cache is not None else {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="photocull-analyze") as pool:
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            done = list(pool.map(lambda it: analyze_item(it, known.get(it.path)), part))
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
    """The reasons with their severity as one export field: ``"blurry (mild); noisy (strong)"``
    (empty when none fire)."""
    return reasons.describe(a.indicators) if a is not None else ""

