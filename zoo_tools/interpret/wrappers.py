"""One scalar per sequence and task: the explicit reduction every explanation needs.

A zoo model maps ``(N, 4, L)`` one-hot (A,C,G,T) to ``(N, T, B)`` tracks; ISM, gradients and
DeepLIFT need ``(N, T')``: a number per sequence for each explained task. :class:`Explained` makes
that choice visible:

* ``tasks``: task names or regular expressions (default all);
* ``bins``: output bins ``[start, end)`` averaged (default all; :func:`centre_bins` for the ``k``
  bins around the window centre, where a motif or variant placed at the centre acts);
* ``combine``: one output, the mean over the selected tasks (what attribution maps and TF-MoDISco
  explain when several tasks are chosen), instead of one output per task;
* ``scale``: ``"output"`` explains the model's output (e.g. coverage for a Poisson model: what ISM
  and variant effects report), ``"raw"`` the head's output before the output activation (log rate
  for a Poisson model, logit for a sigmoid one): DeepLIFT/SHAP is exact (additive) only when no
  nonlinearity follows the averaged quantity, so gradient methods default to ``"raw"``.

A **siamese** model compares two alleles; here it is explained as ``f(x) = compare(reference, x)``:
the predicted imbalance of ``x`` against a fixed reference sequence (by default the sequence being
explained, so ISM gives the predicted allelic imbalance of every single-base change).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from zoo_tools.core.errors import ZooError

SCALES = ("output", "raw")


def centre_bins(n_bins: int, k: int) -> tuple[int, int]:
    """``[start, end)`` of the ``k`` output bins around the centre of ``n_bins`` (all when k <= 0).

    Parameters
    ----------
    n_bins : int
        The model's output bins.
    k : int
        Bins wanted; ``k <= 0`` or ``k >= n_bins``: all.

    Returns
    -------
    tuple of int
        ``(start, end)`` bin indices, 0-based, half-open, with ``start = (n_bins - k) // 2``.
    """
    if k <= 0 or k >= n_bins:
        return 0, n_bins
    start = (n_bins - k) // 2
    return start, start + k


class Explained(nn.Module):
    """``(N, 4, L)`` float32 one-hot -> ``(N, T')``: the selected tasks' output averaged over bins.

    ``forward(x) == finish(body(x))``: ``body`` is the model's trunk and head (the trunk alone for
    a siamese model), ``finish`` the output activation and the task / bin reduction, so that the
    fast ISM path can patch ``body``'s layers.
    """

    def __init__(
        self,
        model,
        tasks: Sequence[str] | None = None,
        bins: tuple[int, int] | None = None,
        scale: str = "output",
        combine: bool = False,
    ):
        super().__init__()
        from zoo_tools.models.tasks import select_tasks

        if scale not in SCALES:
            raise ZooError(f"scale '{scale}': choose one of {', '.join(SCALES)}")
        self.model, self.scale = model, scale
        self.siamese = bool(getattr(model, "is_siamese", False))
        card = model.card
        self.task_idx = np.asarray(select_tasks(card.tasks, list(tasks) if tasks else None))
        self.task_names = card.tasks["name"].astype(str).to_numpy()[self.task_idx].tolist()
        n_bins = card.n_bins or 1
        lo, hi = bins if bins is not None else (0, n_bins)
        if self.siamese:
            lo, hi = 0, 1
        elif not 0 <= lo < hi <= n_bins:
            raise ZooError(f"bins [{lo}, {hi}) outside the model's {n_bins} output bins")
        self.bins = (int(lo), int(hi))
        self.combine = bool(combine) and len(self.task_idx) > 1
        self.output_names = [f"mean of {len(self.task_idx)} tasks"] if self.combine else self.task_names
        self.trunk = model.trunk
        head = model.head
        if scale == "raw" and hasattr(head, "logits"):  # fine-tuned heads apply their activation inside
            head = _Logits(head)
        self.body = model.trunk if self.siamese else nn.Sequential(model.trunk, head)
        self.register_buffer("_ref_emb", torch.zeros(0), persistent=False)

    @property
    def seq_len(self) -> int:
        return int(self.model.card.seq_len)

    def set_reference(self, x_ref: torch.Tensor | None) -> None:
        """Siamese models: the reference allele ``(1, 4, L)`` every input is compared with."""
        if self.siamese:
            with torch.no_grad():
                self._ref_emb = self.trunk(x_ref) if x_ref is not None else torch.zeros(0)

    def finish(self, y: torch.Tensor) -> torch.Tensor:
        """``body``'s output -> ``(N, T')``."""
        if self.siamese:
            if not self._ref_emb.numel():
                raise ZooError("a siamese model is explained against a reference: call set_reference(x) first")
            ref = self._ref_emb.expand(len(y), *self._ref_emb.shape[1:])
            out = self.model.head(ref, y)[:, self.task_idx]
        else:
            if self.scale == "output":
                y = self.model.activation(y)
            idx = torch.as_tensor(self.task_idx, device=y.device)
            out = y.index_select(1, idx)[..., self.bins[0] : self.bins[1]].mean(-1)
        return out.mean(1, keepdim=True) if self.combine else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.finish(self.body(x))

    def single(self, task: int) -> nn.Module:
        """The same reduction for one of the explained tasks: ``(N, 4, L) -> (N, 1)``."""
        return _OneTask(self, task)


class _Logits(nn.Module):
    """A zoo_tools head's pre-activation output (``head.logits``)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.head.logits(emb)


class _OneTask(nn.Module):
    def __init__(self, explained: Explained, task: int):
        super().__init__()
        self.explained, self.task = explained, task

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.explained(x)[:, self.task : self.task + 1]


def explain(
    model, tasks: Sequence[str] | None = None, window_bins: int = 0, scale: str = "output", combine: bool = False
) -> Explained:
    """:class:`Explained` averaging the ``window_bins`` centre bins, in eval mode.

    Parameters
    ----------
    model : ZooModel or siamese model
        The model explained.
    tasks : sequence of str, optional
        Task names or regular expressions; default all.
    window_bins : int
        The centre output bins averaged (:func:`centre_bins`); 0: all bins.
    scale : str
        ``"output"`` (the model's output) or ``"raw"`` (the head's, before the output activation).
    combine : bool
        One output, the mean over the selected tasks, instead of one per task.

    Returns
    -------
    Explained
        ``(N, 4, L)`` float32 one-hot -> ``(N, T')``, ``T'`` the selected tasks (1 with ``combine``).
    """
    n_bins = model.card.n_bins or 1
    return Explained(model, tasks, centre_bins(n_bins, window_bins), scale, combine).eval()
