"""The GUI's heatmap request (photocull.app.ui.bridge.EngineBridge.heatmap) through photocull.model.explain.heatmap,
without a test explainer: an ONNX-only model folder (no torch weights) gets occlusion maps."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from photocull.app.ui.bridge import EngineBridge  # noqa: E402
from photocull.app.ui.settings import Settings  # noqa: E402
from photocull.model import create_model  # noqa: E402
from photocull.model.onnx_backend import OnnxScorer, export_onnx  # noqa: E402


def test_onnx_only_model_explains_with_occlusion(tmp_path, monkeypatch):
    torch.manual_seed(0)
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    with torch.no_grad():
        m.head.layers[-1].bias.fill_(0.5)
    export_onnx(m, tmp_path / "model" / "model.onnx")
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.backend, settings.device, settings.checkpoint = "onnx", "cpu", str(tmp_path / "model")
    bridge = EngineBridge(settings, cache_path=tmp_path / "c.sqlite3")
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).filter(ImageFilter.SMOOTH)
    layer = bridge.heatmap(img)
    assert isinstance(bridge.scorer(), OnnxScorer)
    assert layer.mode == "RGBA" and layer.size == (80, 60)
    bridge.close()
