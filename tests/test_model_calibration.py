"""Output calibration: the fit (training/calibration.py) and its use in IQAModel, on disk and in ONNX."""
import json

import numpy as np
import pytest
import torch

from photocull.model import create_model, load_model
from photocull.model.onnx_backend import OnnxScorer, export_onnx
from photocull.training.calibration import fit_calibration


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_fit_recovers_a_known_logistic_map():
    rng = np.random.default_rng(0)
    raw = rng.uniform(-0.2, 1.2, 400)
    target = _sigmoid(3.0 * raw - 1.5) + rng.normal(0, 0.01, raw.shape)
    cal = fit_calibration(raw, target)
    assert cal["kind"] == "logistic"
    assert cal["slope"] == pytest.approx(3.0, rel=0.05)
    assert cal["offset"] == pytest.approx(-1.5, abs=0.05)


def test_fit_keeps_the_order_even_for_anticorrelated_outputs():
    raw = np.linspace(0, 1, 50)
    cal = fit_calibration(raw, 1 - raw)  # the best a monotone map can do is flat, never reversed
    assert cal["slope"] > 0
    with pytest.raises(ValueError):
        fit_calibration(np.ones(5), np.linspace(0, 1, 5))


def _tiny(calibration=None):
    torch.manual_seed(0)
    m = create_model(pretrained=False, image_size=64, hidden=(8, 8), calibration=calibration).eval()
    with torch.no_grad():  # raw outputs above 1, like the best photos of a shoot: clipped, they tie at 100
        m.head.layers[-1].bias.fill_(1.5)
    return m


def test_calibrated_scores_of_photos_past_the_top_stay_distinct(tmp_path):
    x = np.random.default_rng(1).normal(0, 1, (6, 3, 64, 64)).astype(np.float32)
    plain = _tiny()
    raw = plain.predict_batch(x)
    assert (raw == 100).all()  # the saturation the calibration removes
    cal = {"kind": "logistic", "slope": 4.0, "offset": -2.0}
    m = _tiny(cal)
    with torch.no_grad():
        head_raw = plain(torch.from_numpy(x)).numpy()
    scores = m.predict_batch(x)
    assert np.allclose(scores, 100 * _sigmoid(4.0 * head_raw - 2.0), atol=1e-3)
    assert len(set(scores.tolist())) == len(x) and scores.max() < 100
    assert np.array_equal(np.argsort(scores), np.argsort(head_raw))
    assert m.model_id != plain.model_id and m.config["calibration"] == cal

    m.save(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["calibration"] == cal
    again = load_model(tmp_path)
    assert again.calibration == cal
    assert np.abs(again.predict_batch(x) - scores).max() < 0.05  # fp32 save: same up to rounding

    onnx = export_onnx(m, tmp_path / "model.onnx", verify_inputs=x)
    scorer = OnnxScorer(onnx, providers="cpu", intra_op_threads=1)
    assert np.abs(scorer.predict_batch(x) - scores).max() <= 1e-2


def test_invalid_calibrations_are_refused():
    with pytest.raises(ValueError, match="kind"):
        _tiny({"kind": "isotonic", "slope": 1.0, "offset": 0.0})
    with pytest.raises(ValueError, match="slope"):
        _tiny({"kind": "logistic", "slope": -1.0, "offset": 0.0})
    m = _tiny({"kind": "logistic", "slope": 2.0, "offset": 0.0})
    m.set_calibration(None)
    assert "calibration" not in m.config and m.calibration is None
