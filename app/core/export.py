"""Export auto-cull verdicts as plain lists, CSV and JSON (all written atomically).

* :func:`write_lists` -> ``keep.txt``, ``reject.txt`` and ``review.txt`` (photos
  that could not be scored) in an output folder: one absolute path per line,
  UTF-8, ``\\n`` line ends, in the order of the results. A RAW+JPEG pair is
  listed by the file that was scored (the JPEG).
* :func:`write_csv` -> columns ``path,score,decision,reason`` (score empty
  when there is none, one decimal otherwise).
* :func:`write_json` -> a JSON array of ``{"path", "score", "decision",
  "reason"}`` objects (score ``null`` when there is none).
* Given ``reasons`` (path -> the :func:`photocull.app.core.reasons.findings` of its analysis:
  (label, indicator, severity) such as ``("blurry", 0.62, "mild")``), both get a last ``reasons``
  column: ``"blurry (mild); noisy (strong)"`` in CSV, a list of ``{"reason", "severity",
  "indicator"}`` objects in JSON (:func:`photocull.app.core.reasons.as_records`).

``decision`` is the verdict: ``keep``, ``reject`` or ``needs review``.
Paths whose names are not valid UTF-8 are written with ``\\xNN`` escapes
(:func:`photocull.app.core.scan.display_path`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path

from photocull.model.fileio import atomic_write_text

from .decisions import KEEP, REJECT, REVIEW, CullResult
from .reasons import Finding, as_records, as_text
from .scan import display_path

__all__ = ["LIST_NAMES", "rows", "write_lists", "write_csv", "write_json"]

LIST_NAMES = {KEEP: "keep.txt", REJECT: "reject.txt", REVIEW: "review.txt"}


def _abs(path: Path) -> str:
    return display_path(os.path.abspath(path))


def rows(results: Iterable[CullResult], reasons: dict[Path, list[Finding]] | None = None) -> list[dict]:
    """One plain dict per result: path (absolute), score (1 decimal or None), decision, reason
    and, when ``reasons`` (path -> findings of :mod:`photocull.app.core.reasons`) is given,
    ``reasons`` (the JSON records)."""
    out = []
    for r in results:
        row = {
            "path": _abs(r.path),
            "score": None if r.score is None else round(float(r.score), 1),
            "decision": r.verdict,
            "reason": r.reason,
        }
        if reasons is not None:
            row["reasons"] = as_records(reasons.get(Path(r.path), []))
        out.append(row)
    return out


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


def write_csv(results: Iterable[CullResult], path: str | os.PathLike,
              reasons: dict[Path, list[Finding]] | None = None) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "score", "decision", "reason"] + (["reasons"] if reasons is not None else []))
    for row in rows(results, reasons):
        score = "" if row["score"] is None else f"{row['score']:.1f}"
        extra = [as_text(row["reasons"])] if reasons is not None else []
        writer.writerow([row["path"], score, row["decision"], row["reason"]] + extra)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, buf.getvalue())


def write_json(results: Iterable[CullResult], path: str | os.PathLike,
               reasons: dict[Path, list[Finding]] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(rows(results, reasons), indent=2, ensure_ascii=False) + "\n")
