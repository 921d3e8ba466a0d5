"""ONNX export of an IQAModel and ``OnnxScorer``, a Scorer on onnxruntime.

The exported graph maps normalised pixels ``(N,3,S,S)`` to raw 0-1 quality ``(N,)`` (batch
dynamic, side fixed). Metadata in the file: ``photocull_model_id`` (the torch model's id, so
both backends share score-cache keys: outputs agree within 1e-4 on the 0-1 scale, checked at
export), ``photocull_config`` and, when exported by ``load_scorer``, ``photocull_source_sha256``
(hash of the model.safetensors + config.json it came from, to detect a stale export).

A model folder may also hold ``model.int8.onnx`` (``model.quantize``, made by ``photocull-train
ship``): :func:`load_onnx_scorer` scores with it on the CPU, where it is about twice as fast, as
long as it was made from the folder's current weights; the fp32 ``model.onnx`` serves CUDA,
``precision="fp32"`` and a stale int8 file.

Torch-free at import: only ``export_onnx`` (and re-exporting a stale model) needs PyTorch.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from ._io import CONFIG_FILE, model_files, read_config
from .errors import ModelLoadError
from .fileio import atomic_path, atomic_write_bytes
from .scoring import (
    CPU_CHUNK,
    Preprocessor,
    ScorerMixin,
    check_batch,
    cpu_inference_threads,
    to_scores,
    torch_available,
)

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
PRECISIONS = ("auto", "fp32", "int8")
INPUT_NAME = "pixels"
OUTPUT_NAME = "quality"
VERIFY_TOLERANCE = 1e-4


def export_onnx(m, path, opset: int = 17, verify_inputs: np.ndarray | None = None,
                source_sha256: str | None = None) -> Path:
    """Export ``m`` to ``path`` atomically, then check onnxruntime against torch.

    ``verify_inputs``: preprocessed (N,3,S,S) batch to compare on (default: 2 random images);
    raises RuntimeError when max |onnx − torch| on the 0-1 output exceeds 1e-4. Also writes the
    model's config.json next to the .onnx if none is there (and refuses to overwrite a different one).
    """
    import onnx
    import torch

    from .iqa import evaluating

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config_text = json.dumps(m.config, indent=2, sort_keys=True) + "\n"
    config_path = path.with_name(CONFIG_FILE)
    if config_path.exists() and json.loads(config_path.read_text()) != m.config:
        raise ValueError(f"{config_path} belongs to a different model; export elsewhere")
    size = m.image_size
    device = m.device
    with evaluating(m):
        with atomic_path(path) as tmp:
            dummy = torch.zeros(1, 3, size, size, device=device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # legacy-exporter deprecation + tracer warnings
                torch.onnx.export(
                    m, (dummy,), str(tmp), dynamo=False, opset_version=int(opset),
                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
            proto = onnx.load(str(tmp))
            meta = {"photocull_model_id": m.model_id, "photocull_config": json.dumps(m.config, sort_keys=True)}
            if source_sha256:
                meta["photocull_source_sha256"] = source_sha256
            for key, value in meta.items():
                entry = proto.metadata_props.add()
                entry.key, entry.value = key, value
            onnx.save(proto, str(tmp))
            if verify_inputs is None:
                verify_inputs = np.random.default_rng(0).standard_normal((2, 3, size, size), dtype=np.float32)
            x = check_batch(verify_inputs, size)
            with torch.no_grad():
                expected = m(torch.from_numpy(x).to(device)).float().cpu().numpy()
            got = _session(tmp, ["CPUExecutionProvider"]).run([OUTPUT_NAME], {INPUT_NAME: x})[0]
            diff = float(np.max(np.abs(got - expected)))
            if not diff <= VERIFY_TOLERANCE:
                raise RuntimeError(f"ONNX export of {m.config['backbone']} differs from torch by {diff:.3g} "
                                   f"(> {VERIFY_TOLERANCE})")
    if not config_path.exists():
        atomic_write_bytes(config_path, config_text.encode())
    return path


def _session(path, providers, intra_op_threads: int | None = None):
    """An InferenceSession; on the CPU with ``cpu_inference_threads()`` threads unless given, and
    its threads never spin-wait between operators: photocull always has other threads with work
    (decoding, the GUI), which spinning starves (benchmarks/RESULTS.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if providers[0] == "CPUExecutionProvider":
        options.intra_op_num_threads = int(intra_op_threads or cpu_inference_threads())
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    elif intra_op_threads:
        options.intra_op_num_threads = int(intra_op_threads)
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def _providers(providers) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers in (None, "auto"):
        return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    if providers == "cpu":
        return ["CPUExecutionProvider"]
    if providers == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise ModelLoadError("device 'cuda' asked for, but this onnxruntime has no CUDA provider")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return list(providers)


class OnnxScorer(ScorerMixin):
    """Scorer on onnxruntime; reads ``config.json`` next to the .onnx for preprocessing."""

    def __init__(self, path, providers="auto", intra_op_threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelLoadError(f"ONNX model {self.path} is missing")
        try:
            self.session = _session(self.path, _providers(providers), intra_op_threads)
        except ModelLoadError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelLoadError(f"ONNX model {self.path} is unreadable or corrupt: {exc}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        config_path = self.path.with_name(CONFIG_FILE)
        if config_path.exists() or "photocull_config" not in meta:
            self.config = read_config(config_path)
        else:
            self.config = json.loads(meta["photocull_config"])
        self.image_size = int(self.config["image_size"])
        self.preprocessor = Preprocessor(self.image_size, tuple(self.config["mean"]), tuple(self.config["std"]))
        self.model_id = meta.get("photocull_model_id") or sha256_files([self.path])[:32]
        self.source_sha256 = meta.get("photocull_source_sha256")
        self.precision = meta.get("photocull_precision", "fp32")
        self.fp32_sha256 = meta.get("photocull_fp32_sha256")

    @property
    def inference_chunk(self) -> int | None:
        """Images per run: ``CPU_CHUNK`` on the CPU, None (the whole batch) on an accelerator."""
        return CPU_CHUNK if self.session.get_providers()[0] == "CPUExecutionProvider" else None

    def predict_batch(self, x) -> np.ndarray:
        """(N,3,S,S) preprocessed float32 -> (N,) scores 0-100; in chunks of ``CPU_CHUNK`` on the CPU."""
        x = check_batch(x, self.image_size)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        step = self.inference_chunk or len(x)
        return np.concatenate([to_scores(self.session.run([OUTPUT_NAME], {INPUT_NAME: x[i:i + step]})[0])
                               for i in range(0, len(x), step)])


def sha256_files(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _on_cpu(device: str) -> bool:
    """Whether an OnnxScorer for ``device`` runs on the CPU."""
    return _providers(device)[0] == "CPUExecutionProvider"


def _int8_scorer(folder: Path, source: str | None, device: str, precision: str,
                 intra_op_threads: int | None) -> OnnxScorer | None:
    """The folder's int8 model when it applies: on the CPU (or asked for) and made from the current
    weights (``source``: their hash; None in a folder without weights: from its ``model.onnx``)."""
    path = folder / INT8_FILE
    if precision == "fp32" or not path.is_file() or (precision == "auto" and not _on_cpu(device)):
        return None
    scorer = OnnxScorer(path, device, intra_op_threads)
    fresh = (scorer.source_sha256 == source if source is not None
             else (folder / ONNX_FILE).is_file() and scorer.fp32_sha256 == sha256_files([folder / ONNX_FILE]))
    if fresh:
        return scorer
    log.info("%s was made from other weights; scoring with the fp32 model", path)
    return None


def load_onnx_scorer(path, device: str = "auto", intra_op_threads: int | None = None,
                     precision: str = "auto") -> OnnxScorer:
    """``load_scorer(..., backend="onnx")``: a .onnx file, or a model folder whose ``model.onnx`` is
    (re-)exported when missing or stale — into the folder if writable, else into the cache dir.
    A folder without ``model.safetensors`` (the standalone build ships only the .onnx files and
    ``config.json``) uses its ``model.onnx`` as it is. ``precision`` "auto": the folder's int8 model
    on the CPU when it is current (module docstring), else fp32; "fp32": never the int8 model;
    "int8": the int8 model on any device when it is current."""
    from .paths import cache_dir

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    path = Path(path).expanduser()
    if path.suffix == ".onnx":
        return OnnxScorer(path, device, intra_op_threads)
    config_path, weights_path = model_files(path)
    folder = config_path.parent
    standalone = not weights_path.is_file() and (folder / ONNX_FILE).is_file()
    if not standalone:
        for required in (config_path, weights_path):
            if not required.is_file():
                raise ModelLoadError(f"{required} is missing")
    source = None if standalone else sha256_files([weights_path, config_path])
    int8 = _int8_scorer(folder, source, device, precision, intra_op_threads)
    if int8 is not None:
        return int8
    if precision == "int8":
        raise ModelLoadError(f"{folder / INT8_FILE} is missing or was made from other weights "
                             "(photocull-train ship makes it)")
    if standalone:
        return OnnxScorer(folder / ONNX_FILE, device, intra_op_threads)
    candidates = [folder / ONNX_FILE, cache_dir() / "onnx" / source[:32] / ONNX_FILE]
    for candidate in candidates:
        if candidate.is_file():
            scorer = OnnxScorer(candidate, device, intra_op_threads)
            if scorer.source_sha256 in (None, source):
                return scorer
            log.info("%s was exported from other weights; exporting again", candidate)
    if not torch_available():
        raise ModelLoadError(f"{folder / ONNX_FILE} is missing or older than {weights_path.name}, and "
                             "exporting it needs PyTorch, which is not installed here")
    from .registry import load_model

    target = candidates[0] if os.access(folder, os.W_OK) else candidates[1]
    log.info("exporting %s to %s", weights_path, target)
    export_onnx(load_model(folder, device="cpu"), target, source_sha256=source)
    return OnnxScorer(target, device, intra_op_threads)
