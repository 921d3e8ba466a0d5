"""The model as a source of faults: unloadable files through the CLI, CUDA out of memory, and
checkpoints that try to run pickled code."""

import copy
import functools
import json
import logging
import pickle

import numpy as np
import pytest
import torch

from photocull.app.core import cli
from photocull.model import ModelLoadError, create_model, load_model, load_scorer
from photocull.model.iqa import IQAModel

from fakes import write_photo


@functools.lru_cache(maxsize=1)
def _tiny():
    torch.manual_seed(0)
    return create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()


def tiny_model():
    return copy.deepcopy(_tiny())


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    tiny_model().save(d)
    return d


@pytest.fixture
def photos(tmp_path, monkeypatch):
    write_photo(tmp_path / "photos" / "a.jpg", grey=100)
    return tmp_path / "photos"


def model_copy(saved_model, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for f in saved_model.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    return d


def damage(kind, saved_model, tmp_path):
    """A broken --model argument (and --backend) for each kind of damage."""
    if kind == "missing dir":
        return tmp_path / "no-such-model", "torch"
    d = model_copy(saved_model, tmp_path)
    weights = d / "model.safetensors"
    if kind == "empty safetensors":
        weights.write_bytes(b"")
    elif kind == "truncated safetensors header":
        weights.write_bytes(weights.read_bytes()[:7])
    elif kind == "truncated safetensors data":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif kind == "garbage config.json":
        (d / "config.json").write_bytes(b"\x00\xffgarbage{{")
    elif kind == "config.json of another model":
        (d / "config.json").write_text(json.dumps({**tiny_model().config, "hidden": [4, 4]}))
    elif kind == "garbage .onnx file":
        (d / "model.onnx").write_bytes(b"\x08\x01garbage not protobuf")
        return d / "model.onnx", "onnx"
    elif kind == "garbage .onnx in the model folder":
        (d / "model.onnx").write_bytes(b"\x08\x01garbage not protobuf")
        return d, "onnx"
    elif kind == "pickle instead of a model":
        (d / "model.pth").write_bytes(pickle.dumps({"w": [1, 2]}))
        return d / "model.pth", "torch"
    return d, "torch"


DAMAGES = ["missing dir", "empty safetensors", "truncated safetensors header", "truncated safetensors data",
           "garbage config.json", "config.json of another model", "garbage .onnx file",
           "garbage .onnx in the model folder", "pickle instead of a model"]


@pytest.mark.parametrize("kind", DAMAGES)
def test_bad_model_is_one_clear_line_and_exit_2(kind, saved_model, photos, tmp_path, capsys):
    path, backend = damage(kind, saved_model, tmp_path)
    code = cli.main(["rank", str(photos), "--model", str(path), "--backend", backend, "--device", "cpu",
                     "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2, (kind, out, err)
    assert "Traceback" not in err and out == ""
    assert err.count("\n") == 1 and err.startswith("photocull: error: cannot load the model: "), err
    assert str(path.name) in err  # says which file
    if kind == "config.json of another model":
        assert "size mismatch for head.layers.0.weight" in err and "more)" in err


def test_good_model_still_loads(saved_model, photos, capsys):
    """The control for the damage cases: the undamaged copy scores the photo."""
    code = cli.main(["rank", str(photos), "--model", str(saved_model), "--device", "cpu", "--no-progress"])
    assert code == 0 and "1 scored, 0 failed" in capsys.readouterr().out


# -- CUDA out of memory (simulated: this runs on CPU-only machines) ---------------------------

def fake_cuda(monkeypatch, fits: int | None):
    """Pretend the model is on CUDA where batches larger than ``fits`` (any, if None) run out of
    memory; what fits really runs (on the CPU). Returns the list of (device, batch) attempts."""
    calls = []
    real_run = IQAModel._run

    def run(self, x, device):
        calls.append((device.type, len(x)))
        if device.type == "cuda":
            if fits is None or len(x) > fits:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
            device = torch.device("cpu")
        return real_run(self, x, device)

    monkeypatch.setattr(IQAModel, "_run", run)
    monkeypatch.setattr(IQAModel, "device", property(lambda self: torch.device("cuda")))
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    return calls


def pooled_linear_model() -> IQAModel:
    """An IQAModel whose network is trivial (pool -> linear): the OOM handling is what is tested."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    head = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0))
    return IQAModel(net, head, {"image_size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}).eval()


def test_cuda_oom_retries_smaller_batches_and_remembers(monkeypatch, caplog):
    m = pooled_linear_model()
    x = np.random.default_rng(0).standard_normal((8, 3, 32, 32)).astype(np.float32)
    expected = m.predict_batch(x)
    calls = fake_cuda(monkeypatch, fits=2)
    with caplog.at_level(logging.WARNING, logger="photocull.model.iqa"):
        scores = m.predict_batch(x)
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    assert calls == [("cuda", 8), ("cuda", 4), ("cuda", 2), ("cuda", 2), ("cuda", 2), ("cuda", 2)]
    assert "out of memory for a batch of 8" in caplog.text and "batches of 2" in caplog.text
    assert "CPU" not in caplog.text  # no fallback was needed
    calls.clear()
    np.testing.assert_allclose(m.predict_batch(x), expected, atol=1e-4)
    assert calls == [("cuda", 2)] * 4  # the next batch is split up front: no new OOM


def test_cuda_oom_for_one_image_falls_back_to_cpu_and_says_so(monkeypatch, caplog):
    m = pooled_linear_model()
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    expected = m.predict_batch(x)
    calls = fake_cuda(monkeypatch, fits=None)
    with caplog.at_level(logging.WARNING, logger="photocull.model.iqa"):
        scores = m.predict_batch(x)
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    assert calls[:3] == [("cuda", 3), ("cuda", 1), ("cpu", 1)]
    assert "scoring on the CPU from now on" in caplog.text


# -- pickles never run ---------------------------------------------------------------------

class Evil:
    marker = None

    def __reduce__(self):  # unpickling this creates the marker file
        return (open, (str(self.marker), "w"))


def evil_pickle(tmp_path, name):
    marker = tmp_path / "PWNED"
    Evil.marker = marker
    payload = {"state_dict": {"w": Evil()}}
    path = tmp_path / name
    torch.save(payload, path)  # a real torch zip checkpoint carrying the payload
    raw = tmp_path / (name + ".raw")
    raw.write_bytes(pickle.dumps(payload))  # and a bare pickle
    assert not marker.exists()
    return path, raw, marker


def test_pickled_code_in_checkpoints_never_runs(tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    _, control_raw, control_marker = evil_pickle(control, "weights.pth")
    pickle.loads(control_raw.read_bytes())  # the control: a plain unpickle does run the payload
    assert control_marker.exists()
    pth, raw, marker = evil_pickle(tmp_path, "weights.pth")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(raw, weights_only=True)
    assert not marker.exists()
    # 1. a model folder whose weights file is a pickle (renamed .pth/.bin)
    for src in (pth, raw):
        d = model_copy_of(tmp_path, src)
        with pytest.raises(ModelLoadError):
            load_model(d)
        with pytest.raises(ModelLoadError):
            load_scorer(d, backend="torch", device="cpu")
    # 2. the path of the pickle itself
    with pytest.raises(ModelLoadError):
        load_scorer(pth, device="cpu")
    # 3. backbone weights given as a pickle: EfficientNet (torch.load weights_only) and timm's loader
    for backbone in ("efficientnet_lite0", "resnet50"):
        for src in (pth, raw):
            with pytest.raises(ModelLoadError):
                create_model(backbone=backbone, pretrained=True, weights=str(src), hidden=(8,),
                             image_size=32)
    assert not marker.exists()


def model_copy_of(tmp_path, weights_src):
    d = tmp_path / f"m-{weights_src.name}"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(tiny_model().config))
    (d / "model.safetensors").write_bytes(weights_src.read_bytes())
    return d
