"""The training engine's own behaviour: reusing a finished run, typed results round-trip."""

from __future__ import annotations

import json
import os

import pytest

from zoo_tools.train import RunResult, engine, finetune, load_recipe

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


@pytest.fixture(scope="module")
def short_recipe(world):
    return load_recipe(RECIPE, [f"data={world}/data.yaml", "train.freeze_trunk=true", "train.epochs=2"])


def test_reuse_returns_a_finished_run_and_retrains_when_the_recipe_differs(short_recipe, tmp_path, monkeypatch):
    out = str(tmp_path / "run")
    first = finetune(short_recipe, out, reuse=True)
    assert first.is_complete and os.path.exists(os.path.join(out, "model.ckpt"))

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run of the same recipe was trained again")

    monkeypatch.setattr(engine, "run_recipe", no_training)
    again = finetune(short_recipe, out, reuse=True)
    assert again.to_dict() == first.to_dict()
    changed = short_recipe.model_copy(deep=True)
    changed.train.epochs = 1
    with pytest.raises(AssertionError, match="trained again"):
        finetune(changed, out, reuse=True)


def test_result_round_trips_through_metrics_json(short_recipe, tmp_path):
    out = str(tmp_path / "run")
    result = finetune(short_recipe, out)
    with open(os.path.join(out, "metrics.json")) as fh:
        raw = json.load(fh)
    back = RunResult.from_json(os.path.join(out, "metrics.json"))
    assert type(back) is type(result) and back.to_dict() == raw == result.to_dict()
    # the keys metrics.json has always had, in their order
    keys = "recipe model data bin_size embedding_cache epochs_run fit_seconds seconds_per_epoch chromosomes"
    assert list(raw) == keys.split() + ["data_report", "warnings", "train", "val", "test", "total_seconds"]
    assert back.split_pearson("test") == raw["test"]["mean"]["pearson"]
    assert back.headline("run").startswith("run: test Pearson ")
