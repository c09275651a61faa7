"""`zoo tune`: search-space parsing, and a 2-trial Ray Tune / ASHA search on the demo world."""

import json
import os

import pandas as pd
import pytest

from zoo_tools.core.errors import ZooError
from zoo_tools.train.config import load_recipe
from zoo_tools.train.tune import overrides, parse_space

from .test_cli import assert_user_error, run

ROOT = os.path.join(os.path.dirname(__file__), "..")
RECIPE = os.path.join(ROOT, "recipes", "multitask_encode.yaml")
SPACE = os.path.join(ROOT, "configs", "tune", "multitask_space.yaml")


def test_parse_space_checks_each_key():
    space = parse_space({"train.lr": {"loguniform": [1e-3, 1e-1]}, "head.hidden": {"choice": [16, 32]}}, "s.yaml")
    assert space == {"train.lr": ("loguniform", [1e-3, 1e-1]), "head.hidden": ("choice", [16, 32])}
    with pytest.raises(ZooError, match=r"s.yaml: key 'train.lr': expected one of"):
        parse_space({"train.lr": {"normal": [0, 1]}}, "s.yaml")
    with pytest.raises(ZooError, match=r"key 'train.lr': loguniform needs low > 0"):
        parse_space({"train.lr": {"loguniform": [0, 1]}}, "s.yaml")
    with pytest.raises(ZooError, match=r"key 'x': uniform takes \[low, high\]"):
        parse_space({"x": {"uniform": [2, 1]}}, "s.yaml")
    with pytest.raises(ZooError, match="empty"):
        parse_space({}, "s.yaml")


def test_overrides_keep_types_through_the_recipe():
    sets = overrides({"train.lr": 0.0125, "head.hidden": 32, "head.loss": "mse", "train.rc": True})
    r = load_recipe(RECIPE, sets)
    assert (r.train.lr, r.head.hidden, r.head.loss, r.train.rc) == (0.0125, 32, "mse", True)


def test_bad_space_key_is_one_line(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("train.lrr: {choice: [0.01, 0.02]}\n")
    res = run("tune", RECIPE, "--space", space, "--trials", "2", "--out", tmp_path / "o")
    assert_user_error(res, "space.yaml", "train.lrr", "unknown key")


@pytest.mark.slow
def test_two_trial_asha_search_writes_trials_and_a_runnable_best_config(tmp_path, world, zoo_home):
    out = tmp_path / "tune"
    res = run(
        "tune",
        RECIPE,
        "--space",
        SPACE,
        "--trials",
        "2",
        "--out",
        out,
        "--set",
        f"data={world}/data.yaml",
        "train.freeze_trunk=true",
        "train.epochs=3",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "2 trial(s)" in res.stdout and "best_config.yaml" in res.stdout
    table = pd.read_csv(out / "trials.tsv", sep="\t")
    assert len(table) == 2 and set(table.status) <= {"finished", "stopped_by_asha"}
    assert {"train.lr", "head.hidden", "head.dropout", "best_val_loss", "epochs"} <= set(table.columns)
    assert table.best_val_loss.is_monotonic_increasing  # sorted, best first
    assert table["train.lr"].between(0.003, 0.05).all() and set(table["head.hidden"]) <= {32, 64}
    best = table.iloc[0]
    assert best.status == "finished"  # the best trial ran to the end and kept its outputs
    m = json.loads((out / "trials" / best.trial / "metrics.json").read_text())
    assert m["val"]["mean"]["pearson"] == pytest.approx(best.val_pearson, abs=1e-3)
    # the best config is a recipe with the best trial's values, runnable by zoo finetune
    r = load_recipe(str(out / "best_config.yaml"))
    assert r.train.lr == pytest.approx(best["train.lr"], rel=1e-4) and r.head.hidden == best["head.hidden"]
    assert r.train.freeze_trunk and r.train.epochs == 3
    res = run("finetune", out / "best_config.yaml", "--out", tmp_path / "best", "--set", "train.epochs=1")
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "best" / "model.ckpt").exists()
