"""photocull learn: a personal head fitted to picks (sharp photos) vs rejects (blurred ones)."""

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from photocull.app.core import cli
from photocull.app.core.cache import Cache
from photocull.app.core.decisions import Decision
from photocull.training.personal import preference_metrics


def photo(seed: int, blur: float) -> Image.Image:
    rng = np.random.default_rng(seed)
    blobs = Image.fromarray((rng.random((5, 6, 3)) * 255).astype(np.uint8)).resize((160, 120), Image.BICUBIC)
    fine = Image.fromarray((rng.random((40, 53, 3)) * 255).astype(np.uint8)).resize((160, 120), Image.NEAREST)
    img = Image.blend(blobs, fine, 0.4)
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


@pytest.fixture
def shoot(tmp_path, monkeypatch):
    """14 sharp photos the user picked (some starred), 14 blurred ones they rejected, 4 undecided."""
    root = tmp_path / "shoot"
    root.mkdir()
    decisions = {}
    for i in range(14):
        p = root / f"pick_{i:02d}.jpg"
        photo(i, 0).save(p, quality=92)
        decisions[p] = Decision("pick", i % 4)
        r = root / f"rej_{i:02d}.jpg"
        photo(100 + i, 2.5 + (i % 3)).save(r, quality=92)
        decisions[r] = Decision("reject")
    for i in range(4):
        photo(200 + i, 0).save(root / f"undecided_{i}.jpg", quality=92)
    with Cache() as cache:
        cache.set_decisions(decisions)
    return root, decisions


def test_preference_metrics():
    m = preference_metrics([0.9, 0.8, 0.1, 0.2], [1.2, 1.0, 0.0, 0.0])
    assert m["pairwise_accuracy"] == 1.0 and m["auc"] == 1.0 and m["pick_reject_pairs"] == 4
    m = preference_metrics([0.1, 0.2, 0.9, 0.8], [1.0, 1.0, 0.0, 0.0])
    assert m["auc"] == 0.0
    assert preference_metrics([0.5, 0.5], [1.0, 0.0])["auc"] == 0.5  # ties count half


def test_refuses_with_too_few_decisions(shoot, tmp_path, capsys):
    root, _ = shoot
    code = cli.main(["learn", str(root), "--out", str(tmp_path / "m"), "--min-decisions", "20"])
    err = capsys.readouterr().err
    assert code == 2 and "not enough decisions" in err and "14 pick(s) and 14 reject(s)" in err
    assert not (tmp_path / "m").exists()


def test_learn_improves_agreement_and_saves_a_loadable_model(shoot, tmp_path, capsys):
    import torch

    from photocull.model import create_model, load_model

    root, decisions = shoot
    torch.manual_seed(0)
    base = create_model(backbone="efficientnet_lite0", pretrained=True, image_size=64, hidden=(64,))
    base.save(tmp_path / "base")
    out, report_json = tmp_path / "personal", tmp_path / "report.json"
    code = cli.main(["learn", str(root), "--model", str(tmp_path / "base"), "--out", str(out),
                     "--json", str(report_json), "--steps", "200"])
    text = capsys.readouterr().out
    assert code == 0, text
    report = json.loads(report_json.read_text())
    assert report["n_picks"] == 14 and report["n_rejects"] == 14
    assert report["n_holdout"] == 8 and report["n_train"] == 20  # ceil(25%) of each class held out
    before, after = report["before"], report["after"]
    print("learn before/after:", before, after)
    assert after["auc"] >= before["auc"] and after["auc"] >= 0.8
    assert after["pairwise_accuracy"] >= 0.8
    assert "before:" in text and "after:" in text and str(out) in text

    # the personal model is a normal model folder: --model accepts it, and it prefers the picks
    personal = load_model(out)
    assert personal.model_id != load_model(tmp_path / "base").model_id
    picks = [Image.open(p) for p, d in decisions.items() if d.flag == "pick"][:4]
    rejects = [Image.open(p) for p, d in decisions.items() if d.flag == "reject"][:4]
    scores = personal.predict(picks + rejects)
    assert scores[:4].min() > scores[4:].max()
