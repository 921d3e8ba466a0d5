"""The embedded default model ranks the shipped demo shoot sensibly: every degraded take of a
photo scores below its original (issue: 'Ranking the demo shoot puts every degraded take below
its original'). Runs the real CLI end to end on resources/demo with both backends."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from photocull.app.core import cli
from photocull.model.paths import default_model_dir, resources_dir

DEMO = resources_dir() / "demo"


def _rank(tmp_path: Path, backend: str) -> dict[str, float]:
    out = tmp_path / f"{backend}.csv"
    code = cli.main(["rank", str(DEMO), "--csv", str(out), "--backend", backend, "--no-cache", "--no-progress"])
    assert code == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["status"] == "ok" for r in rows)
    return {Path(r["path"]).stem: float(r["score"]) for r in rows}


def test_default_model_is_shipped():
    for name in ("model.safetensors", "config.json", "model.onnx", "MODEL_CARD.md"):
        assert (default_model_dir() / name).is_file(), name


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_every_degraded_take_ranks_below_its_original(tmp_path, backend):
    scores = _rank(tmp_path, backend)
    originals = [s for s in scores if "_" not in s]
    assert len(originals) == 6
    failures = [
        f"{take}={scores[take]:.1f} >= {orig}={scores[orig]:.1f}"
        for orig in originals
        for take in scores
        if take.startswith(orig + "_") and scores[take] >= scores[orig]
    ]
    assert failures == []
    # the calibrated scale does not saturate: six different good photos, six different scores below 100
    top = sorted(scores[o] for o in originals)
    assert len(set(top)) == 6 and top[-1] < 100.0, top
