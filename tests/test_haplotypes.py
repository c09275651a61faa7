"""`score-variants --haplotypes`: genotype fields (hostile ones too) by hand, haplotype windows by
hand and against single-variant windows, sorting and sample errors, and the planted truth of the
demo world's phased VCF (two SNVs in one motif: together they do no more than one alone)."""

import os

import numpy as np
import pandas as pd
import pytest

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.data.genotypes import Call, carrier_rows, parse_gt, record_calls, select_samples
from zoo_tools.data.variants import Variant
from zoo_tools.data.vcf import Record
from zoo_tools.score.formats import read_scores
from zoo_tools.score.haplotype_windows import Edit, first_overlap, haplotype_window
from zoo_tools.score.windows import allele_windows

from .conftest import write_fasta
from .test_cli import assert_user_error, run


@pytest.mark.parametrize(
    "gt, call",
    [
        ("0|1", Call((0, 1), True)),
        ("1/0", Call((1, 0), False)),
        ("./.", Call((None, None), False)),
        (".|1", Call((None, 1), True)),
        ("1", Call((1,), True)),
        ("|1", Call((1,), True)),  # VCF 4.4: a phased haploid call
        ("0|2", Call((0, 2), True)),
        (".", Call((None,), True)),
        ("", Call((None,), True)),
    ],
)
def test_gt_fields(gt, call):
    assert parse_gt(gt, 2, "x") == call


@pytest.mark.parametrize("gt, message", [("0|3", "names allele 3 but the record has 2"), ("A|B", "is not a genotype")])
def test_bad_gt_fields_are_errors_naming_the_place(gt, message):
    with pytest.raises(ZooError, match=message):
        parse_gt(gt, 2, "f.vcf, line 9, sample S1")


@pytest.mark.parametrize(
    "call, allele, rows",
    [
        (Call((0, 1), True), 1, [("2", "ok")]),
        (Call((1, 1), False), 1, [("1", "ok"), ("2", "ok")]),  # homozygous: no phase needed
        (Call((0, 1), False), 1, [(".", "unphased")]),
        (Call((0, 2), False), 1, []),  # carries ALT 2, not ALT 1
        (Call((1, 2), True), 2, [("2", "ok")]),
        (Call((None, 1), True), 1, [(".", "missing_gt")]),
        (Call((0, 0), True), 1, []),
        (Call((1,), True), 1, [("1", "ok")]),
    ],
)
def test_carrier_rows(call, allele, rows):
    assert carrier_rows(call, allele) == rows


def test_record_calls_read_gt_wherever_format_puts_it():
    rec = Record(12, "chr1", 100, ".", "A", ("C", "G"), None, "DP:GT\t7:0|1\t.\t3\t9:2|0")
    calls = record_calls(rec, [0, 1, 2, 3], ["a", "b", "c", "d"], "f.vcf")
    assert calls == [Call((0, 1), True), Call((None,), True), Call((None,), True), Call((2, 0), True)]
    no_gt = Record(13, "chr1", 101, ".", "A", ("C",), None, "DP\t7\t8")
    assert record_calls(no_gt, [0, 1], ["a", "b"], "f.vcf") == [Call((None,), True)] * 2
    short = Record(14, "chr1", 102, ".", "A", ("C",), None, "GT\t0|1")
    with pytest.raises(ZooError, match="f.vcf, line 14: 1 sample column"):
        record_calls(short, [0, 1], ["a", "b"], "f.vcf")


def test_sample_choice_errors_list_close_names():
    cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "HG00096", "HG00097", "NA12878"]
    assert select_samples(cols, ["NA12878", "HG00096"], "f") == (["NA12878", "HG00096"], [2, 0])
    with pytest.raises(ZooError, match="HG0096 not in f; close names in the VCF: HG00096"):
        select_samples(cols, ["HG0096"], "f")
    with pytest.raises(ZooError, match="no genotype columns"):
        select_samples(cols[:8], None, "f")


@pytest.fixture
def genome(tmp_path):
    rng = np.random.default_rng(5)
    return Genome(write_fasta(tmp_path / "h.fa", {"c": "".join(rng.choice(list("ACGT"), 400))}))


def V(pos, ref, alt):
    return Variant(0, 1, "c", pos, ".", ref, alt, "ok")


@pytest.mark.parametrize("ref_alt", [("G", "T"), ("GAC", "G"), ("G", "GTTA"), ("GA", "CT")])
def test_a_haplotype_of_one_allele_is_the_single_variant_window(genome, ref_alt):
    pos, L, c = 200, 64, 31
    ref = genome.fetch("c", pos - 1, pos - 1 + len(ref_alt[0]))
    v = V(pos, ref, ref_alt[1] if len(ref_alt[0]) == 1 else ref[0] + ref_alt[1][1:])
    single = allele_windows(genome, [v], L, c)[1][0]
    np.testing.assert_array_equal(haplotype_window(genome, "c", Edit(pos - 1, v.ref, v.alt), [], L, c), single)


def test_haplotype_window_by_hand(genome):
    seq = genome.fetch("c", 0, 400)
    L, c = 40, 19  # focal SNV at 0-based 199 (pos 200), window [180, 220)
    focal = Edit(199, seq[199], "A" if seq[199] != "A" else "C")
    up_del = Edit(185, seq[185:188], seq[185])  # deletes 2 bases upstream: the left flank starts 2 bases earlier
    down_snv = Edit(210, seq[210], "G" if seq[210] != "G" else "T")
    got = "".join("ACGTN"[i] for i in haplotype_window(genome, "c", focal, [down_snv, up_del], L, c))
    hap = seq[:186] + seq[188:199] + focal.alt + seq[200:210] + down_snv.alt + seq[211:]
    at = 186 + (199 - 188)  # where the focal allele sits in the haplotype
    assert got == hap[at - c : at - c + L] and got[c] == focal.alt
    assert first_overlap([focal, up_del, Edit(186, seq[186], "T")]) == (up_del, Edit(186, seq[186], "T"))
    assert first_overlap([focal, up_del, down_snv]) is None


def _phased_vcf(path, lines, samples=("S1", "S2")):
    head = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
    path.write_text(head + "\t".join(samples) + "\n" + "".join(line + "\n" for line in lines))
    return path


def test_unsorted_and_genotype_free_vcfs_are_one_line_errors(tuned, world, tmp_path):
    g = Genome(f"{world}/genome.fa")
    b1, b2 = g.fetch("chr1", 5000, 5001), g.fetch("chr1", 4000, 4001)
    alt = {"A": "C", "C": "G", "G": "T", "T": "A"}
    vcf = _phased_vcf(tmp_path / "u.vcf", [f"chr1\t5001\t.\t{b1}\t{alt[b1]}\t.\t.\t.\tGT\t0|1\t1|1",
                                           f"chr1\t4001\t.\t{b2}\t{alt[b2]}\t.\t.\t.\tGT\t0|1\t1|1"])  # fmt: skip
    common = ["--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--haplotypes"]
    assert_user_error(
        run("score-variants", *common, "--vcf", vcf, "--out", tmp_path / "u.tsv"), "line 5", "bcftools sort"
    )
    res = run(
        "score-variants", *common, "--vcf", f"{world}/variants.vcf", "--out", tmp_path / "x.tsv", "--samples", "demo0"
    )
    assert_user_error(res, "demo0 not in", "close names in the VCF: demo")
    res = run("score-variants", *common, "--vcf", f"{world}/haplotypes.vcf", "--out", tmp_path / "x.vcf.gz")
    assert_user_error(res, "haplotype rows are written as .tsv")
    (tmp_path / "sites.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    res = run("score-variants", *common, "--vcf", tmp_path / "sites.vcf", "--out", tmp_path / "s.tsv")
    assert_user_error(res, "no genotype columns")
    res = run("score-variants", *common[:-1], "--vcf", vcf, "--out", tmp_path / "n.tsv", "--samples", "S1")
    assert_user_error(res, "--samples chooses whose haplotypes are scored: add --haplotypes")


@pytest.fixture(scope="module")
def haplotype_scores(tuned, world, tmp_path_factory):
    """The demo world's phased VCF scored per haplotype and per single variant."""
    out = tmp_path_factory.mktemp("hap")
    common = ["--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--vcf", f"{world}/haplotypes.vcf"]
    res = run("score-variants", *common, "--out", out / "hap.tsv", "--haplotypes")
    assert res.returncode == 0, res.stderr[-2000:]
    single = run("score-variants", *common, "--out", out / "single.tsv")
    assert single.returncode == 0, single.stderr[-2000:]
    return read_scores(str(out / "hap.tsv")), read_scores(str(out / "single.tsv")), res.stdout


def test_haplotype_rows_follow_the_genotypes(haplotype_scores, world):
    hap, single, stdout = haplotype_scores
    truth = pd.read_csv(os.path.join(world, "truth", "haplotypes.tsv"), sep="\t")
    pairs = pd.read_csv(os.path.join(world, "truth", "haplotype_pairs.tsv"), sep="\t")
    assert (hap.status == "ok").all() and set(hap.record) == set(single.record)
    for p in pairs.itertuples():
        for pos, letter in ((p.pos_a, "A"), (p.pos_b, "B")):
            want = truth[truth.pair == p.pair]
            want = want[want.carries.str.contains(letter)]
            got = hap[hap.pos == pos]
            assert sorted(zip(got["sample"], got.haplotype.astype(int))) == sorted(zip(want["sample"], want.haplotype))
            both = dict(zip(zip(want["sample"], want.haplotype), want.carries == "AB"))
            assert all((n == 2) == both[(s, int(h))] for s, h, n in zip(got["sample"], got.haplotype, got.n_alleles))
    n_records = single.record.nunique()
    assert f"({n_records} reference and" in stdout  # one reference window per record, shared by all its rows


def test_haplotype_effects_are_sub_additive_where_the_truth_says(haplotype_scores, world):
    hap, single, _ = haplotype_scores
    pairs = pd.read_csv(os.path.join(world, "truth", "haplotype_pairs.tsv"), sep="\t")
    checked = 0
    for p in pairs.itertuples():
        cols = [f"{t}:diff" for t in p.tracks.split(",")]
        a = single.loc[single.pos == p.pos_a, cols].iloc[0]
        b = single.loc[single.pos == p.pos_b, cols].iloc[0]
        track = cols[int(np.argmax(np.abs((a + b).to_numpy())))]
        rows = hap[hap.pos == p.pos_a]
        cis = rows.loc[rows.n_alleles == 2, track].to_numpy()
        alone = rows.loc[rows.n_alleles == 1, track].to_numpy()
        np.testing.assert_allclose(alone, a[track], rtol=1e-3, atol=1e-3)  # one allele: the single-variant effect
        if abs(a[track] + b[track]) < 0.5:
            continue  # too weak a pair on this small model to judge
        checked += 1
        assert len(cis) and np.all(np.sign(cis) == np.sign(a[track] + b[track]))
        assert np.all(np.abs(cis) < 0.75 * abs(a[track] + b[track])), (p.pair, cis, a[track], b[track])
    assert checked >= 5


def test_haplotype_runs_resume_shard_and_take_genes(haplotype_scores, tuned, world, tmp_path):
    hap = haplotype_scores[0]
    common = ["--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--vcf", f"{world}/haplotypes.vcf",
              "--haplotypes"]  # fmt: skip
    # a run stopped after 100 rows: --resume scores only the rest and gives the same file
    whole = tmp_path / "whole.tsv"
    assert run("score-variants", *common, "--out", whole).returncode == 0
    lines = whole.read_text().splitlines(keepends=True)
    (tmp_path / "r.tsv.partial.tsv").write_text("".join(lines[:101]))
    res = run("score-variants", *common, "--out", tmp_path / "r.tsv", "--resume")
    assert res.returncode == 0 and "resumed after 100 rows" in res.stdout, res.stderr[-2000:]
    resumed, once = read_scores(str(tmp_path / "r.tsv")), read_scores(str(whole))
    assert resumed.iloc[:100].equals(once.iloc[:100])  # the rows written before the stop are kept as they were
    pd.testing.assert_frame_equal(resumed, once, rtol=1e-4, atol=1e-5)  # the rest rescored (other batches: float noise)
    # two shards merge back to the one-run rows
    for i in (1, 2):
        assert run("score-variants", *common, "--out", tmp_path / f"s{i}.tsv", "--shard", f"{i}/2").returncode == 0
    assert run("merge-scores", tmp_path / "s1.tsv", tmp_path / "s2.tsv", "--out", tmp_path / "m.tsv").returncode == 0
    merged = read_scores(str(tmp_path / "m.tsv"))
    pd.testing.assert_frame_equal(merged.reset_index(drop=True), hap.reset_index(drop=True), rtol=1e-4, atol=1e-5)
    # with --genes: a row per (record, ALT, sample, haplotype, gene) in reach
    res = run("score-variants", *common, "--out", tmp_path / "g.tsv", "--genes", f"{world}/genes.gtf")
    assert res.returncode == 0, res.stderr[-2000:]
    g = read_scores(str(tmp_path / "g.tsv"))
    assert {"sample", "haplotype", "gene_id", "cellA_ATAC:gene_logSED"} <= set(g.columns)
    with_gene = g[g.gene_id.notna() & (g.status == "ok")]
    assert len(with_gene) and not with_gene.duplicated(["record", "alt", "sample", "haplotype", "gene_id"]).any()
    assert set(zip(g["record"], g["sample"], g["haplotype"])) == set(
        zip(hap["record"], hap["sample"], hap["haplotype"])
    )


def test_only_genotypes_inside_the_window_matter(tuned, world, tmp_path):
    """The model reads 1,024 bp (the variant at index 511): a missing call 600 bp away is outside the
    window and does not matter; one 300 bp away is inside and makes the haplotype unknown."""
    g = Genome(f"{world}/genome.fa")
    alt = {"A": "C", "C": "G", "G": "T", "T": "A"}
    p = 60_001
    recs = []
    for pos, gts in ((p, "1|0\t1|0"), (p + 300, "0|0\t./."), (p + 600, "./.\t0|0")):
        b = g.fetch("chr1", pos - 1, pos)
        recs.append(f"chr1\t{pos}\t.\t{b}\t{alt[b]}\t.\t.\t.\tGT\t{gts}")
    vcf = _phased_vcf(tmp_path / "w.vcf", recs)
    res = run("score-variants", "--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--vcf", vcf,
              "--haplotypes", "--out", tmp_path / "w.tsv")  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    s = read_scores(str(tmp_path / "w.tsv"))
    first = s[s.pos == p].set_index("sample")
    assert first.loc["S1", "status"] == "ok" and first.loc["S1", "n_alleles"] == 1
    assert first.loc["S2", "status"] == "missing_gt" and first.loc["S2", "note"] == f"missing_gt at chr1:{p + 300}"
    assert (s[s.pos > p].status == ["missing_gt", "missing_gt"]).all()  # their own calls are missing
