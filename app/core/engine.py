"""Score photos with a Scorer, using the cache, decoding in a thread pool.

:func:`score_items` is a generator of :class:`ScoreResult`:

1. cache hits (same path, size, mtime_ns and ``scorer.model_id``) are yielded
   first, without decoding anything;
2. items the scan already marked as failed are yielded as errors;
3. the misses are decoded + preprocessed by a ``ThreadPoolExecutor`` (PIL
   releases the GIL while decoding), always a batch ahead of
   ``scorer.predict_batch``, which takes each batch in chunks as they are decoded
   (:func:`inference_chunk`); each batch's results are written to the cache in
   one transaction, then yielded.

With ``thumb_size`` (and a cache), each decoded photo's thumbnail
(:func:`photocull.app.core.thumbs.encode_thumbnail`) is also made from the same decode and
cached with the batch, so a viewer's thumbnails cost no second decode of the file
(decoding a 24 MP JPEG is most of the work of scoring it). With ``analyze`` (and
a cache), the same decode also feeds :func:`photocull.app.core.analysis.analyze_image`
(reasons, burst hash, capture time) for photos not analysed yet, cached with the
batch (with the EXIF summary read for the capture time) for :func:`photocull.app.core.analysis.analyze_items` to find.

The caller may stop iterating at any time (``break`` / ``close()``): pending
decodes are cancelled and the pool is shut down before the generator returns.
Nothing a single file does (vanishing, changing while read, undecodable) stops
the run: it becomes an ``"error"`` result. Failures that depend on the file's
contents are cached (until the file changes); environmental ones (permission
denied, file gone) are not.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from photocull.app.core import reasons
from photocull.app.core.analysis import Analysis, analyze_image, cached_analyses, cached_exifs, store_analyses
from photocull.app.core.cache import Cache
from photocull.app.core.decode import DecodeError, load_image
from photocull.app.core.scan import PhotoItem, scan_folder
from photocull.app.core.thumbs import encode_thumbnail

__all__ = ["Scorer", "ScoreResult", "score_items", "score_folder"]

OK = "ok"
ERROR = "error"


class Scorer(Protocol):
    """What the engine needs from ``model.load_scorer()``'s result (and, optionally, an
    ``inference_chunk``: see :func:`inference_chunk`)."""

    model_id: str
    image_size: int

    def preprocess(self, img: Image.Image) -> np.ndarray: ...

    def predict_batch(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ScoreResult:
    path: Path
    score: float | None  # 0-100, None when status == "error"
    status: str  # "ok" | "error"
    error: str = ""
    cached: bool = False


@dataclass
class _Prepared:
    item: PhotoItem
    array: np.ndarray | None = None
    error: str = ""
    permanent: bool = False  # may the failure be cached?
    size: int = 0
    mtime_ns: int = 0
    thumbnail: bytes | None = None
    analysis: Analysis | None = None


def _stat_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found (deleted during the scan?)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file: {exc.strerror or exc}"


@dataclass(frozen=True)
class _Extras:
    """What ``_prepare`` makes from the decode besides the model input."""

    thumb_size: int | None = None
    # paths whose analysis is wanted -> their cached EXIF summary (None: read it with the analysis)
    analyze: Mapping[Path, dict | None] = field(default_factory=dict)

    def min_side(self, scorer: Scorer) -> int:
        return decode_side(scorer, self.thumb_size, bool(self.analyze))


def decode_side(scorer: Scorer, thumb_size: int | None = None, analyze: bool = False) -> int:
    """The short side the engine decodes photos to for ``scorer`` (and thumbnails, analysis)."""
    return max(scorer.image_size, thumb_size or 0, reasons.ANALYSIS_SIDE if analyze else 0)


def _prepare(item: PhotoItem, scorer: Scorer, extras: _Extras) -> _Prepared:
    """Decode + preprocess (+ thumbnail, analysis) one photo (runs in a worker thread; never raises)."""
    try:
        before = os.stat(item.path)
    except OSError as exc:
        return _Prepared(item, error=_stat_reason(exc))
    out = _Prepared(item, size=before.st_size, mtime_ns=before.st_mtime_ns)
    try:
        img = load_image(item.path, min_side=extras.min_side(scorer))
        out.array = np.asarray(scorer.preprocess(img), dtype=np.float32)
        if extras.thumb_size:
            out.thumbnail = encode_thumbnail(img, extras.thumb_size)
        if item.path in extras.analyze:
            out.analysis = analyze_image(item, img, extras.analyze[item.path])
    except DecodeError as exc:
        out.error, out.permanent = exc.reason, exc.permanent
    except Exception as exc:  # noqa: BLE001 - a preprocessing bug must not end the whole run
        out.error = f"preprocessing failed: {type(exc).__name__}: {exc}"
    try:
        after = os.stat(item.path)
    except OSError as exc:
        return _Prepared(item, error=_stat_reason(exc))
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return _Prepared(item, error="file changed while it was being read")
    return out


def _score_batch(futures: list[Future], scorer: Scorer) -> list[tuple[_Prepared, float | None, str]]:
    """Score one batch chunk by chunk (:func:`inference_chunk`) in the order the photos were queued:
    a chunk's inference starts as soon as its photos are decoded, while the rest of the batch is
    still decoding, so the cores idle only for the last chunk of the run, not its last batch."""
    step = inference_chunk(scorer, len(futures))
    out = []
    for start in range(0, len(futures), step):
        out += _score_chunk([f.result() for f in futures[start:start + step]], scorer)
    return out


def inference_chunk(scorer: Scorer, batch_size: int) -> int:
    """Photos per inference call: the scorer's ``inference_chunk`` (its CPU chunk; None on a GPU,
    which wants the whole batch), at most ``batch_size``."""
    return max(1, min(batch_size, getattr(scorer, "inference_chunk", None) or batch_size))


def _score_chunk(prepared: list[_Prepared], scorer: Scorer) -> list[tuple[_Prepared, float | None, str]]:
    good = [p for p in prepared if p.array is not None and not p.error]
    scores: dict[int, float] = {}
    if good:
        values = np.asarray(scorer.predict_batch(np.stack([p.array for p in good])), dtype=np.float64)
        scores = {id(p): float(v) for p, v in zip(good, values.reshape(-1))}
    out = []
    for p in prepared:
        if p.error or p.array is None:
            out.append((p, None, p.error or "not decoded"))
        elif not math.isfinite(scores[id(p)]):
            out.append((p, None, "the model returned no valid score (NaN)"))
        else:
            out.append((p, scores[id(p)], ""))
    return out


def default_workers() -> int:
    """Decode threads when none are asked for: one per CPU core this process may run on, at least
    2 and at most 16. Decoding is the pipeline's floor (benchmarks/RESULTS.md) and releases the
    GIL; the cap bounds the photos in flight on big machines."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 2
    return min(16, max(2, cores))


def score_items(
    items: Iterable[PhotoItem],
    scorer: Scorer,
    cache: Cache | None = None,
    batch_size: int = 16,
    workers: int | None = None,
    use_cache: bool = True,
    thumb_size: int | None = None,
    analyze: bool = False,
) -> Iterator[ScoreResult]:
    """Score ``items`` (see the module docstring).

    ``workers``: decode threads (None: :func:`default_workers`).
    ``cache=None``: no caching at all. ``use_cache=False``: cached scores are
    ignored (everything is rescored) but the new scores are still written.
    ``thumb_size``: also cache thumbnails of this size for the photos it decodes
    (needs a cache; cache hits are not decoded, so their thumbnails are left alone).
    ``analyze``: also cache the :mod:`photocull.app.core.analysis` of the photos it decodes that have
    none cached yet (needs a cache).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if cache is None:
        thumb_size, analyze = None, False
    items = list(items)
    model_id = scorer.model_id
    hits = {}
    if cache is not None and use_cache:
        hits = cache.get_scores(((it.path, it.size, it.mtime_ns) for it in items if it.ok), model_id)
    for it in items:
        hit = hits.get(it.path) if it.ok else None
        if hit is not None:
            yield ScoreResult(it.path, hit.score, ERROR if hit.error else OK, hit.error, cached=True)
    for it in items:
        if not it.ok:
            yield ScoreResult(it.path, None, ERROR, it.error)
    misses = [it for it in items if it.ok and it.path not in hits]
    batches = [misses[i:i + batch_size] for i in range(0, len(misses), batch_size)]
    if not batches:
        return
    extras = _Extras(thumb_size)
    if analyze:
        done = cached_analyses(cache, misses)
        wanted = [it for it in misses if it.path not in done]
        exifs = cached_exifs(cache, wanted)
        extras = _Extras(thumb_size, {it.path: exifs.get(it.path) for it in wanted})
    workers = default_workers() if workers is None else max(1, workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photocull-decode")
    pending: list[Future] = []
    try:
        pending = [pool.submit(_prepare, it, scorer, extras) for it in batches[0]]
        for i in range(len(batches)):
            current = pending
            # Queue the next batch's decodes now: they overlap this batch's inference.
            pending = ([pool.submit(_prepare, it, scorer, extras) for it in batches[i + 1]]
                       if i + 1 < len(batches) else [])
            scored = _score_batch(current, scorer)
            if cache is not None:
                cache.put_scores(
                    [(p.item.path, p.size, p.mtime_ns, score, err)
                     for p, score, err in scored if score is not None or p.permanent],
                    model_id)
                thumbnails = [(p.item.path, p.size, p.mtime_ns, thumb_size, p.thumbnail)
                              for p, _, _ in scored if p.thumbnail is not None]
                if thumbnails:
                    cache.put_thumbnails(thumbnails)
                store_analyses(cache, [(p.item, p.analysis) for p, score, _ in scored
                                       if p.analysis is not None and score is not None])
            for p, score, err in scored:
                yield ScoreResult(p.item.path, score, OK if score is not None else ERROR, err)
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def score_folder(
    root: str | os.PathLike,
    scorer: Scorer,
    cache: Cache | None = None,
    recursive: bool = True,
    exclude: tuple[str, ...] = (),
    **kw,
) -> Iterator[ScoreResult]:
    """:func:`scan_folder` then :func:`score_items` (``kw``: its options)."""
    yield from score_items(scan_folder(root, recursive=recursive, exclude=exclude), scorer, cache, **kw)
