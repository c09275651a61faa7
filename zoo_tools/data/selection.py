"""Which windows a model trains on: summit-centred peak windows plus GC-matched background (or
the genome tiled), blacklist-filtered and split (by chromosome, or by region within contigs).

Coordinates are 0-based half-open (``chrom, start, end``), one length (the model's input). The
same selection runs in ``zoo check-data`` and in ``zoo finetune``, so a data YAML that passes
the check does not fail later for want of validation or test windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, short_list
from zoo_tools.data.config import DataConfig
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import centre_windows, filter_blacklist, gc_matched_background, load_blacklist, read_bed
from zoo_tools.data.splits import SPLITS, check_split_overlap, split_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowChoice:
    """How windows are chosen, for callers without a recipe (``zoo check-data``): the defaults of a
    recipe's ``windows:`` block (:class:`~zoo_tools.train.config.WindowSpec`)."""

    peaks: bool = True
    background_ratio: float = 1.0
    min_spacing: int = 64


def genome_blacklist(blacklist: str, genome: Genome) -> pd.DataFrame:
    """The blacklist's intervals in the genome's contig spelling (``chr1`` / ``1`` aliases).

    Lines on contigs the genome lacks cannot apply; they are counted and named in a warning.

    Parameters
    ----------
    blacklist : str
        A BED file, or a genome name gReLU ships a blacklist for (``hg38``, ``hg19``, ``mm10``).
    genome : Genome

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end`` (0-based half-open) on the genome's contigs.
    """
    bl = load_blacklist(blacklist)
    names = {c: resolve_contig(c, genome.contigs, "") for c in dict.fromkeys(bl["chrom"])}
    chrom = bl["chrom"].map(names)
    absent = chrom.isna()
    if absent.any():
        missing = sorted({c for c, hit in names.items() if hit is None})
        log.warning(
            "blacklist %s: %d line(s) on %d contig(s) absent from the genome (%s) do not apply",
            blacklist,
            int(absent.sum()),
            len(missing),
            short_list(missing),
        )
    return bl[~absent].assign(chrom=chrom[~absent]).reset_index(drop=True)


def _suggest_split(w: pd.DataFrame) -> str:
    with_data = w.chrom.value_counts()
    top = ", ".join(f"{c} ({n:,} windows)" for c, n in with_data.head(5).items())
    if len(with_data) < 3:
        return (
            f"windows lie on {len(with_data)} contig(s) only: {top}. Whole-contig splits need at least 3 "
            f"contigs with data; use `splits: {{by: region}}` (contiguous val/test blocks inside each contig)"
        )
    c = list(with_data.index)
    return f"contigs with windows: {top}; e.g. `splits: {{val: [{c[-2]}], test: [{c[-1]}]}}`"


def require_every_split(w: pd.DataFrame, splits) -> None:
    """A one-line error when the split leaves train, val or test without windows, naming the
    contigs that have windows and a split that would work.

    Parameters
    ----------
    w : pandas.DataFrame
        Windows with ``chrom`` and ``split``.
    splits : Splits
        The data YAML's ``splits:`` block (named in the message).
    """
    if w.empty:
        raise ZooError(
            "no training windows at all: no peak window (or genome tile) of the model's input length fits "
            "inside a contig; check the peaks and the window length (zoo check-data --seq-len)"
        )
    for split in SPLITS:
        if (w.split == split).any():
            continue
        if splits.by == "region":
            share = {"train": "first part", "val": "val_fraction block", "test": "last test_fraction block"}[split]
            raise ZooError(
                f"splits by region: no {split} windows (the {share} of each contig; val_fraction "
                f"{splits.val_fraction:g}, test_fraction {splits.test_fraction:g}) hold no peak or background "
                f"window; change the fractions, or add peaks there"
            )
        named = {"train": "(all contigs not held out)", "val": splits.val, "test": splits.test}[split]
        raise ZooError(f"splits: no {split} windows with {split} = {named}; {_suggest_split(w)}")


def peak_windows(cfg: DataConfig, genome: Genome, seq_len: int, min_spacing: int) -> pd.DataFrame:
    """Summit-centred windows around the peaks of every track, near-duplicates merged.

    Parameters
    ----------
    cfg, genome : the data YAML (its ``peaks``) and the reference.
    seq_len : window length in bp.
    min_spacing : a window starting less than this many bp after the last kept one is dropped.

    Returns
    -------
    pd.DataFrame
        ``chrom, start, end`` (0-based half-open, ``seq_len`` bp; may reach past contig ends),
        sorted by chromosome and start.
    """
    if not cfg.peaks:
        raise ZooError("the data YAML lists no peaks; add `peaks:` (or set windows.peaks=false to tile)")
    frames = [centre_windows(read_bed(p.path, genome), seq_len)[["chrom", "start", "end"]] for p in cfg.peaks]
    w = pd.concat(frames, ignore_index=True).sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    keep = np.ones(len(w), bool)
    for _, idx in w.groupby("chrom", sort=False).indices.items():
        last = -(10**12)
        for i in idx:
            if w.start.iat[i] - last < min_spacing:
                keep[i] = False
            else:
                last = w.start.iat[i]
    return w[keep].reset_index(drop=True)


def build_windows(cfg: DataConfig, genome: Genome, seq_len: int, spec, seed: int) -> pd.DataFrame:
    """Peak + GC-matched background windows with ``split`` and ``is_peak`` columns.

    Parameters
    ----------
    cfg, genome : the data YAML (peaks, blacklist, splits) and the reference.
    seq_len : window length in bp (the model's input).
    spec : the recipe's :class:`~zoo_tools.train.config.WindowSpec` (without peaks: the genome tiled).
    seed : the background sampling seed.

    Returns
    -------
    pd.DataFrame
        ``chrom, start, end`` (0-based half-open, inside contigs, blacklist-filtered), ``is_peak``,
        ``split``, sorted by split, chromosome and start; every split non-empty.
    """
    if spec.peaks:
        peaks = peak_windows(cfg, genome, seq_len, spec.min_spacing)
        inside = (peaks.start >= 0) & (peaks.end <= peaks.chrom.map(genome.contigs))
        peaks = peaks[inside].reset_index(drop=True)
        bg = (
            gc_matched_background(genome, peaks, ratio=spec.background_ratio, seed=seed)
            if spec.background_ratio > 0
            else peaks.iloc[:0]
        )
        w = pd.concat(
            [peaks.assign(is_peak=True), bg[["chrom", "start", "end"]].assign(is_peak=False)], ignore_index=True
        )
    else:
        from zoo_tools.data.intervals import tile

        w = tile(genome.contigs, seq_len, seq_len // 2).assign(is_peak=False)
    if cfg.blacklist:
        w = filter_blacklist(w, genome_blacklist(cfg.blacklist, genome))
    w = split_windows(w, cfg.splits, genome.contigs)
    check_split_overlap(w)
    require_every_split(w, cfg.splits)
    return w.sort_values(["split", "chrom", "start"], kind="stable").reset_index(drop=True)
