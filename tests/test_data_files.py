"""Real-world data YAML defects (issue 14), each from small files with the same defect: a split
without peaks or coverage, files covering one chromosome, a blacklist of another spelling, peaks
crowding a contig, one very wide peak."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import yaml

from zoo_tools.data.config import load_data_config
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import gc_matched_background
from zoo_tools.data.selection import WindowChoice, build_windows
from zoo_tools.data.splits import check_split_overlap, split_windows

from .conftest import write_bigwig, write_fasta
from .test_cli import assert_user_error, run

CONTIG = 20_000


def _world(tmp_path, contigs=("1", "2", "3", "4"), covered=None, peaks_on=None, splits=None, blacklist=None):
    """A random genome (FASTA spelled ``1``, ``2``...), one bigWig and one narrowPeak spelled ``chr1``..."""
    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), CONTIG)) for c in contigs}
    write_fasta(tmp_path / "g.fa", seqs)
    covered = list(contigs) if covered is None else covered
    write_bigwig(
        tmp_path / "a.bw", {f"chr{c}": CONTIG for c in covered}, [(f"chr{c}", 0, CONTIG, 1.0) for c in covered]
    )
    peaks_on = list(contigs) if peaks_on is None else peaks_on
    lines = [f"chr{c}\t{s}\t{s + 200}\tp\t0\t.\t5\t-1\t-1\t100" for c in peaks_on for s in range(2000, 18000, 4000)]
    (tmp_path / "p.narrowPeak").write_text("\n".join(lines) + "\n")
    data = {
        "genome": "g.fa",
        "tracks": [{"name": "a", "path": "a.bw"}],
        "peaks": [{"path": "p.narrowPeak", "track": "a"}],
    }
    data["splits"] = splits or {"val": ["chr3"], "test": ["chr4"]}
    if blacklist:
        data["blacklist"] = blacklist
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(data))
    return str(tmp_path / "data.yaml")


def check(data, *extra):
    return run("check-data", data, "--seq-len", "1024", *extra)


def test_a_val_split_without_peaks_fails_in_check_data_as_in_finetune(tmp_path):
    data = _world(tmp_path, peaks_on=["1", "2", "4"])  # val contig 3 has no peak
    res = check(data)
    assert_user_error(res, "splits: no val windows with val = ['chr3']", "contigs with windows:")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"model": "demo:base", "data": data, "train": {"epochs": 1}}))
    ft = run("finetune", recipe, "--out", tmp_path / "run")
    assert_user_error(ft, "splits: no val windows with val = ['chr3']")


def test_a_split_no_bigwig_covers_fails_up_front(tmp_path):
    data = _world(tmp_path, covered=["1", "2", "4"])
    assert_user_error(check(data), "a.bw) has no data on the val contigs (3)", "no targets")


def test_one_chromosome_suggests_a_split_by_region_which_then_works(tmp_path, caplog):
    data = _world(tmp_path, contigs=("19",), splits={"val": [], "test": []})
    res = check(data)
    assert_user_error(res, "no val windows", "windows lie on 1 contig(s) only: 19 (", "splits: {by: region}")
    cfg = yaml.safe_load(open(data))
    cfg["splits"] = {"by": "region", "val_fraction": 0.2, "test_fraction": 0.2}
    open(data, "w").write(yaml.safe_dump(cfg))
    res = check(data)
    assert res.returncode == 0, res.stderr
    assert "split by region" in res.stdout
    cfg = load_data_config(data)
    genome = Genome(cfg.genome)
    w = build_windows(cfg, genome, 1024, WindowChoice(), seed=0)
    check_split_overlap(w)  # no held-out window shares a base with a training one
    # blocks of the 20 kb contig: train [0, 12000), val [12000, 16000), test [16000, 20000)
    for split, lo, hi in (("train", 0, 12_000), ("val", 12_000, 16_000), ("test", 16_000, 20_000)):
        part = w[w.split == split]
        assert len(part) and (part.start >= lo).all() and (part.end <= hi).all()
    # a window across a block boundary is left out, and said so
    crafted = pd.DataFrame({"chrom": "19", "start": [0, 11_800, 12_000, 15_800, 16_000], "end": 0})
    crafted["end"] = crafted.start + 400
    with caplog.at_level(logging.WARNING):
        split = split_windows(crafted, cfg.splits, genome.contigs)
    assert split.start.tolist() == [0, 12_000, 16_000] and split.split.tolist() == ["train", "val", "test"]
    assert "2 window(s) straddle a train/val/test boundary" in caplog.text
    bad = yaml.safe_load(open(data))
    bad["splits"]["val"] = ["19"]
    open(data, "w").write(yaml.safe_dump(bad))
    assert_user_error(check(data), "splits", "with by: region, give val_fraction / test_fraction")


def test_blacklist_of_another_spelling_applies_and_unknown_contigs_are_counted(tmp_path, caplog):
    (tmp_path / "bl.bed").write_text("chr1\t0\t20000\nchrUn_1\t0\t100\nchrUn_2\t0\t100\n")
    data = _world(tmp_path, blacklist=str(tmp_path / "bl.bed"))
    cfg = load_data_config(data)
    with caplog.at_level(logging.WARNING):
        w = build_windows(cfg, Genome(cfg.genome), 1024, WindowChoice(), seed=0)
    assert "1" not in set(w.chrom)  # chr1 of the blacklist is contig 1 of the FASTA: all of it excluded
    assert "2 line(s) on 2 contig(s) absent from the genome (chrUn_1, chrUn_2) do not apply" in caplog.text


def test_background_shortfall_names_its_real_cause(tmp_path, caplog):
    """Peaks every 2 kb leave no 1 kb tile free of peak windows: the cause is crowding, not GC."""
    _world(tmp_path, contigs=("1",))
    genome = Genome(str(tmp_path / "g.fa"))
    starts = np.arange(0, CONTIG - 1024, 512)
    peaks = pd.DataFrame({"chrom": "1", "start": starts, "end": starts + 1024})
    with caplog.at_level(logging.WARNING):
        bg = gc_matched_background(genome, peaks, ratio=1.0, seed=0)
    assert len(bg) == 0
    assert f"{len(peaks)} peaks : 0 background (asked {len(peaks)})" in caplog.text
    assert "hold only 0 background tiles that overlap no peak window" in caplog.text


def test_regions_are_read_at_the_stated_width_not_the_widest_peak(tmp_path):
    data = _world(tmp_path)
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t5000\t5200\nchr2\t0\t19000\n")  # one very wide region
    res = check(data, "--regions", bed)
    assert res.returncode == 0, res.stderr
    assert "regions: 2 from" in res.stdout and "read as 1024 bp windows" in res.stdout


def test_position_baseline_and_window_pearson_by_hand():
    from zoo_tools.core.metrics import position_baseline, track_metrics

    profile = np.array([0.0, 1.0, 3.0, 1.0])
    train = np.stack([profile * k for k in (1.0, 2.0, 3.0)])[:, None, :]  # (3, 1, 4): one task
    obs = np.stack([profile * k for k in (0.5, 4.0)])[:, None, :]
    # the baseline predicts 2 x profile for both windows: per bin, corr([p, p], [0.5p, 4p])
    flat_pred, flat_obs = np.tile(2 * profile, 2), np.concatenate([0.5 * profile, 4 * profile])
    assert position_baseline(train, obs)[0] == pytest.approx(np.corrcoef(flat_pred, flat_obs)[0, 1])
    pred = obs[::-1].copy()  # ranks the two windows the wrong way round
    m = track_metrics(pred, obs, ["t"])
    assert m["mean"]["pearson_window"] == pytest.approx(-1.0)


def test_random_sequence_world_warns_that_position_is_all_it_learned(tmp_path):
    """Signal shaped around every summit but independent of sequence: per-bin Pearson looks good,
    the position-only baseline matches it, and the run says so."""
    rng = np.random.default_rng(1)
    contigs = {f"chr{i}": 30_000 for i in range(1, 5)}
    write_fasta(tmp_path / "g.fa", {c: "".join(rng.choice(list("ACGT"), n)) for c, n in contigs.items()})
    summits = {c: np.arange(1_500, n - 1_500, 2_000) for c, n in contigs.items()}
    runs, peaks = [], []
    for c, ss in summits.items():
        signal = np.full(contigs[c], 0.5)
        for s in ss:
            d = np.arange(-600, 600)
            signal[s + d] += 20 * np.exp(-((d / 150.0) ** 2)) * rng.uniform(0.5, 1.5)
            peaks.append(f"{c}\t{s - 100}\t{s + 100}\tp\t0\t.\t5\t-1\t-1\t100")
        runs += [(c, i, i + 10, float(signal[i : i + 10].mean())) for i in range(0, contigs[c], 10)]
    write_bigwig(tmp_path / "a.bw", contigs, runs)
    (tmp_path / "p.narrowPeak").write_text("\n".join(peaks) + "\n")
    data = {
        "genome": "g.fa",
        "tracks": [{"name": "a", "path": "a.bw"}],
        "peaks": [{"path": "p.narrowPeak", "track": "a"}],
    }
    data["splits"] = {"val": ["chr3"], "test": ["chr4"]}
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(data))
    recipe = "recipes/multitask_encode.yaml"
    sets = [f"data={tmp_path / 'data.yaml'}", "train.freeze_trunk=true", "train.epochs=3"]
    res = run("finetune", recipe, "--out", tmp_path / "run", "--set", *sets)
    assert res.returncode == 0, res.stderr
    m = yaml.safe_load(open(tmp_path / "run" / "metrics.json"))
    test = m["test"]["mean"]
    assert test["pearson_position_baseline"] > 0.5  # position alone explains most per-bin variance
    assert test["pearson"] <= test["pearson_position_baseline"] + 0.01
    assert "does not beat the position-only baseline" in res.stdout
    assert any("position-only baseline" in w for w in m["warnings"])


def test_embedding_cache_says_its_size_and_stops_over_budget(tmp_path, caplog):
    from zoo_tools.core.errors import ZooError
    from zoo_tools.train.embeddings import check_cache_room

    with caplog.at_level(logging.WARNING):
        check_cache_room(tmp_path, (1000, 2, 64, 32), budget_gb=1.0)  # 16.4 MB
    assert f"the embedding cache (0.02 GB, 1000 x 2 x 64 x 32 float32) in {tmp_path}" in caplog.text
    with pytest.raises(ZooError, match=r"\(1.31 GB, .*\) .* would exceed train.cache_budget_gb = 1; raise"):
        check_cache_room(tmp_path, (40_000, 2, 128, 32), budget_gb=1.0)
