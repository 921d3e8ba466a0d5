import sys
from pathlib import Path

import pytest

from model import ModelLoadError, load_scorer
from model import paths


def test_repo_layout():
    root = paths.repo_root()
    assert (root / "model" / "paths.py").is_file()
    assert paths.resources_dir() == root / "resources"
    assert paths.default_model_dir() == root / "resources" / "models" / "default"


def test_pyinstaller_bundle(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"
    assert paths.default_model_dir() == tmp_path / "resources" / "models" / "default"


def test_data_and_cache_dirs(monkeypatch, tmp_path):
    monkeypatch.delenv("PHOTOCULL_DATA", raising=False)
    assert paths.data_dir() == paths.repo_root().parent / "shared" / "data"
    assert (paths.data_dir() / "clive" / "mos.csv").is_file()
    monkeypatch.setenv("PHOTOCULL_DATA", str(tmp_path))
    assert paths.data_dir() == tmp_path
    monkeypatch.setenv("PHOTOCULL_CACHE_DIR", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("PHOTOCULL_CACHE_DIR")
    assert "photocull" in str(paths.cache_dir())


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_missing_default_model_is_a_clear_error(monkeypatch, tmp_path, backend):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)  # a bundle without the model
    with pytest.raises(ModelLoadError, match=str(Path("models") / "default")):
        load_scorer(backend=backend)
