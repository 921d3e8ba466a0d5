"""Backbones built by timm: Perception Encoder (``pe``) and ``resnet50``.

Weights: ``weights=FILE`` (a timm-format .safetensors/.pth) or the model's timm repo in the
user's Hugging Face cache; never the network.
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from ..errors import ModelLoadError
from .base import Backbone, register_backbone


def _cached_weights(model_name: str) -> str:
    import timm
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.constants import HF_HUB_CACHE

    cfg = timm.models.get_pretrained_cfg(model_name)
    repo = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not repo:
        raise ModelLoadError(f"timm model {model_name} has no pretrained weights on the Hugging Face hub; "
                             "pass weights=FILE")
    for filename in ("model.safetensors", "open_clip_model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo, filename)
        if isinstance(found, str):
            return found
    raise ModelLoadError(
        f"pretrained weights for {model_name} are not in the Hugging Face cache ({HF_HUB_CACHE}). "
        f"Download them once with `hf download {repo}`, or pass weights=FILE (the repo's "
        "model.safetensors).")


class TimmBackbone(Backbone):
    default_model: str

    def __init__(self, pretrained=True, config=None, weights=None, image_size=None):
        super().__init__()
        import timm

        config = dict(config or {})
        model_name = config.pop("model_name", self.default_model)
        kwargs = dict(config)
        if image_size and self.is_vit:
            kwargs["img_size"] = int(image_size)
        if pretrained:
            if weights is not None and not Path(weights).expanduser().is_file():
                raise ModelLoadError(f"weights file {weights} does not exist")
            file = str(Path(weights).expanduser()) if weights else _cached_weights(model_name)
            kwargs["pretrained_cfg_overlay"] = dict(file=file)
        try:
            self.net = timm.create_model(model_name, pretrained=pretrained, num_classes=0, **kwargs)
        except (OSError, RuntimeError) as exc:
            if not pretrained:
                raise
            raise ModelLoadError(f"{self.registry_name}: cannot load weights {kwargs['pretrained_cfg_overlay']['file']}: {exc}") from exc
        self._export = {"model_name": model_name, **config}
        pcfg = self.net.pretrained_cfg
        self.mean = tuple(pcfg.get("mean", self.mean))
        self.std = tuple(pcfg.get("std", self.std))
        self.num_features = int(self.net.num_features)
        if self.is_vit:
            self.default_image_size = int(self.net.patch_embed.img_size[0])
            self.num_prefix_tokens = int(self.net.num_prefix_tokens)
        else:
            self.default_image_size = int(pcfg.get("input_size", (3, 224, 224))[-1])

    def export_config(self) -> dict:
        return dict(self._export)

    def forward(self, x):
        return self.net(x)


@register_backbone("pe")
class PerceptionEncoder(TimmBackbone):
    """Meta Perception Encoder (core) via timm; attention-pooled features."""

    default_model = "vit_pe_core_large_patch14_336"
    is_vit = True

    def gradcam_target_layers(self) -> list[nn.Module]:
        return [self.net.blocks[-1].norm1]


@register_backbone("resnet50")
class ResNet50(TimmBackbone):
    """ResNet-50 via timm; global-average-pooled 2048-d features."""

    default_model = "resnet50"

    def gradcam_target_layers(self) -> list[nn.Module]:
        return [self.net.layer4[-1]]
