"""photocull's desktop GUI (PySide6). Entry point: :func:`main`."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="photocull gui", description="Cull photos with an honest quality model.")
    ap.add_argument("folder", nargs="?", help="folder of photos to open")
    # smoke test of a build (tests/test_packaging.py): open FOLDER, wait for scoring, save the window, quit
    ap.add_argument("--screenshot", metavar="PNG", help=argparse.SUPPRESS)
    ap.add_argument("--screenshot-timeout", type=float, default=600.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.screenshot and not args.folder:
        ap.error("--screenshot needs a FOLDER")
    return args


def _screenshot_and_quit(app, win, folder: str, png: str, timeout_s: float) -> int:
    """Open ``folder``, wait until scoring and the reasons/bursts analysis end, save ``win.grab()``
    to ``png``, close, quit. Exit 0 when the PNG was written and at least one photo scored; 1
    otherwise (or on timeout)."""
    from PySide6.QtCore import QTimer

    result = {"code": 1}

    def finish() -> None:  # from the event loop, never inside a window signal's emit
        c = win.model.session.counts()
        print(f"photocull gui: {c['scored']} scored, {c['errors']} error(s)", flush=True)
        saved = win.grab().save(png)
        result["code"] = 0 if saved and c["scored"] else 1
        win.close()  # stops and joins the window's background threads
        app.quit()

    def timed_out() -> None:
        print(f"photocull gui: the folder was not done within {timeout_s:g} s", file=sys.stderr, flush=True)
        win.close()
        app.quit()

    # scoring ends with folder_loaded, then (photos there) the analysis runs and ends with analysis_done
    win.folder_loaded.connect(lambda _gen: None if win.model.session.entries else QTimer.singleShot(0, finish))
    win.analysis_done.connect(lambda _gen: QTimer.singleShot(0, finish))
    QTimer.singleShot(int(timeout_s * 1000), timed_out)
    win.open_folder(folder)
    app.exec()
    return result["code"]


def main(argv: list[str] | None = None) -> int:
    """Run the GUI; ``argv`` are the arguments after ``photocull gui`` (a leading "gui" is accepted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:
        argv = argv[1:]
    args = _parse(argv)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from photocull.model.paths import resources_dir

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
    if args.screenshot:
        return _screenshot_and_quit(app, win, args.folder, args.screenshot, args.screenshot_timeout)
    if args.folder:
        win.open_folder(args.folder)
    return app.exec()
