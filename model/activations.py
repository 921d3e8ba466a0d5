"""Activation functions for the quality head, including the paper's learnable ones.

All activations act on features with channels on the LAST dimension, e.g. ``(N, C)``.
``ACTIVATIONS`` maps a name to a factory ``factory(num_channels) -> nn.Module``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.01


class PReLU(nn.Module):
    """Per-channel learnable leaky ReLU: ``x if x >= 0 else a_c * x`` (channels last)."""

    def __init__(self, num_channels: int, init: float = 0.25):
        super().__init__()
        self.a = nn.Parameter(torch.full((num_channels,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, self.a * x)


class GatedBlend(nn.Module):
    """Per channel c: ``y = w·σ(clamp(α x + β, ±20)) + (1 − w)·PReLU_a(x)``, ``w = σ(g)``.

    Init: g = 0 (w = 0.5), α = 1, β = 0, a = 0.25 (the paper's initialisation, arXiv 2509.17374).
    """

    CLAMP = 20.0
    BRANCHES = ("sigmoid", "prelu")

    def __init__(self, num_channels: int):
        super().__init__()
        self.g = nn.Parameter(torch.zeros(num_channels))
        self.alpha = nn.Parameter(torch.ones(num_channels))
        self.beta = nn.Parameter(torch.zeros(num_channels))
        self.prelu = PReLU(num_channels, 0.25)

    def gate(self) -> torch.Tensor:
        """Per-channel weight ``w`` of the sigmoid branch, shape (C,)."""
        return torch.sigmoid(self.g)

    def mixture(self) -> torch.Tensor:
        """Per-channel weights over ``BRANCHES`` (sigmoid, prelu), shape (C, 2)."""
        w = self.gate()
        return torch.stack([w, 1 - w], dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.gate()
        s = torch.sigmoid(torch.clamp(self.alpha * x + self.beta, -self.CLAMP, self.CLAMP))
        return w * s + (1 - w) * self.prelu(x)


class SelectActivation(nn.Module):
    """Per-channel softmax mixture of {sigmoid, leaky_relu, gelu, tanh}; logits start at 0 (0.25 each)."""

    BRANCHES = ("sigmoid", "leaky_relu", "gelu", "tanh")

    def __init__(self, num_channels: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(num_channels, len(self.BRANCHES)))

    def mixture(self) -> torch.Tensor:
        """Per-channel weights over ``BRANCHES``, shape (C, 4), rows sum to 1."""
        return torch.softmax(self.logits, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        candidates = torch.stack(
            [torch.sigmoid(x), F.leaky_relu(x, LEAKY_SLOPE), F.gelu(x), torch.tanh(x)], dim=-1
        )
        return (candidates * self.mixture()).sum(dim=-1)


ACTIVATIONS: dict[str, Callable[[int], nn.Module]] = {
    "relu": lambda c: nn.ReLU(),
    "gelu": lambda c: nn.GELU(),
    "sigmoid": lambda c: nn.Sigmoid(),
    "tanh": lambda c: nn.Tanh(),
    "leaky_relu": lambda c: nn.LeakyReLU(LEAKY_SLOPE),
    "prelu": lambda c: PReLU(c, 0.25),
    "gated": GatedBlend,
    "select": SelectActivation,
}


def get_activation(name: str, channels: int) -> nn.Module:
    """Build activation ``name`` for ``channels`` features; ValueError lists the valid names."""
    try:
        factory = ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; valid names: {', '.join(sorted(ACTIVATIONS))}"
        ) from None
    return factory(int(channels))


def activation_stats(act: nn.Module) -> dict | None:
    """JSON-able statistics of a learnable mixture activation, or None for fixed ones.

    ``mean_weight``: mean over channels of each branch's weight; ``argmax_histogram``: how many
    channels give each branch the largest weight; for GatedBlend also ``mean_gate`` (mean w).
    """
    if not hasattr(act, "mixture"):
        return None
    with torch.no_grad():
        mix = act.mixture().detach().float().cpu()
    branches = list(act.BRANCHES)
    winners = torch.bincount(mix.argmax(dim=-1), minlength=len(branches))
    stats = {
        "type": type(act).__name__,
        "channels": int(mix.shape[0]),
        "branches": branches,
        "mean_weight": {b: float(mix[:, i].mean()) for i, b in enumerate(branches)},
        "argmax_histogram": {b: int(winners[i]) for i, b in enumerate(branches)},
    }
    if hasattr(act, "gate"):
        stats["mean_gate"] = float(mix[:, 0].mean())
    return stats
