"""Keep/reject decisions and how they are written for other photo software.

Auto-cull turns scoring results into one :class:`CullResult` per photo:

* :func:`cull_top` keeps the best ``fraction`` of the *successfully scored*
  photos: ``k = ceil(n * fraction)`` (so any non-zero fraction of a non-empty
  set keeps at least one photo). Every photo whose score equals the k-th best
  score is kept too, so two photos with the same score always get the same
  verdict (deterministic, independent of names or input order).
* :func:`cull_threshold` keeps ``score >= t``.
* A photo that failed to score (or has no score) is never auto-rejected: it
  gets the verdict ``"needs review"`` and no flag.

Mapping to XMP (read by Lightroom Classic, darktable, Capture One):

* reject -> ``xmp:Rating = -1`` (the "rejected" rating of XMP; Lightroom and
  darktable show it as rejected) and the reject label (default ``Red``);
* pick   -> ``xmp:Rating`` = stars from the score (:func:`stars_for_score`),
  at least 1, and the keep label (default ``Green``);
* unflagged / needs review -> nothing is written.

Score bands for stars (scores are on the 0-100 scale of the model):

====================  =====
score                 stars
====================  =====
``score < 20``        1
``20 <= score < 40``  2
``40 <= score < 60``  3
``60 <= score < 80``  4
``80 <= score``       5
====================  =====

Label names are free text in XMP; the colour names Lightroom, darktable and
Capture One agree on are ``Red``, ``Yellow``, ``Green``, ``Blue``, ``Purple``.

The photographer's own decisions win (:func:`keep_manual`): a flag or stars (their
"rating") or a colour label they set, here or in another tool (read in by
:func:`decision_from_xmp`: ``xmp:Rating`` -1 rejected, 1-5 stars, 0 or absent
unrated), is never changed by auto-cull unless it is asked to overwrite them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

__all__ = [
    "PICK",
    "REJECT",
    "UNFLAGGED",
    "FLAGS",
    "KEEP",
    "REVIEW",
    "VERDICTS",
    "LABEL_COLOURS",
    "STAR_BANDS",
    "Decision",
    "Labels",
    "CullResult",
    "stars_for_score",
    "parse_fraction",
    "cull_top",
    "cull_threshold",
    "decision_from_xmp",
    "Protected",
    "keep_manual",
]

# Flag values (same strings as photocull.app.core.session and the decisions stored in the cache).
PICK = "pick"
REJECT = "reject"
UNFLAGGED = "none"
FLAGS = (PICK, REJECT, UNFLAGGED)

# Verdicts of auto-cull (what lists/CSV/JSON call "decision").
KEEP = "keep"
REVIEW = "needs review"
VERDICTS = (KEEP, REJECT, REVIEW)

LABEL_COLOURS = ("Red", "Yellow", "Green", "Blue", "Purple")

# Lower score bound of each star count, best first: score >= bound -> stars.
STAR_BANDS: tuple[tuple[float, int], ...] = ((80.0, 5), (60.0, 4), (40.0, 3), (20.0, 2))


class ScoredLike(Protocol):
    """What auto-cull needs from an ``engine.ScoreResult``."""

    path: Path
    score: float | None
    status: str
    error: str


def stars_for_score(score: float) -> int:
    """1-5 stars from a 0-100 score (see the module table)."""
    for bound, stars in STAR_BANDS:
        if score >= bound:
            return stars
    return 1


@dataclass(frozen=True)
class Decision:
    """A photographer's decision on one photo: flag, 0-5 stars, optional colour label."""

    flag: str = UNFLAGGED
    stars: int = 0
    label: str | None = None
    # proposed by auto-cull, not set by the photographer (written to XMP with photocull's mark,
    # see photocull.app.core.xmp); not part of the decision's value
    auto: bool = field(default=False, compare=False)
    # with ``auto``: the label is still the photographer's (they labelled an auto-cull proposal)
    own_label: bool = field(default=False, compare=False)

    def __post_init__(self):
        if self.flag not in FLAGS:
            raise ValueError(f"unknown flag {self.flag!r} (expected one of {FLAGS})")
        if not 0 <= int(self.stars) <= 5:
            raise ValueError(f"stars must be 0..5, got {self.stars}")

    @property
    def xmp_rating(self) -> int | None:
        """The ``xmp:Rating`` to write: -1 for a reject, 1-5 for a pick, else None (write nothing)."""
        if self.flag == REJECT:
            return -1
        if self.flag == PICK:
            return max(1, int(self.stars))
        return int(self.stars) or None

    def to_dict(self) -> dict:
        return {"flag": self.flag, "stars": int(self.stars), "label": self.label}

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        return cls(flag=d.get("flag", UNFLAGGED), stars=int(d.get("stars", 0)), label=d.get("label"))


@dataclass(frozen=True)
class Labels:
    """Colour label written for each verdict (None = write no label)."""

    keep: str | None = "Green"
    reject: str | None = "Red"


@dataclass(frozen=True)
class CullResult:
    """The auto-cull verdict for one photo, with the reason a human can read."""

    path: Path
    score: float | None
    verdict: str  # KEEP | REJECT | REVIEW
    reason: str
    decision: Decision

    @property
    def failed(self) -> bool:
        return self.verdict == REVIEW


def parse_fraction(text: str | float) -> float:
    """``"30%"`` -> 0.3, ``"0.3"`` -> 0.3, ``"30"`` -> 0.3 (a bare number > 1 is a percentage)."""
    s = str(text).strip()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(%?)", s)
    if not m:
        raise ValueError(f"not a fraction or percentage: {text!r}")
    value = float(m.group(1))
    if m.group(2) or value > 1:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"fraction must be within 0..100%: {text!r}")
    return value


def _decision(verdict: str, score: float | None, labels: Labels) -> Decision:
    if verdict == KEEP:
        return Decision(PICK, stars_for_score(score), labels.keep, auto=True)
    if verdict == REJECT:
        return Decision(REJECT, 0, labels.reject, auto=True)
    return Decision()


def _split(results: Iterable[ScoredLike]):
    scored, failed = [], []
    for r in results:
        if getattr(r, "status", "ok") == "ok" and r.score is not None and math.isfinite(r.score):
            scored.append(r)
        else:
            failed.append(r)
    return scored, failed


def _review(r: ScoredLike) -> CullResult:
    why = getattr(r, "error", "") or "no score"
    return CullResult(Path(r.path), None, REVIEW, f"not scored: {why}", Decision())


def _in_input_order(results: list, by_id: dict[int, CullResult]) -> list[CullResult]:
    return [by_id[id(r)] for r in results]


def cull_top(results: Iterable[ScoredLike], fraction: float, labels: Labels = Labels()) -> list[CullResult]:
    """Keep the best ``fraction`` (0..1) of the scored photos, reject the rest.

    Output is in input order. Ties at the cut are kept together; failed
    photos get ``"needs review"``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within 0..1, got {fraction}")
    results = list(results)
    scored, failed = _split(results)
    n = len(scored)
    # round() guards against 0.3 * 10 == 3.0000000000000004 -> ceil 4
    k = math.ceil(round(n * fraction, 9))
    ranked = sorted(scored, key=lambda r: (-r.score, str(r.path)))
    cut = ranked[k - 1].score if k > 0 else math.inf
    out: dict[int, CullResult] = {}
    pct = f"{fraction * 100:g}%"
    for rank, r in enumerate(ranked, start=1):
        verdict = KEEP if r.score >= cut else REJECT
        where = "within" if verdict == KEEP else "below"
        reason = f"rank {rank}/{n}, score {r.score:.1f} {where} top {pct}"
        out[id(r)] = CullResult(Path(r.path), float(r.score), verdict, reason, _decision(verdict, r.score, labels))
    for r in failed:
        out[id(r)] = _review(r)
    return _in_input_order(results, out)


def cull_threshold(results: Iterable[ScoredLike], threshold: float, labels: Labels = Labels()) -> list[CullResult]:
    """Keep photos with ``score >= threshold``, reject the others; failed ones need review."""
    results = list(results)
    scored, failed = _split(results)
    out: dict[int, CullResult] = {}
    for r in scored:
        keep = r.score >= threshold
        verdict = KEEP if keep else REJECT
        reason = f"score {r.score:.1f} {'>=' if keep else '<'} {threshold:g}"
        out[id(r)] = CullResult(Path(r.path), float(r.score), verdict, reason, _decision(verdict, r.score, labels))
    for r in failed:
        out[id(r)] = _review(r)
    return _in_input_order(results, out)


def decision_from_xmp(rating: int | None, label: str | None) -> Decision:
    """A decision from another tool's ``xmp:Rating`` / ``xmp:Label`` (Lightroom / darktable meaning:
    -1 rejected, 1-5 stars, 0 or absent unrated; any other rating is ignored). Colour names are
    spelled as :data:`LABEL_COLOURS`; other labels are kept as written."""
    label = (label or "").strip() or None
    for colour in LABEL_COLOURS:
        if label is not None and label.lower() == colour.lower():
            label = colour
    if rating == -1:
        return Decision(REJECT, 0, label)
    return Decision(UNFLAGGED, rating if rating is not None and 1 <= rating <= 5 else 0, label)


def _theirs(d: Decision) -> tuple[str, ...]:
    """The fields ("rating": flag or stars, "label") a decision sets."""
    return (("rating",) if d.flag != UNFLAGGED or d.stars else ()) + (("label",) if d.label is not None else ())


def _describe(d: Decision) -> str:
    parts = {PICK: ["picked"], REJECT: ["rejected"]}.get(d.flag, [])
    if d.stars:
        parts.append(f"{d.stars}\u2605")
    if d.label is not None:
        parts.append(f"label {d.label}")
    return " ".join(parts)


@dataclass(frozen=True)
class Protected:
    """Auto-cull's proposal with the photographer's decisions put back (:func:`keep_manual`)."""

    results: list[CullResult]  # one per photo, input order: what to apply, list, write and sort
    theirs: dict[Path, tuple[str, ...]]  # photos left alone -> fields kept ("rating", "label")

    @property
    def left_alone(self) -> list[Path]:
        """Photos whose verdict is the photographer's (their flag or stars kept)."""
        return [p for p, fields in self.theirs.items() if "rating" in fields]

    @property
    def labels_kept(self) -> list[Path]:
        """Photos that got auto-cull's verdict but kept the photographer's label."""
        return [p for p, fields in self.theirs.items() if fields == ("label",)]

    def to_write(self) -> list[CullResult]:
        """The results as XMP should get them: auto-cull's fields only, the photographer's left out
        (so a sidecar keeps the rating and label another tool wrote)."""
        out = []
        for r in self.results:
            fields = self.theirs.get(Path(r.path), ())
            if "rating" in fields:  # the photographer's verdict: nothing of auto-cull's to write
                r = replace(r, decision=Decision())
            elif fields:  # their label: auto-cull's flag and stars only
                r = replace(r, decision=replace(r.decision, label=None))
            out.append(r)
        return out


def keep_manual(results: Iterable[CullResult], manual: Mapping[Path, Decision],
                overwrite: bool = False) -> Protected:
    """The rule "auto never overrides manual", shared by the CLI and the GUI.

    ``manual``: the photographer's decisions (flag/stars/label they set, here or in another
    tool). For every photo that has one, its rating (flag + stars) and its label are kept
    instead of the proposal's: a photo with their rating keeps it, their label (or none) and a
    verdict that follows it (rejected -> reject, picked or starred -> keep); a photo with only
    their label gets the proposal's flag and stars with that label. Photos that failed to score
    keep their "needs review". ``overwrite``: the proposal wins everywhere.
    """
    out, theirs = [], {}
    for r in results:
        m = manual.get(Path(r.path))
        fields = () if overwrite or m is None or r.verdict == REVIEW else _theirs(m)
        if not fields:
            out.append(r)
            continue
        theirs[Path(r.path)] = fields
        verdict, reason = r.verdict, r.reason
        flag, stars, label = r.decision.flag, r.decision.stars, r.decision.label
        if "rating" in fields:  # their verdict; auto-cull's label went with its verdict
            flag, stars, label = m.flag, m.stars, m.label
            verdict, reason = (REJECT if m.flag == REJECT else KEEP), f"yours: {_describe(m)}"
        else:
            label, reason = m.label, f"{reason}; yours: label {m.label}"
        out.append(CullResult(Path(r.path), r.score, verdict, reason,
                              Decision(flag, stars, label, auto="rating" not in fields and r.decision.auto)))
    return Protected(out, theirs)
