"""A photographer's walkthrough of the desktop app, driven by key presses (xdotool) under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/walkthrough.py \\
        --out /tmp/walk-shots --timings /tmp/walk.json [--docs docs/screenshots]

1. Builds a mixed shoot (``--folder``, rebuilt when missing; the same photos every time) from the
   shared data: CLIVE JPEGs as they are, Kodak photos enlarged to 6 MP JPEGs, CBSD68 photos as
   JPEGs, spoiled copies (blur, under-exposure, noise), three bursts of near-duplicates 0.3 s
   apart, and one truncated JPEG.
2. Starts ``photocull gui FOLDER`` as its own process (fresh settings and cache under the work
   dir, the real default model) and waits for the first thumbnail, the scores and the analysis.
3. Presses keys as a photographer would: Return opens the loupe on the last 6 MP photo, Left
   moves back through them (a pause at each for its heatmap; P and X on a few), a screenshot of
   an under-exposed copy once its heatmap is shown, Left to its original, Z zooms to
   100 % at the mouse, Escape,
   Shift+Right and C compare two burst shots, Z zooms both in sync, Ctrl+K opens the auto-cull
   preview; a screenshot of each (grabbed from the X screen by Qt) goes to ``--out``.
4. With ``--docs``, writes the loupe, compare and auto-cull screenshots again there, small
   enough for the repository (:func:`for_docs`).
5. Writes the timings (``--timings``): launch to first thumbnail, arrow to photo and arrow to
   heatmap (median and all presses), the first heatmap of the session.

Settings, cache and logs live in ``--work`` (default /tmp/photocull-walk); nothing of the
user's is touched, and the photos are only read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
BURSTS = 3  # bursts of 3 frames each, named so they sort first
# the screenshots --docs writes, and their names there
DOC_SHOTS = {"loupe-100.png": "walk_loupe_100.png", "compare-zoom.png": "walk_compare_zoomed.png",
             "autocull-preview.png": "walk_auto_cull_preview.png"}
DOC_WIDTH = 1500  # the widest window of tools/walkthrough.py and tools/screenshots.py
DOC_BYTES = 400_000


def _save(img: Image.Image, path: Path, taken: float) -> None:
    """JPEG with an EXIF capture time (``taken``: seconds after 2024-06-01 10:00:00)."""
    exif = Image.Exif()
    exif[0x0110] = "walkthrough"  # camera model
    whole = int(taken)
    stamp = time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(1717236000 + whole))
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = stamp  # DateTimeOriginal
    ifd[0x9291] = f"{round((taken - whole) * 100):02d}"  # SubSecTimeOriginal, 1/100 s
    img.save(path, quality=92, exif=exif)


def build_shoot(dest: Path, data: Path) -> Path:
    """The mixed shoot of the walkthrough (58 photos), the same files on every run."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(14)
    clive = sorted((data / "clive" / "images").glob("*.JPG"))[:24]
    kodak = sorted((data / "pristine" / "kodak24").glob("*.webp"))[:8]
    cbsd = sorted((data / "pristine" / "cbsd68").glob("*.webp"))[:10]
    if len(clive) < 24 or len(kodak) < 8 or len(cbsd) < 10:
        raise SystemExit(f"the shared photos are missing under {data}")
    clock = 0.0

    def tick(step: float = 60.0) -> float:
        nonlocal clock
        clock += step
        return clock

    big = {}
    for p in kodak:
        img = Image.open(p).convert("RGB")
        big[p.stem] = img.resize((img.width * 4, img.height * 4), Image.Resampling.LANCZOS)  # 6 MP
    for b, src in enumerate([big[kodak[6].stem], big[kodak[7].stem], Image.open(cbsd[0]).convert("RGB")]):
        t = tick()
        for f in range(3):  # a few pixels of camera shake and a touch of exposure change per frame
            dx, dy = rng.integers(0, 12, 2)
            frame = src.crop((dx, dy, src.width - 12 + dx, src.height - 12 + dy))
            frame = Image.eval(frame, lambda v, g=1.0 + 0.03 * (f - 1): min(255, int(v * g)))
            if f == 2:
                frame = frame.filter(ImageFilter.GaussianBlur(2.0))  # the last frame of each burst missed focus
            _save(frame, dest / f"a_burst{b + 1}_{f + 1}.jpg", t + 0.3 * f)
    for p in clive:
        _save(Image.open(p).convert("RGB"), dest / f"clive_{p.stem}.jpg", tick())
    for p in kodak:
        _save(big[p.stem], dest / f"kodak_{p.stem}.jpg", tick())
    for p in cbsd:
        _save(Image.open(p).convert("RGB"), dest / f"cbsd_{p.stem}.jpg", tick())
    for i, p in enumerate(kodak[:6]):
        img = big[p.stem]
        kind = ("blurred", "dark", "noisy")[i % 3]
        if kind == "blurred":
            bad = img.filter(ImageFilter.GaussianBlur(6))
        elif kind == "dark":
            bad = Image.eval(img, lambda v: int(v * 0.18))
        else:
            a = np.asarray(img, np.float32) + rng.normal(0, 30, (img.height, img.width, 3))
            bad = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        _save(bad, dest / f"kodak_{p.stem}_{kind}.jpg", tick())
    (dest / "zz_card_error.jpg").write_bytes((dest / f"kodak_{kodak[0].stem}.jpg").read_bytes()[:2000])
    return dest


# -- driving the app ----------------------------------------------------------------------------
def xdo(*args: str) -> str:
    return subprocess.run(["xdotool", *args], check=True, capture_output=True, text=True).stdout.strip()


def key(name: str, pause: float = 0.4) -> None:
    xdo("key", "--clearmodifiers", name)
    time.sleep(pause)


def grab(png: Path, geometry: tuple[int, int, int, int] | None = None) -> Path:
    """The X screen (or the ``geometry`` x, y, w, h of it) to ``png``, grabbed by Qt in a child."""
    code = ("import sys; from PySide6.QtGui import QGuiApplication; app = QGuiApplication(sys.argv[:1]); "
            "s = QGuiApplication.primaryScreen(); g = [int(v) for v in sys.argv[2:]]; "
            "sys.exit(0 if s.grabWindow(0, *g).save(sys.argv[1]) else 1)")
    subprocess.run([sys.executable, "-c", code, str(png), *map(str, geometry or ())], check=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "xcb"})
    print(f"  screenshot {png}", flush=True)
    return png


def read_timings(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def reached(path: Path, milestone: str) -> int:
    """How many times the app has reached ``milestone`` ("heatmap" is reached once per photo)."""
    return read_timings(path).get("reached", []).count(milestone)


def wait_for(path: Path, milestone: str, timeout_s: float, proc: subprocess.Popen, count: int = 1) -> dict:
    """Wait until the app has reached ``milestone`` ``count`` times."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        t = read_timings(path)
        if t.get("reached", []).count(milestone) >= count:
            return t
        if proc.poll() is not None:
            raise SystemExit(f"the app exited ({proc.returncode}) before '{milestone}'")
        time.sleep(0.2)
    raise SystemExit(f"no '{milestone}' within {timeout_s:g} s")


def walk(folder: Path, out: Path, work: Path, presses: int, pause: float) -> dict:
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config"), "PHOTOCULL_CACHE_DIR": str(work / "cache"),
           "QT_QPA_PLATFORM": "xcb"}
    env.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    timings = work / "timings.json"
    timings.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    log = open(work / "app.log", "w")  # noqa: SIM115 - the app's output for the whole walk
    launched = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "photocull.app.main", "gui", str(folder), "--timings",
                             str(timings)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wid = xdo("search", "--sync", "--onlyvisible", "--name", "^photocull").splitlines()[0]
        xdo("windowmove", "--sync", wid, "0", "0")
        xdo("windowfocus", "--sync", wid)
        shape = dict(kv.split("=") for kv in xdo("getwindowgeometry", "--shell", wid).splitlines())
        window = (int(shape["X"]), int(shape["Y"]), int(shape["WIDTH"]), int(shape["HEIGHT"]))
        wait_for(timings, "analysed", 1800, proc)
        time.sleep(1.0)
        shots = [grab(out / "grid.png", window)]

        key("End")
        key("Left", 1.0)  # the last good photo, kodak_kodim08.jpg (6 MP): a moment on it in the grid
        key("Return", 4.0)  # the loupe, and the first heatmap of the session
        for i in range(presses):  # back through the 6 MP Kodak photos, a look at each
            heatmaps = reached(timings, "heatmap")
            key("Left", pause)
            if i in (1, 4):
                key("p")  # the photographer's own picks and a reject: auto-cull leaves them alone
            elif i == 6:
                key("x")
        wait_for(timings, "heatmap", 120, proc, heatmaps + 1)  # its heatmap, however busy the machine
        time.sleep(0.5)
        shots.append(grab(out / "detail.png", window))  # an under-exposed copy, fitted, with its heatmap
        key("Left", pause)  # its original
        key("h")  # heatmap off: the photo's own pixels
        xdo("mousemove", str(window[0] + 560), str(window[1] + 330))  # over the photo
        key("z", 3.0)  # 100 % at the mouse, from the full-resolution decode
        shots.append(grab(out / "loupe-100.png", window))
        key("z")
        key("h")

        key("Escape")
        key("Home")
        key("shift+Right")
        key("c", 4.0)  # compare the first two frames of a burst, their full-resolution decodes
        xdo("mousemove", str(window[0] + 360), str(window[1] + 360))
        key("z", 2.0)  # the active photo to 100 %: the other follows
        shots.append(grab(out / "compare-zoom.png", window))
        key("Escape")
        key("ctrl+k", 2.0)  # the auto-cull preview dialog
        shots.append(grab(out / "autocull-preview.png", window))
        dialog = xdo("search", "--onlyvisible", "--name", "^Auto-cull$").splitlines()[0]
        xdo("windowfocus", "--sync", dialog)
        key("Escape")
        xdo("windowfocus", "--sync", wid)
        key("ctrl+q", 2.0)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
        log.close()
    t = read_timings(timings)
    photo, heat = t.get("photo_ms", []), t.get("heatmap_ms", [])
    return {
        "photos": t.get("total"), "scored": t.get("scored"),
        "launch_to_first_thumbnail_s": round(t["first_thumbnail_at"] - launched, 2) if t.get("first_thumbnail_at")
        else None,
        "first_heatmap_ms": round(heat[0]) if heat else None,
        "arrow_to_photo_ms_median": round(statistics.median(photo[1:]), 1) if len(photo) > 1 else None,
        "arrow_to_heatmap_ms_median": round(statistics.median(heat[1:]), 1) if len(heat) > 1 else None,
        "arrow_presses": len(photo) - 1,
        "heatmaps_shown": len(heat),  # of the 1 + presses loupe requests: the others were left before theirs came
        "photo_ms": [round(v, 1) for v in photo], "heatmap_ms": [round(v) for v in heat],
        "screenshots": [str(p) for p in shots],
    }


def for_docs(png: Path, dest: Path) -> Path:
    """``png`` made small enough for the repository at ``dest`` (may be ``png``): 256 colours, at most
    DOC_WIDTH px wide (the windows' width: a loupe at 100 % stays at 100 %), narrower in steps of 10 %
    while the file is over DOC_BYTES. tools/screenshots.py saves its screenshots with it too."""
    full = Image.open(png).convert("RGB")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    width = min(full.width, DOC_WIDTH)
    while True:
        img = full if width == full.width else full.resize((width, round(full.height * width / full.width)),
                                                           Image.Resampling.LANCZOS)
        img.quantize(256, method=Image.Quantize.FASTOCTREE).save(tmp, "PNG", optimize=True)
        if tmp.stat().st_size <= DOC_BYTES or width < 800:
            break
        width = int(width * 0.9)
    os.replace(tmp, dest)
    print(f"  {dest} ({width} px, {dest.stat().st_size // 1024} KB)", flush=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/photocull-walk"))
    ap.add_argument("--folder", type=Path, help="the shoot (default WORK/shoot, built when missing)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/photocull-walk/screenshots"))
    ap.add_argument("--timings", type=Path, help="write the measured timings here (JSON)")
    ap.add_argument("--presses", type=int, default=10,
                    help="Left presses through the loupe before the detail screenshot (one more follows)")
    ap.add_argument("--docs", type=Path, help="also write the loupe, compare and auto-cull screenshots here, "
                    f"in 256 colours, under {DOC_BYTES // 1000} KB (docs/screenshots: {', '.join(DOC_SHOTS.values())})")
    ap.add_argument("--pause", type=float, default=2.5, help="seconds between presses (a look at the photo)")
    args = ap.parse_args(argv)
    from photocull.model.paths import data_dir

    folder = args.folder or args.work / "shoot"
    if not folder.is_dir() or not any(folder.iterdir()):
        print(f"building the shoot in {folder}", flush=True)
        build_shoot(folder, data_dir())
    print(f"{sum(1 for _ in folder.iterdir())} photos in {folder}", flush=True)
    result = walk(folder, args.out, args.work, args.presses, args.pause)
    if args.docs:
        result["docs"] = [str(for_docs(args.out / shot, args.docs / name)) for shot, name in DOC_SHOTS.items()]
    text = json.dumps(result, indent=2)
    print(text)
    if args.timings:
        from photocull.model.fileio import atomic_write_text

        atomic_write_text(args.timings, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
