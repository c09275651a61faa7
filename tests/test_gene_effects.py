"""Gene-level variant effects (issue 15, part 3): `score-variants --genes`.

Values are checked on a model whose output is known (G/C bases per 16 bp bin, tests/test_gene_predictions),
so each gene_ref / gene_alt can be counted on the sequence by hand; Borzoi's logSED is reproduced on the
same predictions; an intronic deletion shows the stitched and the unaligned numbers; every output format,
--resume, --shard and --devices give the same rows through the CLI."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from cyvcf2 import VCF

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.score import GeneRequest, read_scores, score_vcf
from zoo_tools.score.gene_effects import GeneIndex, GeneScoring, explode, pack, task_uses_tss
from zoo_tools.score.genes import borzoi_gene_bins, log_sed

from . import zoo_fixtures as fx
from .conftest import write_fasta
from .test_cli import assert_user_error, run
from .test_gene_predictions import BIN, BINS, CROP, L, gc_model
from .test_genes import gtf_line

CENTRE = L // 2 - 1  # gReLU's ceil(L / 2) - 1: the window index of the variant's first base


def _gc(seq: str) -> np.ndarray:
    return np.array([c in "GC" for c in seq], dtype=float)


def _to_gc(base: str) -> str:
    """An ALT that turns an A/T base into G/C (+1 G/C) or a G/C base into A/T (-1)."""
    return {"A": "G", "T": "C", "G": "A", "C": "T"}[base]


@pytest.fixture
def world(tmp_path):
    """FASTA contig `1`, GTF and VCF `chr1`: genes on both strands (two overlapping), a long gene whose
    intron holds a deletion, records of every kind."""
    rng = np.random.default_rng(11)
    seq = "".join(rng.choice(list("ACGT"), 4000))
    fa = write_fasta(tmp_path / "g.fa", {"1": seq})
    gtf = [
        gtf_line("chr1", "exon", 1001, 1060, "+", gene_id="G1", transcript_id="t1", gene_name="ONE,1|x"),
        gtf_line("chr1", "exon", 1101, 1140, "+", gene_id="G1", transcript_id="t1", gene_name="ONE,1|x"),
        gtf_line("chr1", "exon", 1031, 1090, "-", gene_id="G2", transcript_id="t2", gene_name="TWO"),
        gtf_line("chr1", "exon", 1501, 1530, "+", gene_id="D", transcript_id="td", gene_name="LONG"),
        gtf_line("chr1", "exon", 1651, 1690, "+", gene_id="D", transcript_id="td", gene_name="LONG"),
        gtf_line("chr1", "exon", 3001, 3100, "-", gene_id="G3", transcript_id="t3", gene_name="THREE"),
    ]
    (tmp_path / "g.gtf").write_text("\n".join(gtf) + "\n")
    snv = 1010  # 1-based, in G1's first exon and G2's window
    dele = (1600, seq[1599:1610], seq[1599])  # 10 bp deletion in D's intron, 70 bp from each exon
    recs = [
        ("chr1", snv, seq[snv - 1], _to_gc(seq[snv - 1])),
        ("chr1", 400, seq[399], _to_gc(seq[399])),  # no gene in reach
        ("chr1", dele[0], dele[1], dele[2]),
        ("chr1", 3050, "A" if seq[3049] != "A" else "C", "G"),  # ref_mismatch
        ("chrUn", 5, "A", "G"),  # contig_missing
        ("chr1", 3090, seq[3089], f"{_to_gc(seq[3089])},<DEL>"),  # G3 (-), and a symbolic ALT
    ]
    vcf = tmp_path / "v.vcf"
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        fh.writelines(f"{c}\t{p}\tr{i}\t{r}\t{a}\t.\tPASS\t.\n" for i, (c, p, r, a) in enumerate(recs))
    return dict(fa=fa, seq=seq, gtf=str(tmp_path / "g.gtf"), vcf=str(vcf), snv=snv, dele=dele, tmp=tmp_path)


def _score(w, out="s.tsv", **genes):
    res = score_vcf(gc_model(), w["vcf"], Genome(w["fa"]), str(w["tmp"] / out), genes=GeneRequest(w["gtf"], **genes))
    return res, read_scores(str(w["tmp"] / out))


def _exon_weights_by_hand(exons0, out_lo):
    """Fraction of each output bin covered by 0-based half-open exons."""
    cover = np.zeros(BINS * BIN)
    for s, e in exons0:
        cover[max(s - out_lo, 0) : max(e - out_lo, 0)] = 1
    return cover.reshape(BINS, BIN).mean(1)


def test_snv_gene_values_are_counts_on_the_sequence(world):
    res, df = _score(world)
    seq, pos0 = world["seq"], world["snv"] - 1
    rows = df[df.record == 0].set_index("gene_id")
    assert rows.index.tolist() == ["G1", "G2"]  # both genes in the window, in TSS order
    assert rows.loc["G1", "gene_name"] == "ONE,1|x" and rows.loc["G2", "gene_strand"] == "-"
    out_lo = pos0 - CENTRE + CROP * BIN
    gc = _gc(seq[out_lo : out_lo + BINS * BIN]).reshape(BINS, BIN).sum(1)
    w1 = _exon_weights_by_hand([(1000, 1060), (1100, 1140)], out_lo)
    ref = float(gc @ w1)
    delta = 1.0 if seq[pos0] in "AT" else -1.0
    step = w1[(pos0 - out_lo) // BIN]  # the variant's bin, as far as G1's exons cover it
    g1 = rows.loc["G1"]
    assert g1["gc_any:gene_ref"] == pytest.approx(ref, abs=1e-4)
    assert g1["gc_any:gene_diff"] == pytest.approx(delta * step, abs=1e-4)
    assert g1["gc_any:gene_logSED"] == pytest.approx(np.log2((ref + delta * step + 1) / (ref + 1)), abs=1e-5)
    assert g1["gc_plus:gene_ref"] == pytest.approx(ref, abs=1e-4)  # + task, + gene
    assert g1.tss_distance == pos0 - 1000
    assert g1.exon_coverage == pytest.approx((60 + (out_lo + BINS * BIN - 1100)) / 100)  # exon 2 cut by the span
    g2 = rows.loc["G2"]
    assert np.isnan(g2["gc_plus:gene_ref"]) and np.isfinite(g2["gc_any:gene_ref"])  # + task: not a - gene
    assert g2.tss_distance == 1089 - pos0  # on -, the TSS is the last exon base; the SNV is downstream
    assert g1.max_abs_gene_logSED == pytest.approx(abs(g1["gc_any:gene_logSED"]), abs=1e-6)
    # bin-level scores are those of a run without --genes, repeated on each gene row
    plain = score_vcf(gc_model(), world["vcf"], Genome(world["fa"]), str(world["tmp"] / "plain.tsv"))
    assert plain["rows"] == 7 and res["rows"] == 7
    bins = read_scores(str(world["tmp"] / "plain.tsv")).set_index(["record", "alt"])["gc_any:diff"]
    assert rows["gc_any:diff"].tolist() == [bins[(0, df.alt[0])]] * 2


def test_tss_signal_sums_the_tss_bins(world):
    _, df = _score(world, "tss.tsv", signal="tss", k=1)
    seq, pos0 = world["seq"], world["snv"] - 1
    g1 = df[(df.record == 0) & (df.gene_id == "G1")].iloc[0]
    out_lo = pos0 - CENTRE + CROP * BIN
    tb = (1000 - out_lo) // BIN
    ref = _gc(seq[out_lo + (tb - 1) * BIN : out_lo + (tb + 2) * BIN]).sum()
    assert g1["gc_any:gene_ref"] == pytest.approx(ref, abs=1e-4)
    in_tss_bins = abs((pos0 - out_lo) // BIN - tb) <= 1
    assert g1["gc_any:gene_diff"] == pytest.approx((1 if seq[pos0] in "AT" else -1) * in_tss_bins, abs=1e-4)


def test_statuses_are_lossless_and_the_deletion_is_stitched(world):
    res, df = _score(world)
    want = {"ok": 3, "no_gene_in_window": 1, "ref_mismatch": 1, "contig_missing": 1, "symbolic_allele": 1}
    assert res["statuses"] == want and len(df) == 8  # record 0 has two genes
    per_allele = df.groupby(["record", "alt"], sort=False).size()
    assert len(per_allele) == 7  # every (record, ALT) is there
    st = df.drop_duplicates(["record", "alt"]).set_index("record").status
    assert st[1] == "no_gene_in_window" and st[3] == "ref_mismatch" and st[4] == "contig_missing"
    none = df[df.status != "ok"]
    assert none.gene_id.isna().all() and none["gc_any:gene_ref"].isna().all()
    assert df.loc[df.status == "no_gene_in_window", "gc_any:diff"].notna().all()  # bin scores kept
    # the deletion sits in D's intron: stitched, D's exon bins compare like with like
    d = df[(df.record == 2) & (df.gene_id == "D")].iloc[0]
    assert d.status == "ok" and d.exon_coverage == pytest.approx((26 + 40) / 70)  # output starts at 1504
    assert d["gc_any:gene_diff"] == pytest.approx(0.0, abs=1e-6)
    _, raw = _score(world, "raw.tsv", stitch=False)
    d_raw = raw[(raw.record == 2) & (raw.gene_id == "D")].iloc[0]
    seq, out_lo = world["seq"], 1599 - CENTRE + CROP * BIN
    alt_seq = seq[:1600] + seq[1610:]  # the ALT haplotype; exon 2 is 10 bp further left in it
    w = _exon_weights_by_hand([(1500, 1530), (1650, 1690)], out_lo)
    ref_gc = _gc(seq[out_lo : out_lo + BINS * BIN]).reshape(BINS, BIN).sum(1)
    alt_gc = _gc(alt_seq[out_lo : out_lo + BINS * BIN]).reshape(BINS, BIN).sum(1)
    assert d_raw["gc_any:gene_diff"] == pytest.approx(float((alt_gc - ref_gc) @ w), abs=1e-4)
    assert abs(d_raw["gc_any:gene_diff"]) > 0.5  # the unaligned comparison sees a shifted exon
    print(
        f"intronic deletion: gene_diff stitched {d['gc_any:gene_diff']:.3g}, unaligned {d_raw['gc_any:gene_diff']:.3g}"
    )


def test_gene_logsed_reproduces_borzoi_on_the_same_predictions():
    """Exons on bin edges: Borzoi's gene bins (baskerville Gene.output_slice) and our exon weights
    hold the same bins, so our gene_logSED equals baskerville's logSED (log2(sum alt + 1) - log2(sum ref + 1))."""
    rng = np.random.default_rng(0)
    genes = pd.DataFrame(
        {
            "gene_id": ["A"],
            "gene_name": ["a"],
            "chrom": ["c"],
            "strand": ["+"],
            "tss": [160],
            "start": [160],
            "end": [320],
            "exons": [((160, 192), (256, 320))],
        }
    )
    scoring = GeneScoring(GeneIndex(genes), np.array([False, False]), np.array([".", "."]), 16, 24, 32)
    ref, alt = rng.gamma(2.0, 3.0, (2, 24)), rng.gamma(2.0, 3.0, (2, 24))
    out_lo = 0
    vals, cover = scoring.effects(ref, alt, [0], out_lo)
    bins = borzoi_gene_bins(genes.exons[0], out_lo, 16, 24)
    assert bins.tolist() == [10, 11, 16, 17, 18, 19]
    np.testing.assert_allclose(vals[0, :, 3], log_sed(ref.T, alt.T, bins), rtol=1e-12)
    assert cover[0] == 1.0
    # packed and exploded back: the same numbers, names percent-encoded on the way
    cell = pack(GeneIndex(genes.assign(gene_name="a,b|c")), [0], vals, cover, 200)
    row = pd.DataFrame({"record": [0], "status": ["ok"], "line": [1], "max_abs_effect": [0.0], "genes": [cell]})
    back = explode(row, ["t0", "t1"])
    assert back.gene_name[0] == "a,b|c" and back.tss_distance[0] == 40
    assert back["t1:gene_logSED"][0] == pytest.approx(vals[0, 1, 3], rel=1e-5)


@pytest.fixture
def grelu_world(world):
    return dict(world, ckpt=fx.grelu_checkpoint(world["tmp"] / "m.ckpt"))


def _cli_base(w):
    return [
        "score-variants",
        "--model",
        f"local:{w['ckpt']}",
        "--vcf",
        w["vcf"],
        "--genome",
        w["fa"],
        "--genes",
        w["gtf"],
    ]


def test_every_format_shards_and_resume_through_the_cli(grelu_world):
    w, tmp = grelu_world, grelu_world["tmp"]
    base = _cli_base(w) + ["--chunk-size", "2"]
    for ext in ("tsv", "tsv.gz", "parquet", "vcf.gz"):
        res = run(*base, "--out", tmp / f"s.{ext}")
        assert res.returncode == 0, res.stderr
    tsv = read_scores(str(tmp / "s.tsv"))
    assert "no_gene_in_window 1" in res.stdout and len(tsv) == 8  # 7 alleles, two genes for record 0
    pd.testing.assert_frame_equal(read_scores(str(tmp / "s.tsv.gz")), tsv)
    pq = read_scores(str(tmp / "s.parquet"))
    np.testing.assert_allclose(pq["atac_a:gene_logSED"], tsv["atac_a:gene_logSED"], rtol=1e-5)
    recs = list(VCF(str(tmp / "s.vcf.gz")))
    assert len(recs) == 7
    with gzip.open(tmp / "s.vcf.gz", "rt") as fh:
        assert "##INFO=<ID=ZOO_GENES,Number=.,Type=String" in fh.read(20000)
    first = recs[0].INFO.get("ZOO_GENES").split(",")
    assert [g.split("|")[0] for g in first] == ["G1", "G2"] and first[0].split("|")[1] == "ONE%2C1%7Cx"
    lsed = float(first[0].split("|")[5 + 3])  # atac_a:gene_logSED of G1
    assert lsed == pytest.approx(tsv["atac_a:gene_logSED"][0], rel=1e-5, abs=1e-7)
    for i in (1, 2):
        assert run(*base, "--out", tmp / f"sh{i}.tsv", "--shard", f"{i}/2").returncode == 0
    res = run("merge-scores", str(tmp / "sh2.tsv"), str(tmp / "sh1.tsv"), "--out", tmp / "merged.tsv")
    assert res.returncode == 0, res.stderr
    same = dict(rtol=1e-4, atol=1e-6)  # float32 sums in other batches
    pd.testing.assert_frame_equal(read_scores(str(tmp / "merged.tsv")), tsv, **same)
    # resume: a VCF with a bad last line stops after its complete chunks; fixed, --resume continues
    bad = tmp / "bad.vcf"
    bad.write_text(open(w["vcf"]).read() + "chr1\tfive\t.\tA\tC\t.\t.\t.\n")
    base_bad = [a if a != w["vcf"] else str(bad) for a in base]
    assert_user_error(run(*base_bad, "--out", tmp / "r.tsv"), "line 9", "--resume")
    bad.write_text(open(w["vcf"]).read())
    res = run(*base_bad, "--out", tmp / "r.tsv", "--resume")
    assert res.returncode == 0 and "resumed after 6 rows" in res.stdout, res.stdout + res.stderr
    pd.testing.assert_frame_equal(read_scores(str(tmp / "r.tsv")), tsv, **same)


def test_several_devices_with_genes_give_the_same_rows(grelu_world):
    w, tmp = grelu_world, grelu_world["tmp"]
    base = _cli_base(w) + ["--chunk-size", "2"]
    assert run(*base, "--out", tmp / "one.tsv").returncode == 0
    res = run(*base, "--out", tmp / "two.tsv", "--devices", "2", "--accelerator", "cpu")
    assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(
        read_scores(str(tmp / "two.tsv")), read_scores(str(tmp / "one.tsv")), rtol=1e-4, atol=1e-6
    )


def test_gene_options_bad_input(grelu_world, tmp_path):
    w = grelu_world
    base = ["score-variants", "--model", f"local:{w['ckpt']}", "--vcf", w["vcf"], "--genome", w["fa"]]
    assert_user_error(run(*base, "--genes", tmp_path / "none.gtf", "--out", tmp_path / "o.tsv"), "none.gtf")
    other = tmp_path / "other.gtf"
    other.write_text(gtf_line("chrX", "exon", 1, 10, "+", gene_id="X", transcript_id="x") + "\n")
    assert_user_error(run(*base, "--genes", other, "--out", tmp_path / "o.tsv"), "other.gtf", "no gene")
    broken = tmp_path / "broken.gtf"
    broken.write_text(gtf_line("chr1", "exon", 1, 10, "+", gene_id="X", transcript_id="x") + "\nchr1\tx\texon\n")
    assert_user_error(run(*base, "--genes", broken, "--out", tmp_path / "o.tsv"), "broken.gtf, line 2")
    assert_user_error(run(*base, "--genes", w["gtf"], "--tss-bins", "-1", "--out", tmp_path / "o.tsv"), "--tss-bins")
    res = run(*base, "--genes", w["gtf"], "--gene-signal", "bogus", "--out", tmp_path / "o.tsv")
    assert res.returncode == 2 and "invalid choice: 'bogus'" in res.stderr  # argparse names the choices
    with pytest.raises(ZooError, match="--gene-signal"):
        task_uses_tss(pd.DataFrame({"assay": ["CAGE"]}), "bogus")
    auto = task_uses_tss(pd.DataFrame({"assay": ["CAGE", "RNA", "ATAC", "PRO-cap", "cage_TSS"]}))
    assert auto.tolist() == [True, False, False, True, True]
