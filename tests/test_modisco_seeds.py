"""TF-MoDISco on three seeds of the demo world (its own file, so that pytest-xdist runs it beside
the other interpretation tests): every planted driver named, the decoy not, nothing unplanted."""

import json
import os

import pandas as pd
import pytest

from zoo_tools.data.demo import DemoSpec

from .test_cli import run


@pytest.fixture(scope="session")
def seeded(world, tuned, tmp_path_factory, zoo_home):
    """``seed -> (world, fine-tuned model)``: the demo world of seed 0 and two more seeds of it."""
    from zoo_tools.data.demo import make_demo_world

    built = {0: (world, tuned)}

    def get(seed: int):
        if seed not in built:
            w = str(tmp_path_factory.mktemp(f"world{seed}"))
            make_demo_world(w, DemoSpec(seed=seed))
            ft = tmp_path_factory.mktemp(f"ft{seed}")
            res = run("finetune", RECIPE, "--out", ft, "--set", f"data={w}/data.yaml", "train.freeze_trunk=true")
            assert res.returncode == 0, res.stderr[-2000:]
            built[seed] = (w, str(ft))
        return built[seed]

    return get


RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_modisco_names_every_driver_and_nothing_else(seeded, seed, tmp_path):
    """On three seeds of the demo world: each planted driver named, the decoy not, and no motif that
    was not planted named among the patterns of either sign; the unnamed ones say why."""
    world, tuned = seeded(seed)
    # the ATAC peaks of cellB (CEBP, AP-1, CTCF) and cellC (GATA, CEBP, CTCF): every driver
    peaks = [os.path.join(world, "peaks", f"{c}_ATAC.narrowPeak") for c in ("cellB", "cellC")]
    out = tmp_path / "modisco"
    res = run(
        "interpret", "modisco", "--model", f"local:{tuned}", "--genome", os.path.join(world, "genome.fa"),
        "--peaks", *peaks, "--out", out, "--max-peaks", "320", "--shuffles", "6",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    t = pd.read_csv(out / "motifs.tsv", sep="\t", keep_default_na=False)
    spec = DemoSpec(seed=seed)
    named = set(t.name[t.status == "named"])
    planted = {spec.motif_names[d] for d in spec.drivers}
    assert planted <= named, t[["pattern", "n_seqlets", "match_1", "q_1", "fdr_1", "status", "reason"]]
    assert named <= planted, t  # nothing unplanted, and not the decoy
    assert spec.motif_names[spec.decoy] not in named
    assert set(t.status) <= {"named", "few_seqlets", "low_information", "no_significant_match", "ambiguous"}
    assert (t.reason != "").all() and (t.name[t.status != "named"] == "").all()
    html = (out / "report.html").read_text()
    assert "Unnamed patterns" in html and all(f"logos/{p}.png" in html for p in t.pattern)
    assert all((out / "logos" / f"{p}.png").exists() for p in t.pattern)
    summary = json.loads((out / "modisco_summary.json").read_text())
    assert set(summary["named"]) == named and summary["naming"]["max_fdr"] == 0.05
    if seed == 0:  # two peak files, one window per distinct summit, the first 320
        allp = pd.concat([pd.read_csv(p, sep="\t", header=None) for p in peaks])
        assert f"over {min(320, len(set(zip(allp[0], allp[1] + allp[9]))))} peak(s)" in res.stdout
