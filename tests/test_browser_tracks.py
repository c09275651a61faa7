"""Attributions and ISM as bigWig tracks (zoo_tools.interpret.browser_tracks): overlaps resolved by
hand, the files read back with pyBigWig, and `--bigwig` end to end on the demo model."""

import os

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from zoo_tools.interpret.browser_tracks import (
    ism_summaries,
    region_values,
    write_bigwig,
    write_track_text,
)

from .test_cli import assert_user_error, run


def test_overlapping_regions_keep_the_value_of_the_nearest_window_centre():
    # windows of 10 bp (centre index 4.5); A starts at 100 with its region at indices 2..8, B at 104
    # with its region at 0..6; C is padded (starts at -3) and D runs past the contig's end (120 bp)
    table = pd.DataFrame(
        {
            "chrom": ["1", "1", "1", "1"],
            "start": [100, 104, -3, 115],
            "end": [110, 114, 7, 125],
            "region_start": [2, 0, 0, 0],
            "region_end": [8, 6, 5, 10],
        }
    )
    values = np.array([100 + np.arange(10), 200 + np.arange(10), 300 + np.arange(10), 400 + np.arange(10)], float)
    got = region_values(table, values, 0, {"1": 120})
    pos, val = got["1"]
    expected = {
        0: 303,
        1: 304,  # C: the padded bases -3..-1 are dropped
        102: 102,
        103: 103,
        104: 104,  # A (index 4, 0.5 from its centre) beats B (index 0)
        105: 105,
        106: 106,  # A at 1.5 vs B at 2.5
        107: 203,  # B at 1.5 vs A at 2.5
        108: 204,
        109: 205,  # A's region ends at 108
        **{p: 400 + p - 115 for p in range(115, 120)},  # D: nothing past the end (120)
    }
    assert dict(zip(pos.tolist(), val.tolist())) == expected


def test_values_from_a_span_of_the_window():
    # ISM effects cover window indices 3..7 only: the region's other bases have no value
    table = pd.DataFrame({"chrom": ["c"], "start": [50], "end": [60], "region_start": [0], "region_end": [10]})
    got = region_values(table, np.array([[1.0, 2, 3, 4]]), 3, {"c": 100})
    assert got["c"][0].tolist() == [53, 54, 55, 56] and got["c"][1].tolist() == [1, 2, 3, 4]


def test_bigwig_round_trip_and_track_text(tmp_path):
    sizes = {"1": 1000, "2": 500}
    tracks = {"1": (np.array([10, 11, 12, 20, 21]), np.array([0.5, -1, 2, 3, 4], np.float32))}
    path = write_bigwig(str(tmp_path / "a.bw"), tracks, sizes)
    with pyBigWig.open(path) as bw:
        assert bw.chroms() == sizes
        v = bw.values("1", 8, 23)
        assert np.allclose(v[2:5], [0.5, -1, 2]) and np.allclose(v[12:14], [3, 4])
        assert np.isnan(v[0]) and np.isnan(v[5])  # no value where nothing was explained
        assert bw.intervals("2") in (None, ())
    txt, hub = write_track_text(str(tmp_path), [("a.bw", "zoo attr", "what it shows")], "https://h.org/x/")
    line = [x for x in open(txt).read().splitlines() if x.startswith("track")][0]
    assert "type=bigWig" in line and "bigDataUrl=https://h.org/x/a.bw" in line and 'name="zoo attr"' in line
    stanza = open(hub).read()
    assert "track a\nbigDataUrl a.bw\nshortLabel zoo attr\n" in stanza and "type bigWig" in stanza


def test_ism_summaries_by_hand():
    eff = np.zeros((1, 4, 2))
    eff[0, :, 0] = [0, -3, 1, 1]  # the reference (A) is 0
    eff[0, :, 1] = [2, 0, 0.5, -1]
    s = ism_summaries(eff)
    assert np.allclose(s["mean"], [[-1 / 3, 0.5]]) and np.allclose(s["worst"], [[-3, 2]])


@pytest.mark.slow
def test_bigwig_from_the_cli(tuned, world, tmp_path):
    genome = os.path.join(world, "genome.fa")
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t20000\t20100\ta\nchr1\t20060\t20160\tb\n")  # overlapping by 40 bp
    out = tmp_path / "att"
    common = ["--model", f"local:{tuned}", "--genome", genome, "--regions", bed, "--bigwig"]
    res = run("interpret", "attributions", *common, "--method", "saliency", "--out", out)
    assert res.returncode == 0, res.stderr
    assert "bigWig(s)" in res.stdout and (out / "tracks.txt").exists() and (out / "trackDb.txt").exists()
    z, regions = np.load(out / "attributions.npz"), pd.read_csv(out / "regions.tsv", sep="\t")
    per_base = z["contrib"].sum(1)
    with pyBigWig.open(str(out / "attributions.bw")) as bw:
        v = np.array(bw.values("chr1", 20000, 20160))
    for i in range(2):  # outside the overlap each base is its own region's
        r = regions.iloc[i]
        own = np.arange(r.region_start, r.region_end) + r.start
        lone = own[(own < 20060) | (own >= 20100)]
        assert np.allclose(v[lone - 20000], per_base[i, lone - r.start], atol=1e-6)
    assert not np.isnan(v).any()
    out = tmp_path / "ism"
    res = run("interpret", "ism", *common, "--out", out, "--tasks", "cellA_ATAC")
    assert res.returncode == 0, res.stderr
    d = np.load(out / "ism.npz")
    with pyBigWig.open(str(out / "ism_mean.cellA_ATAC.bw")) as bw:
        r = regions.iloc[0]
        got = np.array(bw.values("chr1", 20000, 20050))  # region a alone
    k = np.arange(20000, 20050) - r.start - int(d["start"])
    assert np.allclose(got, d["effects"][0, :, k, 0].sum(1) / 3, atol=1e-6)
    assert os.path.exists(out / "ism_worst.cellA_ATAC.bw")
    seq = "A" * 2048
    assert_user_error(
        run("interpret", "ism", "--model", f"local:{tuned}", "--seq", seq, "--bigwig", "--out", out),
        "--bigwig needs --regions",
    )
