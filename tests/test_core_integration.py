"""The engine and ``photocull rank`` with the real ``model.load_scorer`` (torch backend, CPU).

Uses a freshly built efficientnet_lite0 model (real pretrained backbone, small
input size) saved to a temporary folder, so it does not depend on the
embedded default model.
"""

import json

import numpy as np
import pytest
from PIL import Image

from photocull.app.core import cli
from photocull.app.core.cache import Cache
from photocull.app.core.engine import score_folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from photocull.model import create_model

    path = tmp_path_factory.mktemp("model")
    create_model(backbone="efficientnet_lite0", pretrained=True, image_size=64, hidden=(16,)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (72, 96, 3), np.uint8)).save(root / f"n{i}.jpg")
    Image.new("RGB", (96, 72), (120, 110, 100)).save(root / "flat.png")
    (root / "bad.jpg").write_bytes(b"nope")
    return root


@pytest.mark.slow
def test_engine_with_real_scorer(model_dir, photos, tmp_path):
    from photocull.model import load_scorer

    scorer = load_scorer(model_dir, backend="torch", device="cpu")
    with Cache(tmp_path / "c.sqlite3") as cache:
        first = {r.path.name: r for r in score_folder(photos, scorer, cache, batch_size=2)}
        assert {n for n, r in first.items() if r.status == "ok"} == {"n0.jpg", "n1.jpg", "n2.jpg", "flat.png"}
        assert all(0 <= r.score <= 100 for r in first.values() if r.status == "ok")
        assert first["bad.jpg"].status == "error"
        second = {r.path.name: r for r in score_folder(photos, scorer, cache)}
        assert all(r.cached for r in second.values())
        assert {n: r.score for n, r in second.items()} == pytest.approx({n: r.score for n, r in first.items()})
        # deterministic: scoring again without the cache gives the same numbers
        again = {r.path.name: r.score for r in score_folder(photos, scorer, cache, use_cache=False)}
        assert again == pytest.approx({n: r.score for n, r in first.items()}, abs=1e-3)


@pytest.mark.slow
def test_rank_cli_with_heatmaps(model_dir, photos, tmp_path, monkeypatch, capsys):
    code = cli.main(["rank", str(photos), "--model", str(model_dir), "--device", "cpu", "--top", "2",
                     "--json", str(tmp_path / "r.json"), "--heatmaps", str(tmp_path / "heat"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = json.loads((tmp_path / "r.json").read_text())
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, None]
    maps = sorted(p.name for p in (tmp_path / "heat").iterdir())
    assert len(maps) == 2 and maps[0].startswith("0001_") and maps[1].startswith("0002_")
    with Image.open(tmp_path / "heat" / maps[0]) as im:
        assert im.format == "PNG" and im.size == (96, 72)
    assert "2 heatmap(s) written" in err
