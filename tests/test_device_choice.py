"""``--device auto`` / the GUI's device setting "auto" choose by folder size (``model.auto_device``):
a folder smaller than ``GPU_MIN_PHOTOS`` is scored on the CPU even where CUDA is available, a
large one on CUDA, and an explicit device always wins. CUDA is faked (driver present, torch says
available); the real ``model.load_scorer`` makes the decision, only the final loaders are stand-ins
that record the device they would have loaded on."""
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from photocull.app.core import cli, jobs  # noqa: E402
from photocull.app.ui.bridge import EngineBridge  # noqa: E402
from photocull.app.ui.settings import Settings  # noqa: E402
from photocull.model import onnx_backend, registry, scoring  # noqa: E402

from fakes import FakeScorer, write_photo  # noqa: E402

THRESHOLD = 3  # GPU_MIN_PHOTOS for these tests: 2 photos are "small", 3 "large"


@pytest.fixture
def fake_cuda(monkeypatch):
    """CUDA looks available; returns the list of (backend, device) the loaders were called with
    (device as torch would resolve it)."""
    loaded = []
    monkeypatch.setattr(scoring, "GPU_MIN_PHOTOS", THRESHOLD)
    monkeypatch.setattr(scoring, "nvidia_driver_present", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def load_model(path, device="auto"):
        loaded.append(("torch", str(scoring.resolve_device(device))))
        return FakeScorer()

    def load_onnx_scorer(path, device="auto", precision="auto"):
        loaded.append(("onnx", device))
        return FakeScorer()

    monkeypatch.setattr(registry, "load_model", load_model)
    monkeypatch.setattr(onnx_backend, "load_onnx_scorer", load_onnx_scorer)
    return loaded


def shoot(root, n):
    for i in range(n):
        write_photo(root / f"p{i}.jpg", grey=40 + 20 * i)
    return root


def test_fake_cuda_is_what_auto_sees_without_a_count(fake_cuda, tmp_path):
    from photocull.model import load_scorer

    load_scorer(tmp_path)  # no count (e.g. a library caller): CUDA, as before
    assert fake_cuda == [("torch", "cuda")]


@pytest.mark.parametrize("command", ["rank", "cull"])
@pytest.mark.parametrize(("n", "device", "expected"), [
    (THRESHOLD - 1, "auto", ("onnx", "cpu")),    # small folder: CPU, no CUDA start-up
    (THRESHOLD, "auto", ("torch", "cuda")),      # large folder: the GPU
    (THRESHOLD, "cpu", ("onnx", "cpu")),         # explicit choices win whatever the size
    (THRESHOLD - 1, "cuda", ("torch", "cuda")),
])
def test_cli_device_by_folder_size(fake_cuda, tmp_path, capsys, command, n, device, expected):
    folder = shoot(tmp_path / "shoot", n)
    argv = [command, str(folder), "--device", device, "--no-progress"]
    if command == "cull":
        argv += ["--threshold", "50"]
    assert cli.main(argv) == 0
    assert fake_cuda == [expected]
    out = capsys.readouterr().out
    assert (f"{n} scored" if command == "rank" else f"{n} photos (score >= 50 kept)") in out


def bridge_for(tmp_path, device):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.backend, settings.device, settings.checkpoint = "auto", device, str(tmp_path / "model")
    return EngineBridge(settings, cache_path=tmp_path / "c.sqlite3")


def scored(bridge, folder):
    events = list(bridge.folder_job(folder)(threading.Event()))
    return [r for e in events if isinstance(e, jobs.Scores) for r in e.results]


def test_bridge_small_folder_on_cpu_large_on_cuda(fake_cuda, tmp_path):
    bridge = bridge_for(tmp_path, "auto")
    try:
        assert len(scored(bridge, shoot(tmp_path / "small", THRESHOLD - 1))) == THRESHOLD - 1
        assert fake_cuda == [("onnx", "cpu")]
        bridge.scorer()  # the explainer's call (no count) reuses the loaded scorer
        scored(bridge, shoot(tmp_path / "small2", THRESHOLD - 1))
        assert fake_cuda == [("onnx", "cpu")]  # same side of the line: no reload
        assert len(scored(bridge, shoot(tmp_path / "large", THRESHOLD))) == THRESHOLD
        assert fake_cuda == [("onnx", "cpu"), ("torch", "cuda")]
    finally:
        bridge.close()


@pytest.mark.parametrize(("device", "expected"), [("cpu", ("onnx", "cpu")), ("cuda", ("torch", "cuda"))])
def test_bridge_explicit_device_wins(fake_cuda, tmp_path, device, expected):
    bridge = bridge_for(tmp_path, device)
    try:
        scored(bridge, shoot(tmp_path / "small", THRESHOLD - 1))
        scored(bridge, shoot(tmp_path / "large", THRESHOLD))
        assert fake_cuda == [expected]  # loaded once, on the chosen device, for both folders
    finally:
        bridge.close()
