"""Qt-free culling session: the photos of one folder, their scores and decisions.

The GUI (``photocull.app.ui``) keeps exactly one :class:`CullSession` per opened folder.
It holds one :class:`Entry` per photo, applies decisions (pick / reject /
unflag, 0-5 stars) as undoable steps, computes auto-cull proposals and the
counts shown in the status bar, and answers the filter question
(:meth:`Entry.matches`) that the Qt proxy model asks for every row.

Nothing here touches Qt, the disk or the model: persistence is the caller's
job (every mutating method returns the paths whose decision changed).

A decision is the photographer's unless auto-cull made it (``Entry.auto``): auto-cull and
best-of-burst leave the photographer's flags and stars alone
(:func:`photocull.app.core.decisions.keep_manual`) unless asked to overwrite them; the
photos left alone by the last one are :attr:`CullSession.left_alone`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photocull.app.core.bursts import BurstInfo, cull_best_of_burst
from photocull.app.core.decisions import (
    FLAGS,
    KEEP,
    PICK,
    REJECT,
    UNFLAGGED,
    CullResult,
    Decision,
    cull_threshold,
    cull_top,
    keep_manual,
)
from photocull.app.core.paths import as_path

__all__ = ["PICK", "REJECT", "UNFLAGGED", "FLAGS", "DECISION_FILTERS", "Entry", "CullSession"]

# Decision filters understood by Entry.matches (besides "all").
DECISION_FILTERS = ("all", PICK, REJECT, UNFLAGGED, "error")


@dataclass
class Entry:
    """One photo of the session (one shot: a RAW+JPEG pair is one entry)."""

    path: Path
    score: float | None = None
    error: str = ""
    flag: str = UNFLAGGED
    stars: int = 0
    taken: float | None = None  # POSIX timestamp of capture (EXIF) or file mtime
    cached: bool = False
    reasons: list[str] = field(default_factory=list)  # labels of photocull.app.core.reasons ("blurry", ...)
    burst: BurstInfo | None = None  # burst / near-duplicate group (photocull.app.core.bursts)
    auto: bool = False  # flag and stars are auto-cull's proposal, not the photographer's decision

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def matches(self, lo: float = 0.0, hi: float = 100.0, decision: str = "all") -> bool:
        """Whether the entry passes a score-range filter and a decision filter.

        Unscored entries (still scoring, or failed) pass any score range so
        that the grid never hides what it has not judged yet; ``decision="error"``
        keeps only failed entries.
        """
        if decision == "error":
            return self.failed
        if decision != "all" and (self.failed or self.flag != decision):
            return False
        if self.score is None:
            return True
        return lo <= self.score <= hi


@dataclass
class _Step:
    """One undoable step: per path, the (flag, stars, auto) before and after."""

    label: str
    before: dict[Path, tuple[str, int, bool]] = field(default_factory=dict)
    after: dict[Path, tuple[str, int, bool]] = field(default_factory=dict)


class CullSession:
    """Entries of one folder plus an undo/redo stack of decision changes."""

    def __init__(self, entries: Iterable[Entry] = (), max_undo: int = 1000):
        self.entries: list[Entry] = list(entries)
        self._by_path: dict[Path, Entry] = {e.path: e for e in self.entries}
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._max_undo = max_undo
        self.left_alone: list[Path] = []  # the photographer's decisions the last auto-cull kept

    # -- lookup -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, path: object) -> bool:
        return path in self._by_path

    def get(self, path: Path) -> Entry:
        return self._by_path[as_path(path)]

    # -- scores -------------------------------------------------------------
    def set_score(self, path: Path, score: float | None, error: str = "", cached: bool = False) -> Entry:
        entry = self._by_path[as_path(path)]
        entry.score = None if score is None else float(score)
        entry.error = error or ""
        entry.cached = cached
        return entry

    def scored(self) -> dict[Path, float]:
        return {e.path: e.score for e in self.entries if e.score is not None and not e.failed}

    # -- decisions ----------------------------------------------------------
    def _change(self, label: str, new: dict[Path, tuple[str, int]], auto: bool = False) -> list[Path]:
        step = _Step(label)
        for path, (flag, stars) in new.items():
            if flag not in FLAGS:
                raise ValueError(f"unknown flag {flag!r}")
            if not 0 <= stars <= 5:
                raise ValueError(f"stars must be 0..5, got {stars}")
            e = self._by_path[as_path(path)]
            if (e.flag, e.stars, e.auto) == (flag, stars, auto):
                continue
            step.before[e.path] = (e.flag, e.stars, e.auto)
            step.after[e.path] = (flag, stars, auto)
        if not step.after:
            return []
        self._apply(step.after)
        self._undo.append(step)
        del self._undo[: -self._max_undo]
        self._redo.clear()
        return list(step.after)

    def _apply(self, values: dict[Path, tuple[str, int, bool]]) -> None:
        for path, (flag, stars, auto) in values.items():
            e = self._by_path[path]
            e.flag, e.stars, e.auto = flag, stars, auto

    def set_flag(self, paths: Sequence[Path], flag: str) -> list[Path]:
        """Pick / reject / unflag ``paths`` as one undoable step; returns changed paths."""
        return self._change(flag, {as_path(p): (flag, self._by_path[as_path(p)].stars) for p in paths})

    def set_stars(self, paths: Sequence[Path], stars: int) -> list[Path]:
        return self._change(f"{stars} stars", {as_path(p): (self._by_path[as_path(p)].flag, int(stars)) for p in paths})

    def _apply_proposal(self, label: str, results: list[CullResult], overwrite: bool) -> list[Path]:
        """Auto-cull's ``results`` as one undoable step, the photographer's decisions kept
        (unless ``overwrite``); sets :attr:`left_alone`."""
        manual = {e.path: Decision(e.flag, e.stars) for e in self.entries if not e.auto}
        protected = keep_manual(results, manual, overwrite)
        self.left_alone = protected.left_alone
        theirs = set(self.left_alone)
        new = {r.path: (PICK if r.verdict == KEEP else REJECT, r.decision.stars if r.verdict == KEEP else 0)
               for r in protected.results if r.path not in theirs}
        return self._change(label, new, auto=True)

    def auto_cull(self, top_percent: float | None = None, threshold: float | None = None,
                  overwrite: bool = False) -> list[Path]:
        """Pick / reject the scored entries as one undoable step (rules of :mod:`photocull.app.core.decisions`).

        Exactly one of ``top_percent`` (0-100) or ``threshold`` (score) is given. Failed or
        unscored entries keep their decision ("needs review"), and so do the photographer's
        flags and stars unless ``overwrite``. A pick gets the stars of its score.
        """
        if (top_percent is None) == (threshold is None):
            raise ValueError("give exactly one of top_percent or threshold")
        entries = [e for e in self.entries if not e.failed and e.score is not None]
        if top_percent is not None:
            results = cull_top(entries, top_percent / 100.0)
        else:
            results = cull_threshold(entries, threshold)
        return self._apply_proposal("auto-cull", results, overwrite)

    def auto_cull_best_of_burst(self, threshold: float | None = None, overwrite: bool = False) -> list[Path]:
        """Pick the best shot of each burst of 2+ shots, reject the rest of it (one undoable step).

        Single shots are left as they are, unless ``threshold`` is given: then they are picked,
        or rejected when they score below it. Failed/unscored entries keep their decision, and
        so do the photographer's flags and stars unless ``overwrite``.
        """
        entries = [e for e in self.entries if not e.failed and e.score is not None
                   and (threshold is not None or (e.burst is not None and e.burst.is_burst))]
        groups = {e.path: e.burst for e in entries if e.burst is not None}
        return self._apply_proposal("auto-cull best of burst",
                                    cull_best_of_burst(entries, groups, threshold), overwrite)

    def undo(self) -> list[Path]:
        if not self._undo:
            return []
        step = self._undo.pop()
        self._apply(step.before)
        self._redo.append(step)
        return list(step.before)

    def redo(self) -> list[Path]:
        if not self._redo:
            return []
        step = self._redo.pop()
        self._apply(step.after)
        self._undo.append(step)
        return list(step.after)

    # -- summaries ----------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """picked / rejected / left (unflagged, not failed) / errors / scored / total."""
        c = {"picked": 0, "rejected": 0, "left": 0, "errors": 0, "scored": 0, "total": len(self.entries)}
        for e in self.entries:
            if e.failed:
                c["errors"] += 1
                continue
            if e.score is not None:
                c["scored"] += 1
            if e.flag == PICK:
                c["picked"] += 1
            elif e.flag == REJECT:
                c["rejected"] += 1
            else:
                c["left"] += 1
        return c

    def with_flag(self, flag: str) -> list[Path]:
        return [e.path for e in self.entries if e.flag == flag and not e.failed]
