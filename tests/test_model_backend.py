"""Which backend "auto" picks: ONNX Runtime on a CPU, PyTorch on a CUDA GPU."""
import pytest
import torch

from photocull import model
from photocull.model import scoring
from photocull.model.iqa import IQAModel
from photocull.model.onnx_backend import OnnxScorer


@pytest.fixture
def machine(monkeypatch):
    """Pretend which packages are installed and whether there is an NVIDIA GPU."""
    def set_(torch_installed=True, ort_installed=True, driver=False, cuda=False):
        installed = {"torch": torch_installed, "onnxruntime": ort_installed}
        monkeypatch.setattr(scoring, "_installed", lambda name: installed[name])
        monkeypatch.setattr(scoring, "nvidia_driver_present", lambda: driver)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    return set_


@pytest.mark.parametrize("setup, device, expected", [
    ({}, "auto", "onnx"),  # CPU-only machine: the faster CPU backend
    ({}, "cpu", "onnx"),
    ({}, "cuda", "torch"),  # asked for the GPU: torch (mixed precision, OOM fallback)
    ({"driver": True, "cuda": True}, "auto", "torch"),
    ({"driver": True, "cuda": True}, "cpu", "onnx"),
    ({"driver": True, "cuda": False}, "auto", "onnx"),  # driver but a CPU-only torch build
    ({"torch_installed": False}, "cuda", "onnx"),  # lean build: only onnxruntime
    ({"ort_installed": False}, "auto", "torch"),
])
def test_default_backend(machine, setup, device, expected):
    machine(**setup)
    assert scoring.default_backend(device) == expected


def test_cpu_only_machine_does_not_ask_torch_about_cuda(machine, monkeypatch):
    machine(driver=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: pytest.fail("torch was asked about CUDA"))
    assert scoring.default_backend("auto") == "onnx"


def test_load_scorer_auto_follows_the_device(machine, saved_default_like_model):
    machine()
    assert isinstance(model.load_scorer(saved_default_like_model, backend="auto", device="cpu"), OnnxScorer)
    assert isinstance(model.load_scorer(saved_default_like_model, device="auto"), OnnxScorer)
    assert isinstance(model.load_scorer(saved_default_like_model, backend="torch", device="cpu"), IQAModel)
    with pytest.raises(ValueError, match="unknown backend"):
        model.load_scorer(saved_default_like_model, backend="tensorflow")


@pytest.fixture
def saved_default_like_model(tmp_path):
    torch.manual_seed(0)
    d = tmp_path / "model"
    model.create_model(pretrained=False, image_size=32, hidden=(8, 8)).save(d)
    return d
