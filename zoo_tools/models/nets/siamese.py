"""The siamese network: one shared trunk applied to both alleles, an antisymmetric head."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import progress_bar
from zoo_tools.models.heads import SiameseHead
from zoo_tools.models.model import ZooModel
from zoo_tools.models.nets import NetKind, register_net


class SiameseNet(nn.Module):
    """``(ref, alt)`` one-hot ``(N, 4, L)`` each -> ``(N, T)`` through one shared trunk."""

    def __init__(self, trunk: nn.Module, head: SiameseHead):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(ref), self.trunk(alt))


class SiameseZooModel(ZooModel):
    """A fine-tuned siamese model: it scores **pairs** of sequences.

    ``compare(ref, alt)`` -> ``(N, T)`` predicted ``log((alt + 1) / (ref + 1))`` per task (group);
    ``predict_pairs`` does it in batches from strings, arrays or tensors. A single sequence has no
    output (``predict`` says so).
    """

    is_siamese = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ZooError(
            f"{self.card.name} is a siamese model: it compares two alleles; use "
            f"model.compare(ref, alt), model.predict_pairs(...) or zoo score-variants"
        )

    def compare(self, ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        self.check_input(ref)
        self.check_input(alt)
        return self.head(self.trunk(ref), self.trunk(alt))

    def predict_pairs(
        self, ref, alt, batch_size: int = 64, progress: bool = True, device: str | torch.device | None = None
    ) -> np.ndarray:
        """``(N, T)`` float32 imbalance for paired inputs (strings, ``(N, 4, L)`` arrays or tensors)."""
        xr, xa = self._as_one_hot(ref, None), self._as_one_hot(alt, None)
        if xr.shape != xa.shape:
            raise ZooError(f"ref and alt inputs differ in shape: {tuple(xr.shape)} vs {tuple(xa.shape)}")
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.eval().to(device)
        out = []
        with (
            torch.no_grad(),
            progress_bar(total=len(xr), desc=f"compare {self.card.name}", unit="pair", disable=not progress) as bar,
        ):
            for i in range(0, len(xr), batch_size):
                out.append(self.compare(xr[i : i + batch_size].to(device), xa[i : i + batch_size].to(device)).cpu())
                bar.update(len(out[-1]))
        return torch.cat(out).numpy() if out else np.zeros((0, self.card.n_tasks), np.float32)


register_net(NetKind("siamese", SiameseNet, SiameseZooModel, SiameseHead))
