"""Personal fine-tuning: fit a model's head to one photographer's keep/reject decisions.

Backbone features are computed once (frozen); only the head trains, with the pairwise margin
ranking loss of :mod:`photocull.training.losses` (every pick should score above every reject, and more
stars above fewer). Fast on a CPU: a few hundred full-batch steps on a few hundred feature rows.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from .losses import pairwise_margin_ranking_loss

__all__ = ["fit_preference_head", "preference_metrics"]


def fit_preference_head(head: nn.Module, features: torch.Tensor, targets: torch.Tensor,
                        steps: int = 300, lr: float = 1e-3, margin: float = 0.1,
                        anchor_weight: float = 0.1, seed: int = 0) -> nn.Module:
    """A copy of ``head`` fine-tuned so that ``head(features)`` orders rows like ``targets``.

    Loss: pairwise margin ranking (fixed ``margin`` on the 0-1 output) plus ``anchor_weight`` x
    MSE to the head's original outputs, which keeps the scale (and the order among photos the
    user did not distinguish) close to the original model. ``head`` itself is not modified.
    """
    torch.manual_seed(seed)
    tuned = copy.deepcopy(head)
    tuned.train()
    features = features.detach().float()
    targets = targets.detach().float().reshape(-1)
    with torch.no_grad():
        original = head(features).detach().reshape(-1)
    opt = torch.optim.Adam(tuned.parameters(), lr=lr)
    for _ in range(int(steps)):
        opt.zero_grad(set_to_none=True)
        pred = tuned(features).reshape(-1)
        loss = pairwise_margin_ranking_loss(pred, targets, margin=margin)
        loss = loss + anchor_weight * nn.functional.mse_loss(pred, original)
        loss.backward()
        opt.step()
    tuned.eval()
    return tuned


def preference_metrics(scores, targets) -> dict[str, float]:
    """Agreement of ``scores`` with decision ``targets`` (higher = preferred).

    ``pairwise_accuracy``: share of pairs with different targets that the scores order the same
    way (ties in score count half); ``auc``: the same over pick-vs-reject pairs only, i.e. the ROC
    AUC of the score separating picks (target >= 1) from rejects (target <= 0).
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    t = np.asarray(targets, dtype=np.float64).reshape(-1)

    def agree(mask_hi, mask_lo, strict=True):
        ds = s[:, None] - s[None, :]
        dt = t[:, None] - t[None, :]
        pairs = mask_hi[:, None] & mask_lo[None, :] & (dt > 0 if strict else True)
        n = int(pairs.sum())
        if n == 0:
            return float("nan"), 0
        return float(((ds > 0) + 0.5 * (ds == 0))[pairs].sum() / n), n

    everything = np.ones_like(t, dtype=bool)
    pairwise, n_pairs = agree(everything, everything)
    auc, n_auc = agree(t >= 1, t <= 0)
    return {"pairwise_accuracy": pairwise, "auc": auc, "pairs": n_pairs, "pick_reject_pairs": n_auc}
