import math

import numpy as np
import pytest
import torch

from photocull.training.losses import group_ranking_loss, iqa_loss, pairwise_margin_ranking_loss
from photocull.training.metrics import correlations, fit_logistic, logistic4, summarize


def test_correlations_hand_checked():
    # one swapped pair out of 4: SRCC = 1 - 6*2/(4*15) = 0.8, KRCC = (5-1)/6
    m = correlations([1, 2, 4, 3], [1, 2, 3, 4])
    assert m["srcc"] == pytest.approx(0.8)
    assert m["krcc"] == pytest.approx(4 / 6)
    assert m["plcc_raw"] == pytest.approx(0.8)
    perfect = correlations([3, 1, 2], [30, 10, 20])
    assert perfect["srcc"] == pytest.approx(1.0) and perfect["plcc_raw"] == pytest.approx(1.0)


def test_logistic_fit_linearises_monotone_nonlinear_relation():
    x = np.linspace(-3, 3, 60)
    y = logistic4(x, 90.0, 10.0, 0.3, 0.3)
    m = correlations(x, y)
    assert m["srcc"] == pytest.approx(1.0)
    assert m["plcc_raw"] < 0.97          # raw PLCC penalises the non-linearity
    assert m["plcc"] > 0.999             # after the fit it is gone


def test_logistic_fit_failure_falls_back_to_raw():
    assert fit_logistic(np.ones(10), np.arange(10.0)) is None     # constant predictions
    m = correlations([0.1, 0.2, 0.3], [1, 3, 2])                  # too few points to fit
    assert m["plcc"] == m["plcc_raw"]
    assert math.isnan(correlations([1, 1, 1], [1, 2, 3])["srcc"])


def test_summarize_takes_median():
    s = summarize([{"srcc": 0.1, "plcc": 0.5, "plcc_raw": 0.5, "krcc": 0.1},
                   {"srcc": 0.9, "plcc": 0.6, "plcc_raw": 0.6, "krcc": 0.2},
                   {"srcc": 0.5, "plcc": float("nan"), "plcc_raw": 0.7, "krcc": 0.3}])
    assert s["srcc"]["median"] == pytest.approx(0.5)
    assert s["plcc"]["median"] == pytest.approx(0.55) and s["plcc"]["n"] == 2
    assert s["srcc"]["mean"] == pytest.approx(0.5)


def test_pairwise_margin_ranking_hand_checked():
    pred = torch.tensor([0.5, 0.2])
    target = torch.tensor([1.0, 0.0])
    # one ordered pair, pred diff 0.3; margin 0.25*std([1,0]) = 0.125 -> satisfied
    assert float(pairwise_margin_ranking_loss(pred, target)) == pytest.approx(0.0)
    # explicit margin 0.5 -> 0.5 - 0.3
    assert float(pairwise_margin_ranking_loss(pred, target, margin=0.5)) == pytest.approx(0.2)
    # reversed prediction: 0.125 + 0.3
    assert float(pairwise_margin_ranking_loss(pred.flip(0), target)) == pytest.approx(0.425)
    # no ordered pair
    assert float(pairwise_margin_ranking_loss(pred, torch.tensor([0.3, 0.3]))) == 0.0


def test_iqa_loss_combines_mse_and_rank():
    pred = torch.tensor([0.2, 0.5], requires_grad=True)
    target = torch.tensor([1.0, 0.0])
    loss, parts = iqa_loss(pred, target, rank_weight=2.0)
    assert parts["mse"] == pytest.approx((0.8 ** 2 + 0.5 ** 2) / 2)
    assert parts["rank"] == pytest.approx(0.425)
    assert float(loss.detach()) == pytest.approx(parts["mse"] + 2 * 0.425)
    loss.backward()
    assert pred.grad[0] < 0 < pred.grad[1]   # pushes the better image up, the worse down


def test_group_ranking_loss():
    ordered = torch.tensor([[0.9, 0.6, 0.3]])
    assert float(group_ranking_loss(ordered, margin=0.1)) == 0.0
    reversed_ = ordered.flip(1)
    # pairs (0,1),(0,2),(1,2): 0.1+0.3, 0.1+0.6, 0.1+0.3 -> mean 0.5
    assert float(group_ranking_loss(reversed_, margin=0.1)) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        group_ranking_loss(torch.zeros(3))
    # weighted: (0.4*2 + 0.7*1 + 0.4*1) / 4
    assert float(group_ranking_loss(reversed_, 0.1, torch.tensor([2.0, 1.0, 1.0]))) == pytest.approx(0.475)
    with pytest.raises(ValueError, match="pair weights"):
        group_ranking_loss(reversed_, 0.1, [1.0, 1.0])
