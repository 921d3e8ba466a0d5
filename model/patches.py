"""Patch-wise quality map: the model scores overlapping patches of the photo, for ANY Scorer.

Needs only ``preprocess`` + ``predict_batch`` (the ONNX-only build has no gradients). The photo is
cut into ``rows`` x ``cols`` overlapping patches, each half the photo's width and height (a patch
is a photo in its own right, so the model judges it as one), all scored in one batch; each pixel
gets the mean, over the patches covering it, of how far the patch scores below the best patch.
Scaled by that largest gap but never by less than ``floor`` score points, so a photo whose patches
all score alike gets a faint map. Cost: rows x cols model runs (6 for the default 2 x 3).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["patch_boxes", "patch_map"]


def patch_boxes(width: int, height: int, rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """``rows`` x ``cols`` boxes half the photo's size, spread evenly from edge to edge."""
    pw, ph = width / 2, height / 2
    return [(round(x0), round(y0), round(x0 + pw), round(y0 + ph))
            for y0 in np.linspace(0, height - ph, rows) for x0 in np.linspace(0, width - pw, cols)]


def patch_map(scorer, img: Image.Image, rows: int | None = None, cols: int | None = None,
              floor: float = 2.0) -> np.ndarray:
    """float32 (img.height, img.width) in [0, 1]: high where the patches score low (module doc).
    ``rows``/``cols`` None: 2 along the photo's short side, 3 along its long one."""
    img = img.convert("RGB")
    w, h = img.size
    if rows is None or cols is None:
        rows, cols = (2, 3) if w >= h else (3, 2)
    boxes = patch_boxes(w, h, rows, cols)
    scores = scorer.predict_batch(np.stack([scorer.preprocess(img.crop(b)) for b in boxes]))
    gap = float(np.max(scores)) - np.asarray(scores, np.float64)
    heat = np.zeros((h, w))
    cover = np.zeros((h, w))
    for (x0, y0, x1, y1), g in zip(boxes, gap):
        heat[y0:y1, x0:x1] += g
        cover[y0:y1, x0:x1] += 1
    heat /= np.maximum(cover, 1)
    return np.clip(heat / max(float(heat.max()), floor), 0.0, 1.0).astype(np.float32)
