"""`zoo interpret`: ISM by hand and against gReLU and tangermeme (fast path = plain path),
attributions (hand-checked gradients, complete DeepLIFT/SHAP), and on the demo world the planted
truth: ISM peaks inside a planted motif, marginalising the drivers raises the tracks they drive and
the decoy does not, TF-MoDISco's patterns are named after the planted motifs. Bad input is one line."""

import os

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.data.demo import DemoSpec
from zoo_tools.interpret import explain, ism
from zoo_tools.interpret.attributions import attribute
from zoo_tools.interpret.marginalize import effect_table, motif_sequence
from zoo_tools.interpret.modisco import bh_qvalues, trim
from zoo_tools.interpret.mutagenesis import IncrementalTrunk, chain_stages
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import load_model
from zoo_tools.zoo.sources.grelu import grelu_side_effects_contained

from . import zoo_fixtures as fx
from .conftest import write_fasta
from .test_cli import assert_user_error, run


def _one_hot(seq: str) -> torch.Tensor:
    x = torch.zeros(1, 4, len(seq))
    x[0, ["ACGT".index(c) for c in seq], torch.arange(len(seq))] = 1
    return x


def _linear_model(L=12, seed=0):
    """f(x) = sum_{c,i} w[c, i] x[c, i] + 0.5: ISM effect of b at i is w[b, i] - w[ref_i, i] and
    the gradient is w, by hand."""
    torch.manual_seed(seed)
    trunk = nn.Conv1d(4, 1, L)  # one output position, weights w = trunk.weight[0]
    card = ModelCard(source="test", name="linear", seq_len=L, bin_size=L, n_bins=1, tasks=task_table(None, 1))
    with torch.no_grad():
        trunk.bias.fill_(0.5)
    return ZooModel(trunk, nn.Identity(), card).eval(), trunk.weight[0].detach().numpy()


def test_ism_and_gradients_by_hand():
    model, w = _linear_model()
    seq = "ACGTTGCANNAC"
    x = _one_hot(seq.replace("N", "A"))
    x[0, :, 8:10] = 0  # N: all-zero columns; every base is a mutant there
    e = explain(model)
    eff = ism(e, x, progress=False)[0, :, :, 0]  # (4, L)
    ref = [("ACGT".index(c) if c != "N" else None) for c in seq]
    want = np.array([[w[b, i] - (w[ref[i], i] if ref[i] is not None else 0) for i in range(12)] for b in range(4)])
    np.testing.assert_allclose(eff, want, atol=1e-6)
    a = attribute(e, x, "input_x_gradient", progress=False)
    np.testing.assert_allclose(a.hypothetical[0], w, atol=1e-6)
    np.testing.assert_allclose(a.contrib[0], w * x[0].numpy(), atol=1e-6)
    s = attribute(e, x, "saliency", progress=False)
    np.testing.assert_allclose(s.hypothetical[0], w - w.mean(0, keepdims=True), atol=1e-6)
    i = attribute(e, x, "ism", progress=False)  # ISM effects centred per position = centred weights
    np.testing.assert_allclose(i.hypothetical[0][:, :8], (w - w.mean(0, keepdims=True))[:, :8], atol=1e-6)


def test_ism_fast_path_equals_plain_tangermeme_and_grelu(tmp_path):
    """The incremental path on a gReLU ConvModel gives the plain path's, tangermeme's and gReLU's
    ISM_predict's effects (max abs diff < 1e-6, 1e-3 of the largest effect)."""
    from grelu.interpret.score import ISM_predict
    from grelu.lightning import LightningModel
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    model = load_model(f"local:{ckpt}")
    e = explain(model)
    inc = IncrementalTrunk(e, 256)
    assert inc.useful and len(inc.stages) >= 3  # stem, conv blocks, pooling all run on crops
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 256))
    x = _one_hot(seq)
    fast = ism(e, x, progress=False)[0]  # (4, L, 3 tasks)
    plain = ism(e, x, fast=False, progress=False)[0]
    # outputs are ~1 (exp of small logits), effects ~1e-3: float32 rounding of the outputs is ~1e-7
    scale = float(np.abs(plain).max())
    assert scale > 1e-4 and np.abs(fast - plain).max() <= 1e-3 * scale
    y0, y = saturation_mutagenesis(e, x, batch_size=128, device="cpu", raw_outputs=True, fast=False)
    tm = (y[0] - y0[0][None, None]).numpy()
    assert np.abs(tm - fast).max() <= 1e-3 * scale
    lm = LightningModel.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False).eval()
    with grelu_side_effects_contained():
        p = ISM_predict(
            [seq], lm, devices="cpu", num_workers=0, batch_size=128, compare_func="subtract", return_df=False
        )
    g = np.asarray(p).reshape(256, 4, 3, model.card.n_bins).mean(-1).transpose(1, 0, 2)
    assert np.abs(g - fast).max() <= 1e-3 * scale
    # a window of positions only, and the same numbers there
    part = ism(e, x, 100, 140, progress=False)[0]
    np.testing.assert_allclose(part, fast[:, 100:140], atol=1e-6)


def test_chain_stages_keep_the_model():
    """Stages composed give the trunk's output; a residual block stays one stage."""
    model = load_model("demo:base")
    x = _one_hot("".join(np.random.default_rng(1).choice(list("ACGT"), model.card.seq_len)))
    stages = chain_stages(model.trunk, x)
    y = x
    with torch.no_grad():
        for s in stages:
            y = s(y)
        torch.testing.assert_close(y, model.trunk(x))
    assert len(stages) > 1


def test_deepliftshap_is_complete_on_the_raw_scale(tuned):
    """sum of contributions = f(x) - mean f(references): convergence deltas ~ 0 on the head's raw
    output; on the exp'ed output (a nonlinearity after the averaging) a warning says so."""
    model = load_model(f"local:{tuned}")
    x = torch.nn.functional.one_hot(
        torch.randint(0, 4, (4, model.card.seq_len), generator=torch.Generator().manual_seed(0)), 4
    )
    x = x.permute(0, 2, 1).float()
    a = attribute(explain(model, scale="raw", combine=True), x, "deepliftshap", n_shuffles=4)
    assert a.deltas.shape == (4,) and np.abs(a.deltas).max() < 1e-3
    assert a.hypothetical.shape == (4, 4, model.card.seq_len)


def test_helpers_by_hand():
    assert trim(np.array([[0, 0.1, 1, 0.5, 0.01, 0], [0] * 6, [0] * 6, [0] * 6]), frac=0.3, flank=0) == (2, 4)
    # sorted p 0.01, 0.03, 0.04, 0.5 -> p * 4 / rank = 0.04, 0.06, 0.0533, 0.5 -> running min from the top
    np.testing.assert_allclose(bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5])), [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    before, after = np.zeros((4, 1)), np.array([[1.0], [2.0], [3.0], [2.0]])
    t = effect_table(before, after, before, ["t"])
    assert t.effect[0] == 2.0 and t.ci_low[0] < 2 < t.ci_high[0]
    # t interval by hand: sd = 0.8165, se = 0.4082, t(0.975, 3) = 3.182
    assert abs(t.ci_high[0] - (2 + 3.1824 * 0.40825)) < 1e-3
    assert motif_sequence("CACGTGAC") == ("CACGTGAC", "CACGTGAC")
    name, cons = motif_sequence("CTCF")
    assert "CTCF" in name and len(cons) >= 10


# --------------------------------------------------------------------------------------------
# The planted truth of the demo world
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def truth(world):
    return pd.read_csv(os.path.join(world, "truth", "motif_sites.tsv"), sep="\t")


@pytest.mark.slow
def test_ism_effects_peak_inside_a_planted_motif(tuned, world, truth, tmp_path):
    spec = DemoSpec()
    site = truth[truth.motif.isin(spec.drivers) & (truth.affinity >= 0.9)].iloc[0]
    track = site.drives.split(";")[0]
    bed = tmp_path / "site.bed"
    bed.write_text(f"{site.chrom}\t{site.start - 40}\t{site.end + 40}\tsite\n")
    out = tmp_path / "ism"
    res = run(
        "interpret",
        "ism",
        "--model",
        f"local:{tuned}",
        "--genome",
        os.path.join(world, "genome.fa"),
        "--regions",
        bed,
        "--tasks",
        track,
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr
    d = np.load(out / "ism.npz")
    eff, lo = d["effects"][0, :, :, 0], int(d["start"])
    assert (out / "ism_site.png").exists()
    win_start = int(pd.read_csv(out / "regions.tsv", sep="\t").start[0])
    per_pos = np.abs(eff).max(0)
    top = np.argsort(per_pos)[::-1][:3] + lo + win_start  # genome coordinates of the 3 largest effects
    assert all(site.start <= p < site.end for p in top), (top, site.start, site.end)


@pytest.mark.slow
def test_marginalising_drivers_raises_their_tracks_and_the_decoy_does_not(tuned, world, tmp_path):
    spec = DemoSpec()
    tracks = pd.read_csv(os.path.join(world, "truth", "tracks.tsv"), sep="\t")
    for label in spec.drivers + [spec.decoy]:
        out = tmp_path / label
        res = run(
            "interpret",
            "marginalize",
            "--model",
            f"local:{tuned}",
            "--genome",
            os.path.join(world, "genome.fa"),
            "--motif",
            spec.motif_names[label],
            "--backgrounds",
            "40",
            "--out",
            out,
        )
        assert res.returncode == 0, res.stderr
        t = pd.read_csv(out / "marginalize.tsv", sep="\t").set_index("task")
        driven = [
            r.track
            for r in tracks.itertuples()  # drivers: "GATA=1.0;AP1=0.6"
            if label in [d.split("=")[0] for d in str(r.drivers).split(";")]
        ]
        if label == spec.decoy:
            assert not driven
            assert (t.specific_ci_low <= 0).all(), t  # raises nothing beyond its interval
            assert t.specific.abs().max() < 0.1 * t.before.max()
        else:
            assert driven
            for track in driven:
                assert t.specific_ci_low[track] > 0 and t.ci_low[track] > 0, (label, track, t.loc[track])


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------
def test_bad_input_is_one_line(tmp_path):
    ckpt = fx.grelu_checkpoint(tmp_path / "m.ckpt")
    fa = write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 200})
    base = ["interpret", "ism", "--model", f"local:{ckpt}", "--out", tmp_path / "o"]
    off = tmp_path / "off.bed"
    off.write_text("chr1\t10\t20\na\nchr1\t700\t900\n")
    assert_user_error(run(*base, "--genome", fa, "--regions", off), "off.bed", "line 2")
    off.write_text("chr1\t10\t20\nchr1\t700\t900\n")
    assert_user_error(run(*base, "--genome", fa, "--regions", off), "off.bed", "record 2", "past the end")
    assert_user_error(run(*base, "--seq", "ACGT"), "--seq #1", "256 bp")
    assert_user_error(run(*base, "--seq", "A" * 256, "--start", "10", "--end", "300"), "--start/--end")
    assert_user_error(run(*base, "--seq", "A" * 256, "--tasks", "nope"), "--tasks 'nope'")
    m = ["interpret", "marginalize", "--model", f"local:{ckpt}", "--genome", fa, "--out", tmp_path / "m"]
    assert_user_error(run(*m, "--motif", "GATAx"), "GATAx", "not found", "similar", "GATA")
    assert_user_error(run(*m, "--motif", "A" * 300), "do not fit")
    # too few seqlets for modisco: one flat peak
    peaks = tmp_path / "p.bed"
    peaks.write_text("chr1\t300\t500\n")
    assert_user_error(
        run(
            "interpret",
            "modisco",
            "--model",
            f"local:{ckpt}",
            "--genome",
            fa,
            "--peaks",
            peaks,
            "--out",
            tmp_path / "mo",
            "--method",
            "saliency",
            "--window",
            "200",
        ),
        "TF-MoDISco",
        "seqlets",
        "more peaks",
    )
    with pytest.raises(ZooError, match="scale"):
        explain(load_model(f"local:{ckpt}"), scale="log")
