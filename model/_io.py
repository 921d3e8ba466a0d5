"""The model folder's files, shared by both backends, torch-free: names and reading config.json."""
from __future__ import annotations

import json
from pathlib import Path

from .errors import ModelLoadError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


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
