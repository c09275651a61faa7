"""Novel-cell-type recipe: design of inputs / targets / held-out cells, and the recipe end to end."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import load_data_config
from zoo_tools.models.heads import MultiTaskHead
from zoo_tools.models.nets.celltype import CellTypeNet
from zoo_tools.train.cells import cell_design, signal_input
from zoo_tools.zoo import load_model

from .test_cli import assert_user_error, run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "novel_celltype_atac.yaml")


def test_signal_input_is_depth_normalised_log1p():
    # a cell sequenced 3x deeper gives the same input once divided by its own mean
    assert signal_input([0.0, 3.0, 9.0], 3.0) == pytest.approx(np.log1p([0.0, 1.0, 3.0]))
    assert signal_input([0.0, 1.0, 3.0], 1.0) == pytest.approx(signal_input([0.0, 3.0, 9.0], 3.0))


def test_cell_design_on_the_demo_world(world):
    cfg = load_data_config(os.path.join(world, "data.yaml"))
    d = cell_design(cfg, "atac", [], [])
    assert d["input_assay"] == "ATAC" and d["targets"] == ["H3K27ac"]
    assert d["cells"] == ["cellA", "cellB", "cellC"]
    assert d["holdout"] == ["cellC"] and d["train_cells"] == ["cellA", "cellB"]
    assert [cfg.tracks[i].name for i in d["inputs"]["cellB"]] == ["cellB_ATAC"]
    d = cell_design(cfg, "ATAC", ["H3K27ac"], ["cellA"])
    assert d["train_cells"] == ["cellB", "cellC"]
    with pytest.raises(ZooError, match="holdout_cell_types: cellZ"):
        cell_design(cfg, "ATAC", [], ["cellZ"])
    with pytest.raises(ZooError, match="input_assay 'DNase'"):
        cell_design(cfg, "DNase", [], [])
    with pytest.raises(ZooError, match="leave at least one"):
        cell_design(cfg, "ATAC", [], ["cellA", "cellB", "cellC"])


def test_cell_type_net_uses_the_signal_branch():
    torch.manual_seed(0)
    trunk = torch.nn.Conv1d(4, 6, 8, stride=8)  # (N, 4, 64) -> (N, 6, 8)
    head = MultiTaskHead(6 + 1, 2, 4, 4, hidden=8)
    net = CellTypeNet(trunk, head, n_signals=1, in_bins=8, n_bins=4)
    x, s = torch.randn(3, 4, 64), torch.randn(3, 1, 4)
    y = net(x, s)
    assert y.shape == (3, 2, 4)
    assert not torch.allclose(y, net(x, s + 1.0))  # the prediction depends on the cell's signal
    seq_only = CellTypeNet(trunk, MultiTaskHead(6, 2, 4, 4), n_signals=0, in_bins=8, n_bins=4)
    assert torch.equal(seq_only(x, s), seq_only(x, s + 1.0))


@pytest.fixture(scope="module")
def novel_run(tmp_path_factory, world, zoo_home):
    out = tmp_path_factory.mktemp("novel")
    res = run("finetune", RECIPE, "--out", out, "--set", f"data={world}/data.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res.stdout


@pytest.mark.slow
def test_novel_cell_type_beats_the_cell_type_average(novel_run):
    out, stdout = novel_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["holdout_cell_types"] == ["cellC"] and "cellC" not in m["train_cell_types"]
    assert m["chromosomes"]["test"] == ["chr4"]
    test = m["evaluations"]["test"]
    model, base, seq = (test[k]["mean"]["pearson"] for k in ("model", "cell_type_average", "sequence_only"))
    assert model > base + 0.05 and model > seq
    comp = pd.read_csv(out / "comparison.tsv", sep="\t")
    assert set(comp.evaluation) == {"test", "holdout_cells_train_chroms", "train_cells_test_chroms"}
    assert set(comp.predictor) == {"model", "cell_type_average", "sequence_only"}
    assert "held-out cell type(s) on test chromosomes" in stdout


@pytest.mark.slow
def test_novel_cell_type_model_loads_and_needs_the_signal(novel_run, world):
    out, _ = novel_run
    model = load_model(f"local:{out}")
    assert model.card.n_tasks == 1 and model.card.n_bins == 32
    windows = pd.DataFrame({"chrom": ["chr4", "chr4"], "start": [50_000, 90_000], "end": [51_024, 91_024]})
    genome = os.path.join(world, "genome.fa")
    with pytest.raises(ZooError, match="input signal"):
        model.predict(windows, genome=genome)
    flat, high = np.zeros((2, 1, 32), np.float32), np.full((2, 1, 32), 3.0, np.float32)
    y0 = model.predict(windows, signal=flat, genome=genome)
    y1 = model.predict(windows, signal=high, genome=genome)
    assert y0.shape == (2, 1, 32) and (y1.mean() > y0.mean())  # more accessible -> more H3K27ac


def test_novel_cell_type_needs_assay_metadata(tmp_path, world):
    import yaml

    cfg = yaml.safe_load(open(os.path.join(world, "data.yaml")))
    cfg["genome"] = os.path.join(world, cfg["genome"])
    for t in cfg["tracks"]:
        t["path"] = os.path.join(world, t["path"])
        t.pop("assay")
    cfg.pop("peaks")
    cfg.pop("allelic")
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump(cfg))
    res = run("finetune", RECIPE, "--out", tmp_path / "o", "--set", f"data={data}")
    assert_user_error(res, "needs `assay` and `cell_type`", "cellA_ATAC")
