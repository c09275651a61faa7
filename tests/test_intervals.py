import os

import numpy as np
import pandas as pd
import pytest

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome, gc_fraction
from zoo_tools.data.intervals import (
    centre_windows,
    filter_blacklist,
    gc_matched_background,
    load_blacklist,
    overlaps,
    read_bed,
    tile,
)
from zoo_tools.data.splits import assign_splits, check_split_overlap


def df(*rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def test_read_narrowpeak_and_aliases(tiny_fasta, tmp_path):
    p = tmp_path / "p.narrowPeak"
    p.write_text("track name=x\n1\t2\t12\tpk1\t100\t.\t5.0\t10\t8\t4\nchrM\t0\t5\tpk2\t50\t.\t2\t3\t1\t-1\n")
    peaks = read_bed(str(p), Genome(tiny_fasta))
    assert peaks.chrom.tolist() == ["chr1", "chrM"]  # '1' resolved to the genome's 'chr1'
    assert peaks.summit.tolist() == [4, -1]
    w = centre_windows(peaks, 6)
    # summit at 2 + 4 = 6 -> [3, 9); no summit -> midpoint 2 -> [-1, 5)
    assert w[["start", "end"]].values.tolist() == [[3, 9], [-1, 5]]


def test_bed_errors_name_file_and_line(tiny_fasta, tmp_path):
    g = Genome(tiny_fasta)
    p = tmp_path / "bad.bed"
    p.write_text("chr1\t0\t10\nchr1\tten\t20\n")
    with pytest.raises(ZooError, match=r"bad.bed line 2: start/end must be integers"):
        read_bed(str(p))
    p.write_text("chr1\t5\t3\n")
    with pytest.raises(ZooError, match=r"line 1: need 0 <= start < end"):
        read_bed(str(p))
    p.write_text("chr1\t0\t10\nchr1\t20\t500\n")
    with pytest.raises(ZooError, match=r"record 2: chr1:20-500 runs past the end of chr1"):
        read_bed(str(p), g)
    p.write_text("chr5\t0\t10\n")
    with pytest.raises(ZooError, match=r"contig 'chr5' is not in genome"):
        read_bed(str(p), g)
    p.write_text("# only a comment\n")
    with pytest.raises(ZooError, match="no intervals"):
        read_bed(str(p))


def test_tile():
    t = tile({"a": 25, "b": 9}, 10)
    assert t.values.tolist() == [["a", 0, 10], ["a", 10, 20]]
    assert len(tile({"a": 25}, 10, stride=5)) == 4  # 0, 5, 10, 15


def test_overlaps_hand_cases():
    a = df(("c", 0, 10), ("c", 10, 20), ("c", 30, 40), ("d", 0, 5))
    b = df(("c", 5, 6), ("c", 25, 31), ("c", 0, 1))
    assert overlaps(a, b).tolist() == [True, False, True, False]


def test_blacklist(tmp_path):
    bl = tmp_path / "bl.bed"
    bl.write_text("chr1\t100\t200\n")
    w = df(("chr1", 0, 100), ("chr1", 150, 250), ("chr2", 150, 250))
    assert filter_blacklist(w, str(bl)).values.tolist() == [["chr1", 0, 100], ["chr2", 150, 250]]
    hg38 = load_blacklist("hg38")  # shipped with gReLU
    assert len(hg38) > 100 and hg38.chrom.str.startswith("chr").all()
    with pytest.raises(ZooError, match="neither a BED file nor a genome"):
        load_blacklist("nosuchgenome")


def test_gc_matched_background(world):
    g = Genome(os.path.join(world, "genome.fa"))
    peaks = centre_windows(read_bed(os.path.join(world, "peaks", "cellA_ATAC.narrowPeak"), g), 1000)
    peaks = peaks[(peaks.start >= 0) & (peaks.end <= peaks.chrom.map(g.contigs))].reset_index(drop=True)
    bg = gc_matched_background(g, peaks, ratio=2.0, seed=3)
    again = gc_matched_background(g, peaks, ratio=2.0, seed=3)
    pd.testing.assert_frame_equal(bg, again)
    assert abs(len(bg) - 2 * len(peaks)) <= 0.05 * 2 * len(peaks)
    assert not overlaps(bg, peaks).any()
    pos_gc = gc_fraction(g.batch_codes(peaks.chrom, peaks.start, 1000))
    assert abs(np.nanmean(pos_gc) - bg.gc.mean()) < 0.01
    # a uniform draw of the same candidates would not match: the genome's GC spread is wide
    spread = np.quantile(pos_gc, 0.9) - np.quantile(pos_gc, 0.1)
    assert np.quantile(bg.gc, 0.9) - np.quantile(bg.gc, 0.1) < 1.2 * spread


def test_splits_and_overlap_guard():
    w = tile({"chr1": 100, "chr2": 100, "chr3": 100}, 10, stride=5)
    s = assign_splits(w, val=["2"], test=["chr3"], contigs=["chr1", "chr2", "chr3"])
    assert s.groupby("split").chrom.unique().map(list).to_dict() == {
        "test": ["chr3"],
        "train": ["chr1"],
        "val": ["chr2"],
    }
    check_split_overlap(s)  # chromosome split: nothing shared
    rng = np.random.default_rng(0)
    random_split = w.assign(split=rng.choice(["train", "val", "test"], len(w)))
    with pytest.raises(ZooError, match=r"window\(s\) overlap train windows .*split by chromosome"):
        check_split_overlap(random_split)
    with pytest.raises(ZooError, match="in both val and test"):
        assign_splits(w, val=["chr2"], test=["2"])
    with pytest.raises(ZooError, match="splits.test: contig 'chr9' is not in the genome"):
        assign_splits(w, val=[], test=["chr9"], contigs=["chr1", "chr2", "chr3"])


def test_space_separated_bed_and_crlf(tiny_fasta, tmp_path):
    p = tmp_path / "spaces.bed"
    p.write_bytes(b"chr1 0 10\r\nchrM 2 4\r\n")
    assert read_bed(str(p), Genome(tiny_fasta)).values.tolist() == [["chr1", 0, 10], ["chrM", 2, 4]]
