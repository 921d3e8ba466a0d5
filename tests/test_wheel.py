"""The wheel as a user installs it: built from this checkout, installed non-editable into a fresh
venv (with the pins of packaging/constraints.txt), then ``photocull rank`` on a folder outside
the repository with the embedded default model."""
import csv
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from fakes import DEMO, ROOT

TOP_LEVEL_OK = {"photocull"}


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # from a copy of the sources, so no stale build/ folder of this checkout leaks into the wheel
    src = tmp_path_factory.mktemp("src") / "photocull"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                                             "__pycache__", "runs", "out"))
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", out, src], timeout=600)
    (whl,) = out.glob("photocull-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_holds_one_import_package_and_the_model(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == TOP_LEVEL_OK
    for f in ("model.onnx", "model.safetensors", "config.json"):
        assert f"photocull/resources/models/default/{f}" in names
    assert "photocull/training/configs/default.yaml" in names
    assert not any(n.startswith("photocull/resources/demo/") for n in names)  # demo photos stay in the repo
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_wheel_installs_and_ranks_outside_the_repo(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    run([py, "-m", "pip", "install", "-q", "-c", ROOT / "packaging" / "constraints.txt", wheel], timeout=1500)

    # only photocull/ (and its metadata, and the launchers) lands in site-packages
    files = run([py, "-m", "pip", "show", "-f", "photocull"]).stdout.split("Files:", 1)[1].split()
    top = {Path(f).parts[0] for f in files if not f.startswith("..")}
    assert {t for t in top if not t.endswith(".dist-info")} == TOP_LEVEL_OK, top

    # a clean environment outside the checkout: no generic names, the embedded model found
    work = tmp_path / "elsewhere"
    shoot = work / "shoot"
    shutil.copytree(DEMO, shoot)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
           "PHOTOCULL_CACHE_DIR": str(tmp_path / "cache"), "PYTHONNOUSERSITE": "1"}
    for bare in ("app", "model", "training", "resources"):
        proc = subprocess.run([py, "-c", f"import {bare}"], cwd=work, env=env, capture_output=True, text=True)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, bare
    where = run([py, "-c", "import photocull.model.paths as p; print(p.default_model_dir())"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(env_dir)

    out_csv = work / "ranked.csv"
    rank = run([bin_dir / "photocull", "rank", shoot, "--csv", out_csv, "--no-progress"], cwd=work, env=env,
               timeout=600)
    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 and all(r["status"] == "ok" for r in rows), rank.stdout
    assert len({r["score"] for r in rows}) > 10  # a ranking, not a constant
    assert sorted(os.listdir(shoot)) == sorted(os.listdir(DEMO))  # the photos are untouched
