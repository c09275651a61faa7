"""Chromosome splits: which windows train, validate and test a model.

Held-out windows must share no sequence with training windows, so whole contigs are held out
(the data YAML's ``splits: {val: [...], test: [...]}``; the rest is train), or, for data on one
contig, contiguous blocks of every contig (``splits: {by: region}``, :func:`assign_region_splits`); and
:func:`check_split_overlap` catches splits made otherwise that let neighbouring windows leak.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, short_list
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.intervals import overlaps

SPLITS = ("train", "val", "test")


def assign_splits(
    df: pd.DataFrame, val: Sequence[str], test: Sequence[str], contigs: Iterable[str] | None = None
) -> pd.DataFrame:
    """Add a ``split`` column: ``val`` / ``test`` for windows on those contigs, else ``train``.

    Contig names in ``val`` / ``test`` may be aliases of the windows' names. A contig named in
    both is an error, and so is (when ``contigs`` is given) a name that matches no contig.

    Parameters
    ----------
    df : pandas.DataFrame
        Windows with a ``chrom`` column.
    val, test : sequence of str
        The held-out contigs.
    contigs : iterable of str, optional
        All contig names (e.g. ``Genome.contigs``); default the windows' own.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with the ``split`` column.
    """
    known = list(contigs) if contigs is not None else list(dict.fromkeys(df["chrom"]))
    both = {resolve_contig(c, known, "") or c for c in val} & {resolve_contig(c, known, "") or c for c in test}
    if both:
        raise ZooError(f"splits: contig(s) {sorted(both)} are in both val and test; a contig belongs to one split")
    out = df.copy()
    out["split"] = "train"
    for split, names in (("val", val), ("test", test)):
        for name in names:
            hit = resolve_contig(name, known, "")
            if hit is None:
                if contigs is not None:
                    raise ZooError(
                        f"splits.{split}: contig '{name}' is not in the genome (it has: {short_list(known)})"
                    )
                continue
            out.loc[out["chrom"] == hit, "split"] = split
    return out


def check_split_overlap(df: pd.DataFrame) -> None:
    """Raise if any val/test window overlaps a train window (dependent examples leak labels).

    Chromosome splits never trigger this; it catches random or hand-made splits where
    neighbouring windows share sequence.

    Parameters
    ----------
    df : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open) and ``split`` (see :func:`assign_splits`).
    """
    if "split" not in df.columns:
        raise ZooError("intervals have no 'split' column; assign splits first")
    train = df[df["split"] == "train"]
    for split in ("val", "test"):
        part = df[df["split"] == split]
        hit = overlaps(part, train)
        if hit.any():
            r = part[hit].iloc[0]
            raise ZooError(
                f"{int(hit.sum())} {split} window(s) overlap train windows (first: {r.chrom}:"
                f"{r.start}-{r.end}); split by chromosome so held-out windows share no sequence with training"
            )


def assign_region_splits(df: pd.DataFrame, contigs: dict[str, int], val_fraction: float, test_fraction: float):
    """Split windows by position inside each contig: contiguous train, val and test blocks.

    On a contig of length ``n`` the train block is ``[0, a)``, val ``[a, b)`` and test ``[b, n)``
    with ``a = n (1 - val - test)`` and ``b = n (1 - test)``; a window is assigned the block it lies
    in, and a window straddling a boundary is dropped (so no held-out window overlaps a training one).

    Parameters
    ----------
    df : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open), contigs spelled as in ``contigs``.
    contigs : dict
        Contig lengths in bp.
    val_fraction, test_fraction : float
        The share of each contig held out for validation and test.

    Returns
    -------
    tuple
        ``(windows with a split column, number dropped at block boundaries)``.
    """
    n = df["chrom"].map(contigs).to_numpy(dtype=float)
    a, b = np.round(n * (1 - val_fraction - test_fraction)), np.round(n * (1 - test_fraction))  # whole bp
    start, end = df["start"].to_numpy(), df["end"].to_numpy()
    split = np.where(end <= a, "train", np.where((start >= a) & (end <= b), "val", np.where(start >= b, "test", "")))
    out = df.assign(split=split)
    keep = split != ""
    return out[keep].reset_index(drop=True), int((~keep).sum())


def split_windows(df: pd.DataFrame, splits, contigs: dict[str, int]) -> pd.DataFrame:
    """Add the ``split`` column the data YAML's ``splits:`` block asks for (by chromosome or region).

    Parameters
    ----------
    df : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open), contigs spelled as in the genome.
    splits : Splits
        The data YAML's block (:class:`~zoo_tools.data.config.Splits`).
    contigs : dict
        The genome's contig lengths.

    Returns
    -------
    pandas.DataFrame
        ``df`` with ``split``; by region, windows straddling a block boundary are left out (logged).
    """
    if splits.by == "chromosome":
        return assign_splits(df, splits.val, splits.test, contigs)
    out, dropped = assign_region_splits(df, contigs, splits.val_fraction, splits.test_fraction)
    if dropped:
        logging.getLogger(__name__).warning(
            "splits by region: %d window(s) straddle a train/val/test boundary and are left out", dropped
        )
    return out
