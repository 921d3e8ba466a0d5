"""Batch augmentation (random flips and crops) and the deterministic views of the feature cache."""
from __future__ import annotations

import torch
from torch import nn


def augment(x: torch.Tensor, gen: torch.Generator, hflip: bool = True, crop: float = 1.0) -> torch.Tensor:
    """Cheap batch augmentation: random horizontal flips and one random crop resized back."""
    n, _, h, w = x.shape
    if hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if crop < 1.0:
        frac = crop + (1.0 - crop) * float(torch.rand(1, generator=gen))
        ch, cw = max(1, round(h * frac)), max(1, round(w * frac))
        top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
        x = x[:, :, top:top + ch, left:left + cw]
        if (ch, cw) != (h, w):
            x = nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x


def view(x: torch.Tensor, aug_id: int, crop: float) -> torch.Tensor:
    """Deterministic augmented view ``aug_id`` (0 = the plain image) for the feature cache."""
    if aug_id == 0:
        return x
    gen = torch.Generator().manual_seed(1000 + aug_id)
    x = x.flip(-1) if aug_id % 2 else x
    return augment(x, gen, hflip=False, crop=crop)
