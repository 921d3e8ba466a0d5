"""Disk cache of pooled backbone features for the frozen regime."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from photocull.model.fileio import atomic_path

log = logging.getLogger(__name__)


def backbone_key(m) -> str:
    """Hash of the backbone's identity: name, architecture config, input size, normalisation and
    weights. Features computed by two backbones with the same key are interchangeable."""
    cfg = m.config
    h = hashlib.sha256(json.dumps({k: cfg[k] for k in ("backbone", "backbone_config", "image_size",
                                                       "mean", "std")}, sort_keys=True).encode())
    for name, t in sorted(m.backbone.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:24]


def file_stamp(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}"


class FeatureCache:
    """Pooled backbone features on disk, one safetensors file per backbone key; entries are keyed
    by sha1(image path + mtime + size + augmentation id). Written atomically."""

    def __init__(self, directory: str | Path, key: str):
        self.path = Path(directory) / f"features-{key}.safetensors"
        self.hits = 0
        self.misses = 0
        self._data: dict[str, torch.Tensor] = {}
        self._dirty = False
        if self.path.is_file():
            from safetensors.torch import load_file

            try:
                self._data = load_file(str(self.path))
            except Exception as exc:  # a corrupt cache is rebuilt, never fatal
                log.warning("ignoring unreadable feature cache %s: %s", self.path, exc)

    @staticmethod
    def entry(path: str, aug: str) -> str:
        return hashlib.sha1(f"{file_stamp(path)}|{aug}".encode()).hexdigest()

    def get(self, key: str) -> torch.Tensor | None:
        t = self._data.get(key)
        if t is None:
            self.misses += 1
        else:
            self.hits += 1
        return t

    def put(self, key: str, value: torch.Tensor) -> None:
        self._data[key] = value.detach().to(torch.float32).contiguous()
        self._dirty = True

    def flush(self) -> None:
        if not self._dirty:
            return
        from safetensors.torch import save_file

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            save_file(self._data, str(tmp))
        self._dirty = False
