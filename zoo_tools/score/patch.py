"""The local-patch shortcut: alternative embeddings recomputed only near the variant.

A SNV changes a convolutional trunk's embedding only within the trunk's receptive field of the
variant, so the alternative window's embedding is the reference embedding with those bins
recomputed from a short crop of the alternative sequence; the head then runs on the patched
embedding. Per variant and strand this costs one full trunk pass (the reference) plus a crop,
instead of two full passes.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.models.receptive import downsampling, input_radius, random_one_hot


def _swap_base(x: torch.Tensor, pos: int) -> None:
    """Change the base at ``pos`` of one-hot ``x`` ``(1, 4, L)`` (A->C->G->T->A), in place."""
    x[0, :, pos] = x[0, :, pos].roll(1)


class LocalPatch:
    """Exact shortcut for trunks whose embedding bins see only nearby input (convolutional trunks).

    :meth:`probe` measures the bin size ``b`` and the input radius ``radius`` (bp) of the trunk by
    mutating random sequences; a trunk whose bins see most of the window (attention: Enformer,
    Borzoi) gets no patch. The scorer compares patched and full predictions on real windows before
    use, so a trunk the probe misjudges falls back to full passes.

    Parameters
    ----------
    bin_size : int
        Input bp per embedding bin (``b``).
    radius : int
        Input radius of an embedding bin (bp), one bin of margin included.
    n_bins : int
        Embedding bins per window.
    seq_len : int
        Window length (bp).
    """

    def __init__(self, bin_size: int, radius: int, n_bins: int, seq_len: int):
        self.b, self.radius, self.n_bins, self.seq_len = bin_size, radius, n_bins, seq_len

    @classmethod
    def probe(cls, model, seq_len: int, seed: int = 0, device=None) -> LocalPatch | None:
        """The patch for ``model.trunk`` on ``seq_len`` bp windows, or None (no saving to be had).

        Parameters
        ----------
        model : ZooModel
            Its ``trunk`` maps ``(N, 4, seq_len)`` one-hot to ``(N, C, n_bins)``.
        seq_len : int
            Window length (bp).
        seed : int
            Seed of the three random probe sequences.
        device : torch.device, optional
            Where the trunk runs.

        Returns
        -------
        LocalPatch or None
            None when the embedding is not a regular binning of the input, when one substitution
            changes more than half of the bins (global mixing, attention), or when the trunk fails
            on the probe.
        """
        try:
            with torch.no_grad():
                x = random_one_hot(3, seq_len, torch.Generator().manual_seed(seed)).to(device)
                base = model.trunk(x)
                b = downsampling(x, base)
                if b is None:
                    return None
                sites = enumerate((seq_len // 2 - 1, seq_len // 3, (2 * seq_len) // 3))
                radius = input_radius(model.trunk, x, base, sites, _swap_base, b, 1e-6, base.shape[-1] // 2)
        except (RuntimeError, ValueError):
            return None
        return None if radius is None else cls(b, radius + b, base.shape[-1], seq_len)

    def crop(self, start: int, end: int) -> tuple[int, int, int, int]:
        """Input crop and embedding bins for a change at input ``[start, end)`` (0-based, half-open).

        Returns
        -------
        tuple of int
            ``(lo, hi, j0, j1)``: the input crop ``[lo, hi)`` (bin-aligned) and the embedding
            bins ``[j0, j1)`` it recomputes exactly.
        """
        b, r = self.b, self.radius
        j0 = max((start - r) // b, 0)
        j1 = min((end - 1 + r) // b + 1, self.n_bins)
        lo = max(((j0 * b - r) // b) * b, 0)
        hi = min(-(-((j1 * b) + r) // b) * b, self.seq_len)
        return lo, hi, j0, j1

    def worthwhile(self, start: int, end: int) -> bool:
        """Whether the crop for a change at ``[start, end)`` is at most 60% of the window."""
        lo, hi, _, _ = self.crop(start, end)
        return hi - lo <= 0.6 * self.seq_len

    def alt_embedding(self, trunk, ref_emb: torch.Tensor, alt_codes: np.ndarray, start: int, end: int) -> torch.Tensor:
        """Reference embedding with the bins near the change recomputed from the alternative sequence.

        Parameters
        ----------
        trunk : torch.nn.Module
            ``(N, 4, L)`` one-hot -> ``(N, C, n_bins)``.
        ref_emb : torch.Tensor
            ``(n, C, n_bins)`` reference embeddings.
        alt_codes : numpy.ndarray
            ``(n, L)`` uint8 codes of the alternative windows (only the crop is one-hot encoded).
        start, end : int
            The changed input ``[start, end)``, 0-based, half-open, the same for all ``n``.

        Returns
        -------
        torch.Tensor
            ``(n, C, n_bins)`` alternative embeddings.
        """
        lo, hi, j0, j1 = self.crop(start, end)
        part = trunk(codes_to_tensor(alt_codes[:, lo:hi]).to(ref_emb.device))
        off = lo // self.b
        return torch.cat([ref_emb[..., :j0], part[..., j0 - off : j1 - off], ref_emb[..., j1:]], dim=-1)
