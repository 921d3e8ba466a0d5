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
    # tools/walkthrough.py: the window's timings (timing.GuiTimes) as JSON, rewritten at each milestone
    ap.add_argument("--timings", metavar="JSON", help=argparse.SUPPRESS)
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
        c = win.list_model.session.counts()
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
    win.folder_loaded.connect(lambda _gen: None if win.list_model.session.entries else QTimer.singleShot(0, finish))
    win.analysis_done.connect(lambda _gen: QTimer.singleShot(0, finish))
    QTimer.singleShot(int(timeout_s * 1000), timed_out)
    win.open_folder(folder)
    app.exec()
    return result["code"]


def _write_timings_on_milestones(app, win, path: str) -> None:
    """Write ``win.times`` to ``path`` (atomically) when scoring ends, when the analysis ends, each
    time the loupe's photo gets its heatmap and at exit, with which of those happened (in order), so
    a script driving the app knows when to go on."""
    import json

    from photocull.model.fileio import atomic_write_text

    reached: list[str] = []

    def write(milestone: str) -> None:
        reached.append(milestone)
        c = win.list_model.session.counts()
        atomic_write_text(path, json.dumps({**win.times.as_dict(), "reached": reached, "scored": c["scored"],
                                            "total": c["total"]}))

    win.folder_loaded.connect(lambda _gen: write("scored"))
    win.analysis_done.connect(lambda _gen: write("analysed"))
    win.heatmap_shown.connect(lambda: write("heatmap"))
    app.aboutToQuit.connect(lambda: write("quit"))


# What the GUI needs from the system on Debian/Ubuntu (the README lists the same).
SYSTEM_PACKAGES = ("libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 "
                   "libegl1 libgl1 libfontconfig1 libdbus-1-3")
# Platform plugins that need no display server.
_HEADLESS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "vkkhrdisplay", "minimalegl"}


def platform_problem(env=None) -> str | None:
    """Why Qt could not open a window here, or None. Qt aborts the process (exit 134) when its
    platform plugin fails to load, so this is asked first: no display at all, or the X11 plugin's
    system libraries missing (found by loading the plugin, which resolves its dependencies)."""
    import os

    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0]
    if platform in _HEADLESS:
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("no display: DISPLAY and WAYLAND_DISPLAY are not set (run it in a desktop session, "
                "or use the command line: photocull rank FOLDER)")
    if platform == "wayland" or (not platform and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return None
    import ctypes

    plugin = _xcb_plugin()
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return (f"Qt's X11 platform plugin cannot load ({exc}); install the system packages "
                f"(Debian/Ubuntu: apt install {SYSTEM_PACKAGES})")
    return None


def _xcb_plugin():
    from pathlib import Path

    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def main(argv: list[str] | None = None) -> int:
    """Run the GUI; ``argv`` are the arguments after ``photocull gui`` (a leading "gui" is accepted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:
        argv = argv[1:]
    args = _parse(argv)
    problem = platform_problem()
    if problem:
        print(f"photocull gui: {problem}", file=sys.stderr)
        return 2

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
    if args.timings:
        _write_timings_on_milestones(app, win, args.timings)
    if args.screenshot:
        return _screenshot_and_quit(app, win, args.folder, args.screenshot, args.screenshot_timeout)
    if args.folder:
        win.open_folder(args.folder)
    return app.exec()
