"""Backbone base class and the timm-style registry."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_REGISTRY: dict[str, Callable[..., Backbone]] = {}


def register_backbone(name: str):
    """Class decorator: ``@register_backbone("name")`` makes ``create_backbone("name")`` build it."""

    def wrap(cls):
        if name in _REGISTRY:
            raise ValueError(f"backbone {name!r} is already registered")
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls

    return wrap


def list_backbones() -> list[str]:
    return sorted(_REGISTRY)


def create_backbone(name: str, *, pretrained: bool = True, config: dict | None = None,
                    weights: str | None = None, image_size: int | None = None) -> Backbone:
    """Build a registered backbone.

    ``config``: architecture overrides (tiny random configs for tests, or the full config that
    ``Backbone.export_config()`` returned); ``weights``: a local file/folder with pretrained weights
    (otherwise the user's HF cache, never the network); ``image_size``: input side (None = default).
    """
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown backbone {name!r}; available: {', '.join(list_backbones())}"
        ) from None
    return cls(pretrained=pretrained, config=dict(config or {}), weights=weights, image_size=image_size)


class Backbone(nn.Module):
    """``forward(x (N,3,S,S) normalised) -> (N, num_features)`` pooled features.

    Subclasses set ``num_features``, ``mean``, ``std``, ``default_image_size`` and implement
    ``export_config()`` (JSON dict that rebuilds the same architecture with ``pretrained=False``)
    and ``gradcam_target_layers()``. Token (ViT) backbones set ``num_prefix_tokens`` and get
    ``reshape_transform`` for Grad-CAM.
    """

    registry_name = "?"
    num_features: int
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    default_image_size: int = 224
    is_vit = False
    num_prefix_tokens = 0

    def export_config(self) -> dict:
        raise NotImplementedError

    def gradcam_target_layers(self) -> list[nn.Module]:
        raise NotImplementedError

    def reshape_transform(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, prefix + h*w, C) tokens -> (N, C, h, w) map, prefix (CLS/register) tokens dropped."""
        patches = tokens[:, self.num_prefix_tokens:, :]
        n, t, c = patches.shape
        side = int(math.isqrt(t))
        if side * side != t:
            raise ValueError(f"cannot reshape {t} patch tokens into a square grid")
        return patches.reshape(n, side, side, c).permute(0, 3, 1, 2)
