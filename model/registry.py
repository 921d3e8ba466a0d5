"""The model factory: ``create_model`` (build) and ``load_model`` (rebuild from disk)."""
from __future__ import annotations

from ._io import model_files as _model_files
from ._io import read_config
from .backbones import create_backbone
from .errors import ModelLoadError
from .heads import HEADS
from .iqa import IQAModel
from .scoring import resolve_device


def create_model(backbone: str = "efficientnet_lite0", head: str = "mlp", activation: str = "gated",
                 pretrained: bool = True, image_size: int | None = None, hidden=(512, 512), *,
                 activation2: str = "prelu", dropout: float = 0.0, backbone_config: dict | None = None,
                 weights: str | None = None, mean=None, std=None,
                 calibration: dict | None = None) -> IQAModel:
    """Build an ``IQAModel``.

    backbone: a name from ``list_backbones()``; backbone_config: architecture overrides (tiny random
    configs for tests) or the full config a model recorded; weights: local folder/file or HF repo id
    for the backbone's pretrained weights (default: the backbone's default repo in the HF cache);
    pretrained=False: random backbone (use when a full checkpoint is loaded afterwards).
    image_size/mean/std: None = the backbone's own preprocessing config.
    calibration: the monotone output map fitted after training (``IQAModel.set_calibration``).
    ``m.config`` records every resolved argument, so ``create_model(**m.config)`` rebuilds it.
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; available: {', '.join(sorted(HEADS))}")
    bb = create_backbone(backbone, pretrained=pretrained, config=backbone_config, weights=weights,
                         image_size=image_size)
    hidden = [int(h) for h in hidden]
    head_module = HEADS[head](bb.num_features, hidden=hidden, activation=activation,
                              activation2=activation2, dropout=float(dropout))
    config = {
        "backbone": backbone,
        "backbone_config": bb.export_config(),
        "head": head,
        "activation": activation,
        "activation2": activation2,
        "hidden": hidden,
        "dropout": float(dropout),
        "pretrained": bool(pretrained),
        "weights": None if weights is None else str(weights),
        "image_size": int(image_size or bb.default_image_size),
        "mean": [float(v) for v in (mean if mean is not None else bb.mean)],
        "std": [float(v) for v in (std if std is not None else bb.std)],
    }
    m = IQAModel(bb, head_module, config)
    m.set_calibration(calibration)
    return m


def load_model(path, device: str = "cpu") -> IQAModel:
    """Rebuild a model saved by ``IQAModel.save`` (folder, its model.safetensors or its config.json).

    Never unpickles. Raises ``ModelLoadError`` for missing, corrupt or mismatching files.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path, weights_path = _model_files(path)
    config = read_config(config_path)
    try:
        model = create_model(**{**config, "pretrained": False})
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"model config {config_path} does not describe a valid model: {exc}") from exc
    if not weights_path.is_file():
        raise ModelLoadError(f"model weights {weights_path} are missing")
    try:
        state = load_file(str(weights_path), device="cpu")
    except (OSError, SafetensorError, ValueError) as exc:
        raise ModelLoadError(f"model weights {weights_path} are unreadable or corrupt: {exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        # torch lists every mismatching tensor on its own line: name the first, count the rest
        problems = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()] or [str(exc)]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ModelLoadError(f"model weights {weights_path} do not match {config_path}: "
                             f"{problems[0]}{more}") from exc
    return model.to(resolve_device(device)).eval()
