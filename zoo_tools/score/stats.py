"""Variant-effect scores from reference and alternative predictions.

Per task, over the scored bins ``b`` (``window_bins`` bins centred on the bin holding the variant,
or all bins; :func:`score_bins`), with ``r_i`` / ``a_i`` the reference / alternative prediction of
bin ``i``:

* ``ref`` / ``alt``: the mean prediction, ``mean_i r_i`` / ``mean_i a_i``.
* ``diff = alt - ref`` (of those means).
* ``log2fc = log2((max(alt, 0) + pc) / (max(ref, 0) + pc))``.
* ``maxdiff``: the signed ``a_i - r_i`` of the bin where ``|a_i - r_i|`` is largest.
* ``sad = sum_i a_i - sum_i r_i``: baskerville ``src/baskerville/snps.py`` ``compute_scores``,
  stat ``SUM`` (called ``SAD`` before December 2023): ``alt_preds_sum - ref_preds_sum``, sums over
  the length axis (also Enformer's SAD, alt - ref summed over positions).
* ``l2 = sqrt(sum_i (a_i - r_i)^2)``: baskerville ``compute_scores``, stat ``D2``:
  ``np.linalg.norm(altref_diff, ord=2, axis=1)`` over the length axis.
* ``jsd``: the Jensen-Shannon distance (base 2, in ``[0, 1]``) between the profiles normalised
  over the scored bins, ``p_i = max(r_i, 0) / sum_j max(r_j, 0)`` and ``q_i`` likewise from
  ``a``: ``sqrt((KL(q || m) + KL(p || m)) / 2)`` with ``m = (p + q) / 2`` and logarithms base 2.
  This is kundajelab/variant-scorer ``src/utils/helpers.py`` ``get_variant_scores``:
  ``jensenshannon(x, y, base=2.0)`` of scipy over the alt and ref profiles, there the softmax of
  ChromBPNet's profile logits, here the clipped predictions divided by their sum (as its
  ``adjust_indel_jsd`` normalises, ``p / np.sum(p)``), computed as scipy's ``jensenshannon``
  does (``rel_entr`` terms). An all-zero (after clipping) profile is taken as uniform over the
  scored bins, the softmax of constant logits, where scipy would give NaN (0/0): two all-zero
  profiles score 0. Round-off below 0 under the square root is clipped to 0.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.special import rel_entr

from zoo_tools.core.errors import ZooError

SCORES = ("diff", "log2fc", "ref", "alt", "maxdiff", "sad", "l2", "jsd")


def score_bins(n_bins: int, variant_bin: int, window_bins: int) -> slice:
    """Output bins scored.

    Parameters
    ----------
    n_bins : int
        Output bins of the model.
    variant_bin : int
        The bin holding the variant (0-based).
    window_bins : int
        How many bins to score, centred on ``variant_bin`` and clipped to the output; 0 (or at
        least ``n_bins``): all.

    Returns
    -------
    slice
        Bins ``[lo, lo + window_bins)``.
    """
    if window_bins <= 0 or window_bins >= n_bins:
        return slice(0, n_bins)
    lo = min(max(variant_bin - window_bins // 2, 0), n_bins - window_bins)
    return slice(lo, lo + window_bins)


def _log2fc(r: np.ndarray, a: np.ndarray, pseudocount: float) -> np.ndarray:
    rm, am = r.mean(-1), a.mean(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log2((np.maximum(am, 0) + pseudocount) / (np.maximum(rm, 0) + pseudocount))


def _maxdiff(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    d = a - r
    idx = np.abs(d).argmax(-1)
    return np.take_along_axis(d, idx[..., None], -1)[..., 0]


def _profile(x: np.ndarray) -> np.ndarray:
    """``(..., b)`` predictions clipped at 0 and normalised to sum 1 over the bins; uniform where all 0."""
    x = np.maximum(x, 0)
    total = x.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 1.0 / x.shape[-1], x / total)  # NaN stays NaN


def _jsd(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance, base 2, between the bin profiles of ``a`` and ``r`` -> ``(n, T)``."""
    q, p = _profile(a), _profile(r)
    m = (p + q) / 2.0
    js = (rel_entr(q, m).sum(-1) + rel_entr(p, m).sum(-1)) / np.log(2.0)
    return np.sqrt(np.maximum(js / 2.0, 0.0))


# kind -> f(r, a, pseudocount), r and a (n, T, b) float64 over the scored bins -> (n, T)
_SCORE_FUNCTIONS = {
    "diff": lambda r, a, pc: a.mean(-1) - r.mean(-1),
    "log2fc": _log2fc,
    "ref": lambda r, a, pc: r.mean(-1),
    "alt": lambda r, a, pc: a.mean(-1),
    "maxdiff": lambda r, a, pc: _maxdiff(r, a),
    "sad": lambda r, a, pc: a.sum(-1) - r.sum(-1),
    "l2": lambda r, a, pc: np.linalg.norm(a - r, ord=2, axis=-1),
    "jsd": lambda r, a, pc: _jsd(r, a),
}


def _score(kind: str, r: np.ndarray, a: np.ndarray, pseudocount: float) -> np.ndarray:
    """One kind of score of ``(n, T, b)`` float64 predictions over the scored bins -> ``(n, T)``."""
    if kind not in _SCORE_FUNCTIONS:
        raise ZooError(f"--score '{kind}' is not one of {', '.join(SCORES)}")
    return _SCORE_FUNCTIONS[kind](r, a, pseudocount)


def effect_scores(
    ref: np.ndarray, alt: np.ndarray, kinds: Iterable[str], bins: slice, pseudocount: float = 1.0
) -> dict[str, np.ndarray]:
    """Scores of predictions over the scored bins.

    Parameters
    ----------
    ref, alt : numpy.ndarray
        ``(n, T, B)`` predictions for the reference and alternative windows.
    kinds : iterable of str
        Scores to compute, from :data:`SCORES`.
    bins : slice
        The output bins scored (:func:`score_bins`).
    pseudocount : float
        ``pc`` of ``log2fc``.

    Returns
    -------
    dict
        ``{kind: (n, T) float64}``.
    """
    r, a = ref[:, :, bins].astype(np.float64), alt[:, :, bins].astype(np.float64)
    return {k: _score(k, r, a, pseudocount) for k in kinds}


def parse_scores(text: str | Iterable[str]) -> list[str]:
    """``--score`` value: comma-separated (or a list of) score names, checked, duplicates dropped.

    Parameters
    ----------
    text : str or iterable of str
        E.g. ``"diff,log2fc"``.

    Returns
    -------
    list of str
        The names from :data:`SCORES`, in the order given.
    """
    kinds = [k.strip() for k in (text.split(",") if isinstance(text, str) else text) if k.strip()]
    bad = [k for k in kinds if k not in SCORES]
    if bad or not kinds:
        raise ZooError(f"--score {','.join(bad) or '(empty)'}: choose from {', '.join(SCORES)} (comma-separated)")
    return list(dict.fromkeys(kinds))
