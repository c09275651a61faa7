"""A run's training windows and targets: the data YAML resolved, the windows chosen
(:mod:`zoo_tools.data.selection`), every track binned over them, and the data report.

Coordinates are 0-based half-open (``chrom, start, end``), one length (the model's input).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.selection import build_windows, peak_windows
from zoo_tools.data.tracks import read_binned
from zoo_tools.train.embeddings import embedding_shape

__all__ = ["binned_windows", "build_windows", "data_report", "peak_windows", "resolve_data", "target_geometry"]

log = logging.getLogger(__name__)


def resolve_data(data: str) -> str:
    """Path of the data YAML; ``demo`` is the demo world in ``$ZOO_HOME/demo_world`` (made once).

    Parameters
    ----------
    data : a recipe's ``data``: a data YAML path or ``demo``.

    Returns
    -------
    str
        ``data`` itself, or the demo world's ``data.yaml`` (remade when older than the generator).
    """
    if data != "demo":
        return data
    from zoo_tools.core.locks import file_lock
    from zoo_tools.data.demo import make_demo_world
    from zoo_tools.zoo.cache import zoo_home

    folder = zoo_home() / "demo_world"
    with file_lock(zoo_home() / "demo_world.lock"):  # parallel runs make it once
        if not (folder / "data.yaml").exists() or not demo_is_current(folder):
            log.warning("making the demo world in %s", folder)
            make_demo_world(str(folder))
    return str(folder / "data.yaml")


def demo_is_current(folder) -> bool:
    """Whether a demo world was made by this version of the generator (older ones lack files).

    Parameters
    ----------
    folder : the demo world's folder.

    Returns
    -------
    bool
        True when its ``summary.yaml`` names the current ``DEMO_VERSION``.
    """
    import yaml

    from zoo_tools.data.demo import DEMO_VERSION

    try:
        with open(os.path.join(folder, "summary.yaml")) as fh:
            return (yaml.safe_load(fh) or {}).get("version") == DEMO_VERSION
    except OSError:
        return False


def data_report(windows: pd.DataFrame, targets: np.ndarray, names: list[str], bin_size: int) -> dict:
    """Class balance per split and per-track depth (mean signal per bp, training windows).

    Parameters
    ----------
    windows : :func:`build_windows`'s table (``split``, ``is_peak``).
    targets : ``(N, T, B)`` float32 binned targets of those windows.
    names, bin_size : the ``T`` track names; the bin size in bp.

    Returns
    -------
    dict
        ``class_balance`` ``{split: {peak, background}}``, ``track_depth`` ``{track: mean}`` and
        ``depth_spread`` (largest / smallest depth).
    """
    balance = {
        s: {"peak": int(g.is_peak.sum()), "background": int((~g.is_peak).sum())} for s, g in windows.groupby("split")
    }
    train = windows.split.to_numpy() == "train"
    depth = {n: float(targets[train, i].mean()) for i, n in enumerate(names)}
    spread = max(depth.values()) / max(min(depth.values()), 1e-9)
    return {"class_balance": balance, "track_depth": depth, "depth_spread": spread}


def target_geometry(ctx) -> tuple[int, int, int, int, int]:
    """``(bin_size, crop, n_out_bins, C, B')``: target bins of the recipe's bin size inside the
    model's output, and the trunk's embedding shape; a one-line error when they cannot match.

    Parameters
    ----------
    ctx : the run (the base model's card and trunk, ``windows.bin_size``).

    Returns
    -------
    tuple[int, int, int, int, int]
        Target bin size (bp), target bins cropped on each side, target bins kept, and the trunk
        embedding's channels and bins.
    """
    card, seq_len = ctx.base.card, ctx.base.card.seq_len
    bin_size = ctx.recipe.windows.bin_size or card.bin_size
    if not seq_len or seq_len % bin_size:
        raise ZooError(f"windows.bin_size {bin_size} does not divide the model's input length {seq_len}")
    crop = card.crop_bins * card.bin_size // bin_size  # target bins outside the model's output
    n_out_bins = seq_len // bin_size - 2 * crop
    c, b_in = embedding_shape(ctx.base.trunk, seq_len)
    if n_out_bins < 1 or b_in % n_out_bins:
        raise ZooError(
            f"head: the trunk gives {b_in} bins, which cannot be pooled to {n_out_bins} target bins "
            f"(windows.bin_size {bin_size}); choose a bin size whose bin count divides {b_in}"
        )
    return bin_size, crop, n_out_bins, c, b_in


def binned_windows(ctx, bin_size: int, crop: int, n_bins: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The run's training windows and every track binned over them, cropped to the model's output.

    Parameters
    ----------
    ctx : the run (data YAML, genome, base model, ``windows`` and ``train.seed`` of the recipe).
    bin_size, crop, n_bins : from :func:`target_geometry`.

    Returns
    -------
    tuple
        Windows (``chrom, start, end`` 0-based half-open, ``split``, ``is_peak``) and targets
        ``(N, T, n_bins)`` float32 (mean signal per bin, transformed as the recipe says).
    """
    recipe, cfg = ctx.recipe, ctx.cfg
    windows = build_windows(cfg, ctx.genome, ctx.base.card.seq_len, recipe.windows, recipe.train.seed)
    targets = read_binned(cfg.track_paths, windows, bin_size, transform=recipe.windows.transform)
    return windows, np.ascontiguousarray(targets[:, :, crop : crop + n_bins])
