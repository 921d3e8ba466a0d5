import csv
import json
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from photocull import app
from photocull.app import main as app_main
from photocull.app.core import cli

from fakes import FakeScorer, kodak, write_photo


@pytest.fixture
def fake_model(monkeypatch, tmp_path):
    """A stand-in ``model`` package (no torch import) whose load_scorer makes FakeScorers.

    Only the contract matters here: ``load_scorer(path, backend, device)`` and
    ``ModelLoadError``; the real model is exercised in test_core_integration.py.
    """

    class ModelLoadError(RuntimeError):
        pass

    state = types.SimpleNamespace(calls=[], scorers=[])

    def load_scorer(path=None, backend="torch", device="auto", photos=None):
        state.calls.append((path, backend, device))
        if path is not None:
            raise ModelLoadError(f"no model found at {path}")
        state.scorers.append(FakeScorer())
        return state.scorers[-1]

    fake = types.ModuleType("photocull.model")
    fake.load_scorer, fake.ModelLoadError = load_scorer, ModelLoadError
    fake.__path__ = [str(Path(__file__).resolve().parents[1] / "model")]  # torch-free submodules (fileio) stay importable
    monkeypatch.setitem(sys.modules, "photocull.model", fake)
    return state


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shoot"
    write_photo(root / "dark.jpg", grey=30)
    write_photo(root / "bright.jpg", grey=230)
    write_photo(root / "sub" / "mid.png", grey=128)
    (root / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 not much more")
    return root


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_rank_table_csv_json(folder, fake_model, tmp_path, capsys):
    code, out, err = run(["rank", folder, "--csv", tmp_path / "r.csv", "--json", tmp_path / "r.json",
                          "--backend", "onnx", "--device", "cpu", "--batch-size", "2"], capsys)
    assert code == 0
    assert fake_model.calls == [(None, "onnx", "cpu")]
    lines = out.splitlines()
    assert lines[0].split() == ["rank", "score", "status", "file"]
    assert lines[1].split() == ["1", "90.2", "ok", "bright.jpg"]
    assert lines[2].split() == ["2", "50.2", "ok", "sub/mid.png"]
    assert lines[3].split() == ["3", "11.8", "ok", "dark.jpg"]
    assert lines[4] == "   -      -  error   cut.jpg: truncated JPEG (incomplete header)"
    assert lines[5] == "3 scored, 1 failed"
    assert "scoring" in err  # tqdm progress on stderr

    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["path", "score", "rank", "status", "error", "reasons"]  # mandated columns first
    assert rows[1] == [str(folder / "bright.jpg"), "90.2", "1", "ok", "", "overexposed (strong)"]
    assert [r[2] for r in rows[1:]] == ["1", "2", "3", ""]
    assert rows[4][:4] == [str(folder / "cut.jpg"), "", "", "error"] and rows[4][4]

    data = json.loads((tmp_path / "r.json").read_text())
    assert [list(d)[:5] for d in data] == [["path", "score", "rank", "status", "error"]] * 4
    assert data[0] == {"path": str(folder / "bright.jpg"), "score": 90.2, "rank": 1, "status": "ok", "error": "",
                       "reasons": [{"reason": "overexposed", "severity": "strong", "indicator": 1.0}]}
    assert data[3]["reasons"] == []
    assert data[3]["score"] is None and data[3]["rank"] is None and data[3]["status"] == "error"
    assert not list(tmp_path.glob(".r.csv*.tmp"))  # atomic write left no temp file


def test_rank_names_the_compression_of_a_large_jpeg(tmp_path, fake_model, capsys):
    """A JPEG of 896 px or more on its short side is decoded at a reduced DCT scale, whose pixels
    lose the 8x8 grid: the export still names a low-quality file's compression (read from its
    quantisation tables), and not a camera-quality file's."""
    root = tmp_path / "big"
    root.mkdir()
    with Image.open(kodak() / "kodim14.webp") as im:
        big = im.convert("RGB").resize((3072, 2048), Image.Resampling.BILINEAR)  # decoded at 1/4
    big.save(root / "q10.jpg", quality=10)
    big.save(root / "q95.jpg", quality=95)
    code, _, _ = run(["rank", root, "--csv", tmp_path / "r.csv", "--no-progress"], capsys)
    assert code == 0
    with open(tmp_path / "r.csv", newline="") as fh:
        found = {Path(r["path"]).name: r["reasons"] for r in csv.DictReader(fh)}
    assert "compression artefacts (strong)" in found["q10.jpg"], found
    assert "compression" not in found["q95.jpg"], found


def test_top_and_cache(folder, fake_model, tmp_path, capsys):
    code, out, _ = run(["rank", folder, "--top", "1", "--no-progress"], capsys)
    assert code == 0 and "bright.jpg" in out and "dark.jpg" not in out and "2 more" in out
    assert "cut.jpg" in out  # failures are always listed
    assert fake_model.scorers[-1].predicted == 3
    run(["rank", folder, "--no-progress"], capsys)
    assert fake_model.scorers[-1].predicted == 0  # everything came from the cache
    run(["rank", folder, "--no-progress", "--no-cache"], capsys)
    assert fake_model.scorers[-1].predicted == 3


def test_exit_code_1_when_nothing_scored(tmp_path, fake_model, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"")
    (bad / "b.png").write_bytes(b"garbage")
    code, out, _ = run(["rank", bad, "--no-progress"], capsys)
    assert code == 1 and "empty file (0 bytes)" in out and "0 scored, 2 failed" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(["rank", empty], capsys)
    assert code == 1 and "no photos found" in err


def test_exit_code_2_usage_and_model_errors(folder, fake_model, tmp_path, capsys):
    code, _, err = run(["rank", tmp_path / "missing"], capsys)
    assert code == 2 and err.strip() == f"photocull: error: not a folder: {tmp_path / 'missing'}"
    code, _, err = run(["rank", folder, "--batch-size", "0"], capsys)
    assert code == 2 and "must be at least 1" in err
    code, _, err = run(["rank", folder, "--backend", "tf"], capsys)
    assert code == 2 and "invalid choice" in err
    code, _, err = run(["rank", folder, "--model", tmp_path / "nomodel"], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot load the model: no model found at" in err
    assert "Traceback" not in err
    code, _, err = run(["rank", folder, "--csv", tmp_path / "nodir" / "r.csv"], capsys)
    assert code == 2 and "--csv: folder does not exist" in err
    code, _, _ = run([], capsys)
    assert code == 2


def test_help_lists_commands(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for name in cli.COMMANDS:
        assert name in out


def test_main_dispatch(monkeypatch, folder, fake_model, capsys):
    fake_ui = types.SimpleNamespace(main=lambda argv: ("gui", argv))
    monkeypatch.setitem(sys.modules, "photocull.app.ui", fake_ui)
    monkeypatch.setattr(app, "ui", fake_ui, raising=False)
    assert app_main.main([]) == ("gui", [])
    assert app_main.main(["gui", "--folder", "x"]) == ("gui", ["--folder", "x"])
    monkeypatch.setattr(sys, "argv", ["photocull-gui", str(folder)])
    assert app_main.gui_main() == ("gui", [str(folder)])
    assert app_main.main(["rank", str(folder), "--no-progress"]) == 0
    assert "bright.jpg" in capsys.readouterr().out
