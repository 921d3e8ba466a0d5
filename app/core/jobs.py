"""Background jobs over a scanned folder, for a front end that runs them on a thread (the GUI).

A job is ``job(cancel_event)``: a generator whose yielded ``(kind, value)`` messages the
front end applies; it checks the :class:`threading.Event` between steps and raises
:class:`Cancelled` when it is set. Nothing here knows about Qt.

* :func:`capture_dates`: the EXIF capture time of each photo (from the ``exif`` cache
  table, which the scoring engine's analysis fills, so a photo's EXIF is read once);
* :func:`analysis_job`: reasons and bursts of the scanned items;
* :func:`learn_job`: fine-tune a personal model on the folder's picks.
"""

from __future__ import annotations

import threading
from pathlib import Path

from photocull.app.core import decode
from photocull.app.core.analysis import analyze_items, burst_groups
from photocull.app.core.cache import Cache
from photocull.app.core.scan import PhotoItem

__all__ = ["Cancelled", "capture_dates", "analysis_job", "learn_job"]

EXIF_BATCH = 200  # EXIF summaries read from files, stored per transaction


class Cancelled(Exception):
    """Raised inside a job when its cancel flag is set."""


def capture_dates(items: list[PhotoItem], cache: Cache,
                  cancel: threading.Event | None = None) -> dict[Path, float]:
    """``{path: POSIX seconds taken}`` of the readable ``items`` that have an EXIF capture time.

    EXIF summaries come from the cache; the missing ones are read from the files and cached.
    """
    items = [it for it in items if it.ok]
    cached = cache.get_exifs((it.path, it.size, it.mtime_ns) for it in items)
    out, new = {}, []
    for it in items:
        if cancel is not None and cancel.is_set():
            cache.put_exifs(new)
            raise Cancelled
        summary = cached.get(it.path)
        if summary is None:
            summary = decode.read_exif_summary(it.path)
            new.append((it.path, it.size, it.mtime_ns, summary))
            if len(new) >= EXIF_BATCH:
                cache.put_exifs(new)
                new = []
        if summary.get("taken") is not None:
            out[it.path] = float(summary["taken"])
    cache.put_exifs(new)
    return out


def analysis_job(cache: Cache, items: list[PhotoItem], scores: dict[Path, float | None], chunk: int = 16):
    """Yields ``("reasons", {path: [labels]})`` as the scanned ``items`` are analysed (cached ones
    first), then ``("bursts", {path: BurstInfo})`` once, grouped with ``scores``."""
    items = list(items)
    scores = dict(scores)

    def job(cancel: threading.Event):
        analyses, batch = [], {}
        for a in analyze_items(items, cache, chunk=chunk):
            analyses.append(a)
            batch[a.path] = a.labels
            if len(batch) >= chunk:
                yield ("reasons", batch)
                batch = {}
            if cancel.is_set():
                raise Cancelled
        if batch:
            yield ("reasons", batch)
        yield ("bursts", burst_groups(analyses, scores))

    return job


def learn_job(folder: Path, cache: Cache, model_path: str | None):
    """Yields ``("learned", LearnReport)`` or ``("learn-error", message)``."""

    def job(cancel: threading.Event):
        from photocull.app.core.learn import NotEnoughDecisions, learn_from_decisions

        try:
            report = learn_from_decisions(folder, model_path=model_path or None, cache=cache)
        except NotEnoughDecisions as exc:
            yield ("learn-error", str(exc))
            return
        yield ("learned", report)

    return job
