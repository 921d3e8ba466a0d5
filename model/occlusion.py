"""Occlusion sensitivity: which regions pull a score down ("low") or up ("high"), for ANY Scorer.

Grad-CAM needs the torch model's gradients; this needs only ``preprocess`` + ``predict_batch``,
so it also explains the ONNX Runtime scorer (the standalone build has no PyTorch).

Method: at the model's input resolution, a feathered square patch is set to the normalisation
mean (the average photo colour: no detail, no noise, no exposure error, i.e. no quality evidence)
at each of ``grid``×``grid`` overlapping positions, all occluded copies are scored in batches,
and each pixel gets the mean score change of the patches covering it:

* mode "low" — occluding the region RAISES the score: its content pulls the score down
  ("why is this photo low"); heat = the rise;
* mode "high" — occluding it LOWERS the score: its content holds the score up; heat = the drop.

The map is scaled by its peak but never by less than ``floor`` score points, so changes of a
fraction of a point (noise) stay faint instead of being stretched to full red; all zero when no
region moves the score in the asked direction. Known limit: a flat patch on a very busy or dark
photo is itself unusual content; overlapping positions and the feathered edge soften that.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def _patch_mask(size: int, centre: tuple[float, float], side: float, feather: float) -> np.ndarray:
    """(size, size) weights: 1 inside the square, falling linearly to 0 over ``feather`` pixels."""
    coords = np.arange(size, dtype=np.float32) + 0.5

    def ramp(c: float) -> np.ndarray:
        dist = np.abs(coords - c) - side / 2  # < 0 inside
        return np.clip(1.0 - dist / feather, 0.0, 1.0) if feather > 0 else (dist <= 0).astype(np.float32)

    cy, cx = centre
    return np.outer(ramp(cy), ramp(cx))


def occlusion_map(scorer, img: Image.Image, mode: str = "low", grid: int = 8, batch_size: int = 16,
                  floor: float = 1.0) -> np.ndarray:
    """Occlusion-sensitivity heatmap, float32 (img.height, img.width) in [0, 1] (see module doc)."""
    if mode not in ("low", "high"):
        raise ValueError(f"mode must be 'low' or 'high', not {mode!r}")
    if grid < 2:
        raise ValueError(f"grid must be at least 2, got {grid}")
    x = scorer.preprocess(img.convert("RGB"))  # (3, S, S); the mean colour is 0 here
    size = x.shape[-1]
    step = size / grid
    masks = np.stack([_patch_mask(size, ((i + 0.5) * step, (j + 0.5) * step), side=1.5 * step,
                                  feather=0.5 * step)
                      for i in range(grid) for j in range(grid)])  # (grid², S, S)
    base = float(scorer.predict_batch(x[None])[0])
    deltas = []
    for start in range(0, len(masks), max(1, int(batch_size))):
        m = masks[start:start + batch_size, None]  # (n, 1, S, S)
        deltas.append(scorer.predict_batch((x[None] * (1.0 - m)).astype(np.float32)) - base)
    delta = np.concatenate(deltas).astype(np.float32)
    if mode == "high":
        delta = -delta
    coverage = masks.sum(axis=0)
    heat = np.tensordot(np.clip(delta, 0.0, None), masks, axes=1) / np.maximum(coverage, 1e-6)
    peak = float(heat.max())
    heat = heat / max(peak, float(floor)) if peak > 0 else np.zeros_like(heat)
    heat = Image.fromarray(heat.astype(np.float32)).resize(img.size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
