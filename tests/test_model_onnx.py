"""ONNX export against onnxruntime on real photos, OnnxScorer and load_scorer(backend="onnx")."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from photocull.model import ModelLoadError, create_model, load_model, load_scorer
from photocull.model.onnx_backend import OnnxScorer, export_onnx


def test_real_weights_onnx_matches_torch_on_photos(tmp_path, shared_data, kodak):
    photos = [kodak / f"kodim{i:02d}.webp" for i in (3, 14, 23)] + \
             [shared_data / "clive" / "images" / n for n in ("10.webp", "1000.JPG")]
    torch.manual_seed(0)
    m = create_model(pretrained=True, image_size=224, hidden=(64, 32)).eval()
    with torch.no_grad():  # put the outputs inside 0-1 so the comparison is not hidden by clipping
        m.head.layers[-1].bias.fill_(0.5)
    imgs = [Image.open(p) for p in photos]
    x = np.stack([m.preprocess(im) for im in imgs])
    path = export_onnx(m, tmp_path / "model.onnx", verify_inputs=x)
    assert json.loads((tmp_path / "config.json").read_text()) == m.config
    scorer = OnnxScorer(path, providers="cpu", intra_op_threads=1)
    with torch.no_grad():
        expected = m(torch.from_numpy(x)).numpy()
    raw = scorer.session.run(None, {"pixels": x})[0]
    assert raw.shape == (len(photos),)
    assert np.abs(raw - expected).max() <= 1e-4
    assert 0 < raw.min() and raw.max() < 1 and raw.std() > 0
    assert np.abs(scorer.predict(imgs, batch_size=2) - m.predict(imgs)).max() <= 1e-2
    assert scorer.image_size == 224 and scorer.model_id == m.model_id


def test_export_refuses_another_models_config(tmp_path):
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8))
    (tmp_path / "config.json").write_text(json.dumps({**m.config, "hidden": [4, 4]}))
    with pytest.raises(ValueError, match="different model"):
        export_onnx(m, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_a_saved_pretrained_model_exports_next_to_its_files(tmp_path):
    """A model trained from pretrained weights, saved, loaded and exported into its own folder (how
    the embedded default is shipped): the saved config describes the loaded model exactly."""
    m = create_model(pretrained=True, image_size=32, hidden=(8, 8)).eval()
    m.save(tmp_path)
    loaded = load_model(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == loaded.config
    assert loaded.config["pretrained"] is False
    export_onnx(loaded, tmp_path / "model.onnx")
    assert OnnxScorer(tmp_path / "model.onnx", providers="cpu").model_id == loaded.model_id


def test_load_scorer_onnx_exports_once_and_detects_stale(tmp_path, monkeypatch):
    torch.manual_seed(0)
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    folder = tmp_path / "m"
    m.save(folder)
    s = load_scorer(folder, backend="onnx", device="cpu")
    assert isinstance(s, OnnxScorer) and s.path == folder / "model.onnx"
    img = Image.new("RGB", (50, 40), (10, 200, 30))
    assert abs(s.predict([img])[0] - m.predict([img])[0]) <= 1e-2
    stamp = s.path.stat().st_mtime_ns
    assert load_scorer(folder, backend="onnx", device="cpu").path.stat().st_mtime_ns == stamp  # reused
    with torch.no_grad():
        m.head.layers[-1].bias.add_(0.3)
    m.save(folder)  # new weights -> the old model.onnx is stale
    s2 = load_scorer(folder, backend="onnx", device="cpu")
    assert s2.model_id == m.model_id != s.model_id
    assert abs(s2.predict([img])[0] - m.predict([img])[0]) <= 1e-2
    assert load_scorer(s2.path, backend="onnx", device="cpu").model_id == m.model_id


def test_load_scorer_onnx_read_only_folder_goes_to_cache(tmp_path, monkeypatch):
    import photocull.model.onnx_backend as ob

    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    folder = tmp_path / "ro"
    m.save(folder)
    monkeypatch.setattr(ob.os, "access", lambda p, mode: False)
    s = load_scorer(folder, backend="onnx", device="cpu")
    assert not (folder / "model.onnx").exists()
    assert (tmp_path / "cache") in s.path.parents and (s.path.parent / "config.json").exists()
    assert load_scorer(folder, backend="onnx", device="cpu").path == s.path


def test_onnx_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="missing"):
        OnnxScorer(tmp_path / "model.onnx")
    (tmp_path / "model.onnx").write_bytes(b"\x08garbage")
    with pytest.raises(ModelLoadError, match="corrupt"):
        OnnxScorer(tmp_path / "model.onnx")
    with pytest.raises(ModelLoadError):
        load_scorer(tmp_path / "empty", backend="onnx")


def test_cpu_onnx_inference_runs_in_small_chunks_with_the_same_scores(tmp_path):
    from photocull.model.scoring import CPU_CHUNK

    torch.manual_seed(0)
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    scorer = OnnxScorer(export_onnx(m, tmp_path / "model.onnx"), "cpu")
    x = np.random.default_rng(0).standard_normal((2 * CPU_CHUNK + 1, 3, 32, 32), dtype=np.float32)
    real, sizes = scorer.session, []

    class Recording:  # onnxruntime's InferenceSession is a C++ type: wrap it to see the batches
        def get_providers(self):
            return real.get_providers()

        def run(self, names, feeds):
            sizes.append(len(next(iter(feeds.values()))))
            return real.run(names, feeds)

    scorer.session = Recording()
    got = scorer.predict_batch(x)
    assert sizes == [CPU_CHUNK, CPU_CHUNK, 1]
    scorer.session = real
    assert np.allclose(got, np.concatenate([scorer.predict_batch(x[i:i + 1]) for i in range(len(x))]), atol=1e-4)


def test_auto_scores_a_small_folder_on_the_cpu_even_where_cuda_is_there(tmp_path, monkeypatch):
    import photocull.model.scoring as scoring

    monkeypatch.setattr(scoring, "nvidia_driver_present", lambda: True)  # a CUDA machine, faked
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert scoring.default_backend("auto") == "torch"
    small = scoring.GPU_MIN_PHOTOS - 1
    assert scoring.auto_device("auto", small) == "cpu" and scoring.auto_device(None, small) == "cpu"
    assert scoring.auto_device("auto", scoring.GPU_MIN_PHOTOS) == "auto"  # big enough for the GPU
    assert scoring.auto_device("auto", None) == "auto" and scoring.auto_device("cuda", 3) == "cuda"
    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    m.save(tmp_path / "m")
    s = load_scorer(tmp_path / "m", photos=30)
    assert isinstance(s, OnnxScorer) and s.session.get_providers() == ["CPUExecutionProvider"]


def test_preprocessing_a_real_decode_matches_the_formula(kodak):
    from photocull.app.core.decode import load_image
    from photocull.model.scoring import REDUCING_GAP, Preprocessor

    pre = Preprocessor(96, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    img = load_image(kodak / "kodim05.webp", min_side=96)
    x = pre(img)
    ref = np.asarray(img.resize((96, 96), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP), np.float64) / 255
    ref = ((ref - np.array(pre.mean)) / np.array(pre.std)).transpose(2, 0, 1)
    assert x.shape == (3, 96, 96) and x.dtype == np.float32 and x.flags.c_contiguous
    assert np.abs(x - ref).max() <= 1e-5 and ref.std() > 0.5


def test_cpu_sessions_leave_the_other_cores_to_decoding_and_never_spin(tmp_path):
    from photocull.model.scoring import cpu_inference_threads

    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    options = OnnxScorer(export_onnx(m, tmp_path / "model.onnx"), "cpu").session.get_session_options()
    assert options.intra_op_num_threads == cpu_inference_threads() >= 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert OnnxScorer(tmp_path / "model.onnx", "cpu", intra_op_threads=2).session.get_session_options() \
        .intra_op_num_threads == 2
