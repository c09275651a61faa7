"""ZooModel: one torch module contract for every source.

``ZooModel(x)`` maps ``(N, 4, L)`` float32 one-hot (A,C,G,T) to ``(N, T, B)`` predictions on the
scale the card's ``output`` describes (e.g. ``exp`` applied for Poisson-trained models). It is
``head(trunk(x))`` followed by the output activation, where ``trunk`` maps the one-hot to an
embedding ``(N, C, B')`` and ``head`` maps that to ``(N, T, B)`` — the split point for
fine-tuning. Source-specific layouts (enformer-pytorch's ``(N, L, 4)``, Kipoi's schema, BPNet's
profile + counts) live inside the adapters' trunk/head modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import progress_bar
from zoo_tools.models.card import ModelCard


class Exp(nn.Module):
    """``exp`` as a module (Poisson-trained models predict log rates)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


def rc_task_perm(tasks: pd.DataFrame) -> np.ndarray:
    """Permutation of tasks under reverse complement: a ``+`` strand task swaps with the ``-``
    task that has the same assay, cell type and description; unstranded tasks stay.

    Parameters
    ----------
    tasks : a task table (:func:`~zoo_tools.models.card.task_table`): ``assay, cell_type,
        description, strand``.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` int indices, an involution: ``perm[i]`` is the task that task ``i`` becomes on the
        other strand (``y_rc[:, perm]`` lines the reverse-complement prediction up with ``y``).
    """
    perm = np.arange(len(tasks))
    key = [(r.assay, r.cell_type, r.description) for r in tasks.itertuples()]
    minus = {k: i for i, (k, s) in enumerate(zip(key, tasks["strand"])) if s == "-"}
    for i, (k, s) in enumerate(zip(key, tasks["strand"])):
        if s == "+" and k in minus:
            perm[i], perm[minus[k]] = minus[k], i
    return perm


class ZooModel(nn.Module):
    """A pretrained model behind the zoo_tools contract.

    Attributes
    ----------
    trunk : ``(N, 4, L)`` -> embedding ``(N, C, B')``.
    head : embedding -> ``(N, T, B)`` (before ``activation``).
    activation : output transform (``Exp``, ``Sigmoid``, ``Identity``...).
    card : :class:`ModelCard`.
    """

    def __init__(
        self,
        trunk: nn.Module,
        head: nn.Module,
        card: ModelCard,
        activation: nn.Module | None = None,
        arch: dict | None = None,
    ):
        super().__init__()
        self.trunk = trunk
        self.head = head
        self.activation = activation if activation is not None else nn.Identity()
        self.card = card
        # the trunk's complete description, rebuilt without its weights by its source's
        # ``rebuild_trunk`` (fine-tuned checkpoints, format 2): {"source": "grelu", "model_params": ...},
        # {"source": "enformer", "config": ...}, ...; a model made by hand: {"source": "spec", "spec": ...}
        self.arch = arch or {"source": "spec", "spec": f"{card.source}:{card.name}"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` one-hot -> ``(N, T, B)``."""
        self.check_input(x)
        return self.activation(self.head(self.trunk(x)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk embedding ``(N, C, B')`` of ``(N, 4, L)`` one-hot."""
        self.check_input(x)
        return self.trunk(x)

    def check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[1] != 4:
            raise ZooError(f"{self.card.source}:{self.card.name} takes one-hot (N, 4, L); got shape {tuple(x.shape)}")
        if self.card.seq_len and x.shape[-1] != self.card.seq_len:
            raise ZooError(
                f"{self.card.source}:{self.card.name} takes {self.card.seq_len:,} bp inputs; got {x.shape[-1]:,} bp "
                f"(resize your windows to {self.card.seq_len:,} bp)"
            )

    # ----------------------------------------------------------------------------------------
    def predict(
        self,
        seqs,
        genome=None,
        batch_size: int = 64,
        rc_average: bool = False,
        device: str | torch.device | None = None,
        precision: str = "fp32",
        progress: bool = True,
    ) -> np.ndarray:
        """Predictions ``(N, T, B)`` float32 for sequences or genomic intervals.

        ``seqs``: a string, a list of equal-length strings, a ``(N, 4, L)`` array/tensor, or a
        DataFrame of intervals (``chrom, start, end``; re-centred to the model's input length and
        read from ``genome``). ``rc_average`` averages the forward prediction with the flipped
        prediction of the reverse complement (strand-paired tasks swapped). ``precision``:
        ``fp32`` or ``bf16`` (autocast; CPU and recent GPUs).
        """
        x = self._as_one_hot(seqs, genome)
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if precision not in ("fp32", "bf16"):
            raise ZooError(f"precision must be fp32 or bf16, got '{precision}'")
        was_training = self.training
        self.eval().to(device)
        perm = torch.from_numpy(rc_task_perm(self.card.tasks)) if rc_average else None
        out = []
        with (
            torch.no_grad(),
            progress_bar(total=len(x), desc=f"predict {self.card.name}", unit="seq", disable=not progress) as bar,
        ):
            for i in range(0, len(x), batch_size):
                xb = x[i : i + batch_size].to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    y = self(xb).float()
                    if rc_average:
                        y_rc = self(xb.flip((-2, -1))).float()
                        y = 0.5 * (y + y_rc[:, perm.to(device)].flip(-1))
                out.append(y.cpu())
                bar.update(len(xb))
        self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros((0, self.card.n_tasks, self.card.n_bins), np.float32)

    def _as_one_hot(self, seqs, genome) -> torch.Tensor:
        from zoo_tools.data.genome import Genome, one_hot

        if isinstance(seqs, pd.DataFrame):
            if genome is None:
                raise ZooError("predicting on intervals needs a genome (genome=FASTA path or Genome)")
            g = genome if isinstance(genome, Genome) else Genome(genome)
            from zoo_tools.data.intervals import centre_starts

            starts = centre_starts(seqs["start"], seqs["end"], self.card.seq_len)
            codes = g.batch_codes(seqs["chrom"].astype(str).to_numpy(), starts, self.card.seq_len)
            from zoo_tools.data.onehot import codes_to_tensor

            return codes_to_tensor(codes)
        if isinstance(seqs, str):
            seqs = [seqs]
        if isinstance(seqs, Sequence) and seqs and isinstance(seqs[0], str):
            return torch.from_numpy(one_hot(list(seqs)))
        x = torch.as_tensor(np.asarray(seqs) if not isinstance(seqs, torch.Tensor) else seqs, dtype=torch.float32)
        return x[None] if x.ndim == 2 else x
