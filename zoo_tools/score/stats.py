"""Variant-effect scores from reference and alternative predictions.

Per task, over the selected output bins (``window_bins`` bins centred on the bin holding the
variant, or all bins): ``ref`` / ``alt`` the mean prediction over those bins, ``diff = alt -
ref``, ``log2fc = log2((alt + pc) / (ref + pc))``, ``maxdiff`` the signed ``alt - ref`` of the
bin where it is largest in absolute value.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from zoo_tools.core.errors import ZooError

SCORES = ("diff", "log2fc", "ref", "alt", "maxdiff")


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


def _maxdiff(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    d = a - r
    idx = np.abs(d).argmax(-1)
    return np.take_along_axis(d, idx[..., None], -1)[..., 0]


def _score(kind: str, r: np.ndarray, a: np.ndarray, pseudocount: float) -> np.ndarray:
    """One kind of score of ``(n, T, b)`` float64 predictions over the scored bins -> ``(n, T)``."""
    rm, am = r.mean(-1), a.mean(-1)
    if kind == "diff":
        return am - rm
    if kind == "log2fc":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log2((np.maximum(am, 0) + pseudocount) / (np.maximum(rm, 0) + pseudocount))
    if kind in ("ref", "alt"):
        return rm if kind == "ref" else am
    if kind == "maxdiff":
        return _maxdiff(r, a)
    raise ZooError(f"--score '{kind}' is not one of {', '.join(SCORES)}")


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
