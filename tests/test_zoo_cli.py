"""`zoo models / info / fetch / import / predict` through the installed command, offline."""

import json
import os

import h5py
import numpy as np
import pyBigWig
import pytest

from zoo_tools.zoo import load_model

from . import zoo_fixtures as fx
from .test_cli import assert_user_error, run


@pytest.fixture(scope="module")
def demo_model(zoo_home):
    """demo:base, trained on first use into the session's cache (a few minutes, once)."""
    return load_model("demo:base")


@pytest.mark.slow
def test_demo_model_card_and_grelu_agreement(demo_model):
    from grelu.lightning import LightningModel

    card = demo_model.card
    assert card.source == "demo" and card.n_tasks == 182
    assert (card.seq_len, card.bin_size, card.n_bins) == (1024, 32, 32)
    # held-out Pearson (log1p) over the 182 motif-driven tracks of the pretraining world
    assert card.metrics["test_pearson_log1p"] >= 0.41
    assert card.test_chroms == ["pretrain_test"] and "test_pearson_log1p" in card.tasks.columns
    # the checkpoint is a real gReLU checkpoint: gReLU loads it and predicts the same
    native = LightningModel.load_from_checkpoint(card.weights, map_location="cpu", weights_only=False).eval()
    x = fx_one_hot(4, 1024)
    import torch

    with torch.no_grad():
        assert float((native(x) - demo_model(x)).abs().max()) < 1e-4


def fx_one_hot(n, length):
    from .test_zoo import rand_one_hot

    return rand_one_hot(n, length, seed=3)


def test_models_lists_catalog_and_cache(zoo_home):
    res = run("models", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    specs = {r["spec"] for r in rows}
    assert {
        "demo:base",
        "grelu:Genentech/human-atac-catlas-model",
        "enformer:EleutherAI/enformer-official-rough",
        "borzoi:johahi/borzoi-replicate-0",
        "kipoi:Basset",
    } <= specs
    assert {r["source"] for r in rows} >= {"grelu", "enformer", "borzoi", "kipoi", "bpnet", "demo"}
    res = run("models", "--source", "kipoi")
    assert res.returncode == 0 and "kipoi:Basset" in res.stdout and "grelu:" not in res.stdout
    assert_user_error(run("models", "--source", "nope"), "unknown source 'nope'")


@pytest.mark.slow
def test_info_and_predict_on_demo_model(demo_model, world, tmp_path):
    res = run("info", "demo:base", "--max-tasks", "3")
    assert res.returncode == 0, res.stderr
    assert "1,024 bp" in res.stdout and "182 tasks x 32 bins" in res.stdout and "test_pearson_log1p" in res.stdout
    peaks = os.path.join(world, "peaks", "cellA_ATAC.narrowPeak")
    genome = os.path.join(world, "genome.fa")
    out = tmp_path / "pred.h5"
    res = run("predict", "demo:base", "--genome", genome, "--regions", peaks, "--out", out, "--tasks", "CTCF", "GATA")
    assert res.returncode == 0, res.stderr
    with h5py.File(out) as fh:
        preds = fh["predictions"][:]
        names = [t.decode() for t in fh["tasks"][:]]
        assert preds.shape[1:] == (len(names), 32) and len(names) >= 2
        assert all("CTCF" in n or "GATA" in n for n in names)
        start = fh["start"][:]
        assert (fh["bin_start"][:, 0] == start).all() and (fh["end"][:] - start == 1024).all()
    # the same regions through the library give the same numbers
    from zoo_tools.data.intervals import read_bed
    from zoo_tools.score.regions import region_windows, select_tasks

    windows = region_windows(read_bed(peaks), 1024)
    direct = demo_model.predict(windows, genome=genome, progress=False)[
        :, select_tasks(demo_model.card.tasks, ["CTCF", "GATA"])
    ]
    assert np.abs(direct - preds).max() < 1e-5
    npz = tmp_path / "pred.npz"
    assert (
        run(
            "predict",
            "demo:base",
            "--genome",
            genome,
            "--regions",
            peaks,
            "--out",
            npz,
            "--tasks",
            "C055:CTCF:C2H2_ZF",
            "--rc",
        ).returncode
        == 0
    )
    assert np.load(npz)["predictions"].shape[1] == 1
    bw = tmp_path / "pred.bw"
    assert (
        run(
            "predict", "demo:base", "--genome", genome, "--regions", peaks, "--out", bw, "--tasks", "C055:CTCF:C2H2_ZF"
        ).returncode
        == 0
    )
    with pyBigWig.open(str(tmp_path / "pred.C055_CTCF_C2H2_ZF.bw")) as fh:
        assert fh.chroms() == {"chr1": 350_000, "chr2": 250_000, "chr3": 200_000, "chr4": 200_000}
        s = int(windows.start.iloc[0]) if windows.start.iloc[0] >= 0 else 0
        assert fh.stats(windows.chrom.iloc[0], s, s + 32)[0] is not None


def test_import_then_info_and_predict_errors(tmp_path, world):
    ckpt = fx.grelu_checkpoint(tmp_path / "model.ckpt")
    res = run("import", tmp_path, "--name", "tiny")
    assert res.returncode == 0, res.stderr
    assert "imported" in res.stdout and "3 tasks" in res.stdout
    res = run("info", "tiny", "--json")
    card = json.loads(res.stdout)
    assert card["seq_len"] == 256 and card["tasks"]["name"] == ["atac_a", "atac_b", "chip_c"]
    assert card["train_chroms"] == ["chr1", "chr2"]
    assert os.path.exists(ckpt)
    genome = os.path.join(world, "genome.fa")
    regions = os.path.join(world, "peaks", "cellA_ATAC.narrowPeak")
    assert_user_error(
        run("predict", "tiny", "--genome", genome, "--regions", regions, "--out", tmp_path / "x.csv"),
        "choose a .h5, .npz or .bw",
    )
    assert_user_error(
        run(
            "predict",
            "tiny",
            "--genome",
            genome,
            "--regions",
            regions,
            "--out",
            tmp_path / "x.h5",
            "--tasks",
            "nomatch",
        ),
        "--tasks 'nomatch' matches no task",
    )
    assert run("predict", "tiny", "--genome", genome, "--regions", regions, "--out", tmp_path / "x.h5").returncode == 0


def test_fetch_offline_and_bad_specs():
    assert_user_error(
        run("fetch", "grelu:Genentech/human-atac-catlas-model"),
        "not in the cache",
        "zoo fetch grelu:Genentech/human-atac-catlas-model",
    )
    assert_user_error(run("info", "nosuch:model"), "unknown model spec")
    assert_user_error(run("fetch", "kipoi:Basset"), "`zoo fetch` downloads grelu, enformer, borzoi and demo")


def test_info_on_each_tiny_source(tmp_path):
    enf = fx.enformer_dir(tmp_path / "enf")
    kip = fx.kipoi_dir(tmp_path / "kip")
    state, _, _ = fx.bpnet_files(tmp_path)
    for spec, needle in (
        (f"enformer:{enf}", "4 tasks x 4 bins of 8 bp"),
        (f"kipoi:{kip}", "3 tasks x 1 bins"),
        (f"bpnet:{state}", "2 tasks x"),
    ):
        res = run("info", spec)
        assert res.returncode == 0, res.stderr
        assert needle in res.stdout, res.stdout
