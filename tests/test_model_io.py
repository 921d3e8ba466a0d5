"""Save/load, the Scorer API and ModelLoadError."""
import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from photocull.model import ModelLoadError, create_model, load_model, load_scorer
from photocull.model.iqa import IQAModel
from photocull.model.scoring import CPU_CHUNK


def small_model(**kw):
    torch.manual_seed(0)
    return create_model(pretrained=False, image_size=64, hidden=(16, 8), **kw).eval()


def photo(seed=0, size=(80, 60)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_round_trip_fp32_exact(tmp_path):
    m = small_model()
    m.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((tmp_path / "config.json").read_text()) == m.config
    loaded = load_model(tmp_path)
    assert isinstance(loaded, IQAModel) and not loaded.training
    for (ka, a), (kb, b) in zip(m.state_dict().items(), loaded.state_dict().items()):
        assert ka == kb and torch.equal(a, b)
    assert loaded.model_id == m.model_id
    x = np.stack([m.preprocess(photo(i)) for i in range(3)])
    assert np.array_equal(loaded.predict_batch(x), m.predict_batch(x))
    assert load_model(tmp_path / "model.safetensors").model_id == m.model_id


def test_round_trip_fp16_close(tmp_path):
    m = small_model()
    m.save(tmp_path, fp16=True)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "model.safetensors"))
    assert stored["head.layers.0.weight"].dtype == torch.float16
    assert stored["backbone.net.bn1.num_batches_tracked"].dtype == torch.int64
    loaded = load_model(tmp_path)
    assert loaded.head.layers[0].weight.dtype == torch.float32
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), m(x), atol=2e-3)
    assert loaded.model_id != m.model_id  # different weights, different cache key


@pytest.mark.parametrize("damage", ["no_config", "bad_json", "not_ours", "no_weights", "bad_weights",
                                    "wrong_shapes", "bad_config_values"])
def test_broken_files_raise_model_load_error(tmp_path, damage):
    m = small_model()
    m.save(tmp_path)
    cfg, weights = tmp_path / "config.json", tmp_path / "model.safetensors"
    if damage == "no_config":
        cfg.unlink()
    elif damage == "bad_json":
        cfg.write_text("{ truncated")
    elif damage == "not_ours":
        cfg.write_text("[1, 2]")
    elif damage == "no_weights":
        weights.unlink()
    elif damage == "bad_weights":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "wrong_shapes":
        cfg.write_text(json.dumps({**m.config, "hidden": [32, 8]}))
    elif damage == "bad_config_values":
        cfg.write_text(json.dumps({**m.config, "activation": "nonsense"}))
    with pytest.raises(ModelLoadError):
        load_model(tmp_path)
    with pytest.raises(ModelLoadError):
        load_scorer(tmp_path, backend="torch", device="cpu")


def test_missing_paths(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "nothing")
    with pytest.raises(ModelLoadError, match="missing"):
        load_model(tmp_path)  # empty folder
    with pytest.raises(ValueError, match="backend"):
        load_scorer(tmp_path, backend="tflite")


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    m = small_model()
    m.save(tmp_path)
    m.save(tmp_path, fp16=True)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_preprocess_matches_the_definition():
    m = small_model()
    img = Image.new("RGB", (300, 200), (255, 128, 0))
    x = m.preprocess(img)
    assert x.shape == (3, 64, 64) and x.dtype == np.float32
    mean, std = np.array(m.config["mean"]), np.array(m.config["std"])
    expected = (np.array([255, 128, 0]) / 255 - mean) / std
    assert np.allclose(x.reshape(3, -1), expected[:, None], atol=1e-5)
    assert np.array_equal(m.preprocess(img.convert("L")), m.preprocess(img.convert("L").convert("RGB")))
    pre = pickle.loads(pickle.dumps(m.preprocessor))
    assert np.array_equal(pre(photo()), m.preprocess(photo()))


def test_predict_clips_to_0_100_and_batches():
    m = small_model()
    imgs = [photo(i) for i in range(5)]
    scores = m.predict(imgs, batch_size=2)
    assert scores.shape == (5,) and scores.dtype == np.float32
    assert np.allclose(scores, m.predict_batch(np.stack([m.preprocess(i) for i in imgs])), atol=1e-4)
    with torch.no_grad():
        m.head.layers[-1].bias.fill_(50.0)
    assert np.all(m.predict(imgs[:2]) == 100.0)
    with torch.no_grad():
        m.head.layers[-1].bias.fill_(-50.0)
    assert np.all(m.predict(imgs[:2]) == 0.0)
    assert m.predict([]).shape == (0,)
    with pytest.raises(ValueError, match="expected a"):
        m.predict_batch(np.zeros((2, 3, 32, 32), np.float32))


def test_predict_batch_keeps_training_mode_and_model_id_tracks_weights():
    m = small_model()
    first = m.model_id
    assert small_model().model_id == first  # same seed, same weights, same id
    m.train()
    m.backbone.eval()  # a trainer's frozen backbone: predict_batch must not flip it back
    m.predict_batch(np.zeros((1, 3, 64, 64), np.float32))
    assert m.training and m.head.training and not m.backbone.training
    with torch.no_grad():
        m.head.layers[0].weight.add_(1.0)  # e.g. an optimizer step
    assert m.model_id != first
    m.load_state_dict(small_model().state_dict())
    assert m.model_id == first


def test_cuda_oom_halves_the_batch_then_falls_back_to_cpu(monkeypatch, caplog):
    m = small_model()
    calls = []
    real_run = IQAModel._run

    def fake_run(self, x, device):
        calls.append((device.type, len(x)))
        if device.type == "cuda":
            raise torch.cuda.OutOfMemoryError("fake")
        return real_run(self, x, device)

    monkeypatch.setattr(IQAModel, "_run", fake_run)
    monkeypatch.setattr(IQAModel, "device", property(lambda self: torch.device("cuda")))
    x = np.stack([m.preprocess(photo(i)) for i in range(4)])
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    with caplog.at_level("WARNING"):
        scores = m.predict_batch(x)
    assert calls[:3] == [("cuda", 4), ("cuda", 2), ("cuda", 1)]
    assert ("cpu", 1) in calls and "out of memory" in caplog.text
    monkeypatch.undo()
    assert np.allclose(scores, m.predict_batch(x), atol=1e-4)


def test_cpu_inference_runs_in_small_chunks_with_the_same_scores(monkeypatch):
    """A big engine batch must not become one big CPU forward pass (activation memory grows with
    the batch; on the CPU small chunks are as fast)."""
    m = small_model()
    x = np.stack([m.preprocess(photo(i)) for i in range(2 * CPU_CHUNK + 1)])
    one_by_one = np.concatenate([m.predict_batch(x[i:i + 1]) for i in range(len(x))])
    sizes = []
    real_run = IQAModel._run
    monkeypatch.setattr(IQAModel, "_run", lambda self, xb, device: sizes.append(len(xb)) or real_run(self, xb, device))
    assert np.allclose(m.predict_batch(x), one_by_one, atol=1e-4)
    assert sizes == [CPU_CHUNK, CPU_CHUNK, 1]
