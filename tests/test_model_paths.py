from pathlib import Path

import pytest

from photocull.model import ModelLoadError, load_scorer, paths

from fakes import ROOT


def test_resources_come_from_the_package():
    # an editable install maps photocull.resources onto resources/ of this checkout
    assert paths.resources_dir() == ROOT / "resources"
    assert paths.source_root() == ROOT
    assert paths.default_model_dir() == ROOT / "resources" / "models" / "default"
    assert (paths.default_model_dir() / "config.json").is_file()


def test_data_dir_env_and_checkout(monkeypatch, tmp_path, shared_data):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    if (ROOT.parent / "shared" / "data").is_dir():
        assert paths.data_dir() == ROOT.parent / "shared" / "data"
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    assert paths.data_dir() == tmp_path


def test_missing_data_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(paths.DataNotFoundError, match="PHOTOCULL_DATA"):
        paths.data_dir()
    monkeypatch.delenv(paths.DATA_ENV)
    monkeypatch.setattr(paths, "source_root", lambda: None)  # a wheel install, no checkout
    with pytest.raises(paths.DataNotFoundError, match="not run from a source checkout.*PHOTOCULL_DATA"):
        paths.data_dir()


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PHOTOCULL_CACHE_DIR", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("PHOTOCULL_CACHE_DIR")
    assert "photocull" in str(paths.cache_dir())


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_missing_default_model_is_a_clear_error(monkeypatch, tmp_path, backend):
    monkeypatch.setattr(paths, "resources_dir", lambda: tmp_path)  # an install without the model
    with pytest.raises(ModelLoadError, match=str(Path("models") / "default")):
        load_scorer(backend=backend)
