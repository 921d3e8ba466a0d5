"""Path helpers used on every photo of a folder, so kept cheap."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["as_path"]


def as_path(p: str | os.PathLike) -> Path:
    """``p`` as a Path; a Path as it is (``Path(p)`` would parse it again, on every pass over a
    folder)."""
    return p if isinstance(p, Path) else Path(p)
