"""Qt-free culling session: the photos of one folder, their scores and decisions.

The GUI (``photocull.app.ui``) keeps exactly one :class:`CullSession` per opened folder.
It holds one :class:`Entry` per photo, applies decisions (pick / reject /
unflag, 0-5 stars) as undoable steps, computes auto-cull proposals and the
counts shown in the status bar, and answers the filter question
(:meth:`Entry.matches`) that the Qt proxy model asks for every row.

Nothing here touches Qt, the disk or the model. Every change is announced to the session's
listeners (:meth:`CullSession.subscribe`) as one :class:`Change` event: the GUI saves decisions
and repaints rows from those events, so no call site has to remember to; every mutating
method also returns the paths it changed.

A decision is the photographer's unless auto-cull made it (``Entry.auto``): auto-cull and
best-of-burst leave the photographer's flags and stars alone
(:func:`photocull.app.core.decisions.keep_manual`) unless asked to overwrite them; the
photos left alone by the last one are :attr:`CullSession.left_alone`. Each has a dry run
(``preview_*`` -> :class:`Proposal`, what the dialogs show before applying) that the applying
method goes through, so preview and result cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photocull.app.core.bursts import BurstInfo, cull_best_of_burst
from photocull.app.core.decisions import (
    FLAGS,
    KEEP,
    LABEL_COLOURS,
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
from photocull.app.core.reasons import Finding, finding_labels

__all__ = ["PICK", "REJECT", "UNFLAGGED", "FLAGS", "DECISION_FILTERS", "LABEL_FILTERS", "Entry", "Proposal",
           "Change", "CullSession"]

# Decision filters understood by Entry.matches (besides "all").
DECISION_FILTERS = ("all", PICK, REJECT, UNFLAGGED, "error")
# Colour-label filters understood by Entry.matches: any, one colour, or no label.
LABEL_FILTERS = ("any", *LABEL_COLOURS, "none")

_State = tuple[str, int, str | None, bool]  # an entry's (flag, stars, label, auto)


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
    # the reasons named (photocull.app.core.reasons.findings): (label, indicator 0-1, "mild" | "strong")
    findings: list[Finding] = field(default_factory=list)
    burst: BurstInfo | None = None  # burst / near-duplicate group (photocull.app.core.bursts)
    label: str | None = None  # the photographer's colour label (decisions.LABEL_COLOURS) or another tool's text
    auto: bool = False  # flag and stars are auto-cull's proposal, not the photographer's decision

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def failed(self) -> bool:
        return bool(self.error)

    @property
    def reasons(self) -> list[str]:
        """The labels of the reasons named ("blurry", ...), without their severity."""
        return finding_labels(self.findings)

    def matches(self, lo: float = 0.0, hi: float = 100.0, decision: str = "all", min_stars: int = 0,
                label: str = "any") -> bool:
        """Whether the entry passes a score-range filter, a decision filter, at least ``min_stars``
        stars and a colour-label filter (``"any"``, a colour, or ``"none"``: no label).

        Unscored entries (still scoring, or failed) pass any score range so
        that the grid never hides what it has not judged yet; ``decision="error"``
        keeps only failed entries.
        """
        if self.stars < min_stars or label not in ("any", "none" if self.label is None else self.label):
            return False
        if decision == "error":
            return self.failed
        if decision != "all" and (self.failed or self.flag != decision):
            return False
        if self.score is None:
            return True
        return lo <= self.score <= hi


@dataclass
class _Step:
    """One undoable step: per path, the (flag, stars, label, auto) before and after."""

    label: str
    before: dict[Path, _State] = field(default_factory=dict)
    after: dict[Path, _State] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """What an auto-cull would set (:meth:`CullSession.preview_auto_cull`), not applied yet."""

    label: str
    new: dict[Path, _State]  # path -> the (flag, stars, label, auto) auto-cull sets
    left_alone: list[Path]  # the photographer's decisions it keeps
    changed: int  # photos whose decision it changes

    @property
    def picks(self) -> int:
        return sum(1 for v in self.new.values() if v[0] == PICK)

    @property
    def rejects(self) -> int:
        return sum(1 for v in self.new.values() if v[0] == REJECT)

    def summary(self) -> str:
        """"will pick N, reject M, leave K of yours alone"."""
        return f"will pick {self.picks}, reject {self.rejects}, leave {len(self.left_alone)} of yours alone"


@dataclass(frozen=True)
class Change:
    """What one session call changed: the ``paths`` of its entries and which part of them.
    ``decisions``: flag, stars, label (the photographer's work, to be saved); else only what the
    engine found (scores, capture dates, reasons, bursts). ``what``: the step ("pick", "undo",
    "auto-cull", "scores" ...)."""

    paths: tuple[Path, ...]
    decisions: bool
    what: str


Listener = Callable[[Change], None]


class CullSession:
    """Entries of one folder plus an undo/redo stack of decision changes; listeners are told
    of every change (:meth:`subscribe`)."""

    def __init__(self, entries: Iterable[Entry] = (), max_undo: int = 1000):
        self.entries: list[Entry] = list(entries)
        self._by_path: dict[Path, Entry] = {e.path: e for e in self.entries}
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._max_undo = max_undo
        self.left_alone: list[Path] = []  # the photographer's decisions the last auto-cull kept
        self._listeners: list[Listener] = []

    # -- change events ------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(change)`` after every change (in the order they subscribed)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error when it was not subscribed)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, paths: Iterable[Path], decisions: bool, what: str) -> list[Path]:
        paths = list(paths)
        if paths:
            change = Change(tuple(paths), decisions, what)
            for listener in list(self._listeners):
                listener(change)
        return paths

    # -- lookup -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, path: object) -> bool:
        return path in self._by_path

    def get(self, path: Path) -> Entry:
        return self._by_path[as_path(path)]

    # -- what the engine found (scores, dates, reasons, bursts) ----------------
    def set_score(self, path: Path, score: float | None, error: str = "", cached: bool = False) -> Entry:
        entry = self._by_path[as_path(path)]
        self._score(entry, score, error, cached)
        self._emit([entry.path], False, "scores")
        return entry

    def set_scores(self, results: Iterable) -> list[Path]:
        """The engine's ``ScoreResult``s (``path``, ``score``, ``error``, ``cached``) as one change;
        results for paths not in the session are ignored. Returns the paths set."""
        changed = []
        for r in results:
            entry = self._by_path.get(as_path(r.path))
            if entry is not None:
                self._score(entry, r.score, r.error, r.cached)
                changed.append(entry.path)
        return self._emit(changed, False, "scores")

    @staticmethod
    def _score(entry: Entry, score: float | None, error: str, cached: bool) -> None:
        entry.score = None if score is None else float(score)
        entry.error = error or ""
        entry.cached = cached

    def _set_found(self, what: str, values: Mapping[Path, object], attr: str) -> list[Path]:
        changed = []
        for path, value in values.items():
            entry = self._by_path.get(as_path(path))
            if entry is not None:
                setattr(entry, attr, value)
                changed.append(entry.path)
        return self._emit(changed, False, what)

    def set_taken(self, taken: Mapping[Path, float]) -> list[Path]:
        """Capture times (POSIX seconds) of the paths in ``taken``."""
        return self._set_found("dates", taken, "taken")

    def set_reasons(self, found: Mapping[Path, Sequence[Finding]]) -> list[Path]:
        """The reasons named per path, with their severity (:func:`photocull.app.core.reasons.findings`)."""
        return self._set_found("reasons", {p: list(v) for p, v in found.items()}, "findings")

    def set_bursts(self, groups: Mapping[Path, BurstInfo]) -> list[Path]:
        """Burst groups (:mod:`photocull.app.core.bursts`) per path."""
        return self._set_found("bursts", groups, "burst")

    def scored(self) -> dict[Path, float]:
        return {e.path: e.score for e in self.entries if e.score is not None and not e.failed}

    # -- decisions ----------------------------------------------------------
    def _change(self, label: str, new: dict[Path, _State]) -> list[Path]:
        step = _Step(label)
        for path, state in new.items():
            flag, stars = state[0], state[1]
            if flag not in FLAGS:
                raise ValueError(f"unknown flag {flag!r}")
            if not 0 <= stars <= 5:
                raise ValueError(f"stars must be 0..5, got {stars}")
            e = self._by_path[as_path(path)]
            if self._state(e.path) == state:
                continue
            step.before[e.path] = self._state(e.path)
            step.after[e.path] = state
        if not step.after:
            return []
        self._apply(step.after)
        self._undo.append(step)
        del self._undo[: -self._max_undo]
        self._redo.clear()
        return self._emit(step.after, True, label)

    def _state(self, path: Path) -> _State:
        e = self._by_path[path]
        return e.flag, e.stars, e.label, e.auto

    def _apply(self, values: dict[Path, _State]) -> None:
        for path, (flag, stars, label, auto) in values.items():
            e = self._by_path[path]
            e.flag, e.stars, e.label, e.auto = flag, stars, label, auto

    def set_flag(self, paths: Sequence[Path], flag: str) -> list[Path]:
        """Pick / reject / unflag ``paths`` as one undoable step; returns changed paths."""
        return self._change(flag, {e.path: (flag, e.stars, e.label, False) for e in map(self.get, paths)})

    def set_stars(self, paths: Sequence[Path], stars: int) -> list[Path]:
        return self._change(f"{stars} stars",
                            {e.path: (e.flag, int(stars), e.label, False) for e in map(self.get, paths)})

    def toggle_label(self, paths: Sequence[Path], colour: str) -> list[Path]:
        """Give ``paths`` the colour label ``colour`` as one undoable step, or clear it when they all
        have it already (Lightroom's keys 6-9). Auto-cull never changes a label."""
        if colour not in LABEL_COLOURS:
            raise ValueError(f"unknown colour label {colour!r} (expected one of {LABEL_COLOURS})")
        entries = [self.get(p) for p in paths]
        new = None if entries and all(e.label == colour for e in entries) else colour
        return self._change(f"label {new or 'cleared'}", {e.path: (e.flag, e.stars, new, e.auto) for e in entries})

    def _propose(self, label: str, results: list[CullResult], overwrite: bool, stars: bool) -> Proposal:
        """What applying auto-cull's ``results`` would set, the photographer's decisions kept
        (unless ``overwrite``). ``stars``: picks get the stars of their score; else auto-cull sets
        flags only (a pick keeps the photographer's stars, auto-cull's earlier stars go)."""
        manual = {e.path: Decision(e.flag, e.stars, e.label) for e in self.entries if not e.auto}
        protected = keep_manual(results, manual, overwrite)
        theirs = set(protected.left_alone)
        new: dict[Path, _State] = {}
        for r in protected.results:
            if r.path in theirs or r.verdict not in (KEEP, REJECT):
                continue
            e = self._by_path[r.path]
            if r.verdict == REJECT:
                new[r.path] = (REJECT, 0, e.label, True)
            else:
                new[r.path] = (PICK, r.decision.stars if stars else (0 if e.auto else e.stars), e.label, True)
        changed = sum(1 for p, v in new.items() if v != self._state(p))
        return Proposal(label, new, protected.left_alone, changed)

    def apply_proposal(self, proposal: Proposal) -> list[Path]:
        """Apply a proposal of :meth:`preview_auto_cull` / :meth:`preview_best_of_burst` as one
        undoable step; sets :attr:`left_alone`; returns the changed paths."""
        self.left_alone = list(proposal.left_alone)
        return self._change(proposal.label, proposal.new)

    def preview_auto_cull(self, top_percent: float | None = None, threshold: float | None = None,
                          overwrite: bool = False, stars: bool = False) -> Proposal:
        """What :meth:`auto_cull` would do, without doing it (the same code path)."""
        if (top_percent is None) == (threshold is None):
            raise ValueError("give exactly one of top_percent or threshold")
        entries = [e for e in self.entries if not e.failed and e.score is not None]
        if top_percent is not None:
            results = cull_top(entries, top_percent / 100.0)
        else:
            results = cull_threshold(entries, threshold)
        return self._propose("auto-cull", results, overwrite, stars)

    def auto_cull(self, top_percent: float | None = None, threshold: float | None = None,
                  overwrite: bool = False, stars: bool = False) -> list[Path]:
        """Pick / reject the scored entries as one undoable step (rules of :mod:`photocull.app.core.decisions`).

        Exactly one of ``top_percent`` (0-100) or ``threshold`` (score) is given. Failed or
        unscored entries keep their decision ("needs review"), and so do the photographer's
        flags and stars unless ``overwrite``. ``stars``: a pick gets the stars of its score
        (else only flags are set).
        """
        return self.apply_proposal(self.preview_auto_cull(top_percent, threshold, overwrite, stars))

    def preview_best_of_burst(self, threshold: float | None = None, overwrite: bool = False,
                              stars: bool = False) -> Proposal:
        """What :meth:`auto_cull_best_of_burst` would do, without doing it (the same code path)."""
        entries = [e for e in self.entries if not e.failed and e.score is not None]
        groups = {e.path: e.burst for e in entries if e.burst is not None}  # singles: REVIEW, left as they are
        return self._propose("auto-cull best of burst", cull_best_of_burst(entries, groups, threshold),
                             overwrite, stars)

    def auto_cull_best_of_burst(self, threshold: float | None = None, overwrite: bool = False,
                                stars: bool = False) -> list[Path]:
        """Pick the best shot of each burst of 2+ shots, reject the rest of it (one undoable step).

        Single shots are left as they are, unless ``threshold`` is given: then they are picked,
        or rejected when they score below it. Failed/unscored entries keep their decision, and
        so do the photographer's flags and stars unless ``overwrite``; ``stars`` as in
        :meth:`auto_cull`.
        """
        return self.apply_proposal(self.preview_best_of_burst(threshold, overwrite, stars))

    def undo(self) -> list[Path]:
        if not self._undo:
            return []
        step = self._undo.pop()
        self._apply(step.before)
        self._redo.append(step)
        return self._emit(step.before, True, "undo")

    def redo(self) -> list[Path]:
        if not self._redo:
            return []
        step = self._redo.pop()
        self._apply(step.after)
        self._undo.append(step)
        return self._emit(step.after, True, "redo")

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
