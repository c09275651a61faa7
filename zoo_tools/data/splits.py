"""Chromosome splits: which windows train, validate and test a model.

Held-out windows must share no sequence with training windows, so whole contigs are held out
(the data YAML's ``splits: {val: [...], test: [...]}``; the rest is train), and
:func:`check_split_overlap` catches splits made otherwise that let neighbouring windows leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
