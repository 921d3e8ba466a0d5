"""Training configuration: defaults, YAML loading and ``key.sub=value`` overrides."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

DEFAULTS: dict = {
    "name": "run",
    "seed": 0,
    "threads": 2,            # torch.set_num_threads for this run (None = leave torch's default)
    "device": "cpu",
    "output_dir": "runs/{name}",
    "progress": True,
    "model": {               # kwargs of model.create_model
        "backbone": "efficientnet_lite0",
        "head": "mlp",
        "activation": "gated",
        "activation2": "prelu",
        "hidden": [512, 512],
        "pretrained": True,
        "image_size": 224,
    },
    "data": {
        "dataset": "clive",
        "root": None,        # None = data_dir()/<dataset>
        "options": {},       # extra loader kwargs
        "limit": None,       # use only the first N samples (smoke tests)
        "splits": 1,
        "split_seed": 0,     # split i uses split_seed + i
        "fractions": [0.8, 0.2],
    },
    "synthetic": {           # KADID-style ranking groups over pristine images (no scores needed)
        "enabled": False,
        "root": None,        # None = data_dir()/pristine
        "sets": ["kodak24", "cbsd68"],
        "paths": None,       # explicit list of image paths instead of root/sets
        "train_top": 0.0,    # + this fraction of the split's training photos, best-rated first
        "distortions": None,  # None = all of photocull.training.distortions.DISTORTIONS
        "levels_per_group": 3,
        "groups_per_step": 2,
        "weight": 0.5,
        "margin": 0.05,
        "pool_epochs": 2,    # frozen regime: distinct group draws whose features are cached
    },
    "spoils": {              # (original, mild, strong) groups of training/spoils.py over the same references
        "enabled": False,
        "types": None,       # None = all of photocull.training.spoils.SPOILS
        "groups_per_step": 2,
        "weight": 0.5,
        "margin": 0.05,
        "pair_weights": [2.0, 1.0, 1.0],  # orig>mild, orig>strong, mild>strong
        "pool_epochs": 2,
    },
    "regime": "frozen",      # frozen | lora | finetune
    "train": {
        "epochs": 10,
        "batch_size": 16,
        "grad_accum": 1,
        "lr": 1e-3,          # head lr
        "backbone_lr": 1e-4,  # finetune / lora
        "weight_decay": 0.0,
        "rank_weight": 1.0,  # weight of the pairwise margin ranking loss
        "margin_scale": 0.25,
        "unfreeze_blocks": 2,  # finetune: last K blocks trainable (-1 = the whole backbone)
        "prefix_cache": True,  # finetune, EfficientNet: cache the frozen blocks' output in memory
        "share_prefix_cache": False,  # reuse one prefix cache across the runs of a process (ablations)
        "time_budget_min": None,  # per run, split over the splits; None = no limit
        "eval_every": 0,     # evaluate the test part every N epochs (0 = only at the end)
        "augment": {"hflip": True, "crop": 0.9},  # crop: min side fraction of random crops
        "eval_batch_size": 32,
        "checkpoint_every": 1,
        "calibrate": False,  # fit the output calibration to the training targets (training/calibration.py)
    },
    "frozen": {"aug_views": 4, "cache_dir": None},   # cache_dir None = cache_dir()/features
    "lora": {"r": 4, "alpha": 8, "dropout": 0.05, "target_modules": ["q_proj", "k_proj"]},
    "save": {"model": True, "fp16": True},
    "ablate": {"activations": ["relu", "gelu", "leaky_relu", "tanh", "sigmoid", "gated", "select"]},
}


def deep_merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_override(cfg: dict, item: str) -> None:
    """``a.b.c=value``; the value is parsed as YAML (numbers, lists, null, true...)."""
    if "=" not in item:
        raise ValueError(f"override must be key=value, got {item!r}")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    node = cfg
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = yaml.safe_load(raw)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = ()) -> dict:
    """DEFAULTS <- YAML file (may name ``base: other.yaml``, relative to it) <- overrides."""
    cfg = copy.deepcopy(DEFAULTS)
    if path is not None:
        cfg = deep_merge(cfg, _read_yaml(Path(path)))
    for item in overrides:
        apply_override(cfg, item)
    cfg["output_dir"] = str(cfg["output_dir"]).format(name=cfg["name"])
    if cfg["regime"] not in ("frozen", "lora", "finetune"):
        raise ValueError(f"regime must be frozen, lora or finetune, not {cfg['regime']!r}")
    return cfg


def _read_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a mapping")
    base = data.pop("base", None)
    if base:
        data = deep_merge(_read_yaml(path.parent / base), data)
    return data


def configs_dir() -> Path:
    return Path(__file__).resolve().parent / "configs"
