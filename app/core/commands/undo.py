"""``photocull undo FOLDER``: revert the last ``cull --move/--copy`` batch of a folder.

Files go back to their original paths (an interrupted batch is rolled back the
same way); nothing is overwritten, and a file changed since it was moved is
left where it is and reported. Cached scores, decisions and analyses move back
with the photos. Run it again to revert the batch before.

Exit codes: 0 reverted, 1 nothing to undo or something could not be restored,
2 not a folder / unreadable journal.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from photocull.app.core import journal, organise
from photocull.app.core.cache import Cache
from photocull.app.core.scan import display_path

__all__ = ["register", "run"]


def register(subparsers):
    p = subparsers.add_parser("undo", help="put back the photos the last 'cull --move/--copy' sorted",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("folder", metavar="FOLDER", help="the folder that was culled")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    folder = Path(os.path.abspath(args.folder))
    if not folder.is_dir():
        print(f"undo: not a folder: {display_path(folder)}", file=sys.stderr)
        return 2
    try:  # the photos go back even when the cache cannot be opened
        cache = Cache()
    except (sqlite3.Error, OSError) as e:
        print(f"undo: warning: the cache cannot be opened ({e}); its entries stay at the sorted paths",
              file=sys.stderr)
        cache = None
    try:
        rep = organise.undo(folder, cache)
    except journal.JournalError as e:
        print(f"undo: {e}", file=sys.stderr)
        return 2
    finally:
        if cache is not None:
            cache.close()
    if rep.journal is None:
        print(f"nothing to undo in {display_path(folder)}")
        return 1
    what = "interrupted batch" if rep.interrupted else f"{rep.mode} batch"
    print(f"undoing the {what} of {display_path(rep.journal.name)}")
    for src, dst in rep.restored:
        print(f"  restored {display_path(os.path.relpath(dst, folder))}  (was {display_path(os.path.relpath(src, folder))})")
    for copy in rep.removed:
        print(f"  removed copy {display_path(os.path.relpath(copy, folder))}")
    for d in rep.removed_dirs:
        print(f"  removed empty folder {display_path(os.path.relpath(d, folder))}")
    print(f"{len(rep.restored)} files restored, {len(rep.removed)} copies removed")
    for problem in rep.problems:
        print(f"  not restored: {problem}", file=sys.stderr)
    return 1 if rep.problems else 0
