"""Real-world VCF defects (issue 14), each from a small file with the same defect, run through the CLI:
space-separated lines, 7-column records, truncated bgzip, VCF 4.4 genotypes, positions above 2^32,
contig aliases written back, empty shards, two runs on one output, a VCF of another build."""

from __future__ import annotations

import gzip
import os

import pandas as pd
import pysam
import pytest
from Bio import bgzf

from zoo_tools.data.variants import read_variants
from zoo_tools.score import read_scores
from zoo_tools.score.guards import run_lock

from . import zoo_fixtures as fx
from .conftest import write_fasta
from .test_cli import assert_user_error, run

HEAD = "##fileformat=VCFv4.2\n"
COLS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return "local:" + fx.grelu_checkpoint(tmp_path_factory.mktemp("m") / "m.ckpt")


@pytest.fixture
def genome(tmp_path):
    """FASTA spelled ``1`` / ``2`` (600 and 500 bp); the VCFs below spell ``chr1`` / ``chr2``."""
    seqs = {"1": "ACGTACGTAC" * 60, "2": "GGATCCTTAA" * 50}
    return write_fasta(tmp_path / "g.fa", seqs), seqs


def snvs(seqs: dict, n: int, contig_prefix: str = "chr") -> list[str]:
    """``n`` valid SNV lines (REF from the genome) over its contigs, 8 columns."""
    lines = []
    for i in range(n):
        c = list(seqs)[i % len(seqs)]
        pos = 100 + 7 * i
        ref = seqs[c][pos - 1]
        alt = "A" if ref != "A" else "C"
        lines.append(f"{contig_prefix}{c}\t{pos}\tv{i}\t{ref}\t{alt}\t.\tPASS\t.")
    return lines


def write_vcf(path, body: list[str], head: str = HEAD, cols: str = COLS) -> str:
    with open(path, "w") as fh:
        fh.write(head + cols + "".join(line + "\n" for line in body))
    return str(path)


def score(model, vcf, fa, out, *extra):
    return run("score-variants", "--model", model, "--vcf", vcf, "--genome", fa, "--out", out, *extra)


def test_space_separated_line_is_named_never_a_crash(model, genome, tmp_path):
    fa, seqs = genome
    body = snvs(seqs, 4)
    body[2] = body[2].replace("\t", " ")
    vcf = write_vcf(tmp_path / "sp.vcf", body)
    out = tmp_path / "o.tsv"
    res = score(model, vcf, fa, out)
    # header: 2 lines, so record 3 is line 5
    assert_user_error(res, "sp.vcf, line 5: its fields are separated by spaces, not tabs", "--skip-malformed")
    assert not out.exists() and not (tmp_path / "o.tsv.partial.tsv").exists()
    res = score(model, vcf, fa, out, "--skip-malformed")
    assert res.returncode == 0, res.stderr
    s = read_scores(str(out))
    assert s.status.tolist() == ["ok", "ok", "malformed", "ok"] and s.line.tolist() == [3, 4, 5, 6]
    assert s.loc[2, "max_abs_effect"] != s.loc[2, "max_abs_effect"]  # NaN: not scored
    assert "malformed 1" in res.stdout
    res = score(model, vcf, fa, tmp_path / "o.vcf.gz", "--skip-malformed")
    assert_user_error(res, "a VCF output cannot hold malformed lines", ".tsv, .tsv.gz or .parquet")


def test_stopped_run_says_it_kept_its_partial_file(model, genome, tmp_path):
    fa, seqs = genome
    body = snvs(seqs, 6)
    body[4] = "chr1\t12x\t.\tA\tC\t.\t.\t."
    vcf = write_vcf(tmp_path / "p.vcf", body)
    out = tmp_path / "o.tsv"
    res = score(model, vcf, fa, out, "--chunk-size", "2")
    assert_user_error(res, "p.vcf, line 7: POS '12x' is not a number", "keeps the 4 rows", "--resume")
    partial = tmp_path / "o.tsv.partial.tsv"
    assert partial.read_text().count("\n") == 5  # header + 4 rows
    body[4] = "chr1\t120\tv4\tA\tC\t.\t.\t."  # fixed in place: the run continues after 4 rows
    write_vcf(tmp_path / "p.vcf", body)
    res = score(model, vcf, fa, out, "--chunk-size", "2", "--resume")
    assert res.returncode == 0 and "resumed after 4 rows" in res.stdout, res.stderr
    assert len(read_scores(str(out))) == 6 and not partial.exists()


def test_seven_column_records_are_read_as_bcftools_reads_them(model, genome, tmp_path):
    fa, seqs = genome
    body = [line.rsplit("\t", 1)[0] for line in snvs(seqs, 3)]  # no INFO column
    vcf7 = write_vcf(tmp_path / "c7.vcf", body, cols=COLS.replace("\tINFO", ""))
    vcf8 = write_vcf(tmp_path / "c8.vcf", snvs(seqs, 3))
    assert score(model, vcf7, fa, tmp_path / "a.tsv").returncode == 0
    assert score(model, vcf8, fa, tmp_path / "b.tsv").returncode == 0
    a, b = read_scores(str(tmp_path / "a.tsv")), read_scores(str(tmp_path / "b.tsv"))
    pd.testing.assert_frame_equal(a, b)
    six = write_vcf(tmp_path / "c6.vcf", [line.rsplit("\t", 2)[0] for line in snvs(seqs, 2)])
    res = score(model, six, fa, tmp_path / "c.tsv")
    assert_user_error(res, "c6.vcf, line 3: 6 column(s); a VCF record needs 8")


def _bgzip(src: str, dest: str) -> str:
    with open(src, "rb") as fh, bgzf.BgzfWriter(dest, "wb") as out:
        out.write(fh.read())
    return dest


def test_truncated_bgzip_and_gzip_are_named_with_the_last_complete_line(model, genome, tmp_path):
    fa, seqs = genome
    plain = write_vcf(tmp_path / "t.vcf", snvs(seqs, 40))
    whole = _bgzip(plain, str(tmp_path / "t.vcf.gz"))
    assert len(read_variants(whole)) == 40
    data = open(whole, "rb").read()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) - 28 - 40])  # EOF block and the end of the last block gone
    res = score(model, str(cut), fa, tmp_path / "o.tsv")
    assert_user_error(res, "cut.vcf.gz: the file is truncated or damaged (no BGZF end-of-file block)")
    n = int(res.stderr.split("; line ")[1].split()[0])
    assert 0 < n < 42  # lines 1..n decompress whole
    assert not (tmp_path / "o.tsv.partial.tsv").exists()
    gz = tmp_path / "plain.vcf.gz"
    gz.write_bytes(gzip.compress(open(plain, "rb").read())[:-30])
    res = score(model, str(gz), fa, tmp_path / "p.tsv")
    assert_user_error(res, "plain.vcf.gz: the file is truncated or damaged", "last complete line")


def test_vcf44_genotypes_are_not_parsed(model, genome, tmp_path):
    """htslib's VCF 4.4 test writes GT as '/0|1' (an explicit phasing prefix); scoring never reads samples."""
    fa, seqs = genome
    body = [line + "\tGT:DP\t/0|1:3\t1/1:." for line in snvs(seqs, 5)]
    cols = COLS.rstrip("\n") + "\tFORMAT\tS1\tS2\n"
    vcf = write_vcf(tmp_path / "v44.vcf", body, head="##fileformat=VCFv4.4\n", cols=cols)
    res = score(model, vcf, fa, tmp_path / "o.tsv")
    assert res.returncode == 0, res.stderr
    assert read_scores(str(tmp_path / "o.tsv")).status.tolist() == ["ok"] * 5


def test_positions_above_2_32_are_kept_exactly(model, genome, tmp_path):
    fa, seqs = genome
    big = 10_009_999_919  # above 2^32 = 4,294,967,296 (long plant contigs)
    body = snvs(seqs, 2) + [f"chr1\t{big}\tfar\tA\tC\t.\t.\t."]
    vcf = write_vcf(tmp_path / "big.vcf", body)
    assert score(model, vcf, fa, tmp_path / "o.tsv").returncode == 0
    s = read_scores(str(tmp_path / "o.tsv"))
    assert s.pos.tolist()[-1] == big and s.status.tolist()[-1] == "out_of_bounds"
    assert read_variants(vcf).pos.tolist()[-1] == big


def test_vcf_output_keeps_the_input_contig_names(model, genome, tmp_path):
    """VCF `chr1`/`chr2` against FASTA `1`/`2`: the output's records match its ##contig lines, so an
    indexed region query finds them (bcftools rejected the old output)."""
    fa, seqs = genome
    head = HEAD + "##contig=<ID=chr1,length=600>\n"  # chr2 undeclared: a ##contig line is added
    body = sorted(snvs(seqs, 6), key=lambda line: line.split("\t")[0])  # sorted, as tabix needs
    vcf = write_vcf(tmp_path / "a.vcf", body, head=head)
    out = tmp_path / "o.vcf.gz"
    assert score(model, vcf, fa, out).returncode == 0
    tsv = tmp_path / "o.tsv"
    assert score(model, vcf, fa, tsv).returncode == 0
    assert set(read_scores(str(tsv)).chrom) == {"1", "2"}  # the table: the genome's spelling
    pysam.tabix_index(str(out), preset="vcf", force=True)
    with pysam.VariantFile(str(out)) as v:
        assert set(v.header.contigs) == {"chr1", "chr2"}
        assert v.header.contigs["chr1"].length == 600
        recs = list(v.fetch("chr2", 0, 500))
        assert [r.id for r in recs] == ["v1", "v3", "v5"]
        assert all(r.info["ZOO_STATUS"] == "ok" for r in recs)
        assert [r.chrom for r in v.fetch()] == ["chr1", "chr1", "chr1", "chr2", "chr2", "chr2"]


def test_an_empty_shard_writes_an_empty_output(model, genome, tmp_path):
    fa, seqs = genome
    vcf = write_vcf(tmp_path / "a.vcf", snvs(seqs, 3))
    shards = []
    for i in (1, 2, 3, 4, 5):
        out = tmp_path / f"s{i}.parquet"
        res = score(model, vcf, fa, out, "--shard", f"{i}/5")
        assert res.returncode == 0, res.stderr
        shards.append(out)
    assert len(read_scores(str(shards[4]))) == 0 and list(read_scores(str(shards[4])).columns)[:3] == [
        "record",
        "chrom",
        "pos",
    ]
    res = run("merge-scores", *shards, "--out", tmp_path / "m.tsv")
    assert res.returncode == 0, res.stderr
    assert read_scores(str(tmp_path / "m.tsv")).id.tolist() == ["v0", "v1", "v2"]
    res = score(model, vcf, fa, tmp_path / "e.vcf.gz", "--shard", "5/5")
    assert res.returncode == 0, res.stderr
    with pysam.VariantFile(str(tmp_path / "e.vcf.gz")) as v:
        assert list(v) == []
    empty = write_vcf(tmp_path / "empty.vcf", [])
    assert_user_error(score(model, empty, fa, tmp_path / "x.tsv"), "empty.vcf: the VCF has no records")


def test_a_second_run_on_the_same_output_refuses(model, genome, tmp_path):
    fa, seqs = genome
    vcf = write_vcf(tmp_path / "a.vcf", snvs(seqs, 3))
    out = tmp_path / "o.tsv"
    with run_lock(str(out)):  # a first run holds the output
        res = score(model, vcf, fa, out)
        assert_user_error(res, f"o.tsv is being written by another zoo run (PID {os.getpid()}, started ")
    res = score(model, vcf, fa, out)  # the first run is over: the lock is gone
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "o.tsv.lock").exists()


def test_a_vcf_of_another_build_stops_before_scoring(model, genome, tmp_path):
    fa, seqs = genome
    head = HEAD + "##contig=<ID=chr1,length=248956422>\n##contig=<ID=chr2,length=242193529>\n"
    body = snvs(seqs, 4) + ["chr1\t590\tfar\tACGTACGTACGTACGTACGT\tA\t.\t.\t.", "chr1\t3\tmm\tT\tA,C\t.\t.\t."]
    vcf = write_vcf(tmp_path / "b.vcf", body, head=head)
    res = score(model, vcf, fa, tmp_path / "o.tsv")
    assert_user_error(res, "2 of 2 contigs", "chr1: 248,956,422 bp in the VCF, 600 in the FASTA", "chr2:")
    assert "different genome builds" in res.stderr and "--allow-build-mismatch" in res.stderr
    res = score(model, vcf, fa, tmp_path / "o.tsv", "--allow-build-mismatch")
    assert res.returncode == 0, res.stderr
    s = read_scores(str(tmp_path / "o.tsv"))
    assert s.status.tolist() == ["ok"] * 4 + ["out_of_bounds", "ref_mismatch", "ref_mismatch"]
    assert "out_of_bounds 1" in res.stdout and "ref_mismatch 2" in res.stdout  # every non-ok status counted
    # the warning names distinct records (one for the two ALTs of 'mm')
    warning = [x for x in res.stderr.splitlines() if "could not be scored" in x][0]
    assert warning.count(":3 T") == 1 and "out_of_bounds 1" in warning


def test_bcf_reads_as_its_vcf(genome, tmp_path):
    """BCF (binary) goes through htslib: same rows as the text VCF, samples not parsed, no line numbers."""
    fa, seqs = genome
    body = [line + "\tGT\t0/1" for line in snvs(seqs, 4)] + ["chr1\t300\tm\tC\tT,G\t.\tPASS\t.\tGT\t1/2"]
    head = HEAD + "##contig=<ID=chr1,length=600>\n##contig=<ID=chr2,length=500>\n"
    head += '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    text = write_vcf(tmp_path / "a.vcf", body, head=head, cols=COLS.rstrip("\n") + "\tFORMAT\tS1\n")
    with pysam.VariantFile(text) as src, pysam.VariantFile(str(tmp_path / "a.bcf"), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    a, b = read_variants(text), read_variants(str(tmp_path / "a.bcf"))
    assert b.line.tolist() == [0] * 6 and a.line.tolist() == [6, 7, 8, 9, 10, 10]
    pd.testing.assert_frame_equal(a.drop(columns="line"), b.drop(columns="line"))
    assert b.alt.tolist()[-2:] == ["T", "G"] and b.record.tolist()[-2:] == [4, 4]


def test_bad_input_on_several_devices_is_said_once(model, genome, tmp_path):
    """Every rank meets the same malformed line: one line from the launching process, and the
    per-device partial files are named when they hold rows, removed when they do not."""
    fa, seqs = genome
    body = snvs(seqs, 8)
    vcf = write_vcf(tmp_path / "d.vcf", body + ["chr1 120 bad A C . . ."])
    base = ["--devices", "2", "--accelerator", "cpu", "--chunk-size", "2"]
    res = score(model, vcf, fa, tmp_path / "o.tsv", *base)
    assert_user_error(res, "d.vcf, line 11: its fields are separated by spaces", "rank0-of-2.partial.tsv", "--resume")
    early = write_vcf(tmp_path / "e.vcf", ["chr1 120 bad A C . . ."] + body)
    res = score(model, early, fa, tmp_path / "e.tsv", *base)
    assert_user_error(res, "e.vcf, line 3: its fields are separated by spaces")
    assert not list(tmp_path.glob("e.tsv*"))  # nothing scored: nothing left behind
