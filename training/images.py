"""Photos decoded, resized and normalised for training, kept in memory between epochs."""
from __future__ import annotations

import torch
from PIL import Image, ImageOps
from tqdm import tqdm


def open_rgb(path: str) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (1024, 1024))  # JPEG: decode at reduced size when it is much larger
        return ImageOps.exif_transpose(im).convert("RGB")


class ImageStore:
    """Decoded, resized and normalised images kept in memory (fp16) so epochs never re-decode."""

    def __init__(self, preprocess):
        self.preprocess = preprocess
        self._data: dict[str, torch.Tensor] = {}

    def ensure(self, paths, progress: bool = False) -> None:
        todo = [p for p in dict.fromkeys(paths) if p not in self._data]
        for p in tqdm(todo, desc="decode", disable=not progress or not todo, leave=False):
            self._data[p] = torch.from_numpy(self.preprocess(open_rgb(p))).half()

    def batch(self, paths) -> torch.Tensor:
        self.ensure(paths)
        return torch.stack([self._data[p] for p in paths]).float()
