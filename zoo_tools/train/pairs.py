"""Allele pairs of the siamese recipe (:mod:`zoo_tools.train.recipes.siamese`): reference /
alternative windows around a SNV, their dataset, the pair loss, centre embeddings and pair metrics.

Arrays: codes ``(N, seq_len)`` uint8 with the SNV at index ``seq_len // 2``; centre embeddings
``(N, C, context_bins)`` float32; targets, weights and predictions ``(N, groups)`` float32, the
target a log ratio ``log((alt + 1) / (ref + 1))``, NaN where a group has no observation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.metrics import pearson, spearman
from zoo_tools.core.progress import progress_bar
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.models.heads import SiameseHead


def allele_codes(genome: Genome, snvs: pd.DataFrame, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternative windows ``(N, seq_len)`` uint8 codes with each SNV at ``seq_len // 2``
    (N-padded past contig ends).

    Parameters
    ----------
    genome : the reference genome.
    snvs : one row per SNV: ``chrom``, ``pos`` (1-based), ``alt`` (one base).
    seq_len : window length in bp (the model's input length).

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        ``(ref, alt)`` codes, each ``(N, seq_len)`` uint8; ``alt`` differs at index ``seq_len // 2`` only.
    """
    c = seq_len // 2
    starts = snvs["pos"].to_numpy(np.int64) - 1 - c
    ref = genome.batch_codes(snvs["chrom"].to_numpy(), starts, seq_len)
    alt = ref.copy()
    alt[:, c] = encode("".join(snvs["alt"]))
    return ref, alt


class PairDataset(torch.utils.data.Dataset):
    """Index arrays -> ``(ref, alt, target (B, T), weight (B, T))`` float32 batches; ``ref`` /
    ``alt`` are cached embeddings, or uint8 codes turned into one-hot here."""

    def __init__(self, ref: np.ndarray, alt: np.ndarray, target: np.ndarray, weight: np.ndarray, codes: bool):
        self.ref, self.alt, self.target, self.weight, self.codes = ref, alt, target, weight, codes

    def __len__(self) -> int:
        return len(self.target)

    def _x(self, a: np.ndarray) -> torch.Tensor:
        return codes_to_tensor(a) if self.codes else torch.from_numpy(np.ascontiguousarray(a, np.float32))

    def __getitem__(self, idx):
        single = np.ndim(idx) == 0
        idx = np.atleast_1d(np.asarray(idx))
        out = (
            self._x(self.ref[idx]),
            self._x(self.alt[idx]),
            torch.from_numpy(self.target[idx]),
            torch.from_numpy(self.weight[idx]),
        )
        return tuple(t[0] for t in out) if single else out


def pair_loss(net: nn.Module, batch) -> torch.Tensor:
    """Weighted squared error over observed (non-NaN) pair x task entries.

    Parameters
    ----------
    net : the siamese network, ``net(ref, alt) -> (B, T)``.
    batch : ``(ref, alt, target, weight)`` from :class:`PairDataset`.

    Returns
    -------
    torch.Tensor
        Scalar: ``sum(weight * error**2) / sum(weight)`` over observed entries.
    """
    ref, alt, y, w = batch
    pred = net(ref, alt)
    seen = torch.isfinite(y)
    err = torch.where(seen, pred - torch.nan_to_num(y), torch.zeros_like(pred)) ** 2
    return (err * w).sum() / (w * seen).sum().clamp_min(1e-6)


def centre_embeddings(
    trunk: nn.Module, head: SiameseHead, codes: np.ndarray, desc: str, batch_size: int = 64
) -> np.ndarray:
    """``(N, C, context_bins)`` float32: the head's centre bins of the trunk embedding.

    Parameters
    ----------
    trunk, head : the (frozen) trunk and the siamese head whose ``centre`` picks the bins.
    codes : ``(N, L)`` uint8 sequence codes (one allele, e.g. from :func:`allele_codes`).
    desc, batch_size : the progress bar's label; sequences per trunk call.

    Returns
    -------
    np.ndarray
        ``(N, C, context_bins)`` float32.
    """
    trunk.eval()
    out = []
    with torch.no_grad(), progress_bar(total=len(codes), desc=desc, unit="seq") as bar:
        for i in range(0, len(codes), batch_size):
            out.append(head.centre(trunk(codes_to_tensor(codes[i : i + batch_size]))).numpy())
            bar.update(len(out[-1]))
    return np.concatenate(out)


def pair_metrics(pred: np.ndarray, obs: np.ndarray, truth: np.ndarray, groups: list[str]) -> dict:
    """Pearson / Spearman of predictions with observed log ratios (and truth), pooled and per group.

    Parameters
    ----------
    pred, obs, truth : ``(N, groups)`` predicted, observed and true log ratios (NaN: unobserved /
        unknown; entries with a NaN observation are left out).
    groups : the group names, one per column.

    Returns
    -------
    dict
        ``{"pooled": {"observed": m, "truth": m}, "per_group": {group: {"observed": m, "truth": m}}}``
        where ``m`` is ``{n, pearson, spearman, sign_agreement}`` (only ``n`` under 3 pairs); ``truth``
        only where the truth is known.
    """

    def corr(p, o):
        m = np.isfinite(o)
        if m.sum() < 3:
            return {"n": int(m.sum())}
        p3, o3 = p[m][None, None, :], o[m][None, None, :]
        return {
            "n": int(m.sum()),
            "pearson": float(pearson(p3, o3)[0]),
            "spearman": float(spearman(p3, o3)[0]),
            "sign_agreement": float(np.mean(np.sign(p[m]) == np.sign(o[m]))),
        }

    out = {"pooled": {"observed": corr(pred.ravel(), obs.ravel())}, "per_group": {}}
    if np.isfinite(truth).any():
        out["pooled"]["truth"] = corr(pred.ravel(), truth.ravel())
    for t, g in enumerate(groups):
        out["per_group"][g] = {"observed": corr(pred[:, t], obs[:, t])}
        if np.isfinite(truth[:, t]).any():
            out["per_group"][g]["truth"] = corr(pred[:, t], truth[:, t])
    return out
