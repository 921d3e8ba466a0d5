"""Vision transformers from Hugging Face ``transformers``: SigLIP2, CLIP, DINOv2, DINOv3.

Weights come from a local folder (``weights=FOLDER``) or the user's Hugging Face cache
(``weights=None`` uses the default repo id, or pass another repo id); never the network.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError
from .base import IMAGENET_MEAN, IMAGENET_STD, Backbone, register_backbone

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _local_folder(weights: str | None) -> Path | None:
    """``weights`` as a local folder, None if it is a repo id; ModelLoadError for a missing path."""
    if weights is None:
        return None
    path = Path(weights).expanduser()
    if path.is_dir():
        return path
    looks_like_path = path.is_absolute() or str(weights).startswith((".", "~")) or str(weights).count("/") > 1
    if looks_like_path or path.exists():
        raise ModelLoadError(f"weights folder {weights} does not exist (or is not a folder)")
    return None


def _download_hint(repo: str) -> str:
    from huggingface_hub.constants import HF_HUB_CACHE

    return (f"Download it once with `hf download {repo}` (it goes to the Hugging Face cache "
            f"{HF_HUB_CACHE}), or put the repo's files (config.json, model.safetensors, "
            "preprocessor_config.json) in a folder and pass weights=FOLDER.")


def _preprocessor_config(folder: Path | None, repo: str) -> dict:
    if folder is not None:
        path = folder / "preprocessor_config.json"
        path = path if path.is_file() else None
    else:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo, "preprocessor_config.json")
        path = Path(found) if isinstance(found, str) else None
    if path is None:
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc


def _size_from(pre: dict) -> int | None:
    for key in ("crop_size", "size"):
        value = pre.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, dict):
            for sub in ("height", "shortest_edge"):
                if isinstance(value.get(sub), int):
                    return value[sub]
    return None


class HFVisionBackbone(Backbone):
    """Common code; subclasses set the classes, default repo, preprocessing defaults and pooling."""

    model_cls: str  # names in ``transformers``, resolved on first use (keeps ``import model`` light)
    config_cls: str
    default_repo: str
    family_mean: tuple = IMAGENET_MEAN
    family_std: tuple = IMAGENET_STD
    supports_interpolate_flag = False
    is_vit = True

    def __init__(self, pretrained=True, config=None, weights=None, image_size=None):
        super().__init__()
        import transformers

        model_cls = getattr(transformers, self.model_cls)
        config_cls = getattr(transformers, self.config_cls)
        config = dict(config or {})
        if pretrained:
            folder = _local_folder(weights)
            repo = weights or self.default_repo
            kwargs = {"dtype": torch.float32}
            if config:
                kwargs["config"] = config_cls.from_dict(config)
            try:
                self.model = model_cls.from_pretrained(
                    str(folder) if folder else repo, local_files_only=True, **kwargs)
            except (OSError, ValueError) as exc:
                where = f"folder {folder}" if folder else f"Hugging Face repo '{repo}'"
                raise ModelLoadError(
                    f"{self.registry_name}: cannot load pretrained weights from the {where}: "
                    f"{exc}. {_download_hint(repo)}") from exc
            pre = _preprocessor_config(folder, repo)
        else:
            self.model = model_cls(config_cls.from_dict(config) if config else config_cls())
            pre = {}
        vc = self.model.config
        self.mean = tuple(pre.get("image_mean", self.family_mean))
        self.std = tuple(pre.get("image_std", self.family_std))
        self.default_image_size = int(_size_from(pre) or vc.image_size)
        self.patch_size = int(vc.patch_size)
        self.num_features = int(vc.hidden_size)
        self.num_prefix_tokens = self.prefix_tokens(vc)
        self.image_size = int(image_size or self.default_image_size)
        if self.image_size % self.patch_size:
            raise ValueError(f"{self.registry_name}: image_size {self.image_size} is not a multiple "
                             f"of the patch size {self.patch_size}")

    def prefix_tokens(self, vc) -> int:
        return 1 + int(getattr(vc, "num_register_tokens", 0) or 0)

    def export_config(self) -> dict:
        return json.loads(self.model.config.to_json_string(use_diff=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kwargs = {}
        if self.supports_interpolate_flag and x.shape[-1] != self.model.config.image_size:
            kwargs["interpolate_pos_encoding"] = True
        return self.pool(self.model(pixel_values=x, **kwargs))

    def pool(self, out) -> torch.Tensor:
        return out.pooler_output

    def tower(self) -> nn.Module:
        """The module holding ``encoder``/``post_layernorm`` (older transformers nest it)."""
        return getattr(self.model, "vision_model", self.model)


@register_backbone("siglip2")
class SigLIP2(HFVisionBackbone):
    """SigLIP2 (fixed-resolution checkpoints, ``SiglipVisionModel``); attention-pooled features."""

    model_cls = "SiglipVisionModel"
    config_cls = "SiglipVisionConfig"
    default_repo = "google/siglip2-so400m-patch16-512"
    family_mean = (0.5, 0.5, 0.5)
    family_std = (0.5, 0.5, 0.5)
    supports_interpolate_flag = True

    def prefix_tokens(self, vc) -> int:
        return 0

    def pool(self, out):
        if out.pooler_output is not None:
            return out.pooler_output
        return out.last_hidden_state.mean(dim=1)

    def gradcam_target_layers(self):
        return [self.tower().post_layernorm]


@register_backbone("clip")
class CLIP(HFVisionBackbone):
    """CLIP vision tower; post-layernorm CLS features (without the text-space projection)."""

    model_cls = "CLIPVisionModel"
    config_cls = "CLIPVisionConfig"
    default_repo = "openai/clip-vit-large-patch14"
    family_mean = CLIP_MEAN
    family_std = CLIP_STD
    supports_interpolate_flag = True

    def gradcam_target_layers(self):
        return [self.tower().encoder.layers[-1].layer_norm1]


@register_backbone("dinov2")
class DINOv2(HFVisionBackbone):
    """DINOv2; layer-normed CLS features (position embeddings are interpolated automatically)."""

    model_cls = "Dinov2Model"
    config_cls = "Dinov2Config"
    default_repo = "facebook/dinov2-large"

    def gradcam_target_layers(self):
        return [self.model.encoder.layer[-1].norm1]


@register_backbone("dinov3")
class DINOv3(HFVisionBackbone):
    """DINOv3 ViT (RoPE, register tokens); layer-normed CLS features."""

    model_cls = "DINOv3ViTModel"
    config_cls = "DINOv3ViTConfig"
    default_repo = "facebook/dinov3-vitl16-pretrain-lvd1689m"

    def gradcam_target_layers(self):
        return [self.model.model.layer[-1].norm1]
