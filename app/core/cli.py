"""``photocull`` command line (everything but the GUI; ``photocull.app.main`` dispatches here).

Each sub-command lives in ``app/core/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
A command reports a clean failure by raising
:class:`~photocull.app.core.commands.common.CommandError` (one line on stderr, its exit
code, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from photocull.app import __version__
from photocull.app.core.commands.common import CommandError

__all__ = ["COMMANDS", "build_parser", "main"]

# Sub-commands, in the order ``--help`` lists them.
COMMANDS = ("rank", "cull", "undo", "learn")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photocull",
        description="Score, rank and cull photos with a local image-quality model. "
                    "Run `photocull` (no arguments) or `photocull gui` for the graphical app.")
    parser.add_argument("--version", action="version", version=f"photocull {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"photocull.app.core.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="photocull: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args))
    except CommandError as exc:
        print(f"photocull: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("photocull: interrupted", file=sys.stderr)
        return 130
