"""The standalone build (packaging/): PyInstaller one-dir bundle without PyTorch, run offscreen.

Builds into a temp dir (PyInstaller's work dir is cached under the system temp dir, so a rebuild
on the same machine is quicker), then runs the bundle's CLI on the demo shoot and its GUI with
``QT_QPA_PLATFORM=offscreen`` (hidden ``--screenshot`` hook: open, score, save the window, quit).
"""
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photocull.model import load_scorer
from photocull.model.paths import default_model_dir

from fakes import DEMO, ROOT


def run_install_desktop(tmp_path, *args):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    return subprocess.run(["sh", str(ROOT / "packaging" / "install-desktop.sh"), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=60)


def test_install_desktop_entry(tmp_path):
    exe = tmp_path / "app dir" / "photocull"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    proc = run_install_desktop(tmp_path, exe)
    assert proc.returncode == 0, proc.stderr
    entry = (tmp_path / "share" / "applications" / "photocull.desktop").read_text()
    assert f'Exec="{exe}" gui %f' in entry.splitlines() and "Icon=photocull" in entry
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "photocull.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "icons" / "photocull.svg").read_bytes()
    assert run_install_desktop(tmp_path).returncode == 0  # no argument: the pip-installed launcher
    assert "Exec=photocull-gui %f" in (tmp_path / "share" / "applications" / "photocull.desktop").read_text()
    assert run_install_desktop(tmp_path, tmp_path / "missing").returncode == 2


@pytest.mark.slow
def test_bundle_builds_and_runs_offscreen(tmp_path):
    model_dir = default_model_dir()
    work = Path(tempfile.gettempdir()) / "photocull-pyinstaller-test"
    build = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--out", str(tmp_path / "dist"),
                            "--model-dir", str(model_dir), "--workpath", str(work)],
                           capture_output=True, text=True, timeout=1500)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "MiB in" in build.stdout
    bundle = tmp_path / "dist" / "photocull"
    exe = bundle / "photocull"
    internal = bundle / "_internal"
    assert not any((internal / n).exists() for n in ("torch", "timm", "transformers", "nvidia", "triton"))
    bundled = internal / "photocull" / "resources" / "models" / "default"
    assert (bundled / "model.onnx").is_file() and (bundled / "model.int8.onnx").is_file()  # the CPU default

    # a clean environment: nothing from this venv, user dirs in tmp
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
           "PHOTOCULL_CACHE_DIR": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run"), "QT_QPA_PLATFORM": "offscreen"}
    (tmp_path / "run").mkdir(mode=0o700)
    out_csv = tmp_path / "out.csv"
    rank = subprocess.run([str(exe), "rank", str(DEMO), "--csv", str(out_csv), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert rank.returncode == 0, rank.stderr
    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 and all(r["status"] == "ok" for r in rows)
    # the bundle scores exactly like the source tree's ONNX backend on the same model
    scorer = load_scorer(model_dir, backend="onnx", device="cpu")
    from photocull.app.core.decode import load_image

    got = {Path(r["path"]).name: float(r["score"]) for r in rows}
    names = sorted(got)[:6]
    expected = scorer.predict([load_image(DEMO / n, min_side=scorer.image_size) for n in names])
    assert np.abs(np.array([got[n] for n in names]) - expected).max() <= 0.051  # CSV has one decimal

    shot = tmp_path / "gui.png"
    gui = subprocess.run([str(exe), "gui", str(DEMO), "--screenshot", str(shot), "--screenshot-timeout", "300"],
                         capture_output=True, text=True, env=env, timeout=420)
    assert gui.returncode == 0, gui.stdout + gui.stderr
    assert "photocull gui: 30 scored, 0 error(s)" in gui.stdout
    with Image.open(shot) as im:
        assert im.format == "PNG" and im.width >= 640 and im.height >= 400
        assert np.asarray(im.convert("L")).std() > 5  # a drawn window, not a blank image
