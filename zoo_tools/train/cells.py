"""Cell types as examples: which tracks are a cell type's input and targets, depth-normalised
signal and targets per cell type, and (window, cell type) example sets.

Arrays: ``signal`` ``(cells, Nw, S, B)`` and ``target`` ``(cells, Nw, T, B)`` float32, in units of
each track's mean over training-chromosome windows; example pairs ``(n, 2)`` int64 rows of
(window index, cell index).
"""

from __future__ import annotations

import numpy as np
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import DataConfig
from zoo_tools.data.onehot import codes_to_tensor


def signal_input(values: np.ndarray, track_mean: float) -> np.ndarray:
    """Input branch values: ``log1p(values / track_mean)``, so cells sequenced at different depths compare.

    Parameters
    ----------
    values : signal per bin, any shape (e.g. ``(Nw, S, B)``).
    track_mean : the track's mean signal per bp over training-chromosome windows (floored at 1e-9).

    Returns
    -------
    np.ndarray
        float32, the shape of ``values``.
    """
    return np.log1p(np.asarray(values, np.float32) / max(float(track_mean), 1e-9)).astype(np.float32)


def cell_design(cfg: DataConfig, input_assay: str, target_assays: list[str], holdout: list[str]) -> dict:
    """Which tracks are inputs / targets of which cell types, and the held-out cell types.

    Parameters
    ----------
    cfg, input_assay, target_assays, holdout : the data YAML; the head's assays and held-out cell types.

    Returns
    -------
    dict
        ``{"cells": [...complete cell types...], "targets": [assays], "input_assay": str, "inputs": {cell:
        [track idx]}, "outputs": {cell: {assay: [track idx]}}, "train_cells": [...], "holdout": [...]}``."""
    unnamed = [t.name for t in cfg.tracks if t.assay == "unknown" or t.cell_type == "unknown"]
    if unnamed:
        raise ZooError(
            f"head.type celltype needs `assay` and `cell_type` on every track of the data YAML "
            f"(missing on: {', '.join(unnamed)})"
        )
    assays = list(dict.fromkeys(t.assay for t in cfg.tracks))
    inp = [a for a in assays if a.lower() == input_assay.lower()]
    if not inp:
        raise ZooError(f"head.input_assay '{input_assay}' matches no track's assay (assays: {', '.join(assays)})")
    targets = target_assays or [a for a in assays if a not in inp]
    missing = [a for a in targets if a not in assays]
    if missing or not targets:
        raise ZooError(
            f"head.target_assays: {', '.join(missing) or 'none left'} not among the tracks' assays "
            f"({', '.join(assays)})"
        )
    cells = list(dict.fromkeys(t.cell_type for t in cfg.tracks))
    inputs = {c: [i for i, t in enumerate(cfg.tracks) if t.cell_type == c and t.assay in inp] for c in cells}
    outputs = {
        c: {a: [i for i, t in enumerate(cfg.tracks) if t.cell_type == c and t.assay == a] for a in targets}
        for c in cells
    }
    complete = [c for c in cells if inputs[c] and all(outputs[c][a] for a in targets)]
    if len(complete) < 2:
        raise ZooError(
            f"head.type celltype needs >= 2 cell types with both {inp[0]} and {', '.join(targets)} "
            f"tracks (complete: {', '.join(complete) or 'none'})"
        )
    holdout = list(holdout) or complete[-1:]
    bad = [c for c in holdout if c not in complete]
    if bad:
        raise ZooError(
            f"head.holdout_cell_types: {', '.join(bad)} not a cell type with every assay "
            f"(complete: {', '.join(complete)})"
        )
    train_cells = [c for c in complete if c not in holdout]
    if not train_cells:
        raise ZooError("head.holdout_cell_types holds out every cell type; leave at least one to train on")
    return {
        "cells": complete,
        "targets": targets,
        "input_assay": inp[0],
        "inputs": inputs,
        "outputs": outputs,
        "train_cells": train_cells,
        "holdout": holdout,
    }


class CellWindowDataset(torch.utils.data.Dataset):
    """Examples are (window, cell type) pairs: index arrays -> ``(x, signal, target)`` batches.

    ``x``: cached embeddings ``(Nw, C, B')`` or uint8 codes ``(Nw, L)``; ``signal`` ``(Ncell, Nw, S, B)``;
    ``target`` ``(Ncell, Nw, T, B)``; ``pairs`` ``(n, 2)`` rows of (window, cell index).
    """

    def __init__(self, x: np.ndarray, signal: np.ndarray, target: np.ndarray, pairs: np.ndarray, codes: bool):
        self.x, self.signal, self.target, self.pairs, self.codes = x, signal, target, pairs, codes

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, idx):
        single = np.ndim(idx) == 0
        w, c = self.pairs[np.atleast_1d(np.asarray(idx))].T
        xb = codes_to_tensor(self.x[w]) if self.codes else torch.from_numpy(np.ascontiguousarray(self.x[w], np.float32))
        out = (xb, torch.from_numpy(self.signal[c, w]), torch.from_numpy(self.target[c, w]))
        return tuple(t[0] for t in out) if single else out


def pairs(windows_idx: np.ndarray, cells: list[int]) -> np.ndarray:
    """Every window of ``windows_idx`` with every cell of ``cells``, as example pairs.

    Parameters
    ----------
    windows_idx, cells : window indices (rows of the windows table); cell indices (in ``design["cells"]``).

    Returns
    -------
    np.ndarray
        ``(len(cells) * len(windows_idx), 2)`` int64 rows of (window index, cell index), cell by cell.
    """
    return np.array([(w, c) for c in cells for w in windows_idx], dtype=np.int64).reshape(-1, 2)


def cell_arrays(design: dict, raw: np.ndarray, train_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth-normalised arrays per complete cell type (replicate tracks averaged).

    Parameters
    ----------
    design : :func:`cell_design`'s result.
    raw : ``(Nw, tracks, B)`` float32 binned signal of every track of the data YAML.
    train_w : ``(Nw,)`` bool, the training-chromosome windows.

    Returns
    -------
    tuple[np.ndarray, np.ndarray, np.ndarray]
        ``signal`` ``(cells, Nw, 1, B)``: ``log1p`` of the input assay in units of its training mean;
        ``target`` ``(cells, Nw, T, B)`` in units of each track's training mean (both float32); the
        per-track training means ``(tracks,)`` (mean signal per bp).
    """
    depth = np.maximum(raw[train_w].mean(axis=(0, 2)), 1e-9)  # (tracks,) training-chromosome means
    norm = raw / depth[None, :, None]
    cells = design["cells"]
    signal = np.stack([signal_input(norm[:, design["inputs"][c]].mean(1, keepdims=True), 1.0) for c in cells])
    target = np.stack(
        [np.stack([norm[:, design["outputs"][c][a]].mean(1) for a in design["targets"]], 1) for c in cells]
    ).astype(np.float32)
    return signal, target, depth


def example_sets(design: dict, split: np.ndarray) -> dict[str, np.ndarray]:
    """(window, cell) example pairs: training cell types on train / val chromosomes, held-out ones
    on test chromosomes, and the two optimistic mixtures reported beside them.

    Parameters
    ----------
    design : :func:`cell_design`'s result.
    split : ``(Nw,)`` each window's split (``train`` / ``val`` / ``test``).

    Returns
    -------
    dict[str, np.ndarray]
        ``train``, ``val``, ``test``, ``holdout_cells_train_chroms`` and ``train_cells_test_chroms``:
        ``(n, 2)`` int64 rows of (window index, cell index) (see :func:`pairs`).
    """
    ci = {c: i for i, c in enumerate(design["cells"])}
    train_c, hold_c = [ci[c] for c in design["train_cells"]], [ci[c] for c in design["holdout"]]
    widx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    return {
        "train": pairs(widx["train"], train_c),
        "val": pairs(widx["val"], train_c),
        "test": pairs(widx["test"], hold_c),
        "holdout_cells_train_chroms": pairs(widx["train"], hold_c),
        "train_cells_test_chroms": pairs(widx["test"], train_c),
    }
