import os

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from zoo_tools.core.errors import ZooError
from zoo_tools.data.tracks import bin_mean, read_bigwig_region, read_binned
from zoo_tools.data.transforms import apply_transform, softclip, threshold

from .conftest import write_bigwig

SIZES = {"chr1": 100, "chr2": 50}
# per base: chr1 [0,10)=2, [10,20) uncovered, [20,30)=4, [30,34)=8, rest uncovered; chr2 [0,50)=1
ENTRIES = [("chr1", 0, 10, 2.0), ("chr1", 20, 30, 4.0), ("chr1", 30, 34, 8.0), ("chr2", 0, 50, 1.0)]


@pytest.fixture
def tiny_bw(tmp_path):
    return write_bigwig(tmp_path / "t.bw", SIZES, ENTRIES)


def windows(*rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def test_bin_means_hand_computed(tiny_bw):
    iv = windows(("chr1", 0, 40), ("chr1", 8, 48), ("chr2", 30, 70))
    y = read_binned([tiny_bw], iv, bin_size=8, progress=False)
    assert y.shape == (3, 1, 5) and y.dtype == np.float32
    # window 1: bins [0,8)=2, [8,16)=(2*2)/8, [16,24)=(4*4)/8, [24,32)=(6*4+2*8)/8, [32,40)=(2*8)/8
    np.testing.assert_allclose(y[0, 0], [2, 0.5, 2, 5, 2])
    # window 2: [8,16)=.5, [16,24)=2, [24,32)=5, [32,40)=2, [40,48)=0
    np.testing.assert_allclose(y[1, 0], [0.5, 2, 5, 2, 0])
    # window 3 runs past chr2's end (50): bases past the end count as 0
    np.testing.assert_allclose(y[2, 0], [1, 1, 0.5, 0, 0])


def test_matches_pybigwig_and_grelu_on_demo_world(world, world_windows):
    from grelu.io.bigwig import read_bigwig

    paths = [os.path.join(world, "tracks", f) for f in sorted(os.listdir(os.path.join(world, "tracks")))][:3]
    iv = world_windows[world_windows.start >= 0].copy()
    with pyBigWig.open(paths[0]) as bw:
        sizes = bw.chroms()
    iv = iv[iv.end <= iv.chrom.map(sizes)].reset_index(drop=True)
    ours = read_binned(paths, iv, 32, progress=False)
    small_spans = read_binned(paths, iv, 32, max_span=5000, max_gap=0, progress=False)
    np.testing.assert_allclose(ours, small_spans, atol=1e-5)
    ref = np.zeros_like(ours)
    for t, p in enumerate(paths):
        with pyBigWig.open(p) as bw:
            for i, r in enumerate(iv.itertuples()):
                v = np.nan_to_num(bw.values(r.chrom, r.start, r.end, numpy=True))
                ref[i, t] = v.reshape(-1, 32).mean(1)
    assert np.abs(ours - ref).max() < 1e-5
    grelu = np.nan_to_num(read_bigwig(iv, paths, bin_size=32, aggfunc="mean"))
    assert grelu.shape == ours.shape
    assert np.abs(ours - grelu).max() < 1e-5


def test_past_end_windows_agree_with_padding(world, world_windows):
    path = os.path.join(world, "tracks", "cellA_ATAC.bw")
    y = read_binned([path], world_windows, 64, progress=False)
    for i, r in enumerate(world_windows.itertuples()):
        v = read_bigwig_region(path, r.chrom, r.start, r.end)
        np.testing.assert_allclose(y[i, 0], v.reshape(-1, 64).mean(1), atol=1e-5)


def test_contig_alias_between_windows_and_bigwig(tmp_path):
    bw = write_bigwig(tmp_path / "ens.bw", {"1": 20}, [("1", 0, 20, 3.0)])
    y = read_binned([bw], windows(("chr1", 0, 20)), 10, progress=False)
    np.testing.assert_allclose(y[0, 0], [3, 3])


def test_bigwig_without_contig(tiny_bw):
    with pytest.raises(ZooError, match=r"contig 'chr7' not found in bigWig .*t.bw \(it has: chr1, chr2\)"):
        read_binned([tiny_bw], windows(("chr7", 0, 8)), 8, progress=False)


def test_not_a_bigwig_and_missing(tmp_path):
    bad = tmp_path / "bad.bw"
    bad.write_text("not a bigwig\n")
    with pytest.raises(ZooError, match="is not a readable bigWig"):
        read_binned([str(bad)], windows(("chr1", 0, 8)), 8, progress=False)
    with pytest.raises(ZooError, match="bigWig track not found"):
        read_binned([str(tmp_path / "nope.bw")], windows(("chr1", 0, 8)), 8, progress=False)


def test_window_checks(tiny_bw):
    with pytest.raises(ZooError, match="one length"):
        read_binned([tiny_bw], windows(("chr1", 0, 8), ("chr1", 0, 16)), 8, progress=False)
    with pytest.raises(ZooError, match="not a positive multiple of bin size"):
        read_binned([tiny_bw], windows(("chr1", 0, 10)), 8, progress=False)


def test_transforms_hand_computed():
    x = np.array([0.0, 1.0, 32.0, 36.0, 1e6])
    np.testing.assert_allclose(apply_transform(x, "arcsinh"), np.log(x + np.sqrt(x**2 + 1)))
    np.testing.assert_allclose(apply_transform(x, "log1p"), np.log(1 + x))
    np.testing.assert_allclose(softclip(x, threshold=32), [0, 1, 32, 34, 32 + np.sqrt(1e6 - 32)])
    np.testing.assert_allclose(softclip(x, threshold=32, hard=40), [0, 1, 32, 34, 40])
    np.testing.assert_array_equal(threshold(x, 2), [0, 0, 32, 36, 1e6])
    np.testing.assert_array_equal(threshold(x, 2, binary=True), [0, 0, 1, 1, 1])
    np.testing.assert_allclose(bin_mean(np.array([1, 3, np.nan, 5]), 2), [2, 2.5])
    with pytest.raises(ZooError, match="unknown track transform 'sqrt'"):
        apply_transform(x, "sqrt")


def test_transform_applied_after_binning(tiny_bw):
    iv = windows(("chr1", 0, 40))
    raw = read_binned([tiny_bw], iv, 8, progress=False)
    np.testing.assert_allclose(
        read_binned([tiny_bw], iv, 8, transform="arcsinh", progress=False), np.arcsinh(raw), rtol=1e-6
    )
