
import pytest
import torch

from photocull.model import ModelLoadError, create_model
from photocull.model.backbones.efficientnet import build_efficientnet_lite0, load_lukemelas_state, packaged_weights_path

MACAW = 88


@pytest.fixture(scope="module")
def classifier():
    return build_efficientnet_lite0(pretrained=True).eval()


def test_real_weights_recognise_the_macaw(classifier, kodak):
    m = create_model(backbone="efficientnet_lite0", pretrained=False, image_size=224)
    from PIL import Image

    x = torch.from_numpy(m.preprocess(Image.open(kodak / "kodim23.webp")))[None]
    with torch.no_grad():
        probs = classifier(x).softmax(-1)[0]
    assert probs.argmax().item() == MACAW
    assert probs[MACAW] > 0.5
    # the backbone's pooled features are exactly what the classifier sees
    m.backbone.net.load_state_dict({k: v for k, v in classifier.state_dict().items()
                                    if not k.startswith("classifier.")})
    m.eval()
    with torch.no_grad():
        feats = m.features(x)
        logits = classifier.classifier(feats)
    assert feats.shape == (1, 1280)
    assert torch.allclose(logits.softmax(-1)[0], probs, atol=1e-5)


def test_weights_load_every_tensor_in_order(classifier):
    source = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    target = classifier.state_dict()
    assert len(source) == len(target)
    for (_, a), (_, b) in zip(source.items(), target.items()):
        assert torch.equal(a.to(b.dtype), b)
    assert any(k.endswith("num_batches_tracked") for k in target)


def test_mismatching_checkpoint_is_a_clear_error(tmp_path):
    source = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    keys = list(source)
    bad = dict(source)
    bad[keys[0]] = torch.zeros(16, 3, 3, 3)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(ModelLoadError, match=r"\(16, 3, 3, 3\).*conv_stem.weight"):
        load_lukemelas_state(build_efficientnet_lite0(pretrained=False), tmp_path / "bad.pth")
    del bad[keys[-1]]
    torch.save(bad, tmp_path / "short.pth")
    with pytest.raises(ModelLoadError, match="295 tensors"):
        load_lukemelas_state(build_efficientnet_lite0(pretrained=False), tmp_path / "short.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="cannot read"):
        load_lukemelas_state(build_efficientnet_lite0(pretrained=False), tmp_path / "junk.pth")


def test_pretrained_flag_controls_weights():
    pre = create_model(pretrained=True, hidden=(8, 8))
    rnd = create_model(pretrained=False, hidden=(8, 8))
    w = "backbone.net.conv_stem.weight"
    assert torch.equal(pre.state_dict()[w], build_efficientnet_lite0(True).state_dict()["conv_stem.weight"])
    assert not torch.equal(pre.state_dict()[w], rnd.state_dict()[w])
    assert pre.image_size == 224 and pre.config["mean"] == pytest.approx([0.485, 0.456, 0.406])


def test_multiscale_features_extend_the_plain_ones():
    plain = create_model(pretrained=True, hidden=(8, 8)).eval()
    multi = create_model(pretrained=True, hidden=(8, 8), backbone_config={"multiscale": True}).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        f_plain, f_multi = plain.features(x), multi.features(x)
    assert f_multi.shape == (2, 2224)
    assert torch.allclose(f_multi[:, :1280], f_plain, atol=1e-5)
    assert (f_multi[:, 1280:][:, 40:80] > 0).all()  # std half of the first tapped stage
