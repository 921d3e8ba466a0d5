"""IQAModel: backbone -> pooled features -> MLP head [-> calibration] -> quality on the 0-1 scale."""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._io import CONFIG_FILE, WEIGHTS_FILE
from .fileio import atomic_path, atomic_write_bytes
from .scoring import CPU_CHUNK, Preprocessor, ScorerMixin, check_batch, to_scores

log = logging.getLogger(__name__)


@contextlib.contextmanager
def evaluating(module: nn.Module):
    """Eval mode inside the block; afterwards every submodule gets its own previous mode back
    (a trainer may keep a frozen backbone in eval while the head trains)."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, mode in modes:
            m.training = mode


class IQAModel(ScorerMixin, nn.Module):
    """An ``nn.Module`` and a Scorer (see docs/ARCHITECTURE.md). Build it with ``create_model``."""

    def __init__(self, backbone: nn.Module, head: nn.Module, config: dict):
        nn.Module.__init__(self)
        self.backbone = backbone
        self.head = head
        self._config = copy.deepcopy(config)
        self.image_size = int(config["image_size"])
        self.preprocessor = Preprocessor(self.image_size, tuple(config["mean"]), tuple(config["std"]))
        self.amp = True  # autocast fp16 for inference on CUDA
        self._cuda_batch_limit: int | None = None  # largest batch that fits, once CUDA ran out of memory
        self._model_id: tuple | None = None  # (weights fingerprint, id)
        self.calibration: dict | None = None
        # CNNs run in NHWC: PyTorch's CPU (depthwise) convolutions are ~1.8x faster that way
        self.channels_last = not getattr(backbone, "is_vit", False)
        if self.channels_last:
            self.backbone.to(memory_format=torch.channels_last)

    @property
    def config(self) -> dict:
        """JSON-serialisable kwargs for ``create_model`` that rebuild this architecture."""
        return copy.deepcopy(self._config)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.head(self.backbone(x))
        if self.calibration is None:
            return raw
        return torch.sigmoid(self.calibration["slope"] * raw + self.calibration["offset"])

    def set_calibration(self, calibration: dict | None) -> None:
        """Map the head's raw output through ``sigmoid(slope * raw + offset)`` (slope > 0, so the
        order is kept): fitted after training to the training targets (training/calibration.py),
        it puts scores on the MOS scale without the clip at 1 that tied the best photos at 100.
        Recorded in ``config`` (hence config.json and the model id); None = raw output."""
        if calibration is not None:
            kind = calibration.get("kind")
            if kind != "logistic":
                raise ValueError(f"unknown calibration kind {kind!r}; known: logistic")
            calibration = {"kind": kind, "slope": float(calibration["slope"]),
                           "offset": float(calibration["offset"])}
            if not calibration["slope"] > 0:
                raise ValueError(f"calibration slope must be > 0, got {calibration['slope']}")
            self._config["calibration"] = calibration
        else:
            self._config.pop("calibration", None)
        self.calibration = calibration
        self._model_id = None

    def activation_report(self) -> list[dict]:
        return self.head.activation_report()

    # -- identity -------------------------------------------------------------------------
    def _fingerprint(self) -> tuple:
        # In-place updates (optimizer steps, load_state_dict, copy_) bump a tensor's version counter.
        return tuple((name, t.data_ptr(), t._version, t.dtype, tuple(t.shape))
                     for name, t in self.state_dict(keep_vars=True).items())

    @property
    def model_id(self) -> str:
        """Stable hash of config + weights; recomputed only when a weight tensor has changed."""
        fingerprint = self._fingerprint()
        if self._model_id is None or self._model_id[0] != fingerprint:
            h = hashlib.sha256(json.dumps(self._config, sort_keys=True).encode())
            for name, tensor in sorted(self.state_dict().items()):
                t = tensor.detach().cpu().contiguous()
                h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
                h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
            self._model_id = (fingerprint, h.hexdigest()[:32])
        return self._model_id[1]

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory, fp16: bool = False) -> Path:
        """Write ``model.safetensors`` (fp16 floats if asked) and ``config.json`` atomically."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {}
        for name, tensor in self.state_dict().items():
            t = tensor.detach().to("cpu")
            if fp16 and t.is_floating_point():
                t = t.half()
            state[name] = t.contiguous()
        with atomic_path(directory / WEIGHTS_FILE) as tmp:
            save_file(state, str(tmp), metadata={"format": "pt"})
        # Every weight is in the file: the saved config rebuilds the model without fetching the
        # backbone's pretrained weights, and equals the config of the model load_model() returns.
        config = {**self._config, "pretrained": False}
        atomic_write_bytes(directory / CONFIG_FILE,
                           (json.dumps(config, indent=2, sort_keys=True) + "\n").encode())
        return directory

    # -- scoring --------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def inference_chunk(self) -> int | None:
        """Images per forward pass on the CPU (``CPU_CHUNK``); None on CUDA: the whole batch."""
        return CPU_CHUNK if self.device.type != "cuda" else None

    def predict_batch(self, x) -> np.ndarray:
        """(N,3,S,S) preprocessed float32 -> (N,) scores 0-100.

        On the CPU it runs in chunks of ``CPU_CHUNK`` images (same speed, a fraction of the memory).
        CUDA out of memory: the batch is halved until it fits (and later batches are split to that
        size up front), then, if one image does not fit, the model moves to the CPU; both logged.
        """
        x = check_batch(x, self.image_size)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        with evaluating(self):
            return to_scores(self._raw(x))

    def _raw(self, x: np.ndarray) -> np.ndarray:
        device = self.device
        limit = self._cuda_batch_limit if device.type == "cuda" else CPU_CHUNK
        if limit is not None and len(x) > limit:  # CPU chunk, or a batch this big ran out of CUDA memory
            return np.concatenate([self._raw(x[i:i + limit]) for i in range(0, len(x), limit)])
        try:
            return self._run(x, device)
        except torch.cuda.OutOfMemoryError:
            if device.type != "cuda":
                raise
            torch.cuda.empty_cache()
            if len(x) > 1:
                half = len(x) // 2
                log.warning("CUDA out of memory for a batch of %d images; retrying in batches of %d",
                            len(x), half)
                self._cuda_batch_limit = half
                return self._raw(x)
            log.warning("CUDA out of memory even for one image; scoring on the CPU from now on")
            self._cuda_batch_limit = None
            self.to("cpu")
            return self._run(x, torch.device("cpu"))

    def _run(self, x: np.ndarray, device: torch.device) -> np.ndarray:
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.float16,
                                             enabled=self.amp and device.type == "cuda"):
            x = torch.from_numpy(x).to(device, non_blocking=True)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out = self(x)
        return out.float().cpu().numpy()
