"""Heatmaps: which regions pull the photo down ("low") or hold its score up ("high").

``heatmap(scorer, img, mode)`` is the one entry point. "low" (the "why is this photo weak" view of
the CLI and the GUI) is :func:`low_map`, made of two maps, each in [0, 1]:

* the defect map (``photocull.model.defects.defect_layers``): each region's worst MEASURED defect
  (blur, noise, exposure, clipping, JPEG blocks) on the reasons' scale, calibrated on data and
  independent of the weight file; and
* the model's patch-wise quality map (``photocull.model.patches.patch_map``: any Scorer, the torch
  model and the ONNX one alike).

Every defect but noise is weighed against the patch map (:data:`DEFECT_WEIGHT`); the noise layer
is laid over the result, and a photo that is itself noisy (:data:`NOISE_ALONE`) gets the defect
map alone: the model scores noisy regions as detailed, and its maps point at the clean part. The
patch map rather than Grad-CAM: on the explanations benchmark it localised under-exposure and JPEG
blocks better, blur about as well, and it is the same on both paths (docs/EXPLANATIONS.md).
"high": Grad-CAM for a torch ``IQAModel``, occlusion sensitivity (``photocull.model.occlusion``)
for any other Scorer. ``heatmap_kind`` names the map for the UI. Importing this module does not
import PyTorch. ``explainer_for(scorer, path)`` picks what to explain with.
"""
from __future__ import annotations

import logging
import sys

import numpy as np
from PIL import Image

from .defects import defect_layers
from .errors import ModelLoadError
from .occlusion import occlusion_map
from .patches import patch_map
from .scoring import torch_available

log = logging.getLogger(__name__)

# the weight of the defect map (every defect but noise) beside the patch map's 1 - DEFECT_WEIGHT,
# and the photo's own noise indicator from which the map is the defect map alone: chosen on the
# calibration scenes of `python -m benchmarks.explain` (docs/EXPLANATIONS.md)
DEFECT_WEIGHT = 0.2
NOISE_ALONE = 0.1


def is_torch_model(scorer) -> bool:
    """Whether ``scorer`` is a torch ``IQAModel`` (never true while torch was never imported)."""
    if "torch" not in sys.modules:
        return False
    from .iqa import IQAModel

    return isinstance(scorer, IQAModel)


def explainer_for(scorer, path=None):
    """What to explain ``scorer``'s scores with in the "high" mode (the "low" map takes any scorer):
    itself if it is the torch model; else, where PyTorch and the torch weights of ``path`` (None =
    the default model) are there, that torch model, loaded on the CPU (Grad-CAM); else ``scorer``
    itself (occlusion sensitivity)."""
    if is_torch_model(scorer) or not torch_available():
        return scorer
    from .paths import default_model_dir
    from .registry import load_model

    try:
        return load_model(default_model_dir() if path is None else path, device="cpu")
    except ModelLoadError as exc:
        log.info("no torch model for Grad-CAM (%s); using occlusion sensitivity", exc)
        return scorer


def heatmap_kind(scorer=None, mode: str = "low") -> str:
    """The name of the map ``heatmap(scorer, img, mode)`` makes, as the UI shows it; ``scorer``
    None: the one the default explainer (``explainer_for``) gets where PyTorch is (not) installed."""
    if mode == "low":
        return "patch scores + defects"
    return "Grad-CAM" if (torch_available() if scorer is None else is_torch_model(scorer)) else "occlusion map"


def low_map(scorer, img: Image.Image) -> np.ndarray:
    """The "low" heatmap, float32 (img.height, img.width) in [0, 1] (see the module docstring)."""
    layers = defect_layers(img)
    if "noise" in layers.shown and layers.noise_indicator >= NOISE_ALONE:
        return np.maximum(layers.other, layers.noise)
    mixed = DEFECT_WEIGHT * layers.other + (1.0 - DEFECT_WEIGHT) * patch_map(scorer, img)
    return np.maximum(layers.noise, mixed).astype(np.float32)


def heatmap(scorer, img: Image.Image, mode: str = "low") -> np.ndarray:
    """float32 (img.height, img.width) in [0, 1]. "low": :func:`low_map` (any scorer); "high":
    ``gradcam`` for a torch model, else ``photocull.model.occlusion.occlusion_map`` (all zero when
    nothing pushes)."""
    if mode == "low":
        return low_map(scorer, img)
    if is_torch_model(scorer):
        return gradcam(scorer, img, mode)
    return occlusion_map(scorer, img, mode)


def gradcam(m, img: Image.Image, mode: str = "low") -> np.ndarray:
    """Grad-CAM heatmap, float32 (img.height, img.width) in [0, 1].

    mode "low": regions whose activations pull the score down (target = −score, the honest
    "why is this low" view); "high": regions raising it (target = +score). CNN backbones use
    their last conv stage, ViTs a last-block token layer reshaped to the patch grid (prefix
    tokens dropped). All-zero when nothing pushes in the asked direction.
    """
    import torch

    from .iqa import evaluating

    if mode not in ("low", "high"):
        raise ValueError(f"mode must be 'low' or 'high', not {mode!r}")
    backbone = m.backbone
    acts: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _mod, _inp, out: acts.append(out))
             for layer in backbone.gradcam_target_layers()]
    x = torch.from_numpy(m.preprocess(img))[None].to(m.device)
    try:
        with evaluating(m), torch.enable_grad():
            score = m(x.requires_grad_(True)).sum()
            grads = torch.autograd.grad(-score if mode == "low" else score, acts)
    finally:
        for h in hooks:
            h.remove()
    cams = []
    for a, g in zip(acts, grads):
        if backbone.is_vit:
            a, g = backbone.reshape_transform(a), backbone.reshape_transform(g)
        weights = g.mean(dim=(2, 3), keepdim=True)  # one weight per channel: its mean gradient
        cam = torch.relu((weights * a).sum(dim=1))[0].detach().float().cpu().numpy()
        cam = Image.fromarray(np.ascontiguousarray(cam)).resize(img.size, Image.Resampling.BILINEAR)
        cams.append(_unit_range(np.asarray(cam, dtype=np.float32)))
    return _unit_range(np.mean(cams, axis=0))


def _unit_range(a: np.ndarray) -> np.ndarray:
    """``a`` shifted to start at 0 and scaled to end at 1 (all zero stays all zero), float32."""
    a = a - a.min()
    return np.clip(a / (a.max() + 1e-7), 0.0, 1.0).astype(np.float32)


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
