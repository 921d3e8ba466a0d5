"""``photocull rank FOLDER``: score every photo and print them best first.

Output: a progress bar on stderr, then a table on stdout (rank, score,
status, file; photos that failed are listed after the ranked ones with their
reason). ``--top N`` limits the table (and ``--heatmaps``) to the N best;
``--csv``/``--json`` always hold every photo:

* CSV columns ``path,score,rank,status,error,reasons`` (absolute path; score
  with one decimal, empty when it failed; rank empty when it failed; reasons:
  the defects found with their severity, e.g. ``blurry (mild); noisy (strong)``, see
  ``app/core/reasons.py``);
* JSON: an array of ``{"path", "score", "rank", "status", "error", "reasons"}``
  objects (``null`` score/rank when it failed; reasons a list of ``{"reason", "severity",
  "indicator"}`` objects).
  ``--no-reasons`` leaves the reasons column out (no second decode).

Exit status: 0 when at least one photo was scored, 1 when none could be
(including an empty folder), 2 for usage and model-loading errors.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from photocull.app.core.commands import common
from photocull.app.core.commands.common import (
    CommandError,
    add_scoring_args,
    open_cache,
    positive_int,
    relative_display,
    run_analysis,
    run_scoring,
    scan_photos,
)
from photocull.app.core.engine import ScoreResult
from photocull.app.core.reasons import Finding, as_records, as_text
from photocull.app.core.scan import display_path
from photocull.model.fileio import atomic_write_bytes, atomic_write_text

__all__ = ["register", "run", "RankedRow", "rank_results"]


@dataclass(frozen=True)
class RankedRow:
    path: Path
    score: float | None
    rank: int | None
    status: str
    error: str


def rank_results(results: list[ScoreResult]) -> list[RankedRow]:
    """Scored photos best first (ties by path), ranked 1..n; then the failures by path."""
    ok = sorted((r for r in results if r.status == "ok"), key=lambda r: (-r.score, os.fsencode(r.path)))
    failed = sorted((r for r in results if r.status != "ok"), key=lambda r: os.fsencode(r.path))
    return [RankedRow(r.path, r.score, i, r.status, "") for i, r in enumerate(ok, 1)] + \
           [RankedRow(r.path, None, None, r.status, r.error) for r in failed]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "rank", help="score the photos of a folder and list them best first",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scoring_args(p)
    out = p.add_argument_group("output")
    out.add_argument("--top", type=positive_int, metavar="N", help="print only the N best (files keep all)")
    out.add_argument("--csv", type=Path, metavar="FILE", help="write path,score,rank,status,error as CSV")
    out.add_argument("--json", type=Path, metavar="FILE", help="write the same rows as JSON")
    out.add_argument("--no-reasons", dest="reasons", action="store_false",
                     help="leave the reasons column (blurry, noisy, ...) out of --csv/--json")
    out.add_argument("--heatmaps", type=Path, metavar="DIR",
                     help="write heatmap overlays (PNG) of the listed photos into DIR: the defect map "
                          "(low), or Grad-CAM / occlusion sensitivity (high)")
    out.add_argument("--heatmap-mode", choices=("low", "high"), default="low",
                     help="highlight what lowers (low, default) or raises (high) the score")
    p.set_defaults(func=run)


def _score_text(score: float | None) -> str:
    return "" if score is None else f"{score:.1f}"


def _write_csv(rows: list[RankedRow], path: Path, reasons: dict[Path, list[Finding]] | None) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "score", "rank", "status", "error"] + (["reasons"] if reasons is not None else []))
    for r in rows:
        extra = [as_text(as_records(reasons.get(r.path, [])))] if reasons is not None else []
        writer.writerow([display_path(r.path), _score_text(r.score), "" if r.rank is None else r.rank,
                         r.status, r.error] + extra)
    atomic_write_text(path, buf.getvalue())


def _write_json(rows: list[RankedRow], path: Path, reasons: dict[Path, list[Finding]] | None) -> None:
    data = [{"path": display_path(r.path), "score": None if r.score is None else round(r.score, 1),
             "rank": r.rank, "status": r.status, "error": r.error} for r in rows]
    if reasons is not None:
        for d, r in zip(data, rows):
            d["reasons"] = as_records(reasons.get(r.path, []))
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _print_table(rows: list[RankedRow], root: Path, top: int | None) -> None:
    ranked = [r for r in rows if r.rank is not None]
    failed = [r for r in rows if r.rank is None]
    shown = ranked[:top] if top else ranked
    out = sys.stdout
    width = max(4, len(str(len(ranked))))
    out.write(f"{'rank':>{width}}  {'score':>5}  {'status':<6}  file\n")
    for r in shown:
        out.write(f"{r.rank:>{width}}  {r.score:>5.1f}  {r.status:<6}  {relative_display(r.path, root)}\n")
    if len(shown) < len(ranked):
        out.write(f"{'':>{width}}  ... {len(ranked) - len(shown)} more (without --top, or see --csv)\n")
    for r in failed:
        out.write(f"{'-':>{width}}  {'-':>5}  {r.status:<6}  {relative_display(r.path, root)}: {r.error}\n")
    out.write(f"{len(ranked)} scored, {len(failed)} failed\n")


def _write_heatmaps(args, scorer, rows: list[RankedRow], out_dir: Path) -> int:
    """Heatmap overlays of ``rows`` (``photocull.model.explain.heatmap``); returns how
    many were written. Problems are reported, not fatal."""
    from photocull.app.core.decode import DecodeError, load_image
    from photocull.model.explain import explainer_for, heatmap, overlay_heatmap

    # the "low" map takes any scorer; "high" is Grad-CAM, with the torch model where there is one
    model = explainer_for(scorer, args.model) if args.heatmap_mode == "high" else scorer
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for r in rows:
        try:
            img = load_image(r.path, min_side=max(512, model.image_size))
            img.thumbnail((1024, 1024))
            overlay = overlay_heatmap(img, heatmap(model, img, mode=args.heatmap_mode))
            buf = io.BytesIO()
            overlay.save(buf, "PNG")
            atomic_write_bytes(out_dir / f"{r.rank:04d}_{r.path.stem}.png", buf.getvalue())
            written += 1
        except (DecodeError, OSError, RuntimeError, ValueError) as exc:
            print(f"photocull: warning: no heatmap for {display_path(r.path)}: {exc}", file=sys.stderr)
    return written


def run(args: argparse.Namespace) -> int:
    for opt in ("csv", "json"):
        target = getattr(args, opt)
        if target is not None and not Path(os.path.abspath(target)).parent.is_dir():
            raise CommandError(f"--{opt}: folder does not exist: {display_path(Path(target).parent)}")
    root = Path(os.path.abspath(args.folder))
    if not root.is_dir():
        raise CommandError(f"not a folder: {display_path(args.folder)}")
    want_reasons = args.reasons and (args.csv is not None or args.json is not None)
    items = scan_photos(args)  # first: the folder's size chooses the device of --device auto
    scorer = common.load_scorer_from_args(args, photos=len(items))  # looked up at call time (one place to swap it)
    with open_cache(args) as cache:
        results = run_scoring(args, items, cache, scorer=scorer, analyze=want_reasons)
        rows = rank_results(results)
        if not rows:
            print(f"photocull: no photos found in {display_path(root)}", file=sys.stderr)
            return 1
        _print_table(rows, root, args.top)
        reasons = None
        if want_reasons:
            reasons = {p: a.findings for p, a in run_analysis(args, items, cache).items()}
    if args.csv is not None:
        _write_csv(rows, args.csv, reasons)
    if args.json is not None:
        _write_json(rows, args.json, reasons)
    ranked = [r for r in rows if r.rank is not None]
    if args.heatmaps is not None and ranked:
        n = _write_heatmaps(args, scorer, ranked[: args.top] if args.top else ranked, args.heatmaps)
        print(f"{n} heatmap(s) written to {display_path(args.heatmaps)}", file=sys.stderr)
    return 0 if ranked else 1
