"""CLI smoke: train -> eval -> analyze -> ablate on tiny generated data, demo-shoot, and the card's
held-out section from check runs in parts."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from photocull.training.cli import main
from photocull.training.demo import DEMO_IMAGES, DEMO_TAKES, build_demo_shoot
from photocull.training.distortions import apply

from fakes import TINY_VIT


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    root = tmp_path_factory.mktemp("clids")
    rng = np.random.default_rng(1)
    lines = ["path,mos"]
    for i in range(30):
        base = Image.fromarray(rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)).resize((40, 40), Image.BICUBIC)
        lv = i % 6
        (base if lv == 0 else apply("white_noise", base, lv, seed=i)).save(root / f"{i}.png")
        lines.append(f"{i}.png,{100 - 15 * lv}")
    (root / "scores.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.slow
def test_train_eval_analyze_ablate(tiny_csv, tmp_path, capsys):
    cfg = {
        "name": "tiny", "output_dir": str(tmp_path / "run"), "progress": False, "regime": "frozen",
        "model": {"backbone": "siglip2", "backbone_config": TINY_VIT, "pretrained": False, "image_size": 32,
                  "hidden": [16, 8]},
        "data": {"dataset": "csv", "root": str(tiny_csv), "splits": 2},
        "frozen": {"aug_views": 1, "cache_dir": str(tmp_path / "cache")},
        "train": {"epochs": 3, "batch_size": 8},
        "ablate": {"activations": ["relu", "gated"]},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path), "-o", "train.epochs=2"]) == 0
    out = capsys.readouterr().out
    assert "SRCC" in out and "report:" in out
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["config"]["train"]["epochs"] == 2            # the override won
    assert all(len(s["history"]) == 2 for s in report["splits"])

    model_dir = tmp_path / "run" / "model"
    assert main(["eval", str(model_dir), "--dataset", "csv", "--root", str(tiny_csv),
                 "--out", str(tmp_path / "eval.json")]) == 0
    ev = json.loads((tmp_path / "eval.json").read_text())
    assert ev["n"] == report["splits"][0]["n_test"] == 6          # the run's held-out split
    assert ev["metrics"]["srcc"] == pytest.approx(report["splits"][0]["metrics"]["srcc"], abs=1e-3)

    shipped = tmp_path / "shipped"
    assert main(["ship", str(tmp_path / "run"), "--dest", str(shipped)]) == 0
    from photocull.model import load_model
    from photocull.model.onnx_backend import OnnxScorer
    assert sorted(p.name for p in shipped.iterdir()) == ["MODEL_CARD.md", "config.json", "model.int8.onnx",
                                                        "model.onnx", "model.safetensors"]
    assert OnnxScorer(shipped / "model.onnx").model_id == load_model(shipped).model_id
    assert OnnxScorer(shipped / "model.int8.onnx").model_id == load_model(shipped).model_id + "-int8"
    card = (shipped / "MODEL_CARD.md").read_text()
    assert f"{report['summary']['srcc']['median']:.3f} / " in card and "split seed" in card
    assert "## int8 model (the CPU default)" in card and "On the 6 held-out photos" in card

    # the shipped recipe trains on every photo; its card reports the held-out check run instead
    assert main(["train", str(path), "-o", f"output_dir={tmp_path / 'all'}", "-o", "data.splits=1",
                 "-o", "data.fractions=[1.0,0.0]"]) == 0
    everything = tmp_path / "shipped_all"
    assert main(["ship", str(tmp_path / "all"), "--dest", str(everything), "--check", str(tmp_path / "run")]) == 0
    card = (everything / "MODEL_CARD.md").read_text()
    assert "30 of\n  the 30 photos" in card and "(all of them)" in card
    assert f"| {report['summary']['srcc']['median']:.3f} / " in card and "check runs of the same recipe" in card
    assert f"--check {tmp_path / 'run'}" in card
    assert "training photos not used for calibration (none held out)" in card

    assert main(["analyze", str(model_dir), "--dataset", "csv", "--root", str(tiny_csv), "--all",
                 "--out", str(tmp_path / "fig"), "--per-bucket", "2"]) == 0
    for name in ("tsne.png", "gradcam_low.png", "gradcam_medium.png", "gradcam_high.png"):
        with Image.open(tmp_path / "fig" / name) as im:
            assert im.width > 200 and im.height > 200
    info = json.loads((tmp_path / "fig" / "analysis.json").read_text())
    assert sum(info["bucket_counts"].values()) == 30 and all(len(v) == 2 for v in info["examples"].values())

    assert main(["ablate", str(path), "-o", f"output_dir={tmp_path / 'abl'}"]) == 0
    table = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    assert [r["activation"] for r in table["rows"]] == ["relu", "gated"]
    assert all(r["splits"] == 2 and len(r["per_split_srcc"]) == 2 for r in table["rows"])
    md = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| relu |" in md and "| gated |" in md


def test_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "training", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    for cmd in ("train", "eval", "ablate", "analyze", "demo-shoot"):
        assert cmd in r.stdout


def _mse(a, b):
    return float(((np.asarray(a, np.float32) - np.asarray(b, np.float32)) ** 2).mean())


@pytest.mark.slow
def test_demo_shoot_real_kodak(tmp_path, kodak):
    assert main(["demo-shoot", str(tmp_path / "demo")]) == 0
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    expected = sorted([f"{n}.jpg" for n in DEMO_IMAGES] + [f"{n}_{t}.jpg" for n in DEMO_IMAGES for t in DEMO_TAKES])
    assert names == expected and len(names) == 30
    orig = Image.open(tmp_path / "demo" / "kodim05.jpg")
    assert orig.format == "JPEG" and orig.size in ((768, 512), (512, 768))
    src = Image.open(kodak / "kodim05.webp").convert("RGB")
    assert _mse(orig, src) < 20                                   # q92: a faithful original
    for take in DEMO_TAKES:
        assert _mse(Image.open(tmp_path / "demo" / f"kodim05_{take}.jpg"), orig) > 80, take


def test_demo_shoot_deterministic(tmp_path):
    kodak = tmp_path / "kodak"
    kodak.mkdir()
    for i, n in enumerate(DEMO_IMAGES):
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 255, (8, 12, 3), dtype=np.uint8)).resize((96, 64)).save(kodak / f"{n}.png")
    a = build_demo_shoot(tmp_path / "a", kodak)
    b = build_demo_shoot(tmp_path / "b", kodak)
    assert [p.name for p in a] == [p.name for p in b]
    assert all(pa.read_bytes() == pb.read_bytes() for pa, pb in zip(a, b))


def _check_run(folder: Path, seeds: list[int], srccs: list[float], fractions=(0.8, 0.2)) -> Path:
    """A check run's report.json as ``photocull-train train`` writes it (only what the card reads)."""
    folder.mkdir(parents=True)
    metrics = [{"srcc": v, "plcc": v + 0.05, "plcc_raw": v + 0.04, "krcc": v - 0.2} for v in srccs]
    report = {"name": folder.name, "dataset": {"name": "clive", "n": 820}, "fractions": list(fractions),
              "split_seeds": seeds, "splits": [{"metrics": m} for m in metrics],
              "config": {"data": {"fractions": list(fractions), "splits": len(seeds), "split_seed": seeds[0]},
                         "train": {"time_budget_min": 120}}}
    (folder / "report.json").write_text(json.dumps(report))
    return folder


def test_check_runs_in_parts_are_pooled_into_the_card(tmp_path):
    """A cross-validation run in parts (split seeds 1-2, then 0): the card's held-out section pools
    their splits (median over all three) and names every seed; other sections stay."""
    from photocull.training.ship import HELD_OUT_SECTION, card_held_out, check_command, load_checks

    a = _check_run(tmp_path / "cv_a", [1, 2], [0.70, 0.80])
    b = _check_run(tmp_path / "cv_b", [0], [0.76])
    pooled = load_checks([a, b])
    assert pooled["split_seeds"] == [1, 2, 0] and pooled["summary"]["srcc"]["n"] == 3
    assert pooled["summary"]["srcc"]["median"] == pytest.approx(0.76)
    assert check_command("default", pooled["runs"][0]).endswith(
        f"-o output_dir={a} -o \"data.fractions=[0.8, 0.2]\" -o data.splits=2 -o data.split_seed=1 "
        "-o train.time_budget_min=120   # held-out check")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MODEL_CARD.md").write_text(f"# card\n\n{HELD_OUT_SECTION}\n\nold numbers\n\n## Size and speed\n\nkept\n")
    card_held_out(folder, [a, b])
    card = (folder / "MODEL_CARD.md").read_text()
    assert "old numbers" not in card and "## Size and speed\n\nkept" in card
    assert "3 random split(s) (split seeds 1, 2, 0)" in card and "| 0.760 / 0.810 / 0.800 / 0.560 |" in card
    assert "1: 0.700 2: 0.800 0: 0.760" in card and "`cv_a`, `cv_b`" in card
    with pytest.raises(ValueError, match="hold out different photos"):
        load_checks([a, _check_run(tmp_path / "cv_c", [3], [0.7], fractions=(0.9, 0.1))])
