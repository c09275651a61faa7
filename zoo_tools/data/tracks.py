"""bigWig tracks -> binned training targets.

``read_binned(paths, intervals, bin_size)`` returns ``(N, T, B)`` float32: for each of N windows
(equal length ``L = B * bin_size``), each of T bigWig tracks, the **mean** of the per-base signal
in each of B bins. Bases the bigWig does not cover (NaN) count as 0, and so do bases past a
contig end (the same padding rule as the genome's N padding).

How it is read, chosen by window density: windows are sorted by contig and start and grouped
into *spans* (at most ``max_span`` bp, windows within ``max_gap`` bp of each other).

* A **dense** span (tiled or overlapping windows: at least one window per ``DENSE_BP`` bp) is read
  with one ``pyBigWig.values(numpy=True)`` call into a float64 cumulative sum, and every bin mean
  of every window in it is a difference of two cumulative sums: O(B) per window, one call per
  span, memory bounded by ``max_span`` whatever the genome size or number of tracks.
* **Sparse** windows (peaks, random windows) are queried one by one for exact binned sums with
  pybigtools (Rust), which skips the per-base array entirely; windows running past a contig end
  take a padded per-base read.

Both give the mean over all bases of the bin with uncovered bases as 0 (= binned sum / bin_size),
agreeing with ``pyBigWig.values()`` + reshape to float32 precision (benchmarks/bench_tracks.py).

``read_binned(..., transform=name)`` applies a transform of :mod:`zoo_tools.data.transforms` after
binning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.core.progress import progress_bar
from zoo_tools.data.contigs import require_contig
from zoo_tools.data.transforms import apply_transform

MAX_SPAN = 1 << 22  # 4 Mb of float32 + float64 cumsum: about 50 MB while reading
MAX_GAP = 1 << 10  # windows closer than this may share one read
DENSE_BP = 2048  # read a span at once when it has a window per <= 2 kb (cheaper than per-window queries)


# --------------------------------------------------------------------------------------------
# Binning
# --------------------------------------------------------------------------------------------
def bin_mean(values: np.ndarray, bin_size: int) -> np.ndarray:
    """``(..., L)`` per-base values -> ``(..., L // bin_size)`` bin means (L divisible, NaN as 0).

    Parameters
    ----------
    values : numpy.ndarray
        ``(..., L)`` per-base values.
    bin_size : int
        Bases per bin (bp).

    Returns
    -------
    numpy.ndarray
        ``(..., L // bin_size)`` float64.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if values.shape[-1] % bin_size:
        raise ZooError(f"length {values.shape[-1]} is not a multiple of bin size {bin_size}")
    return values.reshape(*values.shape[:-1], -1, bin_size).mean(-1)


# --------------------------------------------------------------------------------------------
# bigWig reading
# --------------------------------------------------------------------------------------------
def open_bigwig(path: str | os.PathLike):
    """Open a bigWig with pyBigWig; ZooError naming the file if it is missing or not a bigWig.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    pyBigWig.bigWigFile
        Open for reading; the caller closes it.
    """
    import pyBigWig

    path = require_file(path, "bigWig track", "check the track path in the data YAML")
    try:
        bw = pyBigWig.open(path)
    except (RuntimeError, OSError):
        bw = None
    if bw is None or not bw.isBigWig():
        raise ZooError(f"{path} is not a readable bigWig file (convert bedGraph with bedGraphToBigWig)")
    return bw


def _spans(starts: np.ndarray, length: int, max_span: int, max_gap: int) -> list[tuple[int, int]]:
    """Group sorted window starts into ``(i0, i1)`` index ranges that could share one read."""
    spans, i0 = [], 0
    for i in range(1, len(starts)):
        too_long = starts[i] + length - starts[i0] > max_span
        too_far = starts[i] - (starts[i - 1] + length) > max_gap
        if too_long or too_far:
            spans.append((i0, i))
            i0 = i
    if len(starts):
        spans.append((i0, len(starts)))
    return spans


def _read_values(bw, contig: str, lo: int, hi: int) -> np.ndarray:
    """Per-base values of ``[lo, hi)`` with NaN (uncovered) as 0, via pyBigWig."""
    import pyBigWig

    if pyBigWig.numpy:
        vals = bw.values(contig, lo, hi, numpy=True)
    else:  # pragma: no cover - pyBigWig built without numpy
        vals = np.asarray(bw.values(contig, lo, hi), dtype=np.float32)
    return np.nan_to_num(vals, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def _bin_span(cs: np.ndarray, rel_starts: np.ndarray, n_bins: int, bin_size: int) -> np.ndarray:
    """Bin means from a span's cumulative sum ``cs`` (len n+1) for windows at ``rel_starts``."""
    edges = rel_starts[:, None] + np.arange(n_bins + 1, dtype=np.int64)[None, :] * bin_size
    edges = np.clip(edges, 0, len(cs) - 1)  # bases outside the span/contig contribute 0
    sums = cs[edges[:, 1:]] - cs[edges[:, :-1]]
    return sums / bin_size


def _span_means(bw, contig: str, lo: int, hi: int, rel_starts, n_bins: int, bin_size: int) -> np.ndarray:
    """Dense windows: read ``[lo, hi)`` once, bin means as differences of a float64 cumsum."""
    vals = _read_values(bw, contig, lo, hi)
    cs = np.empty(len(vals) + 1, dtype=np.float64)
    cs[0] = 0.0
    np.cumsum(vals, dtype=np.float64, out=cs[1:])
    return _bin_span(cs, rel_starts, n_bins, bin_size)


def _window_means(bw, summaries, contig: str, size: int, starts, length: int, bin_size: int) -> np.ndarray:
    """Sparse windows: one exact binned-sum query per window (pybigtools), NaN as 0."""
    n_bins = length // bin_size
    out = np.empty((len(starts), n_bins), dtype=np.float64)
    inside = (starts >= 0) & (starts + length <= size)
    query = summaries.values
    for k in np.flatnonzero(inside).tolist():
        s = int(starts[k])
        query(contig, s, s + length, bins=n_bins, summary="sum", exact=True, fillna=0.0, arr=out[k])
    out[inside] /= bin_size
    for k in np.flatnonzero(~inside).tolist():  # runs past a contig end: pad with zeros
        s = int(starts[k])
        vals = np.zeros(length, dtype=np.float64)
        lo, hi = max(s, 0), min(s + length, size)
        if hi > lo:
            vals[lo - s : hi - s] = _read_values(bw, contig, lo, hi)
        out[k] = vals.reshape(n_bins, bin_size).mean(1)
    return out


def _open_summaries(path: str):
    """pybigtools reader for exact per-window binned sums (5-10x pyBigWig per window)."""
    import warnings

    import pybigtools

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pybigtools.open(path)


def read_track(
    path: str,
    chroms: np.ndarray,
    starts: np.ndarray,
    length: int,
    bin_size: int,
    max_span: int = MAX_SPAN,
    max_gap: int = MAX_GAP,
    bar=None,
) -> np.ndarray:
    """One bigWig -> ``(N, length // bin_size)`` float32 bin means for windows ``chroms, starts``.

    A span of windows covering it densely (``DENSE_BP`` bp or less per window) is read in one call.

    Parameters
    ----------
    path : str
        The bigWig; one lacking a contig of the windows is a :class:`ZooError`.
    chroms, starts : numpy.ndarray
        ``(N,)`` contig names and int64 starts (0-based; windows may run past contig ends).
    length, bin_size, max_span, max_gap, bar
        Window length and bin size (bp), reading granularity (:func:`read_binned`), a progress bar.

    Returns
    -------
    numpy.ndarray
    """
    n_bins = length // bin_size
    out = np.zeros((len(starts), n_bins), dtype=np.float32)
    bw = open_bigwig(path)
    summaries = None
    try:
        sizes = bw.chroms()
        for chrom in dict.fromkeys(chroms.tolist()):
            name = require_contig(
                chrom,
                sizes,
                f"bigWig {path}",
                "make a bigWig that covers every contig of your windows, or drop those windows",
            )
            rows = np.flatnonzero(chroms == chrom)
            rows = rows[np.argsort(starts[rows], kind="stable")]
            s = starts[rows]
            sparse = []
            for i0, i1 in _spans(s, length, max_span, max_gap):
                lo, hi = max(int(s[i0]), 0), min(int(s[i1 - 1]) + length, sizes[name])
                if i1 - i0 >= 4 and hi - lo <= (i1 - i0) * DENSE_BP:
                    out[rows[i0:i1]] = _span_means(bw, name, lo, hi, s[i0:i1] - lo, n_bins, bin_size)
                else:
                    sparse.append(np.arange(i0, i1))
            if sparse:
                idx = np.concatenate(sparse)
                if summaries is None:
                    summaries = _open_summaries(path)
                out[rows[idx]] = _window_means(bw, summaries, name, sizes[name], s[idx], length, bin_size)
            if bar is not None:
                bar.update(len(rows))
    finally:
        bw.close()
    return out


def window_arrays(intervals: pd.DataFrame, bin_size: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Check that windows share one length (a multiple of ``bin_size``); return chroms, starts, L.

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open).
    bin_size : int, optional

    Returns
    -------
    tuple
        ``(chroms, starts, L)``: ``(N,)`` str and ``(N,)`` int64 arrays, and the length (bp).
    """
    for col in ("chrom", "start", "end"):
        if col not in intervals.columns:
            raise ZooError(f"intervals need columns chrom, start, end (missing '{col}')")
    lengths = (intervals["end"] - intervals["start"]).to_numpy()
    if len(lengths) == 0:
        raise ZooError("no intervals given")
    if (lengths != lengths[0]).any():
        raise ZooError(f"windows must all have one length to be binned together (found {sorted(set(lengths))[:5]})")
    length = int(lengths[0])
    if bin_size is not None and (bin_size <= 0 or length % bin_size):
        raise ZooError(f"window length {length} is not a positive multiple of bin size {bin_size}")
    return intervals["chrom"].astype(str).to_numpy(), intervals["start"].to_numpy(np.int64), length


def read_binned(
    paths: Sequence[str],
    intervals: pd.DataFrame,
    bin_size: int,
    *,
    transform: str | None = None,
    max_span: int = MAX_SPAN,
    max_gap: int = MAX_GAP,
    progress: bool = True,
) -> np.ndarray:
    """Binned targets ``(N, T, B)`` float32 for N equal-length windows and T bigWig tracks.

    Parameters
    ----------
    paths : sequence of str
        T bigWig paths.
    intervals : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open), all of one length L.
    bin_size : int
        bp per output bin; ``B = L // bin_size``.
    transform : str, optional
        Applied after binning (``arcsinh``, ``log1p``, ``softclip``).
    max_span, max_gap : int
        Reading granularity, see the module docstring (memory ~ 12 bytes x max_span).
    progress : bool
        Show a progress bar (:func:`~zoo_tools.core.progress.progress_bar`).

    Returns
    -------
    numpy.ndarray
        ``(N, T, B)`` float32 bin means (uncovered bases count as 0), in the order of ``intervals``.
    """
    chroms, starts, length = window_arrays(intervals, bin_size)
    out = np.empty((len(starts), len(paths), length // bin_size), dtype=np.float32)
    with progress_bar(total=len(starts) * len(paths), desc="reading tracks", unit="win", disable=not progress) as bar:
        for t, path in enumerate(paths):
            out[:, t] = read_track(str(path), chroms, starts, length, bin_size, max_span, max_gap, bar)
    if transform:
        out = apply_transform(out, transform).astype(np.float32, copy=False)
    return out


def read_bigwig_region(path: str, chrom: str, start: int, end: int) -> np.ndarray:
    """Per-base values ``(end - start,)`` float32 of one region, NaN and past-the-end as 0.

    Parameters
    ----------
    path : str
    chrom : str
        The contig (or an alias of it).
    start, end : int
        0-based, half-open; may run past the contig's ends.

    Returns
    -------
    numpy.ndarray
    """
    bw = open_bigwig(path)
    try:
        sizes = bw.chroms()
        name = require_contig(chrom, sizes, f"bigWig {path}")
        out = np.zeros(end - start, dtype=np.float32)
        lo, hi = max(start, 0), min(end, sizes[name])
        if hi > lo:
            out[lo - start : hi - start] = _read_values(bw, name, lo, hi)
        return out
    finally:
        bw.close()
