"""`zoo calibrate` and `score-variants --calibration / --fdr`: the rank arithmetic by brute force and
by hand, Benjamini-Hochberg by hand, random background SNVs, mismatch errors, and the planted truth
of the demo world (quantiles of motif-breaking variants, uniform p-values of fresh random SNVs,
precision at 10% FDR)."""

import os

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare, kstest

from zoo_tools.core.errors import ZooError
from zoo_tools.data.background import gc_around, random_snvs, variant_keys, write_sites_vcf
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import read_variants
from zoo_tools.score.calibration import (
    Calibration,
    add_qvalues,
    check_calibration,
    rank_grid,
    read_calibration,
)
from zoo_tools.score.formats import read_scores
from zoo_tools.zoo.cache import sha256_file

from .conftest import write_fasta
from .test_cli import assert_user_error, run


def _cal(effects: np.ndarray, name: str = "t:diff") -> Calibration:
    return Calibration.from_effects(pd.DataFrame({name: effects}), {}, np.zeros(0, np.uint64))


def test_quantile_and_p_by_hand():
    cal = _cal(np.array([1.0, -2.0, 3.0, -4.0]))  # |effects| 1, 2, 3, 4; n = 4
    q, p = cal.quantile_and_p("t:diff", np.array([2.5, -5.0, 0.0, 2.0, np.nan]))
    # 2.5: r = 2 (3, 4 are >= 2.5) -> q = +(4 - 2) / 4, p = 3 / 5; -5: r = 0 -> q = -1, p = 1/5;
    # 0: r = 4 -> q = 0, p = 1; 2 (a tie with the background): r = 3 -> q = 0.25, p = 4/5
    np.testing.assert_allclose(q[:4], [0.5, -1.0, 0.0, 0.25])
    np.testing.assert_allclose(p[:4], [0.6, 0.2, 1.0, 0.8])
    assert np.isnan(q[4]) and np.isnan(p[4])


@pytest.mark.parametrize("n", [1500, 60_000])
def test_background_ranks_match_a_brute_force_count(n):
    rng = np.random.default_rng(n)
    bg = rng.standard_t(3, n)
    cal = _cal(bg)
    assert len(cal.ranks) == len(rank_grid(n)) <= 3001 and cal.ranks[-1] == n
    x = np.concatenate([rng.standard_t(3, 3000), bg[:200], [0.0, 1e9]])  # ties with background values too
    tol = cal.meta["zero_below"]["t:diff"]
    x = x[np.abs(x) >= tol]  # (effects under the noise floor tie at 0: next test)
    r = cal.background_ranks("t:diff", x)
    bg = np.where(np.abs(bg) < tol, 0, bg)
    truth = (np.abs(bg)[None, :] >= np.abs(x)[:, None]).sum(1)
    exact = truth <= 2000
    np.testing.assert_array_equal(r[exact], truth[exact])  # the tail is exact
    p, p_true = (r + 1) / (n + 1), (truth + 1) / (n + 1)
    assert np.max(np.abs(p - p_true) / p_true) < 0.01  # interpolated between kept ranks: < 1% in p


def test_effects_under_the_noise_floor_tie_at_zero_and_are_broken_uniformly():
    cal = _cal(np.array([0.0, 1e-9, -3e-9, 1.0, -2.0] * 20))  # n = 100: 60 zeros after the floor (1e-4 x 2)
    assert cal.meta["zeros"]["t:diff"] == 60 and cal.meta["zero_below"]["t:diff"] == pytest.approx(2e-4)
    u = np.array([0.0, 0.3, 0.999])
    q, p = cal.quantile_and_p("t:diff", np.array([0.0, 5e-8, -1e-5]), u)
    # a zero ties with the 60 background zeros: p = (n - k + K) / (n + 1), K = 1 + floor(u (k + 1))
    np.testing.assert_allclose(p, (100 - 60 + 1 + np.floor(u * 61)) / 101)
    assert (q == 0).all()
    # random zeros get uniform p over the tied block: mean of (41..101)/101
    rng = np.random.default_rng(0)
    p_all = cal.quantile_and_p("t:diff", np.zeros(20_000), rng.random(20_000))[1]
    assert p_all.min() == pytest.approx(41 / 101) and p_all.max() == pytest.approx(1.0)
    assert abs(p_all.mean() - np.mean(np.arange(41, 102) / 101)) < 0.005


def test_benjamini_hochberg_by_hand():
    df = pd.DataFrame({"t:diff:p": [0.01, 0.04, 0.03, 0.5, np.nan], "x": range(5)})
    q = add_qvalues(df)
    assert list(q.columns) == ["t:diff:p", "t:diff:q", "x"]
    # sorted p 0.01, 0.03, 0.04, 0.5 (m = 4): p * m / rank = 0.04, 0.06, 0.0533, 0.5, then running minima from the top
    np.testing.assert_allclose(q["t:diff:q"][:4], [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(q["t:diff:q"][4])


def test_calibration_file_round_trip(tmp_path):
    effects = pd.DataFrame({"a:diff": np.arange(10.0), "a:jsd": np.linspace(0, 1, 10)})
    keys = variant_keys(["chr1"] * 10, range(1, 11), ["A"] * 10, ["C"] * 10)
    cal = Calibration.from_effects(effects, {"model": {"sha256": "ab"}, "stats": ["diff", "jsd"]}, keys)
    cal.write(str(tmp_path / "c.parquet"))
    back = read_calibration(str(tmp_path / "c.parquet"))
    assert back.columns == cal.columns and back.n == 10 and back.meta["model"] == {"sha256": "ab"}
    np.testing.assert_array_equal(back.values, cal.values)
    np.testing.assert_array_equal(back.keys, keys)


def test_mismatched_calibration_names_both_sides():
    cal = _cal(np.arange(5.0))
    cal.meta = {"model": {"spec": "local:a", "sha256": "a" * 64}, "settings": dict(seq_len=1024, centre=511,
                window_bins=0, rc=True, pseudocount=1.0), "stats": ["diff"]}  # fmt: skip
    settings = dict(seq_len=1024, centre=511, window_bins=0, rc=True, pseudocount=1.0)
    with pytest.raises(ZooError, match=r"local:a \(sha256 aaaaaaaaaaaa\.\.\.\), not local:b \(sha256 bbbbbbbbbbbb"):
        check_calibration(cal, {"spec": "local:b", "sha256": "b" * 64}, settings, ["t"], ["diff"])
    with pytest.raises(ZooError, match="window_bins 0 there, 3 here"):
        check_calibration(cal, cal.meta["model"], dict(settings, window_bins=3), ["t"], ["diff"])
    with pytest.raises(ZooError, match="no background for t:jsd"):
        check_calibration(cal, cal.meta["model"], settings, ["t"], ["diff", "jsd"])


def _genome(tmp_path) -> Genome:
    rng = np.random.default_rng(0)
    seqs = {}
    for name, n, gc in (("1", 60_000, 0.35), ("2", 30_000, 0.6)):
        codes = rng.choice(4, n, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        s = np.array(list("ACGT"))[codes]
        s[:2000] = "N"  # an N run
        s[20_000:21_000] = "N"
        seqs[name] = "".join(s)
    return Genome(write_fasta(tmp_path / "g.fa", seqs))


def test_random_snvs_are_uniform_off_n_and_blacklists(tmp_path):
    g = _genome(tmp_path)
    bl = pd.DataFrame({"chrom": ["1"], "start": [30_000], "end": [40_000]})
    df = random_snvs(g, 3000, seed=3, blacklist=bl)
    assert len(df) == 3000 and not df.duplicated(["chrom", "pos", "alt"]).any()
    ref = np.array([g.fetch(c, p - 1, p) for c, p in zip(df.chrom, df.pos)])
    assert (ref == df.ref).all() and (df.ref != "N").all() and (df.alt != df.ref).all()
    on1 = df[df.chrom == "1"].pos - 1
    assert not ((on1 >= 30_000) & (on1 < 40_000)).any()
    # ALT uniform among the other three bases: the (REF, ALT) offset (ALT - REF) mod 4 is 1, 2 or 3 equally often
    off = (df.alt.map("ACGT".index) - df.ref.map("ACGT".index)) % 4
    assert chisquare(np.bincount(off, minlength=4)[1:]).pvalue > 0.001
    # positions uniform over usable bases: contig 1 has 60,000 - 3,000 N - 10,000 blacklisted, contig 2 27,000
    share = (df.chrom == "1").mean()
    assert abs(share - 47 / 74) < 0.03
    assert random_snvs(g, 3000, seed=3, blacklist=bl).equals(df)  # the same seed, the same SNVs
    other = random_snvs(g, 1000, seed=4, exclude=variant_keys(df.chrom, df.pos, df.ref, df.alt))
    assert not set(zip(other.chrom, other.pos, other.alt)) & set(zip(df.chrom, df.pos, df.alt))


def test_random_snvs_match_a_gc_target(tmp_path):
    g = _genome(tmp_path)
    target = gc_around(g, ["2"] * 200, np.linspace(3000, 29_000, 200).astype(int))  # GC-rich contig 2
    df = random_snvs(g, 500, seed=1, gc_target=target)
    assert kstest(df.gc, target).pvalue > 0.01
    assert (df.chrom == "2").mean() > 0.9  # the GC-rich contig is where such positions are
    with pytest.raises(ZooError, match="at least 10"):
        random_snvs(g, 10, gc_target=target[:3])


@pytest.fixture(scope="module")
def calibrated(tuned, world, tmp_path_factory):
    """The demo model calibrated on 5,000 random SNVs (seed 1), through the CLI."""
    out = tmp_path_factory.mktemp("cal") / "cal.parquet"
    res = run("calibrate", "--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--out", out,
              "--random", 5000, "--seed", 1, "--score", "diff,log2fc,jsd")  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "calibrated on 5000 background allele(s)" in res.stdout and "variants/s" in res.stdout
    return str(out)


def _driven(world: str) -> dict[str, list[str]]:
    tracks = pd.read_csv(os.path.join(world, "truth", "tracks.tsv"), sep="\t")
    out: dict[str, list[str]] = {}
    for r in tracks.itertuples():
        for d in r.drivers.split(";"):
            out.setdefault(d.split("=")[0], []).append(r.track)
    return out


def test_calibration_file_describes_model_windows_and_background(calibrated, tuned):
    cal = read_calibration(calibrated)
    assert cal.n == 5000 and cal.meta["model"]["sha256"] == sha256_file(os.path.join(tuned, "model.ckpt"))
    assert cal.meta["settings"] == dict(seq_len=1024, centre=511, window_bins=0, rc=True, pseudocount=1.0)
    assert cal.meta["stats"] == ["diff", "log2fc", "jsd"] and len(cal.columns) == 6 * 3
    bg = cal.meta["background"]
    assert bg["kind"] == "random" and bg["seed"] == 1 and bg["scored"] == 5000 and len(cal.keys) == 5000
    assert os.path.exists(calibrated.replace(".parquet", ".background.vcf"))


def test_calibrated_scores_recover_the_planted_truth(calibrated, tuned, world, tmp_path):
    out = tmp_path / "s.tsv"
    res = run("score-variants", "--model", f"local:{tuned}", "--vcf", f"{world}/variants.vcf", "--genome",
              f"{world}/genome.fa", "--out", out, "--score", "diff,log2fc,jsd", "--calibration", calibrated,
              "--fdr", 0.1)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    s = read_scores(str(out))
    truth = pd.read_csv(os.path.join(world, "truth", "variants.tsv"), sep="\t")
    m = s.merge(truth, on=["chrom", "pos", "ref", "alt"])
    assert len(m) == len(s)
    q = m[[c for c in m.columns if c.endswith(":quantile")]]
    assert ((q >= -1) & (q <= 1)).all().all()
    driven = _driven(world)
    breaking = m[m.breaks_motif]
    best = [max(abs(r[f"{t}:diff:quantile"]) for t in driven[r.motif]) for _, r in breaking.iterrows()]
    assert np.mean(np.array(best) >= 0.99) >= 0.8
    called = m[[c for c in m.columns if c.endswith(":diff:q")]].le(0.1).any(axis=1)
    assert called.sum() >= 40 and m.breaks_motif[called].mean() >= 0.9
    p = m[[c for c in m.columns if c.endswith(":diff:p")]].to_numpy()
    n = 5000
    assert p.min() >= 1 / (n + 1) - 1e-9 and p.max() <= 1 + 1e-9


def test_fresh_random_snvs_get_uniform_p_values(calibrated, tuned, world, tmp_path):
    g = Genome(f"{world}/genome.fa")
    cal = read_calibration(calibrated)
    fresh = random_snvs(g, 2000, seed=2, min_len=1024, exclude=cal.keys)  # drawn as the background was
    write_sites_vcf(str(tmp_path / "fresh.vcf"), g, fresh, "fresh")
    out = tmp_path / "fresh.tsv"
    res = run("score-variants", "--model", f"local:{tuned}", "--vcf", tmp_path / "fresh.vcf", "--genome",
              f"{world}/genome.fa", "--out", out, "--score", "diff,log2fc,jsd",
              "--calibration", calibrated)  # fmt: skip
    assert res.returncode == 0 and "background" not in res.stderr, res.stderr[-2000:]
    s = read_scores(str(out))
    for c in [c for c in s.columns if c.endswith(":diff:p")]:
        assert kstest(s[c], "uniform").pvalue > 0.01, c


def test_scoring_the_background_itself_warns_with_the_count(calibrated, tuned, world, tmp_path):
    bg = calibrated.replace(".parquet", ".background.vcf")
    head = [line for line in open(bg) if line.startswith("#")]
    body = [line for line in open(bg) if not line.startswith("#")][:300]
    (tmp_path / "bg.vcf").write_text("".join(head + body))
    res = run("score-variants", "--model", f"local:{tuned}", "--vcf", tmp_path / "bg.vcf", "--genome",
              f"{world}/genome.fa", "--out", tmp_path / "bg.vcf.gz", "--score", "diff,log2fc,jsd",
              "--calibration", calibrated)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "300 scored allele(s) are in the calibration's background" in res.stderr
    import gzip

    text = gzip.open(tmp_path / "bg.vcf.gz", "rt").read()
    assert "##INFO=<ID=ZOO_cellA_ATAC_diff_quantile" in text and "ZOO_cellA_ATAC_diff_p=" in text


def test_calibration_mismatches_are_one_line_errors(calibrated, tuned, world, tmp_path):
    common = ["--model", f"local:{tuned}", "--vcf", f"{world}/variants.vcf", "--genome", f"{world}/genome.fa"]
    res = run("score-variants", *common, "--out", tmp_path / "a.tsv", "--calibration", calibrated, "--window-bins", 3)
    assert_user_error(res, "other window settings", "window_bins 0 there, 3 here")
    res = run("score-variants", *common, "--out", tmp_path / "b.tsv", "--calibration", calibrated, "--score", "sad")
    assert_user_error(res, "no background for cellA_ATAC:sad")
    res = run("score-variants", *common, "--out", tmp_path / "c.tsv", "--fdr", 0.1)
    assert_user_error(res, "--fdr needs --calibration")
    res = run("calibrate", "--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--out", tmp_path / "c.tsv",
              "--random", 10)  # fmt: skip
    assert_user_error(res, "name it CAL.parquet")


def test_gc_matched_background_through_the_cli(tuned, world, tmp_path):
    out = tmp_path / "gc.parquet"
    res = run("calibrate", "--model", f"local:{tuned}", "--genome", f"{world}/genome.fa", "--out", out,
              "--random", 400, "--match-gc", f"{world}/variants.vcf", "--chroms", "chr1", "chr2")  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    g = Genome(f"{world}/genome.fa")
    bg = read_variants(str(out).replace(".parquet", ".background.vcf"), g)
    target = read_variants(f"{world}/variants.vcf", g)
    assert set(bg.chrom) <= {"chr1", "chr2"} and len(bg) == 400
    assert kstest(gc_around(g, bg.chrom, bg.pos), gc_around(g, target.chrom, target.pos)).pvalue > 0.01
    assert read_calibration(str(out)).meta["background"]["match_gc"].endswith("variants.vcf")


def test_sharded_calibrated_runs_merge_to_file_wide_q_values(calibrated, tuned, world, tmp_path):
    common = ["--model", f"local:{tuned}", "--vcf", f"{world}/variants.vcf", "--genome", f"{world}/genome.fa",
              "--score", "diff,log2fc,jsd", "--calibration", calibrated, "--fdr", 0.1]  # fmt: skip
    assert run("score-variants", *common, "--out", tmp_path / "all.tsv").returncode == 0
    for i in (1, 2):
        res = run("score-variants", *common, "--out", tmp_path / f"s{i}.tsv", "--shard", f"{i}/2")
        assert res.returncode == 0, res.stderr[-2000:]
    shard_q = read_scores(str(tmp_path / "s1.tsv"))["cellA_ATAC:diff:q"]
    assert run("merge-scores", tmp_path / "s1.tsv", tmp_path / "s2.tsv", "--out", tmp_path / "m.tsv").returncode == 0
    whole, merged = read_scores(str(tmp_path / "all.tsv")), read_scores(str(tmp_path / "m.tsv"))
    assert list(merged.columns) == list(whole.columns)
    q = [c for c in whole.columns if c.endswith(":q")]
    np.testing.assert_allclose(merged[q].to_numpy(), whole[q].to_numpy(), rtol=1e-4)
    assert not np.allclose(shard_q.to_numpy(), whole["cellA_ATAC:diff:q"][whole.record % 2 == 0].to_numpy())


def test_calibrate_bad_inputs_are_one_line_errors(tuned, world, tmp_path):
    common = ["--model", f"local:{tuned}", "--genome", f"{world}/genome.fa"]
    res = run("calibrate", *common, "--out", tmp_path / "a.parquet", "--random", 50, "--chroms", "chrZ")
    assert_user_error(res, "chrZ")
    assert_user_error(run("calibrate", *common, "--out", tmp_path / "b.parquet", "--random", 0), "--random 0")
    res = run("calibrate", *common, "--out", tmp_path / "c.parquet", "--random", 50, "--match-gc", tmp_path / "no.vcf")
    assert_user_error(res, "no.vcf")
    res = run("score-variants", *common, "--vcf", f"{world}/variants.vcf", "--out", tmp_path / "s.tsv",
              "--calibration", tmp_path / "missing.parquet")  # fmt: skip
    assert_user_error(res, "missing.parquet", "zoo calibrate")
    (tmp_path / "x.parquet").write_bytes(b"not parquet")
    res = run("score-variants", *common, "--vcf", f"{world}/variants.vcf", "--out", tmp_path / "t.tsv",
              "--calibration", tmp_path / "x.parquet")  # fmt: skip
    assert_user_error(res, "not a calibration written by zoo calibrate")
