"""Training losses: MSE + pairwise margin ranking (the paper's loss) and a ranking loss for synthetic groups."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def pairwise_margin_ranking_loss(pred: torch.Tensor, target: torch.Tensor,
                                 margin: float | torch.Tensor | None = None,
                                 margin_scale: float = 0.25) -> torch.Tensor:
    """Hinge on every ordered pair (i, j) with target_i > target_j: max(0, m - (pred_i - pred_j)).

    ``margin`` defaults to ``margin_scale * std(target)`` of the batch (the paper uses 0.25 * std).
    Pairs with equal targets are ignored; a batch without any ordered pair gives 0.
    """
    pred = pred.reshape(-1)
    target = target.reshape(-1).to(pred.dtype)
    if margin is None:
        margin = margin_scale * target.std(unbiased=False).detach() if target.numel() > 1 else 0.0
    diff_t = target[:, None] - target[None, :]
    diff_p = pred[:, None] - pred[None, :]
    mask = diff_t > 0
    if not mask.any():
        return pred.sum() * 0.0
    return F.relu(margin - diff_p[mask]).mean()


def group_ranking_loss(scores: torch.Tensor, margin: float = 0.05,
                       pair_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Ranking loss for groups of one image at increasing distortion.

    ``scores`` is (G, L): column k holds the prediction for level k, levels sorted from least to
    most distorted, so every pair k < l should satisfy scores[:, k] >= scores[:, l] + margin.
    ``pair_weights``: one weight per pair, in ``torch.triu_indices(L, L, 1)`` order (for L = 3:
    (0,1), (0,2), (1,2)); the loss is the weighted mean. None = every pair counts the same.
    """
    if scores.dim() != 2 or scores.shape[1] < 2:
        raise ValueError("scores must be (groups, levels>=2)")
    levels = scores.shape[1]
    better, worse = torch.triu_indices(levels, levels, offset=1, device=scores.device)
    hinge = F.relu(margin - (scores[:, better] - scores[:, worse]))
    if pair_weights is None:
        return hinge.mean()
    w = torch.as_tensor(pair_weights, dtype=hinge.dtype, device=hinge.device).reshape(-1)
    if w.numel() != hinge.shape[1]:
        raise ValueError(f"{levels} levels make {hinge.shape[1]} pairs, got {w.numel()} pair weights")
    return (hinge * w).sum(1).mean() / w.sum()


def iqa_loss(pred: torch.Tensor, target: torch.Tensor, rank_weight: float = 1.0,
             margin_scale: float = 0.25) -> tuple[torch.Tensor, dict[str, float]]:
    """MSE + rank_weight * pairwise margin ranking loss. Returns (loss, parts for logging)."""
    mse = F.mse_loss(pred.reshape(-1), target.reshape(-1).to(pred.dtype))
    rank = pairwise_margin_ranking_loss(pred, target, margin_scale=margin_scale)
    loss = mse + rank_weight * rank
    return loss, {"mse": float(mse.detach()), "rank": float(rank.detach())}
