"""Applying the photographer's decisions to a folder: one code path for the CLI and the GUI.

* :func:`write_sidecars` writes each result's rating + label into its XMP sidecar
  (:func:`photocull.app.core.xmp.write_decision`). A photo whose sidecar cannot be
  written (an :class:`~photocull.app.core.xmp.XmpError` or an ``OSError``) becomes a
  :class:`PhotoError`, and the others go on.
* :func:`organise` sorts kept/rejected shots into ``Keep/`` and ``Reject/``
  (:func:`photocull.app.core.journal.organize`: journaled, never overwrites); a file
  the batch left where it was becomes a :class:`PhotoError`.
* :func:`undo` reverts the last batch, :func:`recover` rolls back interrupted ones.

Whenever files move (a move batch, its undo, a rollback) the cache follows them
(:meth:`photocull.app.core.cache.Cache.move_paths`): scores, decisions, thumbnails,
EXIF and analyses stay with the photo, so nothing is scored or analysed again.

:func:`results_from_entries` turns the GUI session's flags into the
:class:`~photocull.app.core.decisions.CullResult`\\ s these functions take.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import journal, xmp
from .cache import Cache
from .decisions import KEEP, REJECT, REVIEW, CullResult, Decision, Labels
from .scan import relative_display
from .session import PICK, Entry

__all__ = ["PhotoError", "SidecarReport", "SortReport", "organise", "recover",
           "results_from_entries", "undo", "write_sidecars"]


@dataclass(frozen=True)
class PhotoError:
    """One photo (or file of a shot) that an operation left alone, and why."""

    path: Path
    action: str  # what did not happen: "sidecar left unchanged", "not moved", "not copied"
    reason: str

    def describe(self, folder: str | os.PathLike) -> str:
        """``"not moved: sub/IMG_1.jpg: why"`` (the path relative to ``folder``)."""
        return f"{self.action}: {relative_display(self.path, folder)}: {self.reason}"


@dataclass
class SidecarReport:
    written: int = 0
    errors: list[PhotoError] = field(default_factory=list)
    cancelled: bool = False  # stopped by ``cancel`` (the sidecars written so far stay)


@dataclass
class SortReport:
    batch: journal.BatchReport
    errors: list[PhotoError] = field(default_factory=list)


def write_sidecars(results: Iterable[CullResult], naming: str = "replace",
                   companions: dict[Path, list[Path]] | None = None,
                   cancel: threading.Event | None = None) -> SidecarReport:
    """Write the XMP sidecar of every result (never the photo); see the module docstring.
    ``cancel`` is checked before each photo."""
    companions = companions or {}
    report = SidecarReport()
    for r in results:
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        try:
            if xmp.write_decision(r.path, r.decision, naming, companions.get(r.path, ())):
                report.written += 1
        except (xmp.XmpError, OSError) as exc:
            report.errors.append(PhotoError(Path(r.path), "sidecar left unchanged", str(exc)))
    return report


def _carry(cache: Cache | None, reports: Iterable[journal.UndoReport]) -> None:
    """Carry the cache entries of files that a rollback or undo moved back."""
    if cache is not None:
        cache.move_paths(pair for rep in reports if rep.mode == "move" for pair in rep.restored)


def organise(folder: str | os.PathLike, results: Sequence[CullResult],
             companions: dict[Path, list[Path]] | None, mode: str, cache: Cache | None) -> SortReport:
    """Move or copy (``mode``) kept/rejected shots into ``Keep/`` and ``Reject/``; a move carries
    the cache entries along. Raises what :func:`photocull.app.core.journal.organize` raises (a
    refused batch: :class:`~photocull.app.core.journal.JournalError`; an ``OSError`` stops it, and
    :func:`undo` puts back what was already done)."""
    batch = journal.organize(folder, results, companions, mode=mode)
    _carry(cache, batch.recovered)
    if cache is not None and mode == "move":
        cache.move_paths(batch.done)
    return SortReport(batch, [PhotoError(Path(src), f"not {journal.DONE[mode]}", why) for src, why in batch.skipped])


def undo(folder: str | os.PathLike, cache: Cache | None) -> journal.UndoReport:
    """Revert the last batch (:func:`photocull.app.core.journal.undo`), the cache entries too."""
    rep = journal.undo(folder)
    _carry(cache, [rep])
    return rep


def recover(folder: str | os.PathLike, cache: Cache | None) -> list[journal.UndoReport]:
    """Roll back interrupted batches (:func:`photocull.app.core.journal.recover`), the cache entries too."""
    reports = journal.recover(folder)
    _carry(cache, reports)
    return reports


def results_from_entries(entries: Iterable[Entry], labels: Labels = Labels()) -> list[CullResult]:
    """The photographer's flags as ``CullResult``\\ s: pick -> keep, reject -> reject, else review;
    the label is the entry's colour label, else the verdict's (``labels``)."""
    out = []
    for e in entries:
        if e.flag == PICK:
            verdict, reason, label = KEEP, "picked in photocull", labels.keep
        elif e.flag == REJECT:
            verdict, reason, label = REJECT, "rejected in photocull", labels.reject
        else:
            verdict, reason, label = REVIEW, (f"not decided: {e.error}" if e.failed else "not decided"), None
        # the photographer's colour label wins over the verdict's and stays theirs; auto-cull's
        # proposals go to XMP marked as such (photocull.app.core.xmp), so they stay auto-cull's
        own = e.label is not None
        label = e.label if own else label
        out.append(CullResult(e.path, e.score, verdict, reason,
                              Decision(e.flag, e.stars, label, auto=e.auto, own_label=own)))
    return out
