"""Transforms of binned track targets: pure functions on arrays of any shape.

``arcsinh`` (for signal p-values / fold change: linear near 0, logarithmic for outliers),
``log1p`` (counts), ``softclip`` (Enformer / Borzoi style: values above a threshold ``t`` become
``t + sqrt(x - t)``, optionally hard-clipped), and ``threshold`` (zero or binarise values below a
cut-off). None of them use sample statistics, so applying them before the train/test split does
not leak (see the seeds' "leaky pre-processing"). :func:`apply_transform` picks one by name (the
recipes' ``windows.transform``; :func:`zoo_tools.data.tracks.read_binned`'s ``transform``).
"""

from __future__ import annotations

import numpy as np

from zoo_tools.core.errors import ZooError

arcsinh = np.arcsinh  # ln(x + sqrt(x^2 + 1)): ~x near 0, ~ln(2x) for large x; any shape
log1p = np.log1p  # ln(1 + x) for non-negative counts or coverage; any shape


def softclip(x: np.ndarray, threshold: float = 32.0, hard: float | None = None) -> np.ndarray:
    """Enformer/Borzoi target squashing: ``x > t -> t + sqrt(x - t)``, then optional hard clip.

    Parameters
    ----------
    x : numpy.ndarray
        Values of any shape.
    threshold : float
        ``t``; values up to it are kept.
    hard : float, optional
        The largest value after squashing.

    Returns
    -------
    numpy.ndarray
        The dtype and shape of ``x``.
    """
    x = np.asarray(x)
    out = np.where(x > threshold, threshold + np.sqrt(np.maximum(x - threshold, 0)), x)
    if hard is not None:
        out = np.minimum(out, hard)
    return out.astype(x.dtype, copy=False)


def threshold(x: np.ndarray, cutoff: float, binary: bool = False) -> np.ndarray:
    """Values below ``cutoff`` set to 0; with ``binary=True`` returns ``(x >= cutoff)`` as float32.

    Parameters
    ----------
    x : numpy.ndarray
        Values of any shape.
    cutoff : float
    binary : bool

    Returns
    -------
    numpy.ndarray
        The shape of ``x``; its dtype, or float32 with ``binary``.
    """
    x = np.asarray(x)
    if binary:
        return (x >= cutoff).astype(np.float32)
    return np.where(x >= cutoff, x, 0).astype(x.dtype, copy=False)


TRANSFORMS = {"none": lambda x: x, "arcsinh": arcsinh, "log1p": log1p, "softclip": softclip}


def apply_transform(x: np.ndarray, name: str | None) -> np.ndarray:
    """Apply a transform by name (``none``, ``arcsinh``, ``log1p``, ``softclip``).

    Parameters
    ----------
    x : numpy.ndarray
    name : str or None
        Case-insensitive; None means ``none``; an unknown name is a :class:`ZooError`.

    Returns
    -------
    numpy.ndarray
    """
    key = (name or "none").lower()
    if key not in TRANSFORMS:
        raise ZooError(f"unknown track transform '{name}'; choose one of {', '.join(TRANSFORMS)}")
    return TRANSFORMS[key](x)
