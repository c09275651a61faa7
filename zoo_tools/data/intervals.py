"""Genomic windows: BED / narrowPeak reading, tiling, peak-centred and GC-matched background
windows and blacklist filtering (chromosome splits: :mod:`zoo_tools.data.splits`).

All intervals are pandas DataFrames with at least ``chrom, start, end`` (0-based, half-open).
Contig names are rewritten to the genome's own spelling when a genome is given, so a BED file
saying ``1`` works with a FASTA saying ``chr1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, require_file, short_list
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome, gc_fraction
from zoo_tools.data.tracks import window_arrays

NARROWPEAK_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal", "pvalue", "qvalue", "summit"]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def _bed_lines(path: str) -> Iterable[tuple[int, list[str]]]:
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            line = line.rstrip("\n\r")
            yield lineno, line.split("\t") if "\t" in line else line.split()


def read_bed(path: str | os.PathLike, genome: Genome | None = None) -> pd.DataFrame:
    """Read a BED / narrowPeak file into a DataFrame (``chrom, start, end`` + extra columns).

    Ten-column files are read as narrowPeak (``name, score, strand, signal, pvalue, qvalue,
    summit``, summit being the 0-based offset from ``start``, -1 if unknown). With a ``genome``,
    contig names are resolved to the genome's spelling and every record is checked to lie on its
    contig. A malformed record is an error naming the file and line; none is dropped silently.

    Parameters
    ----------
    path : str or os.PathLike
        The file (gzip ok); ``#``, ``track`` and ``browser`` lines are skipped.
    genome : Genome, optional
        The reference to resolve and check the records against.

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end`` (int64, 0-based, half-open), then ``name`` (BED4+ files) or the
        narrowPeak columns (numeric; ``summit`` int64), in file order.
    """
    path = require_file(path, "BED file", "check the peaks/regions path")
    rows = []
    for lineno, fields in _bed_lines(path):
        where = f"{path} line {lineno}"
        if len(fields) < 3:
            raise ZooError(f"{where}: expected at least 3 tab-separated columns chrom, start, end")
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise ZooError(f"{where}: start/end must be integers, got '{fields[1]}', '{fields[2]}'") from None
        if start < 0 or end <= start:
            raise ZooError(f"{where}: need 0 <= start < end, got {start}, {end}")
        rows.append(fields[:10] if len(fields) >= 10 else fields[:4])
    if not rows:
        raise ZooError(f"{path}: no intervals in file")
    narrow = all(len(r) == 10 for r in rows)
    named = not narrow and all(len(r) >= 4 for r in rows)  # BED4+: keep the name column
    cols = NARROWPEAK_COLUMNS if narrow else ["chrom", "start", "end"] + (["name"] if named else [])
    df = pd.DataFrame([r[: len(cols)] for r in rows], columns=cols)
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    if narrow:
        for col in ("score", "signal", "pvalue", "qvalue"):
            df[col] = pd.to_numeric(df[col], errors="coerce")
        df["summit"] = pd.to_numeric(df["summit"], errors="coerce").fillna(-1).astype(np.int64)
    if genome is not None:
        df = resolve_to_genome(df, genome, path)
    return df


def resolve_to_genome(df: pd.DataFrame, genome: Genome, source: str) -> pd.DataFrame:
    """Rename contigs to the genome's spelling and check each record lies on its contig.

    Parameters
    ----------
    df : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open).
    genome : Genome
    source : str
        Named in the error for a contig the genome lacks or a record past a contig end.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with the genome's contig names.
    """
    df = df.copy()
    names = {}
    for chrom in df["chrom"].astype(str).unique():
        hit = resolve_contig(chrom, genome.contigs, source)
        if hit is None:
            first = int(np.flatnonzero(df["chrom"].astype(str).to_numpy() == chrom)[0])
            raise ZooError(
                f"{source} record {first + 1}: contig '{chrom}' is not in genome {genome.path} "
                f"(it has: {short_list(genome.contigs)}); use the same genome build or drop it"
            )
        names[chrom] = hit
    df["chrom"] = df["chrom"].astype(str).map(names)
    lengths = df["chrom"].map(genome.contigs).to_numpy()
    past = np.flatnonzero(df["end"].to_numpy() > lengths)
    if len(past):
        r = df.iloc[past[0]]
        raise ZooError(
            f"{source} record {past[0] + 1}: {r.chrom}:{r.start}-{r.end} runs past the end of "
            f"{r.chrom} (length {genome.contigs[r.chrom]:,}); check the genome build"
        )
    return df


# --------------------------------------------------------------------------------------------
# Making windows
# --------------------------------------------------------------------------------------------
def tile(
    contigs: dict[str, int], window: int, stride: int | None = None, chroms: Sequence[str] | None = None
) -> pd.DataFrame:
    """Tile contigs into windows of ``window`` bp every ``stride`` bp (default: no overlap).

    Parameters
    ----------
    contigs : dict of str to int
        ``{name: length}`` (bp), e.g. ``Genome.contigs``.
    window, stride : int
        Window length and step (bp); only whole windows are made.
    chroms : sequence of str, optional
        The contigs to tile, in order; default all.

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open), windows starting at 0.
    """
    stride = stride or window
    if window <= 0 or stride <= 0:
        raise ZooError(f"window ({window}) and stride ({stride}) must be positive")
    parts = []
    for chrom in chroms if chroms is not None else contigs:
        n = contigs[chrom]
        starts = np.arange(0, n - window + 1, stride, dtype=np.int64)
        parts.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": starts + window}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["chrom", "start", "end"])


def centre_starts(start, end, seq_len: int, summit=None) -> np.ndarray:
    """Starts of windows of ``seq_len`` bp centred on intervals.

    Coordinates are 0-based, half-open: an interval is ``[start, end)`` and so is each window,
    ``[s, s + seq_len)``. An interval's centre is its summit ``start + summit`` where one is known
    (``summit >= 0``), else its midpoint ``(start + end) // 2``; the centre lands at index
    ``seq_len // 2`` of its window.

    Parameters
    ----------
    start, end : array-like of int
        ``(N,)`` interval bounds.
    seq_len : int
        Window length (bp).
    summit : array-like, optional
        ``(N,)`` summit offsets from ``start`` (narrowPeak column 10); negative or NaN: unknown.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64 window starts; they may be negative or run past a contig end.
    """
    start = np.asarray(start, dtype=np.int64)
    centre = (start + np.asarray(end, dtype=np.int64)) // 2
    if summit is not None:
        offset = pd.Series(np.asarray(summit)).fillna(-1).to_numpy(np.int64)
        centre = np.where(offset >= 0, start + offset, centre)
    return centre - seq_len // 2


def centre_windows(df: pd.DataFrame, window: int) -> pd.DataFrame:
    """Windows of ``window`` bp centred on each record's summit (narrowPeak) or midpoint.

    Parameters
    ----------
    df : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open), optionally ``summit`` (offset from ``start``,
        -1 if unknown).
    window : int
        Window length (bp).

    Returns
    -------
    pandas.DataFrame
        ``df`` with ``start, end`` replaced by the windows' (:func:`centre_starts`) and a fresh
        index; the centre of a window of even length is ``start + window // 2``.
    """
    out = df.copy()
    summit = out["summit"] if "summit" in out.columns else None
    out["start"] = centre_starts(out["start"], out["end"], window, summit)
    out["end"] = out["start"] + window
    return out.reset_index(drop=True)


def overlaps(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Boolean ``(len(a),)``: does each interval of ``a`` overlap any interval of ``b``?

    Parameters
    ----------
    a, b : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open: touching intervals do not overlap).

    Returns
    -------
    numpy.ndarray
    """
    hit = np.zeros(len(a), dtype=bool)
    for chrom, idx in a.groupby("chrom", sort=False).indices.items():
        other = b[b["chrom"] == chrom]
        if other.empty:
            continue
        order = np.argsort(other["start"].to_numpy())
        bs = other["start"].to_numpy()[order]
        be = np.maximum.accumulate(other["end"].to_numpy()[order])
        a_s = a["start"].to_numpy()[idx]
        a_e = a["end"].to_numpy()[idx]
        k = np.searchsorted(bs, a_e, side="left") - 1  # last b starting before a ends
        hit[idx] = (k >= 0) & (be[np.maximum(k, 0)] > a_s)
    return hit


def filter_blacklist(df: pd.DataFrame, blacklist: pd.DataFrame | str) -> pd.DataFrame:
    """Drop windows overlapping a blacklist (a DataFrame, a BED path, or a gReLU genome name).

    Parameters
    ----------
    df : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open).
    blacklist : pandas.DataFrame or str
        gReLU ships the ENCODE blacklists (``hg38``, ``hg19``, ``mm10``); pass that name to use them.

    Returns
    -------
    pandas.DataFrame
        The rows of ``df`` overlapping no blacklist interval, with a fresh index.
    """
    if isinstance(blacklist, str):
        blacklist = load_blacklist(blacklist)
    return df[~overlaps(df, blacklist)].reset_index(drop=True)


def load_blacklist(name_or_path: str) -> pd.DataFrame:
    """A blacklist BED by path, or by genome name from the files gReLU ships.

    Parameters
    ----------
    name_or_path : str
        A BED file, or ``hg38``, ``hg19`` or ``mm10``.

    Returns
    -------
    pandas.DataFrame
        As :func:`read_bed` gives it.
    """
    if os.path.exists(name_or_path):
        return read_bed(name_or_path)
    try:
        from grelu.resources import get_blacklist_file

        return read_bed(get_blacklist_file(name_or_path))
    except Exception:
        raise ZooError(
            f"blacklist '{name_or_path}' is neither a BED file nor a genome gReLU ships a blacklist "
            f"for (hg38, hg19, mm10)"
        ) from None


def _gc_of(genome: Genome, cand: pd.DataFrame, length: int, block: int = 8192) -> pd.DataFrame:
    """Candidates with <= 10% N and their GC fraction, read ``block`` windows at a time (memory
    bounded by ``block x length`` bytes, not by the contigs' size)."""
    keep, gc = np.zeros(len(cand), bool), np.full(len(cand), np.nan)
    for i in range(0, len(cand), block):
        part = cand.iloc[i : i + block]
        codes = genome.batch_codes(part["chrom"], part["start"], length)
        keep[i : i + len(part)] = (codes == 4).mean(1) <= 0.1
        gc[i : i + len(part)] = gc_fraction(codes)
    return cand[keep].assign(gc=gc[keep]).reset_index(drop=True)


def _report_shortfall(wanted: int, got: int, candidates: int, positives: int) -> None:
    """Warn with the real cause when fewer background windows were drawn than asked."""
    import logging

    if got >= wanted:
        return
    reached = f"{positives:,} peaks : {got:,} background (asked {wanted:,})"
    if candidates < wanted:
        cause = (
            f"the peaks' contigs hold only {candidates:,} background tiles that overlap no peak window "
            f"(peaks cover most of them; add contigs with data, or lower windows.background_ratio)"
        )
    else:
        cause = "the background's GC content rarely matches the peaks' in some GC bins"
    logging.getLogger(__name__).warning("GC-matched background short of the ratio: %s; %s", reached, cause)


def gc_matched_background(
    genome: Genome,
    positives: pd.DataFrame,
    ratio: float = 1.0,
    seed: int = 0,
    n_bins: int = 20,
    exclude: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Background windows matched to ``positives`` in GC content, ``ratio`` per positive.

    Candidates tile the positives' contigs with their window length and exclude anything
    overlapping ``positives`` (or ``exclude``) and windows with >10% N. They are drawn per GC bin
    (``n_bins`` equal-width bins on [0, 1]) in proportion to the positives' GC histogram, seeded.

    Parameters
    ----------
    genome : Genome
    positives : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open), all of one length, contigs spelled as in the genome.
    ratio : float
        Background windows per positive.
    seed, n_bins : int
        The draw's seed and the number of GC bins.
    exclude : pandas.DataFrame, optional
        More intervals the background must not overlap.

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end, gc`` sorted by position; fewer than asked only if a GC bin has too
        few candidates (logged).
    """
    _, _, length = window_arrays(positives)
    rng = np.random.default_rng(seed)
    chroms = list(dict.fromkeys(positives["chrom"]))
    cand = tile({c: genome.contigs[c] for c in chroms}, length)
    taken = positives if exclude is None else pd.concat([positives, exclude])
    cand = cand[~overlaps(cand, taken)].reset_index(drop=True)
    cand = _gc_of(genome, cand, length)
    pos_gc = gc_fraction(genome.batch_codes(positives["chrom"], positives["start"], length))
    edges = np.linspace(0, 1, n_bins + 1)
    want = np.histogram(pos_gc[~np.isnan(pos_gc)], edges)[0] * ratio
    cbin = np.clip(np.digitize(cand["gc"], edges) - 1, 0, n_bins - 1)
    picks = []
    for b in range(n_bins):
        pool = np.flatnonzero(cbin == b)
        picks.append(rng.choice(pool, size=min(int(round(want[b])), len(pool)), replace=False))
    out = cand.iloc[np.concatenate(picks)] if picks else cand.iloc[[]]
    _report_shortfall(int(round(want.sum())), len(out), len(cand), len(positives))
    return out.sort_values(["chrom", "start"]).reset_index(drop=True)
