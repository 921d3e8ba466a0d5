"""Pieces shared by the CLI commands that score a folder (``rank``, ``cull``).

* :func:`add_scoring_args` adds ``FOLDER`` and the model/scoring options;
* :func:`scan_photos` scans the folder once and :func:`open_cache` opens the cache
  once; both are passed on to every step;
* :func:`run_scoring` loads the model, scores the items with a progress bar on
  stderr and returns the :class:`~photocull.app.core.engine.ScoreResult` list;
  :func:`run_analysis` analyses them (reasons, bursts);
* :class:`CommandError` is how a command reports a clean failure: ``cli.main``
  prints ``photocull: error: <message>`` (no traceback) and exits with
  ``exit_code`` (2 by default: usage error / model load error).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import AbstractContextManager, closing, nullcontext
from pathlib import Path

from photocull.app.core.cache import Cache
from photocull.app.core.engine import Scorer, ScoreResult, default_workers, score_items
from photocull.app.core.scan import PhotoItem, display_path, relative_display, scan_folder
from photocull.model.scoring import BACKENDS

__all__ = [
    "CommandError",
    "positive_int",
    "add_scoring_args",
    "load_scorer_from_args",
    "scan_photos",
    "open_cache",
    "run_scoring",
    "relative_display",
    "run_analysis",
]


class CommandError(Exception):
    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_scoring_args(parser: argparse.ArgumentParser) -> None:
    """``FOLDER`` plus the options that choose the model and how to score."""
    parser.add_argument("folder", metavar="FOLDER", type=Path, help="folder of photos (scanned recursively)")
    g = parser.add_argument_group("scoring")
    g.add_argument("--model", metavar="PATH", default=None,
                   help="model folder (model.safetensors + config.json, or model.onnx); default: the embedded model")
    g.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="inference backend (default auto: torch on a CUDA GPU, else onnx, the faster one on a CPU)")
    g.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto", help="device (default auto)")
    g.add_argument("--batch-size", type=positive_int, default=16, metavar="N", help="photos per batch (default 16)")
    g.add_argument("--workers", type=positive_int, default=default_workers(), metavar="N",
                   help=f"decoding threads (default: one per CPU core, 2 to 16; here {default_workers()})")
    g.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the score cache ($PHOTOCULL_CACHE_DIR)")
    g.add_argument("--no-recursive", dest="recursive", action="store_false", help="do not scan sub-folders")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar on stderr")


def load_scorer_from_args(args: argparse.Namespace, backend: str | None = None,
                          photos: int | None = None) -> Scorer:
    """``model.load_scorer`` with the command's options for a folder of ``photos`` photos (known
    from the scan: with ``--device auto`` a small folder is scored on the CPU, see
    ``model.auto_device``); a load failure is a CommandError."""
    from photocull.model import ModelLoadError, load_scorer

    try:
        return load_scorer(args.model, backend=backend or args.backend, device=args.device, photos=photos)
    except ModelLoadError as exc:
        # one line on the terminal, whatever a library put into the message
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or ["unknown error"]
        more = " (run with -v for details)" if len(lines) > 1 else ""
        if more:
            logging.getLogger(__name__).info("model load error in full: %s", exc)
        raise CommandError(f"cannot load the model: {lines[0]}{more}") from None


def scan_photos(args: argparse.Namespace, exclude: tuple[str, ...] = ()) -> list[PhotoItem]:
    """The one scan of ``args.folder`` a command makes (the items then go to every step);
    a missing or unreadable folder is a CommandError."""
    root = Path(os.path.abspath(args.folder))
    try:
        return scan_folder(root, recursive=args.recursive, exclude=exclude)
    except OSError as exc:
        raise CommandError(str(exc) if not isinstance(exc, PermissionError)
                           else f"permission denied: {display_path(root)}") from None


def open_cache(args: argparse.Namespace) -> AbstractContextManager[Cache | None]:
    """The cache a command opens once and passes to every step (``None`` with ``--no-cache``)."""
    return nullcontext() if args.no_cache else Cache()


def run_scoring(args: argparse.Namespace, items: list[PhotoItem], cache: Cache | None,
                scorer: Scorer | None = None, analyze: bool = False) -> list[ScoreResult]:
    """Load the scorer (unless given; for ``len(items)`` photos) and score the scanned ``items``. ``analyze``:
    :func:`run_analysis` will follow, so the scoring decode also caches the analyses.

    Results come in the engine's order (cached first). Raises CommandError for
    an unloadable model, before any scoring starts.
    """
    if not items:
        return []
    if scorer is None:
        scorer = load_scorer_from_args(args, photos=len(items))
    from tqdm import tqdm

    results: list[ScoreResult] = []
    with tqdm(total=len(items), unit="photo", desc="scoring", file=sys.stderr,
              disable=not args.progress, dynamic_ncols=True) as bar, \
            closing(score_items(items, scorer, cache, batch_size=args.batch_size,
                                workers=args.workers, analyze=analyze)) as gen:
        for result in gen:
            results.append(result)
            bar.update(1)
    return results


def run_analysis(args: argparse.Namespace, items: list[PhotoItem], cache: Cache | None) -> dict:
    """Reasons, hashes and capture times (:mod:`photocull.app.core.analysis`) of the scanned ``items``.

    Cached like scores (unless ``--no-cache``); returns ``{path: Analysis}``.
    """
    from tqdm import tqdm

    from photocull.app.core.analysis import analyze_items

    out = {}
    with tqdm(total=len(items), unit="photo", desc="analysing", file=sys.stderr,
              disable=not args.progress, dynamic_ncols=True) as bar, \
            closing(analyze_items(items, cache, workers=args.workers)) as gen:
        for a in gen:
            out[a.path] = a
            bar.update(1)
    return out
