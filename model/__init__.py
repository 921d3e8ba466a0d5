"""photocull's no-reference image-quality model (Qt-free; never imports ``app``)."""
from .activations import ACTIVATIONS, get_activation
from .backbones import list_backbones, register_backbone
from .errors import ModelLoadError
from .iqa import IQAModel
from .registry import create_model, load_model

__all__ = [
    "ACTIVATIONS", "IQAModel", "ModelLoadError", "create_model", "get_activation",
    "list_backbones", "load_model", "load_scorer", "register_backbone",
]


def load_scorer(path=None, backend: str = "torch", device: str = "auto"):
    """A Scorer for the model at ``path`` (None = the embedded default model).

    backend "torch": ``load_model(path, device)``; "onnx": ``OnnxScorer`` on ``model.onnx`` in the
    model folder, exported there first (atomically) if missing/stale, or into the cache dir when
    the folder is read-only.
    """
    from .paths import default_model_dir

    path = default_model_dir() if path is None else path
    if backend == "torch":
        return load_model(path, device=device)
    if backend == "onnx":
        from .onnx_backend import load_onnx_scorer

        return load_onnx_scorer(path, device=device)
    raise ValueError(f"unknown backend {backend!r}; use 'torch' or 'onnx'")
