"""New heads over a trunk embedding, with their losses.

:class:`MultiTaskHead` maps a trunk embedding ``(N, C, B')`` to ``(N, T, B)`` outputs for T tracks
and B bins: optional average pooling of ``B'`` embedding bins down to ``B`` (``B'`` must be a
multiple of ``B``), optionally ``layers`` convolutions of ``hidden`` channels across bins
(``kernel_size``, dilations 1, 2, 4, ...: each output bin sees its neighbours, which a small base
model's local embedding does not), a 1x1 convolution to the tasks, and an output transform fixed
by the loss:

==============  ======================================  =====================================
loss            head outputs (``logits``)               prediction (``forward``)
==============  ======================================  =====================================
``poisson``     log rate                                ``exp(logits) * scale``
``mse``         signal / scale                          ``logits * scale``
``bce``         logit of a peak call per bin            ``sigmoid(logits)``
``multinomial`` profile logits + log total (BPNet)      ``softmax(profile) * exp(log total)``
==============  ======================================  =====================================

``scale`` (``(T,)``, a buffer saved with the head) is the per-task normalisation: the mean target
of each task **on the training split** (see :func:`task_scale`). Training targets are divided by
it so tasks of different magnitude weigh alike in the loss (the seeds' pitfall: MSE across tasks
of different scale ignores the small ones), and predictions are multiplied back, so a saved model
predicts in the tracks' own units.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from zoo_tools.core.errors import ZooError

LOSSES = ("poisson", "mse", "bce", "multinomial")


def task_scale(train_targets: np.ndarray, loss: str) -> np.ndarray:
    """Per-task scale ``(T,)`` from the **training** targets ``(N, T, B)`` only (1 for bce).

    Uses the mean over windows and bins (floored at 1e-6): statistics of validation or test
    windows must never enter training (leaky pre-processing).

    Parameters
    ----------
    train_targets : ``(N, T, B)`` targets of the training windows, in the tracks' units.
    loss : the head's loss (:data:`LOSSES`); ``bce`` targets are not scaled.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` float32.
    """
    t = np.asarray(train_targets, dtype=np.float64)
    if loss == "bce":
        return np.ones(t.shape[1], np.float32)
    return np.maximum(t.mean(axis=(0, 2)), 1e-6).astype(np.float32)


class MultiTaskHead(nn.Module):
    """Embedding ``(N, C, B')`` -> ``(N, T, B)``; see the module docstring for losses."""

    def __init__(
        self,
        in_channels: int,
        n_tasks: int,
        in_bins: int,
        n_bins: int,
        loss: str = "poisson",
        hidden: int = 0,
        scale: np.ndarray | None = None,
        dropout: float = 0.0,
        layers: int = 1,
        kernel_size: int = 1,
    ):
        super().__init__()
        if loss not in LOSSES:
            raise ZooError(f"head.loss '{loss}' is not one of {', '.join(LOSSES)}")
        if in_bins % n_bins:
            raise ZooError(
                f"head: the trunk gives {in_bins} bins, which cannot be pooled to {n_bins} target bins "
                f"(choose a bin size whose bin count divides {in_bins})"
            )
        if hidden == 0 and (layers > 1 or kernel_size > 1):
            raise ZooError("head: layers > 1 or kernel_size > 1 need a hidden width (head.hidden)")
        self.config = dict(in_channels=in_channels, n_tasks=n_tasks, in_bins=in_bins, n_bins=n_bins, loss=loss)
        self.config.update(hidden=hidden, dropout=dropout, layers=layers, kernel_size=kernel_size)
        self.loss_name = loss
        self.pool = nn.AvgPool1d(in_bins // n_bins) if in_bins != n_bins else nn.Identity()
        mods: list[nn.Module] = [nn.Dropout(dropout)] if dropout else []
        width = in_channels
        for i in range(layers if hidden else 0):  # dilated convolutions across bins: context of
            mods += [nn.Conv1d(width, hidden, kernel_size, dilation=2**i, padding="same"), nn.GELU()]
            width = hidden  # +-(kernel_size // 2) * (2**layers - 1) bins around each bin
        mods.append(nn.Conv1d(width, n_tasks, 1))
        self.net = nn.Sequential(*mods)
        self.counts = nn.Linear(hidden or in_channels, n_tasks) if loss == "multinomial" else None
        self.register_buffer(
            "scale", torch.as_tensor(np.ones(n_tasks) if scale is None else scale, dtype=torch.float32)
        )

    def logits(self, emb: torch.Tensor) -> torch.Tensor:
        """Pre-activation outputs ``(N, T, B)`` (multinomial: ``(N, T, B + 1)``, last = log total)."""
        h = self.pool(emb)
        out = self.net(h)
        if self.counts is not None:
            feats = self.net[:-1](h).mean(-1) if len(self.net) > 1 else h.mean(-1)
            out = torch.cat([out, self.counts(feats)[:, :, None]], dim=-1)
        return out

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits -> predictions in the tracks' units."""
        s = self.scale[None, :, None]
        if self.loss_name == "poisson":
            return torch.exp(logits) * s
        if self.loss_name == "mse":
            return logits * s
        if self.loss_name == "bce":
            return torch.sigmoid(logits)
        profile, log_total = logits[..., :-1], logits[..., -1:]
        return torch.softmax(profile, dim=-1) * torch.exp(log_total) * s

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.activate(self.logits(emb))

    def loss(
        self, logits: torch.Tensor, targets: torch.Tensor, task_weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Mean loss against raw targets ``(N, T, B)`` (scaled here), weighted per task."""
        y = targets / self.scale[None, :, None] if self.loss_name != "bce" else targets
        if self.loss_name == "poisson":
            per = torch.exp(logits) - y * logits
        elif self.loss_name == "mse":
            per = (logits - y) ** 2
        elif self.loss_name == "bce":
            per = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
        else:
            profile, log_total = logits[..., :-1], logits[..., -1]
            total = y.sum(-1)
            mnll = -(y * torch.log_softmax(profile, dim=-1)).sum(-1) / profile.shape[-1]
            per = (mnll + (log_total - torch.log1p(total)) ** 2)[..., None]
        per_task = per.mean(dim=(0, 2))
        if task_weights is not None:
            per_task = per_task * task_weights / task_weights.mean()
        return per_task.mean()


class SiameseHead(nn.Module):
    """Twin embeddings ``(N, C, B')`` of a reference and an alternative sequence -> ``(N, T)``.

    The variant sits at the centre of both inputs; the head reads the ``context_bins`` embedding
    bins around it, encodes each allele with the same layer (``f``), compares them with an MLP on
    ``[f_ref, f_alt, f_alt - f_ref]`` (``g``) and is antisymmetric **by construction**:
    ``out(ref, alt) = (g(ref, alt) - g(alt, ref)) / 2``, so swapping the alleles flips the sign
    and identical alleles give exactly 0. Output: predicted ``log((alt + 1) / (ref + 1))`` per task.
    """

    def __init__(
        self,
        in_channels: int,
        in_bins: int,
        n_tasks: int,
        context_bins: int = 5,
        hidden: int = 64,
        dropout: float = 0.0,
    ):
        super().__init__()
        context_bins = max(1, min(context_bins, in_bins))
        self.config = dict(
            in_channels=in_channels,
            in_bins=in_bins,
            n_tasks=n_tasks,
            context_bins=context_bins,
            hidden=hidden,
            dropout=dropout,
        )
        self.context = context_bins
        self.encode = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(in_channels * context_bins, hidden), nn.GELU()
        )
        self.compare = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Linear(hidden, n_tasks))

    def centre(self, emb: torch.Tensor) -> torch.Tensor:
        """``(N, C, B')`` -> ``(N, C, context_bins)`` around the centre bin (``B' // 2``)."""
        lo = emb.shape[-1] // 2 - self.context // 2
        return emb[..., lo : lo + self.context]

    def forward(self, ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        fr, fa = self.encode(self.centre(ref)), self.encode(self.centre(alt))
        fwd = self.compare(torch.cat([fr, fa, fa - fr], dim=1))
        rev = self.compare(torch.cat([fa, fr, fr - fa], dim=1))
        return 0.5 * (fwd - rev)
