import os

import numpy as np
import pytest
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.data.datasets import SeqTrackDataset, batch_loader
from zoo_tools.data.genome import Genome, rc_one_hot
from zoo_tools.data.tracks import read_binned


@pytest.fixture(scope="module")
def parts(world, world_windows):
    g = Genome(os.path.join(world, "genome.fa"))
    paths = [os.path.join(world, "tracks", f"cell{c}_ATAC.bw") for c in "AB"]
    iv = world_windows.iloc[:64].reset_index(drop=True)
    return g, iv, paths, read_binned(paths, iv, 32, progress=False)


def test_items_are_genome_one_hot_and_binned_targets(parts):
    g, iv, paths, y = parts
    ds = SeqTrackDataset(g, iv, y)
    assert len(ds) == 64
    for i in (0, 5, 63):
        x, t = ds[i]
        r = iv.iloc[i]
        assert x.shape == (4, 2048) and x.dtype == torch.float32 and t.shape == (2, 64)
        np.testing.assert_array_equal(x.numpy(), g.one_hot(r.chrom, r.start, r.end))
        np.testing.assert_array_equal(t.numpy(), y[i])


def test_batch_indexing_equals_single_items(parts):
    g, iv, _, y = parts
    ds = SeqTrackDataset(g, iv, y, rc=True, max_shift=3, seed=1)
    xb, yb = ds[[3, 1, 7]]
    for k, i in enumerate([3, 1, 7]):
        x, t = ds[i]
        assert torch.equal(xb[k], x) and torch.equal(yb[k], t)


def test_reverse_complement_augmentation(parts):
    g, iv, _, y = parts
    ds = SeqTrackDataset(g, iv, y, rc=True, seed=0, rc_track_perm=[1, 0])
    flipped = ds._flip
    assert 16 < flipped.sum() < 48  # about half
    for i in range(len(ds)):
        x, t = ds[i]
        r = iv.iloc[i]
        plain = g.one_hot(r.chrom, r.start, r.end)
        if flipped[i]:
            np.testing.assert_array_equal(x.numpy(), rc_one_hot(plain))
            np.testing.assert_array_equal(t.numpy(), y[i][[1, 0], ::-1])  # strands swapped, bins reversed
        else:
            np.testing.assert_array_equal(x.numpy(), plain)
    # seeded per epoch: same seed and epoch -> same draws; another epoch -> other draws
    again = SeqTrackDataset(g, iv, y, rc=True, seed=0, rc_track_perm=[1, 0])
    np.testing.assert_array_equal(again._flip, flipped)
    again.set_epoch(1)
    assert not np.array_equal(again._flip, flipped)


def test_shift_moves_sequence_not_targets(parts):
    g, iv, _, y = parts
    ds = SeqTrackDataset(g, iv, y, max_shift=5, seed=2)
    shifts = ds._shift
    assert shifts.min() >= -5 and shifts.max() <= 5 and len(set(shifts)) > 3
    for i in range(10):
        x, t = ds[i]
        r = iv.iloc[i]
        np.testing.assert_array_equal(x.numpy(), g.one_hot(r.chrom, r.start + shifts[i], r.end + shifts[i]))
        np.testing.assert_array_equal(t.numpy(), y[i])


def test_agrees_with_grelu_bigwig_dataset(world, world_windows):
    from grelu.data.dataset import BigWigSeqDataset

    g = Genome(os.path.join(world, "genome.fa"))
    iv = world_windows[(world_windows.start >= 0)]
    iv = iv[iv.end <= iv.chrom.map(g.contigs)].iloc[:40].reset_index(drop=True)
    paths = [os.path.join(world, "tracks", "cellA_ATAC.bw"), os.path.join(world, "tracks", "cellB_H3K27ac.bw")]
    ours = SeqTrackDataset.from_tracks(g, iv, paths, bin_size=32)
    theirs = BigWigSeqDataset(
        intervals=iv, bw_files=paths, seq_len=2048, genome=g.path, label_aggfunc="mean", bin_size=32
    )
    for i in range(len(iv)):
        gx, gy = theirs[i]
        ox, oy = ours[i]
        assert torch.equal(gx.float(), ox)
        assert float((gy - oy).abs().max()) < 1e-5


def test_batch_loader_serves_every_example_once(parts):
    g, iv, _, y = parts
    ds = SeqTrackDataset(g, iv, y)
    seen = []
    for x, t in batch_loader(ds, batch_size=10, shuffle=True, seed=0):
        assert x.shape[1:] == (4, 2048)
        seen.append(t)
    got = torch.cat(seen)
    assert got.shape == (64, 2, 64)
    np.testing.assert_allclose(np.sort(got[:, 0].sum(1).numpy()), np.sort(y[:, 0].sum(1)), rtol=1e-6)


def test_bad_targets_shape(parts):
    g, iv, _, y = parts
    with pytest.raises(ZooError, match=r"targets must be \(N, T, B\)"):
        SeqTrackDataset(g, iv, y[:10])
    with pytest.raises(ZooError, match="permutation"):
        SeqTrackDataset(g, iv, y, rc_track_perm=[0, 0])


def test_dense_windows_use_contig_storage_and_agree(world):
    from zoo_tools.data.intervals import tile

    g = Genome(os.path.join(world, "genome.fa"))
    iv = tile({"chr4": g.contigs["chr4"]}, 2048, stride=100)
    iv = iv.assign(start=iv.start - 50, end=iv.end - 50)  # the first window runs off the contig start
    y = np.zeros((len(iv), 1, 8), np.float32)
    dense = SeqTrackDataset(g, iv, y, max_shift=4, seed=5)
    assert dense._windows is None  # whole-contig storage: 2,000 overlapping windows > 200 kb
    sparse = SeqTrackDataset(g, iv.iloc[:20].reset_index(drop=True), y[:20], max_shift=4, seed=5)
    assert sparse._windows is not None
    sparse._shift = dense._shift[:20]
    xd, _ = dense[list(range(20))]
    xs, _ = sparse[list(range(20))]
    assert torch.equal(xd, xs)
    r, s = iv.iloc[0], dense._shift[0]
    np.testing.assert_array_equal(xd[0].numpy(), g.one_hot("chr4", r.start + s, r.end + s))
