"""Export auto-cull verdicts as plain lists, CSV and JSON (all written atomically).

* :func:`write_lists` -> ``keep.txt``, ``reject.txt`` and ``review.txt`` (photos
  that could not be scored) in an output folder: one absolute path per line,
  UTF-8, ``\\n`` line ends, in the order of the results. A RAW+JPEG pair is
  listed by the file that was scored (the JPEG).
* :func:`write_csv` -> columns ``path,score,decision,reason`` (score empty
  when there is none, one decimal otherwise).
* :func:`write_json` -> a JSON array of ``{"path", "score", "decision",
  "reason"}`` objects (score ``null`` when there is none).

``decision`` is the verdict: ``keep``, ``reject`` or ``needs review``.
Paths whose names are not valid UTF-8 are written with ``\\xNN`` escapes
(:func:`app.core.scan.display_path`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable

from .decisions import KEEP, REJECT, REVIEW, CullResult
from .fsutil import atomic_write_text
from .scan import display_path

__all__ = ["LIST_NAMES", "rows", "write_lists", "write_csv", "write_json"]

LIST_NAMES = {KEEP: "keep.txt", REJECT: "reject.txt", REVIEW: "review.txt"}


def _abs(path: Path) -> str:
    return display_path(os.path.abspath(path))


def rows(results: Iterable[CullResult]) -> list[dict]:
    """One plain dict per result: path (absolute), score (1 decimal or None), decision, reason."""
    return [
        {
            "path": _abs(r.path),
            "score": None if r.score is None else round(float(r.score), 1),
            "decision": r.verdict,
            "reason": r.reason,
        }
        for r in results
    ]


def write_lists(results: Iterable[CullResult], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write keep/reject/review lists into ``out_dir`` (created if missing); returns verdict -> path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {v: [] for v in LIST_NAMES}
    for r in results:
        lines[r.verdict].append(_abs(r.path))
    written = {}
    for verdict, name in LIST_NAMES.items():
        text = "".join(line + "\n" for line in lines[verdict])
        written[verdict] = atomic_write_text(out_dir / name, text)
    return written


def write_csv(results: Iterable[CullResult], path: str | os.PathLike) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "score", "decision", "reason"])
    for row in rows(results):
        score = "" if row["score"] is None else f"{row['score']:.1f}"
        writer.writerow([row["path"], score, row["decision"], row["reason"]])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, buf.getvalue())


def write_json(results: Iterable[CullResult], path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(rows(results), indent=2, ensure_ascii=False) + "\n")
