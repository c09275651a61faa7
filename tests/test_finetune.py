"""`zoo finetune` end to end on the demo world: numbers, outputs, reload, guards, bad input."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from zoo_tools.core.errors import ZooError
from zoo_tools.models.heads import MultiTaskHead, task_scale
from zoo_tools.train.config import load_recipe
from zoo_tools.zoo import load_model

from .test_cli import assert_user_error, run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, zoo_home):
    out = tmp_path_factory.mktemp("ft_full")
    res = run("finetune", RECIPE, "--out", out)
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res.stdout


@pytest.fixture(scope="module")
def frozen_run(tmp_path_factory, zoo_home):
    out = tmp_path_factory.mktemp("ft_frozen")
    res = run("finetune", RECIPE, "--out", out, "--set", "train.freeze_trunk=true")
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res.stdout


@pytest.mark.slow
def test_full_finetune_meets_the_numbers_and_reloads(full_run):
    out, stdout = full_run
    for f in ("model.ckpt", "metrics.json", "log.csv", "curves.png", "pred_vs_obs.png", "config.yaml"):
        assert os.path.exists(out / f), f
    m = json.loads((out / "metrics.json").read_text())
    assert m["test"]["mean"]["pearson"] >= 0.6 and m["test"]["mean"]["pearson_log1p"] >= 0.6
    assert m["chromosomes"] == {"train": ["chr1", "chr2"], "val": ["chr3"], "test": ["chr4"]}
    assert set(m["test"]["per_task"]) == {f"cell{c}_{a}" for c in "ABC" for a in ("ATAC", "H3K27ac")}
    assert m["data_report"]["class_balance"]["train"]["peak"] > 0
    assert any("sequencing depth" in w for w in m["warnings"])  # the demo tracks differ in depth
    assert "mean Pearson" in stdout
    log = pd.read_csv(out / "log.csv")
    assert {"epoch", "train_loss", "val_loss"} <= set(log.columns)
    # the output is a model like any other: same card, same predictions
    model = load_model(f"local:{out}")
    card = model.card
    assert card.n_tasks == 6 and card.seq_len == 1024 and card.test_chroms == ["chr4"]
    assert card.metrics["test_pearson"] == pytest.approx(m["test"]["mean"]["pearson"])
    windows = pd.DataFrame({"chrom": ["chr4"], "start": [50_000], "end": [51_024]})
    world = os.path.join(os.environ["ZOO_HOME"], "demo_world")
    y = model.predict(windows, genome=os.path.join(world, "genome.fa"), progress=False)
    assert y.shape == (1, 6, 32) and np.isfinite(y).all() and (y >= 0).all()


@pytest.mark.slow
def test_frozen_trunk_uses_the_embedding_cache(frozen_run):
    out, stdout = frozen_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["embedding_cache"] is True and "(embedding cache)" in stdout
    assert m["test"]["mean"]["pearson"] >= 0.4
    cached = list((pathlib_home() / "embeddings").glob("*.npy"))
    assert cached, "no cached embeddings written"
    assert load_model(f"local:{out}").card.n_tasks == 6


def pathlib_home():
    from zoo_tools.zoo.cache import zoo_home

    return zoo_home()


def test_recipe_includes_sets_and_errors(tmp_path):
    r = load_recipe(RECIPE, ["train.epochs=2", "head.loss=mse", "data=other.yaml"])
    assert r.train.epochs == 2 and r.head.loss == "mse" and r.head.hidden == 64  # from the include
    assert r.data == os.path.abspath("other.yaml")
    with pytest.raises(ZooError, match=r"unknown key 'train.epoch'"):
        load_recipe(RECIPE, ["train.epoch=2"])
    with pytest.raises(ZooError, match=r"key 'head.loss'"):
        load_recipe(RECIPE, ["head.loss=hinge"])
    bad = tmp_path / "r.yaml"
    bad.write_text(yaml.safe_dump({"include": ["missing.yaml"], "model": "demo:base", "data": "demo"}))
    with pytest.raises(ZooError, match="key 'include': file not found"):
        load_recipe(str(bad))


def test_finetune_bad_input(tmp_path, world):
    assert_user_error(
        run("finetune", RECIPE, "--out", tmp_path / "o", "--set", "train.nonsense=1"), "unknown key 'train.nonsense'"
    )
    assert_user_error(
        run("finetune", RECIPE, "--out", tmp_path / "o", "--set", "model=grelu:acme/none"), "not in the cache"
    )
    data = os.path.join(world, "data.yaml")
    assert_user_error(
        run(
            "finetune",
            RECIPE,
            "--out",
            tmp_path / "o",
            "--set",
            f"data={data}",
            "--set",
            "head.task_weights={nosuch_track: 2}",
        ),
        "head.task_weights",
        "nosuch_track",
    )
    assert_user_error(
        run("finetune", RECIPE, "--out", tmp_path / "o", "--set", f"data={data}", "--set", "windows.bin_size=48"),
        "does not divide",
    )


def test_head_losses_and_scale():
    torch.manual_seed(0)
    targets = np.stack([np.full((5, 4), 10.0), np.full((5, 4), 0.1)], axis=1)  # (5, 2, 4): two scales
    scale = task_scale(targets, "poisson")
    assert np.allclose(scale, [10.0, 0.1])
    for loss in ("poisson", "mse", "bce", "multinomial"):
        head = MultiTaskHead(8, 2, 8, 4, loss=loss, hidden=16, layers=2, kernel_size=3, scale=scale)
        emb = torch.randn(5, 8, 8)
        out = head(emb)
        assert out.shape == (5, 2, 4)
        y = torch.from_numpy(targets if loss != "bce" else (targets > 1).astype(np.float64)).float()
        assert torch.isfinite(head.loss(head.logits(emb), y))
    # poisson predictions come back in the tracks' units: zero logits -> exp(0) * scale
    head = MultiTaskHead(8, 2, 8, 4, loss="poisson", scale=scale)
    assert torch.allclose(head.activate(torch.zeros(1, 2, 4)), torch.tensor(scale)[None, :, None].expand(1, 2, 4))
    with pytest.raises(ZooError, match="cannot be pooled"):
        MultiTaskHead(8, 2, 10, 4)


@pytest.mark.slow
def test_same_recipe_finetunes_an_enformer_and_a_grelu_checkpoint(tmp_path, world):
    """The recipe is model-agnostic: a tiny Enformer of the full architecture, and a gReLU
    checkpoint whose own training set included the test chromosome (the guard warns)."""
    from . import zoo_fixtures as fx

    data = os.path.join(world, "data.yaml")
    enf = fx.enformer_dir(tmp_path / "enf")
    out = tmp_path / "enf_ft"
    res = run(
        "finetune",
        RECIPE,
        "--out",
        out,
        "--set",
        f"model=enformer:{enf}",
        "--set",
        f"data={data}",
        "--set",
        "train.epochs=1",
        "--set",
        "head.hidden=0",
        "--set",
        "head.layers=1",
        "--set",
        "head.kernel_size=1",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    model = load_model(f"local:{out}")  # rebuilt from the saved Enformer config, no base weights needed
    assert model.card.seq_len == 64 and model.card.n_tasks == 6 and model.card.n_bins == 4
    assert model.arch["source"] == "enformer"
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 64)), 4).float().transpose(1, 2)
    assert model(x).shape == (2, 6, 4)

    ckpt = fx.grelu_checkpoint(tmp_path / "base.ckpt")
    raw = torch.load(ckpt, weights_only=False)
    raw["data_params"]["train"]["intervals"]["chrom"] = ["chr1", "chr4"]  # the base saw chr4
    torch.save(raw, ckpt)
    out2 = tmp_path / "grelu_ft"
    res = run(
        "finetune",
        RECIPE,
        "--out",
        out2,
        "--set",
        f"model=local:{ckpt}",
        "--set",
        f"data={data}",
        "--set",
        "train.epochs=1",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((out2 / "metrics.json").read_text())
    assert any("chr4 were in" in w for w in m["warnings"])
    assert load_model(f"local:{out2}").card.bin_size == 16


def test_head_incompatible_with_base(tmp_path, world):
    data = os.path.join(world, "data.yaml")
    assert_user_error(
        run("finetune", RECIPE, "--out", tmp_path / "o", "--set", f"data={data}", "--set", "windows.bin_size=8"),
        "cannot be pooled to 128 target bins",
    )


@pytest.mark.slow
def test_wandb_offline_run_folder(tmp_path, zoo_home):
    out = tmp_path / "wb"
    res = run(
        "finetune",
        RECIPE,
        "--out",
        out,
        "--set",
        "train.freeze_trunk=true",
        "--set",
        "train.epochs=1",
        "--set",
        "logger=wandb",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("run-*.wandb")), "no offline W&B run written"
    assert (out / "metrics.json").exists()


def test_embedding_dataset_reverse_complement_strands():
    from zoo_tools.train.embeddings import EmbeddingDataset

    emb = np.stack([np.zeros((4, 3, 5)), np.ones((4, 3, 5))], axis=1).astype(np.float32)  # strand 0 / 1
    targets = np.arange(4 * 2 * 5, dtype=np.float32).reshape(4, 2, 5)
    ds = EmbeddingDataset(emb, targets, rc=True, seed=0)
    e, y = ds[np.arange(4)]
    for i in range(4):
        if ds.flip[i]:  # reverse-complement strand: its cached embedding, targets reversed along bins
            assert float(e[i].mean()) == 1.0 and torch.equal(y[i], torch.from_numpy(targets[i, :, ::-1].copy()))
        else:
            assert float(e[i].mean()) == 0.0 and torch.equal(y[i], torch.from_numpy(targets[i]))
    assert ds[0][0].shape == (3, 5)


@pytest.mark.slow
def test_rc_cache_equals_sequence_level_rc(tmp_path, zoo_home):
    """Caching both strands is exactly sequence-level reverse-complement augmentation."""
    got = {}
    for mode in ("on", "off"):
        out = tmp_path / mode
        res = run(
            "finetune",
            RECIPE,
            "--out",
            out,
            "--set",
            "train.freeze_trunk=true",
            "--set",
            "train.rc=true",
            "--set",
            "train.epochs=2",
            "--set",
            f"train.embedding_cache={mode}",
        )
        assert res.returncode == 0, res.stderr[-3000:]
        got[mode] = json.loads((out / "metrics.json").read_text())
    assert got["on"]["embedding_cache"] and not got["off"]["embedding_cache"]
    assert got["on"]["test"]["mean"]["pearson"] == pytest.approx(got["off"]["test"]["mean"]["pearson"], abs=1e-4)


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path, zoo_home):
    """trainer: {devices: 2, strategy: ddp} goes to Lightning unchanged: 2 gloo processes, one output."""
    out = tmp_path / "ddp"
    res = run(
        "finetune",
        RECIPE,
        "--out",
        out,
        "--set",
        "train.epochs=1",
        "--set",
        "trainer.devices=2",
        "--set",
        "trainer.strategy=ddp",
        "--set",
        "trainer.accelerator=cpu",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["test"]["per_task"]) == {f"cell{c}_{a}" for c in "ABC" for a in ("ATAC", "H3K27ac")}
    assert np.isfinite(m["test"]["mean"]["pearson"])
    assert load_model(f"local:{out}").card.n_tasks == 6
