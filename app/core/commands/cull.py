"""``photocull cull FOLDER``: score, decide keep/reject, export, optionally sort into folders.

Steps: score the folder (same options as ``rank``), auto-cull
(``--keep-top 30%``, ``--threshold 60``, or ``--best-of-burst``: keep the best
shot of each burst of similar photos taken within ``--burst-gap`` seconds,
reject the rest of it; with ``--threshold`` single shots below it are
rejected too), then, as asked: keep/reject/review
lists (``--lists [DIR]``, default DIR: the folder), ``--csv F``, ``--json F``,
XMP sidecars (``--xmp``, ``--xmp-naming replace|append``), and finally
``--move`` or ``--copy`` into ``Keep/`` and ``Reject/`` (journaled; revert with
``photocull undo FOLDER``). Sidecars are written before a move so that they
travel with their photos. Photos that could not be scored need review: they
get no sidecar and are never moved. The photographer's own flags, stars and
labels (set in photocull, or read in from the XMP of photos seen for the first
time: see ``xmp.import_decisions``) are never changed unless ``--overwrite`` is
given; the summary says how many photos were left alone.

Exit codes: 0 done, 1 nothing could be scored, 2 usage / model / refused move.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from photocull.app.core import export, journal, organise, xmp
from photocull.app.core.analysis import burst_groups
from photocull.app.core.bursts import MAX_GAP_S, cull_best_of_burst
from photocull.app.core.cache import Cache
from photocull.app.core.commands.common import (
    CommandError,
    add_scoring_args,
    open_cache,
    relative_display,
    run_analysis,
    run_scoring,
    scan_photos,
)
from photocull.app.core.decisions import (
    KEEP,
    LABEL_COLOURS,
    REJECT,
    REVIEW,
    Labels,
    cull_threshold,
    cull_top,
    keep_manual,
    parse_fraction,
)
from photocull.app.core.scan import display_path

__all__ = ["register", "run"]


def _fraction(text: str) -> float:
    try:
        return parse_fraction(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("threshold must be within 0..100")
    return value


def _label(text: str) -> str | None:
    if text.lower() == "none":
        return None
    for colour in LABEL_COLOURS:
        if colour.lower() == text.lower():
            return colour
    raise argparse.ArgumentTypeError(f"label must be one of {', '.join(LABEL_COLOURS)} or none")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "cull",
        help="score a folder and keep the best photos (lists, XMP, Keep/Reject folders)",
        description=__doc__.split("\n\n")[1],
    )
    add_scoring_args(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--keep-top", type=_fraction, metavar="PCT",
                     help="keep the best PCT of the scored photos, e.g. 30%% (ties at the cut are kept)")
    how.add_argument("--threshold", type=_threshold, metavar="T", help="keep photos scoring T or more (0-100)")
    p.add_argument("--best-of-burst", action="store_true",
                   help="keep the best shot of each burst / near-duplicate group, reject the others; single "
                        "shots are left alone (with --threshold: they are kept, or rejected below it)")
    p.add_argument("--burst-gap", type=float, default=MAX_GAP_S, metavar="S",
                   help=f"most seconds between two shots of one burst (default {MAX_GAP_S:g})")
    p.add_argument("--no-reasons", dest="reasons", action="store_false",
                   help="leave the reasons column (blurry, noisy, ...) out of --csv/--json")
    p.add_argument("--lists", nargs="?", const="", metavar="DIR",
                   help="write keep.txt / reject.txt / review.txt into DIR (default: the folder)")
    p.add_argument("--csv", metavar="FILE", help="write path,score,decision,reason as CSV")
    p.add_argument("--json", metavar="FILE", help="write the same as a JSON array")
    p.add_argument("--xmp", action="store_true", help="write rating + label into XMP sidecars (never into photos)")
    p.add_argument("--xmp-naming", choices=("replace", "append"), default="replace",
                   help="IMG_1.xmp (replace: Lightroom, Capture One; default) or IMG_1.CR2.xmp (append: darktable)")
    p.add_argument("--keep-label", type=_label, default="Green", metavar="COLOUR",
                   help="XMP colour label of kept photos (default Green; 'none' for no label)")
    p.add_argument("--reject-label", type=_label, default="Red", metavar="COLOUR",
                   help="XMP colour label of rejected photos (default Red; 'none' for no label)")
    p.add_argument("--overwrite", action="store_true",
                   help="let auto-cull change the ratings, flags and labels you set (here or in "
                        "Lightroom, darktable, ...); by default they are left alone")
    sort = p.add_mutually_exclusive_group()
    sort.add_argument("--move", action="store_true",
                      help="move kept/rejected photos (with RAW and sidecars) into Keep/ and Reject/ (undo: photocull undo)")
    sort.add_argument("--copy", action="store_true", help="copy them into Keep/ and Reject/ instead (sources untouched)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    if args.best_of_burst and args.keep_top is not None:
        raise CommandError("--best-of-burst combines with --threshold, not with --keep-top")
    if not args.best_of_burst and args.keep_top is None and args.threshold is None:
        raise CommandError("choose how to cull: --keep-top PCT, --threshold T or --best-of-burst")
    folder = Path(os.path.abspath(args.folder))
    if not folder.is_dir():
        raise CommandError(f"not a folder: {display_path(args.folder)}")
    with open_cache(args) as cache:  # opened once: every step below shares it
        return _cull(args, folder, cache)


def _cull(args, folder: Path, cache: Cache | None) -> int:
    try:  # a batch killed mid-way is rolled back before anything is scanned
        recovered = organise.recover(folder, cache)
    except journal.JournalError as e:
        raise CommandError(str(e)) from None
    for rec in recovered:
        print(f"rolled back an interrupted batch ({display_path(rec.journal.name)}): "
              f"{len(rec.restored) + len(rec.removed)} files put back")
        for problem in rec.problems:
            print(f"photocull: warning: {problem}", file=sys.stderr)
    sorting = args.move or args.copy
    # when sorting, photos already in Keep/ and Reject/ are neither re-scored nor counted
    exclude = tuple(journal.TARGET_DIRS.values()) if sorting else ()
    want_analysis = args.best_of_burst or (args.reasons and (args.csv or args.json))
    items = scan_photos(args, exclude=exclude)  # the one scan: every step below gets these items
    scored = run_scoring(args, items, cache, analyze=want_analysis)
    order = {it.path: i for i, it in enumerate(items)}
    companions = {it.path: list(it.companions) for it in items if it.companions}
    scored = sorted(scored, key=lambda r: (order.get(r.path, len(order)), os.fsencode(r.path)))
    if not any(r.status == "ok" for r in scored):
        print(f"photocull: nothing could be scored in {display_path(folder)}; nothing decided", file=sys.stderr)
        return 1

    labels = Labels(keep=args.keep_label, reject=args.reject_label)
    analyses = run_analysis(args, items, cache) if want_analysis else {}
    if args.best_of_burst:
        groups = burst_groups(analyses.values(), {r.path: r.score for r in scored}, max_gap=args.burst_gap)
        results = cull_best_of_burst(scored, groups, args.threshold, labels)
        n_bursts = len({g.group for g in groups.values() if g.is_burst})
        rule = f"best of each of {n_bursts} burst(s) kept" + \
            (f", single shots scoring >= {args.threshold:g} kept" if args.threshold is not None else "")
    elif args.keep_top is not None:
        results = cull_top(scored, args.keep_top, labels)
        rule = f"best {args.keep_top * 100:g}% kept"
    else:
        results = cull_threshold(scored, args.threshold, labels)
        rule = f"score >= {args.threshold:g} kept"
    manual, problems = xmp.import_decisions(items, cache)
    for problem in problems:
        print(f"photocull: warning: rating not read in: {problem}", file=sys.stderr)
    protected = keep_manual(results, manual, overwrite=args.overwrite)
    results = protected.results
    counts = {v: sum(r.verdict == v for r in results) for v in (KEEP, REJECT, REVIEW)}
    yours = f", left {len(protected.left_alone)} of yours alone" if not args.overwrite else ""
    if protected.labels_kept:
        yours += f", kept {len(protected.labels_kept)} of your labels"
    print(f"{len(results)} photos ({rule}): {counts[KEEP]} keep, {counts[REJECT]} reject, "
          f"{counts[REVIEW]} need review{yours}")
    for r in results:
        if r.verdict == REVIEW:
            print(f"  needs review: {relative_display(r.path, folder)}: {r.reason}")

    if args.lists is not None:
        written = export.write_lists(results, args.lists or folder)
        print("lists: " + ", ".join(display_path(p) for p in written.values()))
    reasons = {p: a.findings for p, a in analyses.items()} if args.reasons else None
    if args.csv:
        print(f"csv: {display_path(export.write_csv(results, args.csv, reasons))}")
    if args.json:
        print(f"json: {display_path(export.write_json(results, args.json, reasons))}")

    if args.xmp:
        sidecars = organise.write_sidecars(protected.to_write(), args.xmp_naming, companions)
        print(f"xmp: {sidecars.written} sidecars written ({args.xmp_naming} naming)")
        for err in sidecars.errors:
            print(f"photocull: warning: {err.describe(folder)}", file=sys.stderr)

    if sorting:
        mode = "move" if args.move else "copy"
        verb = journal.DONE[mode]
        try:
            rep = organise.organise(folder, results, companions, mode, cache)
        except journal.JournalError as e:  # incl. CrossDeviceError: refused before any move
            raise CommandError(str(e)) from None
        except OSError as e:
            raise CommandError(f"{mode} stopped: {e}; the files already {verb} are put back by: "
                               f"photocull undo {display_path(folder)}") from None
        print(f"{verb} {len(rep.batch.done)} files into Keep/ and Reject/")
        for err in rep.errors:
            print(f"  {err.describe(folder)}")
        if rep.batch.journal is not None:
            print(f"journal: {display_path(rep.batch.journal)}  (undo: photocull undo {display_path(folder)})")
    return 0
