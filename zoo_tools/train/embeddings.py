"""The embedding cache: with the trunk frozen, trunk embeddings are computed once per window
(both strands with RC) into a memory-mapped file keyed by the weights and the windows."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import progress_bar


def embedding_shape(trunk: nn.Module, seq_len: int) -> tuple[int, int]:
    """``(C, B')`` of the trunk's embedding for one input of ``seq_len`` bp (the trunk is left in eval mode).

    Parameters
    ----------
    trunk : a module taking ``(N, 4, L)`` one-hot and giving ``(N, C, B')``.
    seq_len : the input length ``L`` in bp.

    Returns
    -------
    tuple[int, int]
        ``(C, B')``: channels and bins.
    """
    trunk.eval()
    with torch.no_grad():
        e = trunk(torch.zeros(1, 4, seq_len))
    return int(e.shape[1]), int(e.shape[2])


class EmbeddingDataset(torch.utils.data.Dataset):
    """Cached trunk embeddings ``(N, [2,] C, B')`` with targets; with ``rc`` each epoch picks per
    window the forward embedding with its targets, or the reverse complement's embedding with the
    targets reversed along bins (strand-paired tracks swapped), as sequence-level RC would."""

    def __init__(
        self, emb: np.ndarray, targets: np.ndarray, rc: bool, seed: int, rc_track_perm: np.ndarray | None = None
    ):
        self.emb, self.targets, self.rc, self.seed = emb, targets, rc, seed
        self.perm = np.arange(targets.shape[1]) if rc_track_perm is None else np.asarray(rc_track_perm)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        rng = np.random.default_rng([self.seed, epoch])
        self.flip = rng.random(len(self.targets)) < 0.5 if self.rc else np.zeros(len(self.targets), bool)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, idx):
        """int -> ``((C, B'), (T, B))``; index array -> batched."""
        single = np.ndim(idx) == 0
        idx = np.atleast_1d(np.asarray(idx))
        if self.rc:
            e = np.where(self.flip[idx, None, None], self.emb[idx, 1], self.emb[idx, 0])
            y = np.where(self.flip[idx, None, None], self.targets[idx][:, self.perm, ::-1], self.targets[idx])
        else:  # forward strand only (a two-strand cache outside training)
            e, y = (self.emb[idx, 0] if self.emb.ndim == 4 else self.emb[idx]), self.targets[idx]
        e = torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
        return (e[0], y[0]) if single else (e, y)


def cache_embeddings(model, dataset, rc: bool, key: str, batch_size: int = 64, budget_gb: float = 50.0) -> np.ndarray:
    """Trunk embeddings of every window (and its reverse complement), memory-mapped on disk.

    Stored in ``$ZOO_HOME/embeddings/<key>.npy`` where ``key`` hashes the model weights and the
    windows, so a second run with the same model and data reuses them.

    Parameters
    ----------
    model : a network with a ``trunk`` (``(N, 4, L)`` one-hot -> ``(N, C, B')``).
    dataset : a :class:`~zoo_tools.data.datasets.SeqTrackDataset` without augmentation.
    rc : also embed each window's reverse complement.
    key, batch_size : the file's key (:func:`data_key`); windows per trunk call.
    budget_gb : the most the file may take (``train.cache_budget_gb``); a larger cache, or one the
        disk has no room for, is a one-line error before anything is written.

    Returns
    -------
    np.ndarray
        Read-only memory map, float32 ``(N, 2, C, B')`` with ``rc`` (index 1: the reverse complement),
        else ``(N, C, B')``.
    """
    from zoo_tools.zoo.cache import zoo_home

    folder = zoo_home() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    c, b = embedding_shape(model.trunk, dataset.seq_len)  # dataset: a SeqTrackDataset without augmentation
    shape = (len(dataset), 2, c, b) if rc else (len(dataset), c, b)
    check_cache_room(folder, shape, budget_gb)
    tmp = folder / f"{key}.{os.getpid()}.tmp.npy"  # several DDP ranks may build it at once
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    model.trunk.eval()
    with torch.no_grad(), progress_bar(total=len(dataset), desc="caching trunk embeddings", unit="win") as bar:
        for i in range(0, len(dataset), batch_size):
            idx = np.arange(i, min(i + batch_size, len(dataset)))
            x, _ = dataset[idx]
            e = model.trunk(x).numpy()
            if rc:
                out[idx, 0] = e
                out[idx, 1] = model.trunk(x.flip((-2, -1))).numpy()  # paired with reversed targets
            else:
                out[idx] = e
            bar.update(len(idx))
    out.flush()
    del out
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def check_cache_room(folder, shape: tuple[int, ...], budget_gb: float) -> None:
    """Say where the embedding cache goes and how big it is; stop if over budget or disk.

    Parameters
    ----------
    folder : pathlib.Path
        ``$ZOO_HOME/embeddings``.
    shape : tuple of int
        The float32 array's shape.
    budget_gb : float
        ``train.cache_budget_gb``.
    """
    import logging
    import shutil

    need = float(np.prod(shape)) * 4
    free = shutil.disk_usage(folder).free
    where = f"the embedding cache ({need / 1e9:.2f} GB, {' x '.join(map(str, shape))} float32) in {folder}"
    if need > budget_gb * 1e9 or need > free:
        limit = f"train.cache_budget_gb = {budget_gb:g}" if need > budget_gb * 1e9 else f"{free / 1e9:.2f} GB free"
        raise ZooError(
            f"{where} would exceed {limit}; raise the budget, free disk space or point ZOO_HOME elsewhere, "
            f"or train with train.freeze_trunk=false (no cache)"
        )
    logging.getLogger(__name__).warning("writing %s", where)


def data_key(model_sha: str, windows: pd.DataFrame, seq_len: int, rc: bool) -> str:
    """The embedding cache's key for a model and its windows.

    Parameters
    ----------
    model_sha : the base model's sha256 (or its spec when unknown).
    windows : DataFrame ``chrom, start, end`` (0-based half-open), in order.
    seq_len, rc : input length in bp; whether reverse complements are cached too.

    Returns
    -------
    str
        24 hex digits of a sha256 over all of them.
    """
    h = hashlib.sha256(f"{model_sha}|{seq_len}|{rc}".encode())
    h.update(pd.util.hash_pandas_object(windows[["chrom", "start", "end"]], index=False).values.tobytes())
    return h.hexdigest()[:24]
