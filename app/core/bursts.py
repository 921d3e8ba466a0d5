"""Bursts and near-duplicates: group shots taken in quick succession that look alike.

* :func:`dhash` is a 64-bit difference hash of a photo (greyscale 9x8 box-reduced,
  one bit per horizontally adjacent pair: left brighter than right). Small shifts,
  blur, noise and exposure changes flip few bits; a different scene flips ~half.
* :func:`capture_time`: EXIF DateTimeOriginal (+ SubSecTimeOriginal, so 10 fps
  bursts keep their order; read once, by ``decode.read_exif_summary``), else the file's mtime.
* :func:`group_bursts`: shots sorted by capture time (ties by path); a shot
  joins the group of the previous shot when it was taken at most ``max_gap``
  seconds later AND its hash is within ``max_distance`` bits of the previous
  shot's. Every shot gets a :class:`BurstInfo` (singles are groups of one); the
  best-scored shot of each group is marked ``best`` (ties: the earlier shot;
  unscored shots are never best while a scored one exists).
* :func:`cull_best_of_burst`: keep the best of each burst, reject the others
  (optionally also reject single shots scoring below a threshold).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from photocull.app.core.decisions import KEEP, REJECT, REVIEW, CullResult, Decision, Labels, stars_for_score

__all__ = ["MAX_GAP_S", "MAX_DISTANCE", "Shot", "BurstInfo", "dhash", "hamming", "capture_time",
           "group_bursts", "cull_best_of_burst"]

MAX_GAP_S = 2.0  # seconds between consecutive shots of one burst
MAX_DISTANCE = 14  # of 64 dHash bits (calibrated on tests/test_bursts.py's shifted/blurred bursts)


def dhash(img: Image.Image) -> int:
    """64-bit difference hash (see the module docstring)."""
    g = img.convert("L").resize((9, 8), Image.Resampling.BOX)
    a = np.asarray(g, dtype=np.int16)
    bits = (a[:, :-1] > a[:, 1:]).reshape(-1)
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def hamming(a: int, b: int) -> int:
    return (int(a) ^ int(b)).bit_count()


def capture_time(exif: dict, mtime_ns: int = 0) -> float | None:
    """POSIX seconds the photo was taken: ``exif["taken"]`` of its
    :func:`photocull.app.core.decode.read_exif_summary` (EXIF with sub-seconds), else ``mtime_ns``;
    None if neither."""
    taken = exif.get("taken")
    if taken is not None:
        return float(taken)
    return mtime_ns / 1e9 if mtime_ns else None


@dataclass(frozen=True)
class Shot:
    path: Path
    taken: float | None
    hash: int | None
    score: float | None = None


@dataclass(frozen=True)
class BurstInfo:
    group: int  # 1-based id, in capture order
    index: int  # 1-based position in its group
    size: int
    best: bool

    @property
    def is_burst(self) -> bool:
        return self.size > 1

    @property
    def text(self) -> str:
        return f"burst {self.index}/{self.size}" if self.size > 1 else ""


def _sort_key(s: Shot):
    return (s.taken is None, s.taken or 0.0, os.fsencode(s.path))


def group_bursts(shots: Iterable[Shot], max_gap: float = MAX_GAP_S,
                 max_distance: int = MAX_DISTANCE) -> dict[Path, BurstInfo]:
    """Group ids, positions and the best shot of every group (see the module docstring)."""
    ordered = sorted(shots, key=_sort_key)
    groups: list[list[Shot]] = []
    prev: Shot | None = None
    for s in ordered:
        joins = (prev is not None and s.taken is not None and prev.taken is not None
                 and 0.0 <= s.taken - prev.taken <= max_gap
                 and s.hash is not None and prev.hash is not None
                 and hamming(s.hash, prev.hash) <= max_distance)
        if joins:
            groups[-1].append(s)
        else:
            groups.append([s])
        prev = s
    out: dict[Path, BurstInfo] = {}
    for gid, members in enumerate(groups, start=1):
        scored = [m for m in members if m.score is not None and math.isfinite(m.score)]
        best = max(scored, key=lambda m: m.score) if scored else None  # max keeps the first of ties
        for i, m in enumerate(members, start=1):
            out[Path(m.path)] = BurstInfo(gid, i, len(members), m is best)
    return out


def cull_best_of_burst(results, bursts: dict[Path, BurstInfo], threshold: float | None = None,
                       labels: Labels = Labels()) -> list[CullResult]:
    """Keep the best shot of each burst and reject the rest of it, in input order.

    Only bursts are culled: a single shot (or one without burst information) is left to
    review, with no decision, unless ``threshold`` is given: then it is kept, or rejected
    when it scores below it. Photos that failed to score need review too.
    """
    out = []
    for r in results:
        info = bursts.get(Path(r.path))
        if getattr(r, "status", "ok") != "ok" or r.score is None or not math.isfinite(r.score):
            why = getattr(r, "error", "") or "no score"
            out.append(CullResult(Path(r.path), None, REVIEW, f"not scored: {why}", Decision()))
            continue
        score = float(r.score)
        if info is not None and info.is_burst:
            verdict = KEEP if info.best else REJECT
            reason = (f"best of burst {info.group} ({info.size} shots), score {score:.1f}" if info.best
                      else f"burst {info.group} shot {info.index}/{info.size}: a better shot of it is kept")
        elif threshold is None:
            out.append(CullResult(Path(r.path), score, REVIEW, "single shot: not part of a burst", Decision()))
            continue
        elif score < threshold:
            verdict, reason = REJECT, f"single shot, score {score:.1f} < {threshold:g}"
        else:
            verdict, reason = KEEP, f"single shot, score {score:.1f} >= {threshold:g}"
        decision = (Decision("pick", stars_for_score(score), labels.keep, auto=True) if verdict == KEEP
                    else Decision("reject", 0, labels.reject, auto=True))
        out.append(CullResult(Path(r.path), score, verdict, reason, decision))
    return out
