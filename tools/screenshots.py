"""Screenshots of the GUI for the docs, taken by Qt itself (``QWidget.grab``).

    xvfb-run -s "-screen 0 1600x1000x24" python tools/screenshots.py --out docs/screenshots [--folder DIR]

Without ``--folder`` a demo folder is built in a temp dir from the Kodak set
(``photocull.model.paths.data_dir()/pristine/kodak24``): each photo once as is and once
degraded (blur, noise or a strong JPEG), so the grid shows the whole score
range. Uses the real default model; settings and cache go to temp dirs, so the
user's own are never touched.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def build_demo_folder(dest: Path, n: int = 8, side: int = 768) -> Path:
    from photocull.model.paths import data_dir

    src = sorted((data_dir() / "pristine" / "kodak24").glob("*.webp"))[:n]
    if not src:
        raise SystemExit(f"no Kodak images under {data_dir()}")
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, p in enumerate(src):
        img = Image.open(p).convert("RGB")
        img.thumbnail((side, side))
        img.save(dest / f"{p.stem}.jpg", quality=92)
        kind = ("blur", "noise", "jpeg")[i % 3]
        if kind == "blur":
            bad = img.filter(ImageFilter.GaussianBlur(3.5))
        elif kind == "noise":
            a = np.asarray(img, np.float32) + rng.normal(0, 28, (img.height, img.width, 3))
            bad = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        else:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=6)
            bad = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        bad.save(dest / f"{p.stem}_{kind}.jpg", quality=92)
    (dest / "corrupt_card_read.jpg").write_bytes((dest / f"{src[0].stem}.jpg").read_bytes()[:300])
    return dest


def capture(win, folder: Path, out: Path) -> list[Path]:
    """Drive ``win`` through grid, detail (heatmap) and compare views, saving a PNG of each (small
    enough for the repository: tools/walkthrough.py's ``for_docs``)."""
    from PySide6.QtCore import QEventLoop, QTimer
    from walkthrough import for_docs  # tools/ is on the path of a script run from it

    def wait_until(cond, timeout_s: float = 600.0) -> None:
        import time

        end = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out waiting for the GUI")
            loop = QEventLoop()
            QTimer.singleShot(50, loop.quit)
            loop.exec()

    out.mkdir(parents=True, exist_ok=True)
    done = []
    win.folder_loaded.connect(lambda g: done.append(g))
    win.open_folder(folder)
    wait_until(lambda: done)
    win.set_sort("score")
    session = win.list_model.session
    ranked = [e for e in win.visible_entries() if not e.failed]
    win.auto_cull(top_percent=40)
    win.select_path(ranked[0].path)
    win.set_stars(5)
    win.grid.scrollToTop()
    wait_until(lambda: all(win.list_model.has_thumbnail(str(e.path)) for e in ranked[:12]), 120)
    saved = []

    def grab(name: str, widget=win) -> None:
        wait_until(lambda: True, 1)
        p = out / name
        widget.grab().save(str(p))
        saved.append(for_docs(p, p))

    grab("grid.png")
    win.choose_auto_cull()  # its live preview counts the photographer's 5-star pick as left alone
    dialog = win.cull_dialog
    wait_until(lambda: dialog.isVisible(), 30)
    grab("auto_cull_preview.png", dialog)
    dialog.reject()
    worst = ranked[-1]
    win.show_detail_for(session.get(worst.path))
    wait_until(lambda: win.detail.canvas.has_heatmap or "unavailable" in win.detail.heat_status.text(), 600)
    grab("detail_heatmap.png")
    canvas = win.detail.canvas
    wait_until(lambda: canvas.pixmap_size == canvas.natural_size and canvas.has_image, 120)  # the full decode
    from PySide6.QtCore import QPointF

    canvas.zoom_at(2.0, QPointF(canvas.width() * 0.45, canvas.height() * 0.4))  # the demo photos are small
    grab("loupe_200.png")
    canvas.zoom_at(None)
    win.show_grid()
    a = ranked[0]
    b = next((e for e in ranked if e.path.stem.startswith(a.path.stem) and e is not a), ranked[1])
    sel = win.grid.selectionModel()
    sel.clearSelection()
    from PySide6.QtCore import QItemSelectionModel

    for e in (a, b):
        sel.select(win.proxy.index(win.proxy.proxy_row_of(e.path), 0), QItemSelectionModel.SelectionFlag.Select)
    win.show_compare()
    wait_until(lambda: all(c.has_image for c, _ in win.compare.cells.values()), 120)
    grab("compare.png")
    first = next(iter(win.compare.cells.values()))[0]
    first.zoom_at(2.0, QPointF(first.width() * 0.5, first.height() * 0.45))  # the others follow
    grab("compare_zoomed.png")
    return saved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ap.add_argument("--folder", type=Path, help="photos to show (default: a demo folder from Kodak)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="photocull-shots-"))
    os.environ.setdefault("PHOTOCULL_CACHE_DIR", str(tmp / "cache"))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from photocull.app.ui.mainwindow import MainWindow
    from photocull.app.ui.settings import Settings
    from photocull.app.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    folder = args.folder or build_demo_folder(tmp / "demo")
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings)
    win.resize(1500, 920)
    win.show()
    try:
        for p in capture(win, folder, args.out):
            print(p)
    finally:
        win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
