"""Entry points: ``photocull`` (console) and ``photocull-gui`` (GUI script).

``photocull`` with no arguments or ``photocull gui ...`` starts the GUI
(``photocull.app.ui.main(argv)``, imported lazily so the CLI never loads Qt); anything
else goes to :func:`photocull.app.core.cli.main`.
"""

from __future__ import annotations

import sys

__all__ = ["main", "gui_main"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] == "gui":
        from photocull.app import ui

        return ui.main(args[1:])
    from photocull.app.core import cli

    return cli.main(args)


def gui_main() -> int:
    return main(["gui", *sys.argv[1:]])


if __name__ == "__main__":  # python -m photocull.app.main ...
    sys.exit(main())
