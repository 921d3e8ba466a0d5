"""What every Scorer shares (torch ``IQAModel`` and ``OnnxScorer``): preprocessing, batching and
the choice of backend. Torch-free: the ONNX path (and a build without PyTorch) imports only this."""
from __future__ import annotations

import ctypes.util
import importlib.util
import os
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image

# CPU inference (both backends) runs in chunks of this many images: small chunks keep the
# activations in cache and bound the peak memory, at no cost in speed (benchmarks/RESULTS.md).
CPU_CHUNK = 4

# PIL's reducing_gap: shrink by an integer factor first (fast), then resample the rest with
# bilinear; 3.0 is indistinguishable from a full bilinear resize at a fraction of the cost.
REDUCING_GAP = 3.0


@dataclass(frozen=True)
class Preprocessor:
    """RGB PIL image -> normalised float32 (3, size, size) array, ``(pixel / 255 - mean) / std``.
    Small and picklable."""

    size: int
    mean: tuple
    std: tuple

    def __call__(self, img: Image.Image) -> np.ndarray:
        if img.mode != "RGB":
            img = img.convert("RGB")
        if img.size != (self.size, self.size):
            img = img.resize((self.size, self.size), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)
        # one multiply from the uint8 pixels (read channel-first) into the output, one add in place:
        # no intermediate float arrays (half the time of the four-step formula, same values to 1e-6)
        std = np.asarray(self.std, np.float32)
        scale = (np.float32(1 / 255) / std)[:, None, None]
        out = np.empty((3, self.size, self.size), np.float32)
        np.multiply(np.asarray(img).transpose(2, 0, 1), scale, out=out)
        out += (-np.asarray(self.mean, np.float32) / std)[:, None, None]
        return out


def cpu_inference_threads() -> int:
    """Threads one CPU inference runs on: a quarter of the cores this process may use (at least
    1). The engine decodes on every core at the same time, and with the int8 model inference is
    about a fifth of a photo's CPU time, so more threads would only take cores from decoding."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 4)


def check_batch(x, size: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != (3, size, size):
        raise ValueError(f"expected a (N, 3, {size}, {size}) batch, got shape {x.shape}")
    return x


def to_scores(raw: np.ndarray) -> np.ndarray:
    """Raw 0-1 quality -> clipped 0-100 scores."""
    return (np.clip(np.asarray(raw, dtype=np.float32), 0.0, 1.0) * 100.0).astype(np.float32)


class ScorerMixin:
    """``preprocess`` and ``predict`` on top of a subclass's ``preprocessor`` and ``predict_batch``."""

    preprocessor: Preprocessor

    def preprocess(self, img: Image.Image) -> np.ndarray:
        return self.preprocessor(img)

    def predict(self, images, batch_size: int = 16) -> np.ndarray:
        images = list(images)
        if not images:
            return np.zeros(0, dtype=np.float32)
        batch_size = max(1, int(batch_size))
        out = []
        for start in range(0, len(images), batch_size):
            batch = np.stack([self.preprocess(im) for im in images[start:start + batch_size]])
            out.append(self.predict_batch(batch))
        return np.concatenate(out)


BACKENDS = ("auto", "torch", "onnx")

# Starting PyTorch on CUDA (import, context, cuDNN's first autotuning) costs about 16 s; ONNX Runtime
# on the CPU cores scores a folder smaller than this first (benchmarks/RESULTS.md, GPU results).
GPU_MIN_PHOTOS = 1000


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def torch_available() -> bool:
    """Whether PyTorch can be imported here (False in the lean standalone build)."""
    return _installed("torch")


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is installed; cheap (no torch import), so a CPU-only machine never
    pays for importing torch just to learn it has no GPU."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    if sys.platform == "win32":
        return ctypes.util.find_library("nvcuda") is not None
    return False


def default_backend(device: str | None = "auto") -> str:
    """The backend ``"auto"`` (and no choice) means: PyTorch on a CUDA GPU (mixed precision), else
    ONNX Runtime, which on the CPU is faster end-to-end than PyTorch eager and needs less
    memory (benchmarks/RESULTS.md). Whichever of the two is installed when only one is."""
    if not torch_available():
        return "onnx"
    if not _installed("onnxruntime"):
        return "torch"
    if device == "cuda":
        return "torch"
    if device in (None, "auto") and nvidia_driver_present():
        import torch

        return "torch" if torch.cuda.is_available() else "onnx"
    return "onnx"


def auto_device(device: str | None = "auto", photos: int | None = None) -> str | None:
    """``device`` for scoring ``photos`` photos: "auto" becomes "cpu" for fewer than
    ``GPU_MIN_PHOTOS`` (unknown count: unchanged), so a small folder never waits for CUDA."""
    if device in (None, "auto") and photos is not None and photos < GPU_MIN_PHOTOS:
        return "cpu"
    return device


def resolve_device(device: str | None = "auto"):
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
