"""Training regimes: which backbone parameters train (frozen, LoRA, last blocks), and the
prefix/tail split that lets a partial fine-tune cache the frozen blocks' output."""
from __future__ import annotations

import torch
from torch import nn


def find_blocks(backbone: nn.Module) -> tuple[str, nn.Module]:
    """The backbone's main sequence of blocks: the largest ModuleList/Sequential named
    ``blocks``/``layers``/``layer``/``stages``."""
    best = None
    for name, mod in backbone.named_modules():
        if isinstance(mod, (nn.ModuleList, nn.Sequential)) and len(mod) >= 2 \
                and name.rsplit(".", 1)[-1] in ("blocks", "layers", "layer", "stages"):
            size = sum(p.numel() for p in mod.parameters())
            if best is None or size > best[0]:
                best = (size, name, mod)
    if best is None:
        raise ValueError(f"cannot find a block sequence in {type(backbone).__name__}; "
                         "use unfreeze_blocks: -1 (full fine-tune)")
    return best[1], best[2]


def unfreeze_last(backbone: nn.Module, k: int) -> list[str]:
    """Make the last ``k`` blocks and every parameter registered after them trainable
    (``k < 0``: the whole backbone). Returns the trainable parameter names."""
    params = list(backbone.named_parameters())
    if k < 0:
        first = 0
    elif k == 0:
        first = len(params)
    else:
        name, blocks = find_blocks(backbone)
        k = min(k, len(blocks))
        start = f"{name}.{len(blocks) - k}."
        first = next(i for i, (n, _) in enumerate(params) if n.startswith(start))
    for i, (_, p) in enumerate(params):
        p.requires_grad_(i >= first)
    return [n for n, _ in params[first:]]


def apply_lora(backbone: nn.Module, r: int, alpha: float, dropout: float, target_modules) -> int:
    """Inject LoRA adapters (peft) into the backbone in place; only they stay trainable."""
    from peft import LoraConfig, inject_adapter_in_model

    for p in backbone.parameters():
        p.requires_grad_(False)
    config = LoraConfig(r=int(r), lora_alpha=float(alpha), lora_dropout=float(dropout),
                        target_modules=list(target_modules), bias="none")
    inject_adapter_in_model(config, backbone)
    n = 0
    for name, p in backbone.named_parameters():
        if "lora_" in name:
            p.requires_grad_(True)
            n += p.numel()
    if n == 0:
        raise ValueError(f"LoRA matched no module among {list(target_modules)}")
    return n


def merge_lora(module: nn.Module) -> int:
    """Merge LoRA adapters into their base layers and put the plain layers back, so the saved
    state dict is the architecture ``load_model`` rebuilds. Returns the number merged."""
    from peft.tuners.lora import LoraLayer

    merged = 0
    for name, child in list(module.named_modules()):
        if isinstance(child, LoraLayer):
            child.merge()
            parent_name, _, attr = name.rpartition(".")
            parent = module.get_submodule(parent_name) if parent_name else module
            setattr(parent, attr, child.get_base_layer())
            merged += 1
    return merged


def configure_regime(m, cfg: dict) -> list[dict]:
    """Set requires_grad for the configured regime; returns Adam parameter groups."""
    regime, tc = cfg["regime"], cfg["train"]
    head_group = {"params": list(m.head.parameters()), "lr": float(tc["lr"]), "name": "head"}
    if regime == "frozen":
        for p in m.backbone.parameters():
            p.requires_grad_(False)
    elif regime == "lora":
        lc = cfg["lora"]
        apply_lora(m.backbone, lc["r"], lc["alpha"], lc["dropout"], lc["target_modules"])
    else:
        unfreeze_last(m.backbone, int(tc["unfreeze_blocks"]))
    bb = [p for p in m.backbone.parameters() if p.requires_grad]
    groups = [head_group]
    if bb:
        groups.append({"params": bb, "lr": float(tc["backbone_lr"]), "name": "backbone"})
    return groups


class PrefixTail:
    """An EfficientNet-Lite backbone split at block ``cut``: ``prefix`` (frozen, its output cached in memory)
    and ``tail`` (trainable).  ``tail(*prefix(x)) == backbone(x)``, multiscale taps included, so
    fine-tuning the last blocks costs only the tail's forward/backward per epoch on the CPU."""

    def __init__(self, backbone: nn.Module, cut: int):
        self.bb, self.cut = backbone, int(cut)

    @staticmethod
    def supports(backbone: nn.Module) -> bool:
        from photocull.model.backbones.efficientnet import EfficientNetLite

        return isinstance(backbone, EfficientNetLite)

    def prefix(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.bb.prefix(x, self.cut)

    def tail(self, h: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
        return self.bb.tail(h, taps, self.cut)
