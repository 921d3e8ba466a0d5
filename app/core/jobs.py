"""Background jobs over a scanned folder, for a front end that runs them on a thread (the GUI).

A job is ``job(cancel_event)``: a generator whose yielded messages (the dataclasses below, one
per kind, so a front end dispatches on the type, not on a string tag) the front end applies;
it checks the :class:`threading.Event` between steps and raises :class:`Cancelled` when it is
set. Nothing here knows about Qt.

* :func:`capture_dates`: the EXIF capture time of each photo (from the ``exif`` cache
  table, which the scoring engine's analysis fills, so a photo's EXIF is read once);
* :func:`analysis_job`: reasons and bursts of the scanned items;
* :func:`learn_job`: fine-tune a personal model on the folder's picks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from photocull.app.core import decode
from photocull.app.core.analysis import analyze_items, burst_groups
from photocull.app.core.cache import Cache
from photocull.app.core.reasons import Finding
from photocull.app.core.scan import PhotoItem

__all__ = ["Cancelled", "capture_dates", "analysis_job", "learn_job", "Scanned", "ModelReady", "Scores",
           "Dates", "Reasons", "Bursts", "Learned", "LearnRefused", "Report", "FolderChanged"]

EXIF_BATCH = 200  # EXIF summaries read from files, stored per transaction


class Cancelled(Exception):
    """Raised inside a job when its cancel flag is set."""


# -- the messages jobs yield ---------------------------------------------------
@dataclass(frozen=True)
class Scanned:
    """The folder's photos, once, before any score: session entries (the photographer's decisions
    applied), RAW+JPEG companions, and the scan's items (the later jobs reuse them, no re-stat)."""

    entries: list  # photocull.app.core.session.Entry
    companions: dict[Path, list[Path]]
    items: list[PhotoItem]


@dataclass(frozen=True)
class ModelReady:
    """The scorer is loaded; scores follow."""

    model_id: str


@dataclass(frozen=True)
class Scores:
    """A batch of the engine's ``ScoreResult``s."""

    results: list


@dataclass(frozen=True)
class Dates:
    """EXIF capture times, POSIX seconds per path (:func:`capture_dates`)."""

    taken: dict[Path, float]


@dataclass(frozen=True)
class Reasons:
    """The reasons named per path, each with its severity ("noisy", 0.83, "strong"), a batch of
    the analysis (:attr:`photocull.app.core.analysis.Analysis.findings`)."""

    findings: dict[Path, list[Finding]]


@dataclass(frozen=True)
class Bursts:
    """Burst / near-duplicate group per path, once at the end of the analysis."""

    groups: dict  # Path -> photocull.app.core.bursts.BurstInfo


@dataclass(frozen=True)
class Learned:
    """A personal model was trained (``report``: a ``learn.LearnReport``)."""

    report: object


@dataclass(frozen=True)
class LearnRefused:
    """Why nothing was learned (too few picks/rejects ...)."""

    message: str


@dataclass(frozen=True)
class Report:
    """A line for the photographer about an export / undo; ``problem``: one photo that failed
    (the others went on)."""

    text: str
    problem: bool = False


@dataclass(frozen=True)
class FolderChanged:
    """Files of the open folder were moved or put back: the folder must be read again."""


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
    """Yields :class:`Reasons` as the scanned ``items`` are analysed (cached ones first), then
    :class:`Bursts` once, grouped with ``scores``."""
    items = list(items)
    scores = dict(scores)

    def job(cancel: threading.Event):
        analyses, batch = [], {}
        for a in analyze_items(items, cache, chunk=chunk):
            analyses.append(a)
            batch[a.path] = a.findings
            if len(batch) >= chunk:
                yield Reasons(batch)
                batch = {}
            if cancel.is_set():
                raise Cancelled
        if batch:
            yield Reasons(batch)
        yield Bursts(burst_groups(analyses, scores))

    return job


def learn_job(folder: Path, cache: Cache, model_path: str | None):
    """Yields :class:`Learned` or :class:`LearnRefused`."""

    def job(cancel: threading.Event):
        from photocull.app.core.learn import NotEnoughDecisions, learn_from_decisions

        try:
            report = learn_from_decisions(folder, model_path=model_path or None, cache=cache)
        except NotEnoughDecisions as exc:
            yield LearnRefused(str(exc))
            return
        yield Learned(report)

    return job
