"""`zoo score-variants`: windows by hand, scores by hand, agreement with gReLU, lossless statuses,
output formats, resume after a kill, shards, and the planted truth of the demo world."""

import gzip
import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.core.metrics import auroc
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.variants import Variant, read_variants
from zoo_tools.score.alleles import predict_alleles
from zoo_tools.score.formats import merge_scores, read_scores
from zoo_tools.score.rows import parse_shard
from zoo_tools.score.stats import effect_scores, score_bins
from zoo_tools.score.windows import allele_windows, centre_index
from zoo_tools.zoo import load_model
from zoo_tools.zoo.sources.grelu import grelu_side_effects_contained

from . import zoo_fixtures as fx
from .conftest import write_fasta
from .test_cli import ZOO, assert_user_error, run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


def V(chrom, pos, ref, alt, record=0):
    return Variant(record=record, allele=1, chrom=chrom, pos=pos, id=".", ref=ref, alt=alt, status="ok")


def test_windows_by_hand(tmp_path):
    #          0123456789012345
    seq = "ACGTTGCAACGTTGCA"
    g = Genome(write_fasta(tmp_path / "g.fa", {"c": seq}))
    L, c = 8, centre_index(8)  # first REF base at index 3 (gReLU: start = pos - ceil(L/2))
    assert c == 3 and centre_index(7) == 3 and centre_index(8, siamese=True) == 4
    cases = [
        (V("c", 7, "C", "G"), "TTGCAACG", "TTGGAACG"),  # SNV at 0-based 6
        (V("c", 7, "CA", "GT"), "TTGCAACG", "TTGGTACG"),  # MNV
        (V("c", 7, "CAA", "C"), "TTGCAACG", "TTGCCGTT"),  # deletion: right flank pulled in
        (V("c", 7, "C", "CGG"), "TTGCAACG", "TTGCGGAA"),  # insertion: right flank pushed out
        (V("c", 2, "C", "T"), "NNACGTTG", "NNATGTTG"),  # N-padded before the contig start
    ]
    ref, alt = allele_windows(g, [v for v, _, _ in cases], L, c)
    for k, (_, r, a) in enumerate(cases):
        assert (ref[k] == encode(r)).all(), (k, r)
        assert (alt[k] == encode(a)).all(), (k, a)


def test_scores_by_hand():
    ref = np.array([[[1.0, 3.0, 0.0, 0.0]]])  # (1 variant, 1 task, 4 bins)
    alt = np.array([[[1.0, 7.0, 0.0, -2.0]]])
    s = effect_scores(ref, alt, ["diff", "log2fc", "ref", "alt", "maxdiff"], slice(0, 4))
    assert s["diff"][0, 0] == pytest.approx((6 - 4) / 4)  # means 1.5 vs 1.0
    assert s["log2fc"][0, 0] == pytest.approx(np.log2((1.5 + 1) / (1.0 + 1)))
    assert s["ref"][0, 0] == 1.0 and s["alt"][0, 0] == 1.5
    assert s["maxdiff"][0, 0] == 4.0  # bin 1: 7 - 3
    s = effect_scores(ref, alt, ["diff"], score_bins(4, 1, 1))  # the variant's bin only
    assert s["diff"][0, 0] == 4.0
    assert score_bins(10, 0, 3) == slice(0, 3) and score_bins(10, 9, 3) == slice(7, 10)
    assert score_bins(10, 5, 3) == slice(4, 7) and score_bins(10, 5, 0) == slice(0, 10)


def _random_world(tmp_path, n=40, seed=0):
    """A random 2-contig genome and a VCF of SNVs and MNVs away from the ends."""
    rng = np.random.default_rng(seed)
    seqs = {c: "".join(rng.choice(list("ACGT"), 6000)) for c in ("chr1", "chr2")}
    fa = write_fasta(tmp_path / "g.fa", seqs)
    (tmp_path / "g.fa.sizes").write_text("".join(f"{c}\t{len(q)}\n" for c, q in seqs.items()))  # for gReLU
    rows = []
    for i in range(n):
        c = "chr1" if i % 2 else "chr2"
        pos = int(rng.integers(400, 5600))
        k = 2 if i % 10 == 0 else 1
        ref = seqs[c][pos - 1 : pos - 1 + k]
        alt = "".join("ACGT"[("ACGT".index(b) + 1) % 4] for b in ref)
        rows.append((c, pos, ref, alt))
    rows.sort()
    vcf = tmp_path / "v.vcf"
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length=6000>\n" for c in seqs))
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, (c, p, r, a) in enumerate(rows):
            fh.write(f"{c}\t{p}\tv{i}\t{r}\t{a}\t.\tPASS\t.\n")
    return fa, str(vcf), pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])


@pytest.mark.parametrize("rc", [False, True])
def test_agrees_with_grelu_predict_variant_effects(tmp_path, rc):
    from grelu.lightning import LightningModel
    from grelu.variant import predict_variant_effects

    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    fa, vcf, df = _random_world(tmp_path)
    native = LightningModel.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False).eval()
    theirs = np.zeros((len(df), 3, 16))
    for k in (1, 2):  # gReLU batches alleles of one length only: SNVs, then MNVs
        rows = np.flatnonzero(df.ref.str.len() == k)
        with grelu_side_effects_contained():  # gReLU lowers fp32 matmul precision for the whole process
            theirs[rows] = np.asarray(
                predict_variant_effects(
                    df.iloc[rows].reset_index(drop=True),
                    native,
                    devices="cpu",
                    seq_len=256,
                    genome=fa,
                    rc=rc,
                    num_workers=0,
                    compare_func="subtract",
                    return_ad=False,
                )
            )  # (n, T, B) alt - ref
    assert torch.get_float32_matmul_precision() == "highest"
    model = load_model(f"local:{ckpt}")
    g = Genome(fa)
    variants = [V(r.chrom, r.pos, r.ref, r.alt) for r in df.itertuples()]
    ref, alt = allele_windows(g, variants, 256, centre_index(256))
    r, a = predict_alleles(model, ref, alt, rc=rc)
    assert theirs.shape == r.shape == (len(df), 3, 16)
    assert float(np.abs((a - r) - theirs).max()) < 1e-4
    # through the CLI: diff is the mean over all bins of the same per-bin effects
    out = tmp_path / "s.tsv"
    res = run(
        "score-variants",
        "--model",
        f"local:{ckpt}",
        "--vcf",
        vcf,
        "--genome",
        fa,
        "--out",
        out,
        "--score",
        "diff",
        *([] if rc else ["--no-rc"]),
    )
    assert res.returncode == 0, res.stderr
    s = read_scores(str(out))
    for t, name in enumerate(["atac_a", "atac_b", "chip_c"]):
        assert s[f"{name}:diff"].to_numpy() == pytest.approx(theirs[:, t].mean(-1), abs=1e-4)


def _hostile_vcf(tmp_path):
    fa = write_fasta(tmp_path / "g.fa", {"chr1": "ACGTACGTAC" * 60, "chrM": "GATTACA" * 10})
    recs = [
        ("1", 100, "C", "T"),  # ok through the alias 1 -> chr1
        ("chr1", 101, "G", "A,T"),  # multi-allelic: two rows (101 is 0-based 100: 'A'?)
        ("chrUn", 5, "A", "G"),  # contig_missing
        ("chr1", 50, "C", "<DEL>"),  # symbolic_allele
        ("chr1", 60, "A", "."),  # missing_alt
        ("chr1", 599, "ACG", "A"),  # out_of_bounds (REF runs past the end)
        ("MT", 3, "T", "TAA"),  # ok insertion on chrM via the MT alias
        ("chr1", 10, "ACGT", "A"),
    ]  # deletion, REF checked
    vcf = tmp_path / "h.vcf"
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, (c, p, r, a) in enumerate(recs):
            fh.write(f"{c}\t{p}\tr{i}\t{r}\t{a}\t.\tPASS\t.\n")
    return fa, str(vcf)


def test_every_record_comes_out_with_a_status(tmp_path):
    fa, vcf = _hostile_vcf(tmp_path)
    expected = read_variants(vcf, Genome(fa))  # the statuses the VCF reader gives
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "s.tsv"
    res = run("score-variants", "--model", f"local:{ckpt}", "--vcf", vcf, "--genome", fa, "--out", out)
    assert res.returncode == 0, res.stderr
    s = read_scores(str(out))
    assert len(s) == 9 and s.record.tolist() == [0, 1, 1, 2, 3, 4, 5, 6, 7]
    # the reader's statuses, plus: chrM (70 bp) is shorter than the model's 256 bp input
    assert s.status.tolist() == expected.status.tolist()[:7] + ["contig_too_short", expected.status[8]]
    want = {2: "contig_missing", 3: "symbolic_allele", 4: "missing_alt", 5: "out_of_bounds", 6: "contig_too_short"}
    for rec, st in want.items():
        assert s.status[s.record == rec].tolist() == [st]
    assert s.alt[s.record == 1].tolist() == ["A", "T"]
    assert s.chrom[0] == "chr1" and s.chrom[7] == "chrM"
    ok = s.status == "ok"
    score_cols = [c for c in s.columns if ":" in c] + ["max_abs_effect"]
    assert s.loc[ok, score_cols].notna().all().all() and s.loc[~ok, score_cols].isna().all().all()
    assert "ok" in res.stdout and "contig_missing 1" in res.stdout


def test_output_formats_hold_the_same_values(tmp_path):
    from cyvcf2 import VCF

    fa, vcf, df = _random_world(tmp_path, n=12)
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    base = [
        "score-variants",
        "--model",
        f"local:{ckpt}",
        "--vcf",
        vcf,
        "--genome",
        fa,
        "--score",
        "diff,log2fc,maxdiff",
    ]
    for ext in ("tsv", "tsv.gz", "parquet", "vcf.gz"):
        res = run(*base, "--out", tmp_path / f"s.{ext}")
        assert res.returncode == 0, res.stderr
    tsv = read_scores(str(tmp_path / "s.tsv"))
    pd.testing.assert_frame_equal(read_scores(str(tmp_path / "s.tsv.gz")), tsv)
    assert np.allclose(read_scores(str(tmp_path / "s.parquet"))["atac_a:diff"], tsv["atac_a:diff"])
    recs = list(VCF(str(tmp_path / "s.vcf.gz")))
    assert len(recs) == len(tsv)
    assert [r.INFO.get("ZOO_STATUS") for r in recs] == tsv.status.tolist()
    assert np.allclose([r.INFO.get("ZOO_atac_a_diff") for r in recs], tsv["atac_a:diff"], rtol=1e-5, atol=1e-9)
    with gzip.open(tmp_path / "s.vcf.gz", "rt") as fh:
        head = fh.read(20000)
    assert '##INFO=<ID=ZOO_chip_c_log2fc,Number=1,Type=Float,Description="zoo_tools log2' in head


def test_resume_after_a_kill_gives_the_same_rows(tmp_path):
    fa, vcf, df = _random_world(tmp_path, n=600, seed=3)
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    args = [
        "score-variants",
        "--model",
        f"local:{ckpt}",
        "--vcf",
        vcf,
        "--genome",
        fa,
        "--chunk-size",
        "8",
        "--batch-size",
        "8",
    ]
    full = tmp_path / "full.tsv"
    assert run(*args, "--out", full).returncode == 0
    out = tmp_path / "part.tsv"
    partial = tmp_path / "part.tsv.partial.tsv"
    proc = subprocess.Popen(
        [ZOO, *map(str, args), "--out", str(out)],
        env={**os.environ, "ZOO_PROGRESS": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and (not partial.exists() or partial.read_text().count("\n") < 40):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run finished before it could be killed"
    written = partial.read_text().count("\n") - 1
    assert 0 < written < 600
    res = run(*args, "--out", out, "--resume")
    assert res.returncode == 0, res.stderr
    assert f"resumed after {written} rows" in res.stdout
    a, b = read_scores(str(out)), read_scores(str(full))
    assert len(a) == 600 and not a.duplicated(["record", "alt"]).any()
    pd.testing.assert_frame_equal(a, b)
    assert not partial.exists()


def test_shards_merge_back_in_input_order(tmp_path):
    fa, vcf = _hostile_vcf(tmp_path)
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    base = ["score-variants", "--model", f"local:{ckpt}", "--vcf", vcf, "--genome", fa]
    assert run(*base, "--out", tmp_path / "all.tsv").returncode == 0
    for i in (1, 2, 3):
        res = run(*base, "--out", tmp_path / f"s{i}.tsv.gz", "--shard", f"{i}/3")
        assert res.returncode == 0, res.stderr
    shards = [str(tmp_path / f"s{i}.tsv.gz") for i in (3, 1, 2)]
    res = run("merge-scores", *shards, "--out", tmp_path / "merged.tsv")
    assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(read_scores(str(tmp_path / "merged.tsv")), read_scores(str(tmp_path / "all.tsv")))
    res = run("merge-scores", *shards[:2], "--out", tmp_path / "m2.tsv")
    assert_user_error(res, "in no shard")
    assert merge_scores(shards, str(tmp_path / "m3.parquet")) == 9
    with pytest.raises(ZooError, match="I/N"):
        parse_shard("4/3")


def test_several_devices_through_lightning_predict_give_the_same_rows(tmp_path):
    """--devices 2: two gloo CPU processes in Lightning's predict loop, chunks dealt to ranks in
    turn and interleaved back. Same rows as one device (hostile statuses included), and a resume
    continues each rank's partial file (an incomplete last line is cut) without rescoring."""
    fa, vcf = _hostile_vcf(tmp_path)
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    base = ["score-variants", "--model", f"local:{ckpt}", "--vcf", vcf, "--genome", fa, "--chunk-size", "2"]
    assert run(*base, "--out", tmp_path / "one.tsv").returncode == 0
    res = run(*base, "--out", tmp_path / "two.tsv", "--devices", "2", "--accelerator", "cpu")
    assert res.returncode == 0, res.stderr
    assert "scored 9 allele(s)" in res.stdout and "GLOBAL_RANK" not in res.stderr  # one report, no banners
    one = read_scores(str(tmp_path / "one.tsv"))
    pd.testing.assert_frame_equal(read_scores(str(tmp_path / "two.tsv")), one, rtol=1e-5)
    # an interrupted 2-device run: rank 0 wrote chunk 0 and half a line, rank 1 wrote chunk 1
    lines = (tmp_path / "one.tsv").read_text().splitlines(keepends=True)
    out = tmp_path / "resumed.tsv.gz"
    (tmp_path / "resumed.tsv.gz.rank0-of-2.partial.tsv").write_text("".join(lines[:3]) + lines[5][:9])
    (tmp_path / "resumed.tsv.gz.rank1-of-2.partial.tsv").write_text("".join([lines[0]] + lines[3:5]))
    res = run(*base, "--out", out, "--devices", "2", "--accelerator", "cpu", "--resume")
    assert res.returncode == 0, res.stderr
    assert "resumed after 4 rows" in res.stdout
    pd.testing.assert_frame_equal(read_scores(str(out)), one, rtol=1e-5)
    assert not list(tmp_path.glob("resumed.tsv.gz.*partial*"))


def test_bad_input_is_one_line(tmp_path):
    fa, vcf = _hostile_vcf(tmp_path)
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    base = ["score-variants", "--model", f"local:{ckpt}", "--genome", fa]
    bad = tmp_path / "bad.vcf"
    bad.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t5\t.\tA\tC\t.\t.\t.\nchr1\tfive\t.\tA\tC\t.\t.\t.\n"
    )
    assert_user_error(run(*base, "--vcf", bad, "--out", tmp_path / "o.tsv"), "bad.vcf, line 4", "POS 'five'")
    assert_user_error(
        run(*base, "--vcf", vcf, "--out", tmp_path / "o.tsv", "--tasks", "H3K4me3"), "--tasks 'H3K4me3' matches no task"
    )
    assert_user_error(run(*base, "--vcf", vcf, "--out", tmp_path / "o.csv"), "--out", ".tsv")
    assert_user_error(run(*base, "--vcf", vcf, "--out", tmp_path / "o.tsv", "--score", "diff,zscore"), "zscore")
    assert_user_error(run(*base, "--vcf", vcf, "--out", tmp_path / "o.tsv", "--shard", "0/2"), "--shard")
    # a genome of another build: most REF bases differ -> a warning with the count and examples
    other = write_fasta(tmp_path / "other.fa", {"chr1": "T" * 600, "chrM": "T" * 70})
    res = run(
        "score-variants", "--model", f"local:{ckpt}", "--genome", other, "--vcf", vcf, "--out", tmp_path / "o2.tsv"
    )
    assert res.returncode == 0 and "could not be scored against" in res.stderr and "same build" in res.stderr
    assert "ref_mismatch 4, out_of_bounds 1, contig_missing 1" in res.stderr  # every status that is not ok


@pytest.mark.slow
def test_motif_breaking_variants_rank_above_neutral_ones(tuned, world, tmp_path):
    out = tmp_path / "demo_scores.tsv.gz"
    vcf, fasta = os.path.join(world, "variants.vcf"), os.path.join(world, "genome.fa")
    res = run("score-variants", "--model", f"local:{tuned}", "--vcf", vcf, "--genome", fasta, "--out", out)
    assert res.returncode == 0, res.stderr
    s = read_scores(str(out))
    truth = pd.read_csv(os.path.join(world, "truth", "variants.tsv"), sep="\t")
    m = s.merge(truth, on=["chrom", "pos", "ref", "alt"], how="left")
    assert len(m) == len(s) == len(truth) and m.breaks_motif.notna().all()
    assert auroc(m.max_abs_effect.to_numpy(), m.breaks_motif.to_numpy().astype(bool)) >= 0.9
    assert set(m.kind) >= {"snv", "indel", "mnv"} and (m.status == "ok").all()
    assert f"scored {len(s)} allele(s)" in res.stdout
