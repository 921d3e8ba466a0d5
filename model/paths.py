"""Filesystem locations used by the model package (and, through it, the rest of photocull)."""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

DATA_ENV = "PHOTOCULL_DATA"


def resources_dir() -> Path:
    """The files of ``photocull.resources`` (``resources/`` in the source tree).

    Found through ``importlib.resources``, so it is the same call in a source checkout, a wheel
    install and the PyInstaller bundle (which collects them under ``photocull/resources``).
    photocull is never installed zipped, so the traversable is a real folder."""
    return Path(str(files("photocull.resources")))


def source_root() -> Path | None:
    """The source checkout photocull runs from (the folder with ``pyproject.toml``), or None
    when it runs from a wheel install or a bundle."""
    root = resources_dir().parent
    return root if (root / "pyproject.toml").is_file() and (root / "model" / "paths.py").is_file() else None


class DataNotFoundError(FileNotFoundError):
    """The training/evaluation data folder is not where it was looked for."""


def data_dir() -> Path:
    """Training/evaluation data: ``$PHOTOCULL_DATA``, else ``../shared/data`` beside a source
    checkout. Raises :class:`DataNotFoundError` naming ``PHOTOCULL_DATA`` when neither exists."""
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        root = source_root()
        path = root.parent / "shared" / "data" if root is not None else None
    if path is None or not path.is_dir():
        where = f"{path} does not exist" if path is not None else "photocull is not run from a source checkout"
        raise DataNotFoundError(f"no training/evaluation data: {where}; set {DATA_ENV} to the folder "
                                "that holds clive/ and pristine/")
    return path


def default_model_dir() -> Path:
    """The embedded default model (``model.safetensors``, ``config.json``, ``model.onnx``)."""
    return resources_dir() / "models" / "default"


def cache_dir() -> Path:
    """``$PHOTOCULL_CACHE_DIR`` or the platform user cache dir for photocull (not created here)."""
    env = os.environ.get("PHOTOCULL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photocull"))
