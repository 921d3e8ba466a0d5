"""Every hub backbone from a tiny random config: forward, backward, rebuild, ONNX, Grad-CAM layers."""
import numpy as np
import pytest
import torch

from photocull.model import create_model
from photocull.model.onnx_backend import OnnxScorer, export_onnx

from fakes import TINY_VIT

TINY = {
    "siglip2": dict(TINY_VIT),
    "clip": dict(TINY_VIT),
    "dinov2": dict(TINY_VIT),
    "dinov3": dict(TINY_VIT, num_register_tokens=2),
    "pe": dict(model_name="vit_pe_core_tiny_patch16_384", embed_dim=32, depth=2, num_heads=2, img_size=32),
    "resnet50": dict(layers=[1, 1, 1, 1]),
}
PREFIX = {"siglip2": 0, "clip": 1, "dinov2": 1, "dinov3": 3, "pe": 1}


def tiny_model(name):
    torch.manual_seed(0)
    return create_model(backbone=name, backbone_config=TINY[name], pretrained=False,
                        image_size=32, hidden=(16, 8))


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_backbone_forward_backward_onnx(name, tmp_path):
    m = tiny_model(name)
    bb = m.backbone
    assert m.image_size == 32
    x = torch.randn(3, 3, 32, 32)
    feats = m.features(x)
    assert feats.shape == (3, bb.num_features)
    out = m(x)
    assert out.shape == (3,)
    out.sum().backward()
    grads = [p.grad for p in bb.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads[:1]) and any(g.abs().sum() > 0 for g in grads if g is not None)
    assert len(bb.gradcam_target_layers()) == 1
    if bb.is_vit:
        assert bb.num_prefix_tokens == PREFIX[name]
        grid = bb.reshape_transform(torch.randn(2, bb.num_prefix_tokens + 16, 5))
        assert grid.shape == (2, 5, 4, 4)
    # the recorded config rebuilds the same architecture
    again = create_model(**m.config)
    again.load_state_dict(m.state_dict())
    m.eval(), again.eval()
    with torch.no_grad():
        assert torch.allclose(m(x), again(x), atol=1e-6)
    # ONNX with a dynamic batch, same numbers as torch
    path = export_onnx(m, tmp_path / "model.onnx")
    scorer = OnnxScorer(path)
    batch = np.random.default_rng(1).standard_normal((5, 3, 32, 32), dtype=np.float32)
    with torch.no_grad():
        expected = m(torch.from_numpy(batch)).numpy()
    got = scorer.session.run(None, {"pixels": batch})[0]
    assert np.abs(got - expected).max() <= 1e-4
    assert scorer.model_id == m.model_id


def test_vit_image_size_other_than_config():
    m = create_model(backbone="siglip2", backbone_config=TINY["siglip2"], pretrained=False,
                     image_size=48, hidden=(8, 8))
    assert m.image_size == 48 and m(torch.randn(1, 3, 48, 48)).shape == (1,)
    with pytest.raises(ValueError, match="multiple of the patch size"):
        create_model(backbone="clip", backbone_config=TINY["clip"], pretrained=False, image_size=36)


def test_siglip2_loads_a_full_siglip_checkpoint_folder(tmp_path):
    """The released SigLIP2 repos hold the whole image+text model; the vision tower is taken from it,
    and preprocessing comes from the folder's preprocessor_config.json."""
    import json

    import transformers

    torch.manual_seed(0)
    text = transformers.SiglipTextConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, vocab_size=64)
    full = transformers.SiglipModel(transformers.SiglipConfig(
        text_config=text.to_dict(), vision_config=transformers.SiglipVisionConfig(**TINY_VIT).to_dict()))
    full.save_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(
        {"image_mean": [0.4, 0.5, 0.6], "image_std": [0.2, 0.3, 0.4], "size": {"height": 48, "width": 48}}))
    m = create_model(backbone="siglip2", weights=str(tmp_path), hidden=(8, 8))
    source = full.state_dict()
    mine = m.backbone.model.state_dict()
    assert all(torch.equal(v, source["vision_model." + k]) for k, v in mine.items())
    assert m.image_size == 48 and m.config["mean"] == [0.4, 0.5, 0.6] and m.config["std"] == [0.2, 0.3, 0.4]
    assert m.config["backbone_config"]["hidden_size"] == 32  # full architecture recorded for load_model


def test_timm_backbone_weights_file(tmp_path):
    from safetensors.torch import save_file

    src = tiny_model("resnet50")
    save_file({k: v.contiguous() for k, v in src.backbone.net.state_dict().items()}, str(tmp_path / "w.safetensors"))
    m = create_model(backbone="resnet50", backbone_config=TINY["resnet50"], weights=str(tmp_path / "w.safetensors"),
                     image_size=32, hidden=(8, 8))
    for k, v in src.backbone.net.state_dict().items():
        assert torch.equal(m.backbone.net.state_dict()[k], v)
