"""Build photocull's standalone one-dir app with PyInstaller (Linux first).

    python packaging/build.py --out DIR [--model-dir resources/models/default] [--workpath W] [--clean]

Result: ``DIR/photocull/photocull`` (CLI; no arguments = the GUI) with ``_internal/`` next to it.
The model folder must hold ``model.onnx`` + ``config.json`` (``MODEL_CARD.md`` is shipped when
there); when it also holds ``model.safetensors`` the .onnx must have been exported from those
weights. The bundle has no PyTorch (see packaging/photocull.spec); the build fails if any of it
slipped in. Prints the bundle size and the build time.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "photocull.spec"
FORBIDDEN = ("torch", "torchvision", "timm", "transformers", "peft", "triton", "nvidia")


# The source folders that make up the import package photocull (pyproject.toml's package-dir).
PACKAGE_DIRS = ("app", "model", "resources")


def check_model_dir(model_dir: Path) -> None:
    """Refuse a folder without model.onnx/config.json, or whose model.onnx is stale."""
    from photocull.model.onnx_backend import ONNX_FILE, OnnxScorer, sha256_files

    for name in (ONNX_FILE, "config.json"):
        if not (model_dir / name).is_file():
            raise SystemExit(f"build: {model_dir / name} is missing (export it with photocull.model.onnx_backend.export_onnx "
                             "or `load_scorer(dir, backend='onnx')`)")
    weights = model_dir / "model.safetensors"
    scorer = OnnxScorer(model_dir / ONNX_FILE, providers="cpu")
    if weights.is_file() and scorer.source_sha256 not in (None, sha256_files([weights, model_dir / "config.json"])):
        raise SystemExit(f"build: {model_dir / ONNX_FILE} was exported from other weights than {weights}; "
                         "export it again")


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def stage_package(workpath: Path) -> Path:
    """``workpath/src`` holding ``photocull/{app,model,resources}`` as links to the source
    folders: PyInstaller's analysis cannot follow setuptools' editable-install import hook, so it
    is given the package tree as a plain folder (training/ stays out of the bundle)."""
    src = workpath / "src"
    pkg = src / "photocull"
    pkg.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_DIRS:
        link = pkg / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(ROOT / name, target_is_directory=True)
    return src


def build(out: Path, model_dir: Path, workpath: Path, clean: bool = False) -> Path:
    import PyInstaller.__main__

    check_model_dir(model_dir)
    args = ["--noconfirm", "--log-level", "WARN", "--distpath", str(out), "--workpath", str(workpath)]
    if clean:
        args.append("--clean")
    src = stage_package(workpath)
    PyInstaller.__main__.run([*args, str(SPEC), "--", "--model-dir", str(model_dir), "--src", str(src)])
    bundle = out / "photocull"
    internal = bundle / "_internal"
    slipped = [name for name in FORBIDDEN if (internal / name).exists()]
    if slipped:
        raise SystemExit(f"build: {', '.join(slipped)} ended up in the bundle; add to EXCLUDES in {SPEC.name}")
    return bundle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="dist folder; the app goes to OUT/photocull/")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "resources" / "models" / "default",
                    help="model folder to embed (default: resources/models/default)")
    ap.add_argument("--workpath", type=Path, default=None,
                    help="PyInstaller's build cache (default: <tmp>/photocull-pyinstaller-<python>); "
                         "reusing it makes rebuilds fast")
    ap.add_argument("--clean", action="store_true", help="empty the build cache first")
    args = ap.parse_args(argv)
    workpath = args.workpath or Path(tempfile.gettempdir()) / (
        "photocull-pyinstaller-" + hashlib.sha256(sys.executable.encode()).hexdigest()[:8])
    out = args.out.resolve()
    if (out / "photocull").exists():
        shutil.rmtree(out / "photocull")
    t0 = time.monotonic()
    bundle = build(out, args.model_dir.resolve(), workpath.resolve(), args.clean)
    seconds = time.monotonic() - t0
    print(f"built {bundle / 'photocull'}: {dir_size(bundle) / 2**20:.0f} MiB in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
