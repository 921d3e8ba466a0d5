"""photocull's desktop GUI (PySide6). Entry point: :func:`main`."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="photocull gui", description="Cull photos with an honest quality model.")
    ap.add_argument("folder", nargs="?", help="folder of photos to open")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the GUI; ``argv`` are the arguments after ``photocull gui`` (a leading "gui" is accepted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:
        argv = argv[1:]
    args = _parse(argv)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from model.paths import resources_dir

    from .mainwindow import MainWindow
    from .theme import apply_dark_theme

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    apply_dark_theme(app)
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "photocull.svg")))
    app.setApplicationName("photocull")
    app.setOrganizationName("photocull")
    app.setDesktopFileName("photocull")
    win = MainWindow()
    win.show()
    if args.folder:
        win.open_folder(args.folder)
    return app.exec()
