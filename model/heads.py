"""Quality heads: pooled features (N, d) -> raw quality (N,) on the 0-1 target scale."""
from __future__ import annotations

from torch import nn

from .activations import activation_stats, get_activation


class MLPHead(nn.Module):
    """``Linear(d→h1) → act → [dropout] → Linear(h1→h2) → act2 → [dropout] → ... → Linear(→1)``.

    The paper's gated head is ``activation="gated", activation2="prelu"``; its sigmoid variant is
    ``activation="sigmoid", activation2="leaky_relu"``; the baseline ``"relu", "relu"``.
    ``activation`` is used after the first hidden layer, ``activation2`` after every later one.
    """

    def __init__(self, in_features: int, hidden=(512, 512), activation: str = "gated",
                 activation2: str = "prelu", dropout: float = 0.0):
        super().__init__()
        hidden = [int(h) for h in hidden]
        if not hidden:
            raise ValueError("hidden must list at least one layer size")
        layers: list[nn.Module] = []
        width = int(in_features)
        for i, h in enumerate(hidden):
            layers.append(nn.Linear(width, h))
            layers.append(get_activation(activation if i == 0 else activation2, h))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, features):
        return self.layers(features).squeeze(-1)

    def activation_report(self) -> list[dict]:
        """Per learnable activation layer: JSON-able stats (see ``activation_stats``)."""
        report = []
        for name, module in self.layers.named_children():
            stats = activation_stats(module)
            if stats is not None:
                report.append({"layer": f"layers.{name}", **stats})
        return report


HEADS = {"mlp": MLPHead}
