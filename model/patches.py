"""Patch-wise quality map: the model scores overlapping patches of the photo, for ANY Scorer.

Needs only ``preprocess`` + ``predict_batch`` (the ONNX-only build has no gradients). The photo is
cut into ``rows`` x ``cols`` overlapping patches, each half the photo's width and height (a patch
is a photo in its own right, so the model judges it as one), all scored in one batch; each pixel
gets the mean, over the patches covering it, of how far the patch scores below the best patch,
each patch weighted by a tent that falls to 0 at its edges inside the photo (:data:`FEATHER`), so
the map changes smoothly from patch to patch instead of in steps along the patch edges.
Scaled by that largest gap but never by less than ``floor`` score points, so a photo whose patches
all score alike gets a faint map. Cost: rows x cols model runs (6 for the default 2 x 3).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["FEATHER", "patch_boxes", "patch_map"]

# a patch's weight rises from 0 at its edges inside the photo to 1 at this share of its side from
# them (0.5: a tent over the whole patch); the photo's own edges keep full weight
FEATHER = 0.5


def patch_boxes(width: int, height: int, rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """``rows`` x ``cols`` boxes half the photo's size, spread evenly from edge to edge."""
    pw, ph = width / 2, height / 2
    return [(round(x0), round(y0), round(x0 + pw), round(y0 + ph))
            for y0 in np.linspace(0, height - ph, rows) for x0 in np.linspace(0, width - pw, cols)]


def _tent(n: int, a: int, b: int) -> np.ndarray:
    """(n,) weights of the span [a, b) of an axis of n pixels: 0 outside it, rising from its ends
    inside the axis over FEATHER x (b - a) pixels; an end at 0 or n does not fall."""
    x = np.arange(n) + 0.5
    d = np.minimum(x - a if a > 0 else np.inf, b - x if b < n else np.inf)
    return np.where((x >= a) & (x < b), np.clip(d / (FEATHER * (b - a)), 0.0, 1.0), 0.0)


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
        weight = np.outer(_tent(h, y0, y1), _tent(w, x0, x1))
        heat += g * weight
        cover += weight
    heat /= np.maximum(cover, 1e-9)
    return np.clip(heat / max(float(heat.max()), floor), 0.0, 1.0).astype(np.float32)
