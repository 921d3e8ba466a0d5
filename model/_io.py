"""File handling shared by both backends, torch-free: atomic writes (a temp file in the target's
directory, then os.replace) and the model folder's files (names, reading config.json)."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from .errors import ModelLoadError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temp path next to ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def model_files(path) -> tuple[Path, Path]:
    """``(config.json, model.safetensors)`` of a model folder, its weights file or its config."""
    path = Path(path).expanduser()
    if path.is_dir():
        return path / CONFIG_FILE, path / WEIGHTS_FILE
    if path.suffix == ".safetensors":
        return path.with_name(CONFIG_FILE), path
    if path.name == CONFIG_FILE:
        return path, path.with_name(WEIGHTS_FILE)
    raise ModelLoadError(f"model path {path} does not exist" if not path.exists() else
                         f"{path} is neither a model folder, a .safetensors file nor a config.json")


def read_config(config_path: Path) -> dict:
    try:
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"model config {config_path} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"model config {config_path} is unreadable or corrupt: {exc}") from exc
    if not isinstance(config, dict) or "backbone" not in config:
        raise ModelLoadError(f"model config {config_path} is not a photocull model config")
    return config
