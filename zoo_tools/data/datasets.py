"""Torch datasets of ``(one_hot, targets)`` with reverse-complement and shift augmentation.

:class:`SeqTrackDataset` serves ``(4, L)`` float32 one-hot (A,C,G,T) and ``(T, B)`` float32
targets for N genomic windows. It keeps integer-coded sequence (1 byte per bp) in whichever form is smaller:
each window's own bases (plus the shift margin), or the whole contigs the windows lie on (for
dense or overlapping windows; bounded by the genome size whatever the number of windows). With
the ``(N, T, B)`` target array it gathers batches with vectorised indexing: index it with an int
for one example or with a list / array of indices for a whole batch (see :func:`batch_loader`).

Augmentation, drawn per epoch from ``(seed, epoch)`` so it does not depend on batch size, worker
count or order (call :meth:`SeqTrackDataset.set_epoch` at each epoch):

* **shift** (``max_shift``): the input window moves by ``s`` bp, ``|s| <= max_shift``, and the
  targets stay those of the original window. Keep ``max_shift`` well under the bin size (Enformer
  used +-3 bp at 128 bp bins): the model learns to ignore small misalignments.
* **reverse complement** (``rc=True``): with probability 1/2 the sequence is reverse-complemented
  and the targets are reversed along bins. Tracks of a strand pair must also swap places, which
  ``rc_track_perm`` gives (a permutation of the T tracks; identity by default).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import N_CODE, Genome
from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.data.tracks import read_binned, window_arrays


class SeqTrackDataset(Dataset):
    """Windows of a genome with binned track targets.

    Parameters
    ----------
    genome : the reference.
    intervals : DataFrame ``chrom, start, end`` (0-based half-open), one length ``L``.
    targets : ``(N, T, B)`` float32 array (e.g. from :func:`zoo_tools.data.tracks.read_binned`).
    rc : reverse-complement augmentation (probability 1/2 per example and epoch).
    max_shift : shift augmentation in bp (0 = none).
    seed : augmentation seed.
    rc_track_perm : ``(T,)`` permutation of tracks applied on reverse complement (strand pairs).
    """

    def __init__(
        self,
        genome: Genome,
        intervals: pd.DataFrame,
        targets: np.ndarray,
        *,
        rc: bool = False,
        max_shift: int = 0,
        seed: int = 0,
        rc_track_perm: Sequence[int] | None = None,
    ):
        chroms, starts, self.seq_len = window_arrays(intervals)
        targets = np.asarray(targets, dtype=np.float32)
        if targets.ndim != 3 or targets.shape[0] != len(starts):
            raise ZooError(f"targets must be (N, T, B) with N = {len(starts)} windows, got {targets.shape}")
        if max_shift < 0:
            raise ZooError(f"max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)
        self._store_sequences(genome, chroms, starts)
        self.starts = starts
        self.targets = targets
        self.rc, self.seed = bool(rc), int(seed)
        t = targets.shape[1]
        self.rc_track_perm = np.arange(t) if rc_track_perm is None else np.asarray(rc_track_perm)
        if sorted(self.rc_track_perm.tolist()) != list(range(t)):
            raise ZooError(f"rc_track_perm must be a permutation of the {t} tracks")
        self.set_epoch(0)

    @classmethod
    def from_tracks(
        cls,
        genome: Genome,
        intervals: pd.DataFrame,
        tracks: Sequence[str],
        bin_size: int,
        transform: str | None = None,
        **kwargs,
    ) -> SeqTrackDataset:
        """Build from bigWig paths: targets are bin means (see :func:`read_binned`)."""
        targets = read_binned(tracks, intervals, bin_size, transform=transform)
        return cls(genome, intervals, targets, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's shifts and strand flips from ``(seed, epoch)``."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        n = len(self.starts)
        self.epoch = int(epoch)
        self._shift = rng.integers(-self.max_shift, self.max_shift + 1, n) if self.max_shift else np.zeros(n, np.int64)
        self._flip = rng.random(n) < 0.5 if self.rc else np.zeros(n, bool)

    def __len__(self) -> int:
        return len(self.starts)

    def _store_sequences(self, genome: Genome, chroms: np.ndarray, starts: np.ndarray) -> None:
        """Keep whichever is smaller: each window's codes (+- max_shift) or the contigs they need."""
        m, n = self.max_shift, len(starts)
        used = list(dict.fromkeys(chroms.tolist()))
        contig_bp = sum(genome.length(c) for c in used)
        if n * (self.seq_len + 2 * m) <= contig_bp:
            self._windows = genome.batch_codes(chroms, starts - m, self.seq_len + 2 * m)
            return
        self._windows = None
        names = [genome.resolve(c) for c in used]
        blocks = [genome.contig_codes(c) for c in names]
        offsets = np.cumsum([0] + [len(b) for b in blocks])[:-1]
        idx = np.array([used.index(c) for c in chroms.tolist()], dtype=np.int64)
        self._seq = np.concatenate(blocks)
        self._offset = offsets[idx].astype(np.int64)
        self._clen = np.array([len(b) for b in blocks], dtype=np.int64)[idx]

    def codes(self, idx: np.ndarray, augment: bool = True) -> np.ndarray:
        """``(b, L)`` uint8 codes of windows ``idx`` (shifted when augmenting, N past ends)."""
        idx = np.asarray(idx, dtype=np.int64)
        shift = self._shift[idx] if augment else np.zeros(len(idx), np.int64)
        cols = np.arange(self.seq_len, dtype=np.int64)[None, :]
        if self._windows is not None:
            return self._windows[idx[:, None], self.max_shift + shift[:, None] + cols]
        pos = self.starts[idx, None] + shift[:, None] + cols
        clen = self._clen[idx, None]
        inside = (pos >= 0) & (pos < clen)
        gathered = self._seq[self._offset[idx, None] + np.clip(pos, 0, clen - 1)]
        return np.where(inside, gathered, N_CODE).astype(np.uint8)

    def __getitem__(self, idx):
        """int -> ``((4, L), (T, B))``; list/array of b indices -> ``((b, 4, L), (b, T, B))``."""
        single = np.ndim(idx) == 0
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        x = codes_to_tensor(self.codes(idx))
        y = torch.from_numpy(self.targets[idx].copy())
        flip = self._flip[idx]
        if flip.any():
            f = torch.from_numpy(flip)
            x[f] = x[f].flip((-2, -1))
            y[f] = y[f][:, self.rc_track_perm].flip(-1)
        return (x[0], y[0]) if single else (x, y)


def batch_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader that hands whole index batches to ``dataset[indices]`` (vectorised gather).

    The shuffle order is seeded. Use with datasets whose ``__getitem__`` accepts index lists.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        E.g. a :class:`SeqTrackDataset`.
    batch_size : int
        Indices per batch.
    shuffle : bool
        Draw the order at random (anew for each pass over the loader), else keep it.
    seed : int
        Seeds the shuffled orders.
    num_workers, drop_last
        As in ``torch.utils.data.DataLoader``; ``drop_last`` drops a short last batch.

    Returns
    -------
    torch.utils.data.DataLoader
        Yields what ``dataset[indices]`` returns, e.g. ``((b, 4, L), (b, T, B))`` float32 tensors.
    """
    gen = torch.Generator().manual_seed(seed)
    base = RandomSampler(dataset, generator=gen) if shuffle else SequentialSampler(dataset)
    return DataLoader(
        dataset, sampler=BatchSampler(base, batch_size, drop_last), batch_size=None, num_workers=num_workers
    )
