"""Grad-CAM for IQAModel: which regions push the quality score down ("low") or up ("high")."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .iqa import evaluating


class _ScoreTarget:
    """Grad-CAM target: the scalar score (sign=+1) or its negative (sign=-1)."""

    def __init__(self, sign: float):
        self.sign = sign

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return self.sign * output


def gradcam(m, img: Image.Image, mode: str = "low") -> np.ndarray:
    """Grad-CAM heatmap, float32 (img.height, img.width) in [0, 1].

    mode "low": regions whose activations pull the score down (target = −score, the honest
    "why is this low" view); "high": regions raising it (target = +score). CNN backbones use
    their last conv stage, ViTs a last-block token layer reshaped to the patch grid (prefix
    tokens dropped). All-zero when nothing pushes in the asked direction.
    """
    from pytorch_grad_cam import GradCAM

    if mode not in ("low", "high"):
        raise ValueError(f"mode must be 'low' or 'high', not {mode!r}")
    backbone = m.backbone
    x = torch.from_numpy(m.preprocess(img))[None].to(m.device).requires_grad_(True)
    with evaluating(m), torch.enable_grad(), GradCAM(
        model=m, target_layers=backbone.gradcam_target_layers(),
        reshape_transform=backbone.reshape_transform if backbone.is_vit else None,
    ) as cam:
        heat = cam(input_tensor=x, targets=[_ScoreTarget(-1.0 if mode == "low" else 1.0)])[0]
    heat = Image.fromarray(np.ascontiguousarray(heat, dtype=np.float32))
    heat = heat.resize(img.size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)


def jet(values: np.ndarray) -> np.ndarray:
    """Jet colormap: [0,1] floats (...) -> uint8 RGB (..., 3), blue (0) -> red (1)."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    centres = np.array([0.75, 0.5, 0.25], dtype=np.float32)  # R, G, B
    rgb = np.clip(1.5 - np.abs(4.0 * (v - centres)), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def overlay_heatmap(img: Image.Image, cam: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """Blend a jet-coloured ``cam`` over ``img``; returns a new RGB image of ``img``'s size."""
    base = img.convert("RGB")
    cam = np.asarray(cam, dtype=np.float32)
    if cam.shape != (base.height, base.width):
        cam = np.asarray(Image.fromarray(cam).resize(base.size, Image.Resampling.BILINEAR))
    colour = jet(cam).astype(np.float32)
    out = (1.0 - alpha) * np.asarray(base, dtype=np.float32) + alpha * colour
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), mode="RGB")
