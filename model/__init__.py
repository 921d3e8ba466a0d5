"""photocull's no-reference image-quality model (Qt-free; never imports ``app``).

Importing ``model`` does not import PyTorch: the torch-only names below are loaded on first
use, so the ONNX path (``load_scorer(backend="onnx")``, ``photocull.model.onnx_backend.OnnxScorer``,
``photocull.model.scoring``, ``photocull.model.paths``, ``photocull.model.explain.heatmap``) works in a build without torch.
"""
import importlib

from .errors import ModelLoadError
from .scoring import auto_device, default_backend, torch_available

__all__ = [
    "ACTIVATIONS", "IQAModel", "ModelLoadError", "auto_device", "create_model", "default_backend", "get_activation",
    "list_backbones", "load_model", "load_scorer", "register_backbone", "torch_available",
]

_TORCH_NAMES = {  # name -> submodule defining it (imports torch)
    "ACTIVATIONS": "activations", "get_activation": "activations",
    "list_backbones": "backbones", "register_backbone": "backbones",
    "IQAModel": "iqa", "create_model": "registry", "load_model": "registry",
}


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        value = getattr(importlib.import_module(f".{_TORCH_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_scorer(path=None, backend: str | None = None, device: str = "auto", precision: str = "auto",
                photos: int | None = None):
    """A Scorer for the model at ``path`` (None = the embedded default model).

    backend "torch": ``load_model(path, device)``; "onnx": ``OnnxScorer`` on ``model.onnx`` in the
    model folder (its ``model.int8.onnx`` on the CPU when current; ``precision`` "fp32"/"int8"
    choose, see ``onnx_backend.load_onnx_scorer``), exported there first (atomically) if missing/stale,
    or into the cache dir when the folder is read-only; "auto" or None: ``default_backend(device)``.
    ``photos``: how many photos will be scored, when known: with device "auto", a folder too small to
    pay for CUDA's start-up is scored on the CPU (``auto_device``). Asking for "torch" where PyTorch
    is not installed raises ``ModelLoadError`` pointing to the onnx backend.
    """
    from .paths import default_model_dir

    path = default_model_dir() if path is None else path
    device = auto_device(device, photos)
    backend = default_backend(device) if backend in (None, "auto") else backend
    if backend == "torch":
        if not torch_available():
            raise ModelLoadError("PyTorch is not installed here, so the torch backend is unavailable; "
                                 "use the onnx backend (--backend onnx)")
        from .registry import load_model

        return load_model(path, device=device)
    if backend == "onnx":
        from .onnx_backend import load_onnx_scorer

        return load_onnx_scorer(path, device=device, precision=precision)
    raise ValueError(f"unknown backend {backend!r}; use 'auto', 'torch' or 'onnx'")
