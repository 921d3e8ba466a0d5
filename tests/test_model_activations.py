import json

import pytest
import torch
from torch import nn

from photocull.model import ACTIVATIONS, get_activation
from photocull.model.activations import GatedBlend, SelectActivation
from photocull.model.heads import MLPHead

EXPECTED = {"relu", "gelu", "sigmoid", "tanh", "leaky_relu", "prelu", "gated", "select"}


def test_table_has_the_documented_names():
    assert set(ACTIVATIONS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_and_gradients(name):
    torch.manual_seed(0)
    act = get_activation(name, 5)
    x = torch.randn(7, 5, requires_grad=True)
    y = act(x)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for p in act.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get_activation("swishy", 4)
    for name in EXPECTED:
        assert name in str(err.value)


def test_fixed_activations_match_torch():
    x = torch.linspace(-3, 3, 13).reshape(1, 13)
    assert torch.equal(get_activation("relu", 13)(x), torch.relu(x))
    assert torch.allclose(get_activation("leaky_relu", 13)(x), nn.functional.leaky_relu(x, 0.01))
    prelu = get_activation("prelu", 13)
    assert torch.allclose(prelu(x), torch.where(x >= 0, x, 0.25 * x))
    assert prelu.a.shape == (13,)


def test_gated_init_values():
    act = GatedBlend(6)
    assert torch.equal(act.g.data, torch.zeros(6))
    assert torch.equal(act.alpha.data, torch.ones(6))
    assert torch.equal(act.beta.data, torch.zeros(6))
    assert torch.equal(act.prelu.a.data, torch.full((6,), 0.25))
    assert torch.allclose(act.gate(), torch.full((6,), 0.5))


def test_gated_formula_by_hand():
    act = GatedBlend(3)
    with torch.no_grad():
        act.g.copy_(torch.tensor([0.0, 2.0, -1.0]))
        act.alpha.copy_(torch.tensor([1.0, 30.0, -0.5]))
        act.beta.copy_(torch.tensor([0.0, 1.0, 0.3]))
        act.prelu.a.copy_(torch.tensor([0.25, 0.1, 0.5]))
    x = torch.tensor([[-2.0, 1.5, -4.0], [3.0, -0.2, 0.7]])
    expected = torch.empty_like(x)
    import math

    for n in range(2):
        for c in range(3):
            xv = x[n, c].item()
            w = 1 / (1 + math.exp(-act.g[c].item()))
            z = max(-20.0, min(20.0, act.alpha[c].item() * xv + act.beta[c].item()))
            prelu = xv if xv >= 0 else act.prelu.a[c].item() * xv
            expected[n, c] = w / (1 + math.exp(-z)) + (1 - w) * prelu
    assert torch.allclose(act(x), expected, atol=1e-6)
    assert act.mixture().shape == (3, 2)
    assert torch.allclose(act.mixture().sum(-1), torch.ones(3))


def test_select_init_and_mixture():
    act = SelectActivation(4)
    assert torch.allclose(act.mixture(), torch.full((4, 4), 0.25))
    x = torch.tensor([[-1.0, 0.0, 0.5, 2.0]])
    expected = 0.25 * (torch.sigmoid(x) + nn.functional.leaky_relu(x, 0.01) + nn.functional.gelu(x) + torch.tanh(x))
    assert torch.allclose(act(x), expected, atol=1e-6)
    with torch.no_grad():
        act.logits[2, 3] = 10.0  # channel 2 -> almost pure tanh
    assert act.mixture()[2].argmax().item() == 3
    assert torch.allclose(act(x)[0, 2], torch.tanh(x[0, 2]), atol=1e-3)


def test_activation_report_is_jsonable_and_counts_channels():
    head = MLPHead(8, hidden=(6, 5), activation="select", activation2="gated")
    with torch.no_grad():
        head.layers[1].logits[:2, 1] = 5.0  # 2 channels prefer leaky_relu, the rest tie -> argmax 0
        head.layers[3].g[:] = -3.0  # all gates favour the PReLU branch
    report = head.activation_report()
    json.dumps(report)
    assert [r["layer"] for r in report] == ["layers.1", "layers.3"]
    select, gated = report
    assert select["argmax_histogram"] == {"sigmoid": 4, "leaky_relu": 2, "gelu": 0, "tanh": 0}
    assert sum(select["mean_weight"].values()) == pytest.approx(1.0)
    assert gated["argmax_histogram"] == {"sigmoid": 0, "prelu": 5}
    assert gated["mean_gate"] == pytest.approx(torch.sigmoid(torch.tensor(-3.0)).item())
    assert MLPHead(8, activation="relu", activation2="relu").activation_report() == []
