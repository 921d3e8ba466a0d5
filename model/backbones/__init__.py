"""Backbone registry: ``@register_backbone(name)``, ``list_backbones()``, ``create_backbone(...)``."""
from . import efficientnet, hf, timm_models  # noqa: F401  (registers the built-in backbones)
from .base import Backbone, create_backbone, list_backbones, register_backbone

__all__ = ["Backbone", "create_backbone", "list_backbones", "register_backbone"]
