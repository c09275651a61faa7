"""Model predictions for reference and alternative windows.

Reference and alternative windows share forward batches. With ``rc`` both windows are also
predicted reverse-complemented and the predictions averaged (as gReLU's ``rc=True``). With a
:class:`~zoo_tools.score.patch.LocalPatch` the alternative embeddings of equal-length alleles are
patched from the reference ones instead of recomputed. A siamese model outputs the imbalance of
the pair directly.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.models.model import rc_task_perm
from zoo_tools.score.patch import LocalPatch
from zoo_tools.score.windows import rc_codes, rc_spans

Span = tuple[int, int] | None


def _device(device) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def _patch_groups(spans: list[Span], patch: LocalPatch) -> dict[Span, list[int]]:
    """Rows of a batch grouped by the span they patch (None: recompute the whole window)."""
    groups: dict = {}
    for i, sp in enumerate(spans):
        groups.setdefault(sp if sp is not None and patch.worthwhile(*sp) else None, []).append(i)
    return groups


def _alt_embeddings(
    model, emb_r: torch.Tensor, alt_codes: np.ndarray, spans: list[Span], patch: LocalPatch
) -> torch.Tensor:
    """Trunk embeddings of the alternative windows, patched where the span allows it."""

    def alt_emb(sp, rows, ref_emb):
        codes = alt_codes[rows]
        if sp is None:
            return model.trunk(codes_to_tensor(codes).to(emb_r.device))
        return patch.alt_embedding(model.trunk, ref_emb, codes, *sp)

    groups = _patch_groups(spans, patch)
    if len(groups) == 1:  # the usual case: a batch of SNVs
        return alt_emb(next(iter(groups)), slice(None), emb_r)
    emb_a = torch.empty_like(emb_r)
    for sp, rows in groups.items():
        idx = torch.tensor(rows, device=emb_r.device)
        emb_a[idx] = alt_emb(sp, np.asarray(rows), emb_r[idx])
    return emb_a


def _allele_pass(
    model, xr: torch.Tensor, alt_codes: np.ndarray, spans: list[Span], patch: LocalPatch | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of reference windows (one-hot) and alternative windows (codes) -> predictions."""
    if patch is None:
        y = model(torch.cat([xr, codes_to_tensor(alt_codes).to(xr.device)]))
        return y[: len(xr)], y[len(xr) :]
    emb_r = model.trunk(xr)
    emb_a = _alt_embeddings(model, emb_r, alt_codes, spans, patch)
    act = model.activation
    return act(model.head(emb_r)), act(model.head(emb_a))


def _strand_pass(
    model,
    xr: torch.Tensor,
    alt_codes: np.ndarray,
    spans: list[Span],
    patch: LocalPatch | None,
    perm: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_allele_pass` on CPU; with ``perm`` on the reverse complements, flipped back."""
    if perm is None:
        yr, ya = _allele_pass(model, xr, alt_codes, spans, patch)
        return yr.float().cpu(), ya.float().cpu()
    yr, ya = _allele_pass(model, xr.flip((-2, -1)), rc_codes(alt_codes), rc_spans(spans, xr.shape[-1]), patch)
    return yr.float().cpu()[:, perm].flip(-1), ya.float().cpu()[:, perm].flip(-1)


def predict_alleles(
    model,
    ref_codes: np.ndarray,
    alt_codes: np.ndarray,
    rc: bool = True,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    spans: list[Span] | None = None,
    patch: LocalPatch | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions for reference and alternative windows.

    Parameters
    ----------
    model : ZooModel
        ``(N, 4, L)`` one-hot -> ``(N, T, B)``.
    ref_codes, alt_codes : numpy.ndarray
        ``(n, L)`` uint8 codes (A,C,G,T = 0..3, N = 4).
    rc : bool
        Average with the reverse complement's prediction, flipped back along bins and with
        stranded tasks swapped.
    batch_size : int
        Windows per forward batch (reference and alternative of ``batch_size // 2`` variants).
    device : str or torch.device, optional
        Default: CUDA when available.
    spans : list, optional
        Per variant the changed window positions ``(start, end)`` (0-based, half-open) of
        equal-length alleles, None for indels (:func:`~zoo_tools.score.windows.change_spans`).
    patch : LocalPatch, optional
        Patch the alternative embeddings of the variants with a span instead of recomputing them.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ref, alt)`` predictions, each ``(n, T, B)`` float32.
    """
    device = _device(device)
    model.eval().to(device)
    n = len(ref_codes)
    spans = spans if spans and patch is not None else [None] * n
    perm = torch.from_numpy(rc_task_perm(model.card.tasks)) if rc else None
    step = max(1, batch_size // 2)  # ref and alt of `step` variants per forward batch
    passes = [None, perm] if rc else [None]
    outs: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in passes]
    with torch.no_grad():
        for i in range(0, n, step):
            xr = codes_to_tensor(ref_codes[i : i + step]).to(device)
            for out, p in zip(outs, passes):
                out.append(_strand_pass(model, xr, alt_codes[i : i + step], spans[i : i + step], patch, p))
    r, a = (torch.cat([y[k] for y in outs[0]]).numpy() for k in (0, 1))
    if rc:
        r = 0.5 * (r + torch.cat([y[0] for y in outs[1]]).numpy())
        a = 0.5 * (a + torch.cat([y[1] for y in outs[1]]).numpy())
    return r, a


def predict_windows(
    model, codes: np.ndarray, rc: bool = True, batch_size: int = 64, device: str | torch.device | None = None
) -> np.ndarray:
    """Predictions of windows by :func:`predict_alleles`'s full passes (the same strands and batching).

    Parameters
    ----------
    model : ZooModel
        ``(N, 4, L)`` one-hot -> ``(N, T, B)``.
    codes : numpy.ndarray
        ``(n, L)`` uint8 codes.
    rc, batch_size, device
        As :func:`predict_alleles` takes them.

    Returns
    -------
    numpy.ndarray
        ``(n, T, B)`` float32.
    """
    h = (len(codes) + 1) // 2
    second = codes[h:] if len(codes) % 2 == 0 else np.concatenate([codes[h:], codes[:1]])
    r, a = predict_alleles(model, codes[:h], second, rc, batch_size, device)
    return np.concatenate([r, a])[: len(codes)]


def predict_siamese(
    model, ref_codes: np.ndarray, alt_codes: np.ndarray, rc: bool = True, batch_size: int = 64, device=None
) -> np.ndarray:
    """Imbalance of a siamese model for pairs of windows.

    Parameters
    ----------
    model : siamese model
        ``model.compare(ref, alt)``: two ``(N, 4, L)`` one-hot -> ``(N, T)``.
    ref_codes, alt_codes : numpy.ndarray
        ``(n, L)`` uint8 codes.
    rc : bool
        Average over both strands (both windows reverse-complemented together).
    batch_size : int
        Pairs per forward batch.
    device : str or torch.device, optional
        Default: CUDA when available.

    Returns
    -------
    numpy.ndarray
        ``(n, T)`` float32.
    """
    device = _device(device)
    model.eval().to(device)
    xr, xa = codes_to_tensor(ref_codes), codes_to_tensor(alt_codes)
    out = []
    with torch.no_grad():
        for i in range(0, len(xr), batch_size):
            r, a = xr[i : i + batch_size].to(device), xa[i : i + batch_size].to(device)
            y = model.compare(r, a)
            if rc:
                y = 0.5 * (y + model.compare(r.flip((-2, -1)), a.flip((-2, -1))))
            out.append(y.float().cpu())
    return torch.cat(out).numpy()
