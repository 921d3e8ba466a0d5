"""``photocull learn FOLDER``: fine-tune a personal model on your picks and rejects.

Uses the pick/reject flags (and stars) you gave the photos of FOLDER (GUI or XMP
import into the cache), holds out 25 % of them, fine-tunes the model's head on
the rest (frozen backbone, a minute on a CPU) and reports how well the model
agrees with your held-out decisions before and after. The personal model is
saved under the user data folder (``models/<name>``) or ``--out DIR``; use it
with ``--model DIR``. Needs at least 10 picks and 10 rejects.

Exit codes: 0 done, 2 usage / too few decisions / model error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from photocull.app.core.commands.common import CommandError
from photocull.app.core.scan import display_path

__all__ = ["register", "run"]


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("learn", help="fine-tune a personal model on your picks and rejects",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("folder", metavar="FOLDER", type=Path, help="folder whose decisions to learn from")
    p.add_argument("--model", metavar="PATH", default=None, help="model to start from (default: the embedded one)")
    p.add_argument("--name", default=None, help="name of the personal model (default: the folder's name)")
    p.add_argument("--out", type=Path, metavar="DIR", default=None, help="save the model into DIR instead")
    p.add_argument("--min-decisions", type=int, default=10, metavar="N",
                   help="refuse with fewer than N picks or N rejects (default 10)")
    p.add_argument("--steps", type=int, default=300, metavar="N", help="optimisation steps (default 300)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from photocull.app.core.learn import NotEnoughDecisions, learn_from_decisions
    from photocull.model.fileio import atomic_write_text

    folder = Path(os.path.abspath(args.folder))
    if not folder.is_dir():
        raise CommandError(f"not a folder: {display_path(args.folder)}")
    from photocull.model import ModelLoadError

    try:
        report = learn_from_decisions(folder, model_path=args.model, out=args.out, name=args.name,
                                      min_each=args.min_decisions, steps=args.steps)
    except NotEnoughDecisions as exc:
        raise CommandError(str(exc)) from None
    except ModelLoadError as exc:
        raise CommandError(f"cannot load the model: {exc}") from None
    print(report.summary())
    for line in report.skipped:
        print(f"photocull: warning: skipped {line}", file=sys.stderr)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
    print(f"use it with: photocull rank FOLDER --model {display_path(report.model_dir)}")
    return 0
