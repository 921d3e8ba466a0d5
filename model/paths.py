"""Filesystem locations used by the model package (and, through it, the rest of photocull)."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def repo_root() -> Path:
    """The source tree root (the directory holding ``model/``, ``app/``, ``resources/``)."""
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """``resources/``; inside a PyInstaller bundle it lives under ``sys._MEIPASS``."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return repo_root() / "resources"


def data_dir() -> Path:
    """Training/test data: ``$PHOTOCULL_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("PHOTOCULL_DATA")
    if env:
        return Path(env).expanduser()
    return repo_root().parent / "shared" / "data"


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
