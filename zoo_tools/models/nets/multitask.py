"""The multi-task network: a trunk and a :class:`MultiTaskHead` (tracks x bins)."""

from __future__ import annotations

import torch
from torch import nn

from zoo_tools.models.heads import MultiTaskHead
from zoo_tools.models.model import ZooModel
from zoo_tools.models.nets import NetKind, register_net


class FineTuner(nn.Module):
    """Trunk + new head; ``logits`` for the loss, ``forward`` for predictions.

    ``(N, 4, L)`` float32 one-hot -> ``(N, T, B)``.
    """

    def __init__(self, trunk: nn.Module, head: MultiTaskHead):
        super().__init__()
        self.trunk, self.head = trunk, head

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` -> ``(N, T, B)`` head outputs before the loss's output transform."""
        return self.head.logits(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` -> ``(N, T, B)`` predictions."""
        return self.head(self.trunk(x))


register_net(NetKind("multitask", FineTuner, ZooModel, MultiTaskHead))
