"""Inputs of the interpret commands: regions of a genome or literal sequences, as window tables
and uint8 codes.

Regions get a window of the model's input length centred on their summit or midpoint, N-padded
past contig ends (coordinates 0-based, half-open); sequences must be exactly the input length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.intervals import centre_starts, read_bed

log = logging.getLogger(__name__)


def read_regions(paths: str | Sequence[str], genome: Genome) -> pd.DataFrame:
    """One or more BED / narrowPeak files, concatenated in order.

    Parameters
    ----------
    paths : str or sequence of str
        The files.
    genome : Genome
        Contig names are resolved to its spelling and checked.

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open) and the files' other columns; the same interval
        (and summit) listed in several files is kept once.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    frames = [read_bed(p, genome) for p in paths]
    bed = pd.concat(frames, ignore_index=True)
    key = ["chrom", "start", "end"] + (["summit"] if "summit" in bed.columns else [])
    return bed.drop_duplicates(key).reset_index(drop=True)


def _sequence_inputs(seq_len: int, seqs: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    bad = [i for i, s in enumerate(seqs) if len(s) != seq_len]
    if bad:
        raise ZooError(f"--seq #{bad[0] + 1} has {len(seqs[bad[0]])} bp; the model takes exactly {seq_len} bp")
    codes = np.stack([encode(s) for s in seqs])
    t = pd.DataFrame(
        {
            "name": [f"seq{i + 1}" for i in range(len(seqs))],
            "chrom": ".",
            "start": 0,
            "end": seq_len,
            "region_start": 0,
            "region_end": seq_len,
        }
    )
    return t, codes


def _region_names(bed: pd.DataFrame) -> list[str]:
    """The BED name column, ``chrom:start-end`` where there is none (or it is ``.`` or empty)."""
    names = (
        bed["name"].astype(str).tolist()
        if "name" in bed.columns
        else [f"{c}:{s}-{e}" for c, s, e in zip(bed.chrom, bed.start, bed.end)]
    )
    return [n if n not in (".", "") else f"{c}:{s}-{e}" for n, c, s, e in zip(names, bed.chrom, bed.start, bed.end)]


def _region_windows(bed: pd.DataFrame, seq_len: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Regions and the starts of their (summit-)centred windows, one region per distinct window."""
    start = centre_starts(bed.start, bed.end, seq_len, bed["summit"] if "summit" in bed.columns else None)
    first = ~pd.DataFrame({"c": bed.chrom.to_numpy(), "s": start}).duplicated().to_numpy()
    if not first.all():  # the same summit in several peak files: one window
        log.info("%d region(s) share a window with an earlier one and are explained once", int((~first).sum()))
        bed, start = bed[first].reset_index(drop=True), start[first]
    return bed, start


def _region_inputs(
    seq_len: int, genome: Genome, regions: str | Sequence[str], max_regions: int | None
) -> tuple[pd.DataFrame, np.ndarray]:
    bed = read_regions(regions, genome)
    if not len(bed):
        raise ZooError(f"{regions if isinstance(regions, str) else ', '.join(regions)}: no regions")
    if max_regions and len(bed) > max_regions:
        bed = bed.iloc[:max_regions]
    bed, start = _region_windows(bed, seq_len)
    rs = np.clip(bed.start.to_numpy() - start, 0, seq_len)
    re_ = np.clip(bed.end.to_numpy() - start, 0, seq_len)
    t = pd.DataFrame(
        {
            "name": _region_names(bed),
            "chrom": bed.chrom.to_numpy(),
            "start": start,
            "end": start + seq_len,
            "region_start": rs,
            "region_end": np.maximum(re_, rs + 1),
        }
    )
    return t, genome.batch_codes(t.chrom.tolist(), t.start.tolist(), seq_len)


def load_inputs(
    seq_len: int,
    genome: Genome | None = None,
    regions: str | Sequence[str] | None = None,
    seqs: Sequence[str] | None = None,
    max_regions: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The inputs of an interpret command: regions of a genome or literal sequences (one of them).

    Parameters
    ----------
    seq_len : int
        The model's input length (bp).
    genome : Genome, optional
        Needed with ``regions``.
    regions : str or sequence of str, optional
        BED / narrowPeak files; each region gets a window of ``seq_len`` bp centred on its summit
        or midpoint (:func:`~zoo_tools.data.intervals.centre_starts`), N-padded past contig ends.
    seqs : sequence of str, optional
        Sequences of exactly ``seq_len`` bp.
    max_regions : int, optional
        Keep the first that many regions.

    Returns
    -------
    tuple
        ``(table, codes)``: one row per input (``name, chrom, start, end`` of the window, 0-based,
        half-open, and ``region_start, region_end``: the region inside the window, window
        indices), codes ``(N, seq_len)`` uint8.
    """
    if bool(regions) == bool(seqs):
        raise ZooError("give --regions BED (with --genome) or --seq ACGT..., not both")
    if seqs:
        return _sequence_inputs(seq_len, seqs)
    if genome is None:
        raise ZooError("--regions needs --genome FASTA")
    return _region_inputs(seq_len, genome, regions, max_regions)


def safe_name(name: str) -> str:
    """``name`` made safe for a file name (at most 80 characters).

    Parameters
    ----------
    name : str
        E.g. an input's name (a BED name or ``chrom:start-end``).

    Returns
    -------
    str
        Letters, digits and ``-_.`` kept, anything else made ``_``; cut to 80 characters.
    """
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]
