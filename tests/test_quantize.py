"""int8 quantisation (model.quantize) and the int8 model as the CPU default of load_scorer."""
import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from photocull.model import ModelLoadError, create_model, load_model, load_scorer
from photocull.model.onnx_backend import INT8_FILE, ONNX_FILE, OnnxScorer, load_onnx_scorer, sha256_files
from photocull.model.quantize import CALIBRATION_STRIDE, quantize_onnx


def _photos(shared_data, kodak) -> list:
    return sorted(kodak.glob("*.webp")) + sorted((shared_data / "clive" / "images").glob("*.webp"))[:8]


@pytest.fixture
def shipped(tmp_path, shared_data, kodak):
    """A folder as ``photocull-train ship`` leaves it: weights, fp32 export and an int8 model
    calibrated on 16 photos (a real EfficientNet-Lite0 trunk at 64 px, the head's output kept in 0-1)."""
    torch.manual_seed(0)
    m = create_model(pretrained=True, image_size=64, hidden=(16, 8)).eval()
    with torch.no_grad():
        m.head.layers[-1].bias.fill_(0.5)
    folder = tmp_path / "m"
    m.save(folder)
    fp32 = load_onnx_scorer(folder, "cpu", precision="fp32")  # exports model.onnx
    photos = _photos(shared_data, kodak)
    quantize_onnx(folder / ONNX_FILE, folder / INT8_FILE, [str(p) for p in photos[:16]], fp32.preprocessor)
    return folder, m, photos[16:]


def _raw(scorer, images) -> np.ndarray:
    x = np.stack([scorer.preprocess(im) for im in images])
    return scorer.session.run(None, {"pixels": x})[0].astype(np.float64) * 100.0


def test_int8_model_agrees_with_fp32_and_is_quantised_only_in_the_trunk(shipped):
    folder, _, held_out = shipped
    fp32 = OnnxScorer(folder / ONNX_FILE, "cpu")
    int8 = OnnxScorer(folder / INT8_FILE, "cpu")
    images = [Image.open(p).convert("RGB") for p in held_out]
    a, b = _raw(fp32, images), _raw(int8, images)
    assert len(images) >= 10 and np.std(a) > 0.1          # photos the model tells apart
    assert np.max(np.abs(a - b)) <= 2.0                    # points on 0-100
    assert np.corrcoef(a, b)[0, 1] >= 0.9
    assert len(np.unique(b)) == len(b)                     # the output is not rounded to int8 levels
    assert int8.model_id == fp32.model_id + "-int8"
    assert int8.precision == "int8" and fp32.precision == "fp32"
    assert int8.fp32_sha256 == sha256_files([folder / ONNX_FILE]) and int8.source_sha256 == fp32.source_sha256
    graph = onnx.load(str(folder / INT8_FILE)).graph
    dequantised = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert convs and all(n.input[0] in dequantised and n.input[1] in dequantised for n in convs)
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    assert gemms and not any(set(n.input) & dequantised for n in gemms)  # the head stays fp32


def test_calibration_needs_a_whole_stride(tmp_path):
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    m.save(tmp_path)
    fp32 = load_onnx_scorer(tmp_path, "cpu")
    with pytest.raises(ValueError, match="at least"):
        quantize_onnx(fp32.path, tmp_path / INT8_FILE, ["x.jpg"] * (CALIBRATION_STRIDE - 1), fp32.preprocessor)
    assert not (tmp_path / INT8_FILE).exists()


def test_load_scorer_uses_the_int8_model_on_the_cpu_while_it_is_current(shipped):
    folder, m, _ = shipped
    assert load_scorer(folder, backend="onnx", device="cpu").path == folder / INT8_FILE
    assert load_scorer(folder, device="cpu").path == folder / INT8_FILE  # auto backend on a CPU
    assert load_onnx_scorer(folder, "cpu", precision="fp32").path == folder / ONNX_FILE
    assert load_onnx_scorer(folder, "cpu", precision="int8").path == folder / INT8_FILE
    assert load_scorer(folder / ONNX_FILE, backend="onnx", device="cpu").precision == "fp32"
    with torch.no_grad():
        m.head.layers[-1].bias.add_(0.1)
    m.save(folder)  # new weights: model.onnx is re-exported, the int8 file is stale
    s = load_scorer(folder, backend="onnx", device="cpu")
    assert s.path == folder / ONNX_FILE and s.model_id == load_model(folder).model_id
    with pytest.raises(ModelLoadError, match="int8"):
        load_onnx_scorer(folder, "cpu", precision="int8")
    with pytest.raises(ValueError, match="precision"):
        load_onnx_scorer(folder, "cpu", precision="fp16")


def test_standalone_folder_uses_its_int8_model_only_with_its_own_fp32_file(shipped):
    folder, _, _ = shipped
    (folder / "model.safetensors").unlink()  # as in the standalone build
    assert load_scorer(folder, backend="onnx", device="cpu").path == folder / INT8_FILE
    other = create_model(pretrained=False, image_size=64, hidden=(16, 8)).eval()
    from photocull.model.onnx_backend import export_onnx

    export_onnx(other, folder / ONNX_FILE)  # another fp32 model in its place
    assert load_scorer(folder, backend="onnx", device="cpu").path == folder / ONNX_FILE


def test_the_int8_model_is_not_used_where_onnxruntime_runs_on_cuda(shipped, monkeypatch):
    import onnxruntime

    import photocull.model.onnx_backend as ob

    folder, _, _ = shipped
    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert not ob._on_cpu("auto") and ob._on_cpu("cpu")
    real = ob.OnnxScorer
    monkeypatch.setattr(ob, "OnnxScorer", lambda path, providers, *a: real(path, "cpu", *a))  # no CUDA here
    assert ob.load_onnx_scorer(folder, "auto").path == folder / ONNX_FILE
    assert ob.load_onnx_scorer(folder, "cpu").path == folder / INT8_FILE
