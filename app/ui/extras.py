"""Worker jobs for the GUI's analysis features: reasons + bursts of a folder, learning from picks.

Both are jobs for :class:`~photocull.app.ui.workers.GeneratorWorker` (``job(cancel_event)`` generators);
nothing here touches a widget.
"""

from __future__ import annotations

import threading
from pathlib import Path

from photocull.app.core.analysis import analyze_items, burst_groups
from photocull.app.core.cache import Cache
from photocull.app.core.scan import PhotoItem
from photocull.app.core.session import Entry

from .workers import Cancelled

__all__ = ["analysis_job", "learn_job"]


def analysis_job(cache: Cache, entries: list[Entry], chunk: int = 16):
    """Yields ``("reasons", {path: [labels]})`` as photos are analysed (cached ones first), then
    ``("bursts", {path: BurstInfo})`` once, grouped with the entries' current scores."""
    items = []
    for e in entries:
        try:
            st = e.path.stat()
            items.append(PhotoItem(e.path, size=st.st_size, mtime_ns=st.st_mtime_ns, error=e.error))
        except OSError as exc:
            items.append(PhotoItem(e.path, error=e.error or str(exc)))
    scores = {e.path: e.score for e in entries}

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
