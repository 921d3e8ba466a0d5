"""The lean path: without PyTorch (as in the standalone build) photocull ranks and explains with
ONNX Runtime. A subprocess blocks ``import torch`` (and timm/transformers/...) with a meta-path
finder, then runs the real CLI on an exported model folder holding only model.onnx + config.json."""
import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from photocull.model import create_model
from photocull.model.onnx_backend import export_onnx

from fakes import write_photo

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = {"torch", "torchvision", "timm", "transformers", "peft", "pytorch_grad_cam", "triton",
               "matplotlib"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, Block())
""")

SCRIPT = BLOCKER + textwrap.dedent("""
    import json
    import photocull.model.onnx_backend, photocull.model.scoring, photocull.model.paths, photocull.model.explain  # noqa: E401
    from photocull import model
    from photocull.model.onnx_backend import OnnxScorer
    from photocull.app.core import cli

    photos, model_dir, out = sys.argv[1:4]
    report = {"default_backend": model.default_backend(),
              "scorer": type(model.load_scorer(model_dir, backend="onnx", device="cpu")).__name__}
    report["rank"] = cli.main(["rank", photos, "--model", model_dir, "--csv", out + "/r.csv",
                               "--heatmaps", out + "/heat", "--no-progress", "--device", "cpu"])
    report["rank_onnx"] = cli.main(["rank", photos, "--model", model_dir, "--backend", "onnx",
                                    "--no-progress", "--no-cache"])
    report["rank_torch"] = cli.main(["rank", photos, "--model", model_dir, "--backend", "torch",
                                     "--no-progress"])
    report["loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("REPORT " + json.dumps(report))
""")


@pytest.fixture
def onnx_only_model(tmp_path):
    torch.manual_seed(0)
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    with torch.no_grad():
        m.head.layers[-1].bias.fill_(0.5)
    d = tmp_path / "model"
    export_onnx(m, d / "model.onnx")
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.onnx"]  # no torch weights
    return d


@pytest.mark.slow
def test_rank_and_heatmaps_without_torch(onnx_only_model, tmp_path):
    photos = tmp_path / "photos"
    for i, grey in enumerate((40, 120, 200)):
        write_photo(photos / f"p{i}.jpg", grey=grey)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PHOTOCULL_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(photos), str(onnx_only_model), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("REPORT "))[7:])
    assert report["default_backend"] == "onnx" and report["scorer"] == "OnnxScorer"
    assert report["rank"] == 0 and report["rank_onnx"] == 0
    with open(out / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and all(r["status"] == "ok" and 0 <= float(r["score"]) <= 100 for r in rows)
    assert len(list((out / "heat").glob("*.png"))) == 3  # occlusion heatmaps, no Grad-CAM without torch
    # asking for the torch backend: exit 2 and one clear line that points to the onnx backend
    assert report["rank_torch"] == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("photocull: error:")]
    assert len(errors) == 1 and "PyTorch is not installed" in errors[0] and "--backend onnx" in errors[0]
    assert report["loaded"] == []


def test_blocker_really_blocks(tmp_path):
    """Control: the same blocker makes a plain ``import torch`` fail in the subprocess."""
    proc = subprocess.run([sys.executable, "-c", BLOCKER + "import torch\n"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "No module named 'torch' (blocked)" in proc.stderr
