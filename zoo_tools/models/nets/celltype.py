"""The cell-type network: sequence trunk plus a second input branch carrying the cell type's signal."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.models.heads import MultiTaskHead
from zoo_tools.models.model import ZooModel
from zoo_tools.models.nets import NetKind, register_net


class CellTypeNet(nn.Module):
    """``(N, 4, L)`` one-hot + ``(N, S, B)`` signal -> ``(N, T, B)`` logits / predictions.

    The trunk embedding ``(N, C, B')`` is average-pooled to ``B`` bins and concatenated with the
    ``S`` signal channels before the head; ``n_signals=0`` is the sequence-only control.
    """

    def __init__(self, trunk: nn.Module, head: MultiTaskHead, n_signals: int, in_bins: int, n_bins: int):
        super().__init__()
        self.trunk, self.head, self.n_signals = trunk, head, n_signals
        self.pool = nn.AvgPool1d(in_bins // n_bins) if in_bins != n_bins else nn.Identity()

    def features(self, x: torch.Tensor, signal: torch.Tensor | None) -> torch.Tensor:
        h = self.pool(self.trunk(x))
        return torch.cat([h, signal], dim=1) if self.n_signals else h

    def logits(self, x: torch.Tensor, signal: torch.Tensor | None) -> torch.Tensor:
        return self.head.logits(self.features(x, signal))

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, signal))


class CellTypeZooModel(ZooModel):
    """A fine-tuned cell-type model: ``predict(seqs, signal=...)`` with ``signal`` ``(N, S, B)``
    float32 = :func:`signal_input` of the cell type's input track(s) binned like the outputs."""

    def __init__(self, trunk, head, card, arch=None, n_signals: int = 1, in_bins: int = 1, n_bins: int = 1):
        super().__init__(trunk, head, card, arch=arch)
        self.net = CellTypeNet(trunk, head, n_signals, in_bins, n_bins)

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        if self.net.n_signals and signal is None:
            raise ZooError(
                f"{self.card.name} also takes the cell type's input signal: predict(seqs, signal=...) "
                f"with signal of shape (N, {self.net.n_signals}, {self.card.n_bins})"
            )
        return self.net(x, signal)

    def predict(self, seqs, signal=None, genome=None, batch_size: int = 64, progress: bool = True, **_) -> np.ndarray:
        """``(N, T, B)`` predictions (tracks in units of their training mean)."""
        x = self._as_one_hot(seqs, genome)
        if self.net.n_signals:
            if signal is None:
                self.forward(x[:1])  # raises the one-line error
            signal = torch.as_tensor(np.asarray(signal, np.float32))
            if signal.shape != (len(x), self.net.n_signals, self.card.n_bins):
                raise ZooError(
                    f"signal has shape {tuple(signal.shape)}; expected "
                    f"({len(x)}, {self.net.n_signals}, {self.card.n_bins})"
                )
        self.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                out.append(self(x[i : i + batch_size], None if signal is None else signal[i : i + batch_size]))
        return torch.cat(out).numpy()


register_net(NetKind("celltype", CellTypeNet, CellTypeZooModel, MultiTaskHead))
