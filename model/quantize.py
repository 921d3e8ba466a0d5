"""int8 static quantisation of an exported model: ``model.onnx`` -> ``model.int8.onnx``.

ONNX Runtime's QDQ format with per-channel int8 weights and uint8 activations (U8S8, the fast
path of its x86 kernels), activation ranges calibrated (MinMax) on photos the caller chooses:
``photocull-train ship`` gives the training photos of the model's own split, so held-out photos
stay unseen. Only the convolutional trunk is quantised (:data:`QUANT_OPS` on 4-D feature maps);
the pooled statistics, the head and its output calibration stay fp32: they cost little time, and
an int8 output would round every score to one of 256 levels (ties in a ranking).

The int8 file carries the fp32 file's metadata with its own ``photocull_model_id`` (the fp32 id
+ ``-int8``: scores differ from fp32 by up to a few points, so they must not share score-cache
entries), ``photocull_precision`` ``int8`` and ``photocull_fp32_sha256`` (the hash of the fp32
file it was made from, to detect a stale int8 file where no safetensors are at hand).

Needs ``onnx`` and ``onnxruntime.quantization`` (ship time only; scoring just loads the file).
"""
from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .fileio import atomic_path
from .onnx_backend import INPUT_NAME, sha256_files
from .scoring import Preprocessor

QUANT_OPS = ("Conv", "Clip", "Add")
# calibration photos are run in strides of this many: ranges are merged after each stride, so
# the calibrator holds the activations of 8 photos, not of all of them
CALIBRATION_STRIDE = 8


def _reader(paths: Sequence[str], preprocessor: Preprocessor, input_name: str):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        """One preprocessed photo per ``get_next``, over the range the calibrator sets."""

        def __init__(self):
            self.set_range(0, len(paths))

        def __len__(self) -> int:
            return len(paths)

        def set_range(self, start_index: int, end_index: int) -> None:
            self._todo = iter(paths[start_index:end_index])

        def get_next(self):
            path = next(self._todo, None)
            if path is None:
                return None
            with Image.open(path) as im:
                return {input_name: preprocessor(im.convert("RGB"))[None]}

    return Reader()


def _trunk_nodes(proto) -> list[str]:
    """Names of the :data:`QUANT_OPS` nodes whose output is a 4-D feature map."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(proto).graph
    rank = {v.name: len(v.type.tensor_type.shape.dim) for v in (*graph.value_info, *graph.output)}
    return [n.name for n in graph.node if n.op_type in QUANT_OPS and rank.get(n.output[0]) == 4]


def quantize_onnx(src, dst, calibration: Sequence[str], preprocessor: Preprocessor) -> Path:
    """Write the int8 model of the fp32 ``src`` to ``dst`` (atomically), calibrated on the photos
    ``calibration`` (paths; used in whole strides of :data:`CALIBRATION_STRIDE`, at least one)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(src), Path(dst)
    paths = list(calibration)[: len(calibration) // CALIBRATION_STRIDE * CALIBRATION_STRIDE]
    if not paths:
        raise ValueError(f"int8 calibration needs at least {CALIBRATION_STRIDE} photos, got {len(calibration)}")
    with tempfile.TemporaryDirectory(prefix="photocull-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # graph optimisation and ONNX shape inference, as the tool advises (its symbolic shape
        # inference fails on some ViT graphs and adds nothing for a fixed input size)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        with atomic_path(dst) as out:
            quantize_static(str(pre), str(out), _reader(paths, preprocessor, INPUT_NAME),
                            quant_format=QuantFormat.QDQ, nodes_to_quantize=_trunk_nodes(onnx.load(str(pre))),
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"CalibStridedMinMax": CALIBRATION_STRIDE})
            proto = onnx.load(str(out))
            meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
            if "photocull_model_id" in meta:
                meta["photocull_model_id"] += "-int8"
            meta.update(photocull_precision="int8", photocull_fp32_sha256=sha256_files([src]))
            del proto.metadata_props[:]
            for key, value in sorted(meta.items()):
                entry = proto.metadata_props.add()
                entry.key, entry.value = key, value
            onnx.save(proto, str(out))
    return dst
