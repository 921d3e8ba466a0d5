import json

import pytest
import torch
from torch import nn

from photocull.model import ModelLoadError, create_model, list_backbones
from photocull.model.activations import GatedBlend, PReLU
from photocull.model.backbones import create_backbone
from photocull.model.heads import MLPHead


def test_head_structure_as_paper():
    head = MLPHead(1152)
    kinds = [type(m) for m in head.layers]
    assert kinds == [nn.Linear, GatedBlend, nn.Linear, PReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in head.layers if isinstance(m, nn.Linear)] == \
        [(1152, 512), (512, 512), (512, 1)]
    out = head(torch.randn(3, 1152))
    assert out.shape == (3,)


def test_head_options():
    head = MLPHead(10, hidden=(8, 6, 4), activation="sigmoid", activation2="leaky_relu", dropout=0.1)
    kinds = [type(m).__name__ for m in head.layers]
    assert kinds == ["Linear", "Sigmoid", "Dropout", "Linear", "LeakyReLU", "Dropout",
                     "Linear", "LeakyReLU", "Dropout", "Linear"]
    head.eval()
    assert head(torch.randn(2, 10)).shape == (2,)


def test_list_backbones():
    assert {"efficientnet_lite0", "siglip2", "clip", "dinov2", "dinov3", "pe", "resnet50"} <= set(list_backbones())


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown backbone 'nope'.*efficientnet_lite0"):
        create_model(backbone="nope", pretrained=False)
    with pytest.raises(ValueError, match="unknown head"):
        create_model(head="transformer", pretrained=False)
    with pytest.raises(ValueError, match="unknown activation"):
        create_model(activation="swish", pretrained=False)
    with pytest.raises(ValueError, match="unknown config keys"):
        create_backbone("efficientnet_lite0", pretrained=False, config={"width": 2})


def test_missing_hf_weights_name_the_repo(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        create_model(backbone="siglip2", weights=str(tmp_path / "nowhere"))
    with pytest.raises(ModelLoadError) as err:
        create_model(backbone="clip", weights="photocull-tests/no-such-repo")
    assert "photocull-tests/no-such-repo" in str(err.value) and "hf download" in str(err.value)
    with pytest.raises(ModelLoadError, match="does not exist"):
        create_model(backbone="resnet50", weights=str(tmp_path / "w.safetensors"))


def test_config_rebuilds_the_model():
    m = create_model(pretrained=False, image_size=64, hidden=(32, 16), activation="select",
                     dropout=0.1, backbone_config={"multiscale": True})
    cfg = m.config
    json.dumps(cfg)
    again = create_model(**cfg)
    assert again.config == cfg
    assert m.backbone.num_features == 2224
    assert [p.shape for p in again.parameters()] == [p.shape for p in m.parameters()]
    x = torch.randn(2, 3, 64, 64)
    again.load_state_dict(m.state_dict())
    m.eval(), again.eval()
    assert torch.equal(m(x), again(x))
    assert m.features(x).shape == (2, 2224)
