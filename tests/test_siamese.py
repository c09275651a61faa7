"""Siamese allelic recipe: the allelic-table reader, the antisymmetric head, and the recipe end to end."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from zoo_tools.core.errors import ZooError
from zoo_tools.data.allelic import log_ratio, pair_table, read_allelic
from zoo_tools.data.config import AllelicSpec
from zoo_tools.data.genome import Genome
from zoo_tools.models.heads import SiameseHead
from zoo_tools.zoo import load_model

from .conftest import write_fasta
from .test_cli import assert_user_error, run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "siamese_allelic.yaml")


def test_log_ratio_by_hand():
    # log((alt+1)/(ref+1)): 3 alt / 1 ref reads -> log(4/2); balanced -> 0; zero reads -> 0
    assert log_ratio([3, 5, 0], [1, 5, 0]) == pytest.approx([np.log(2.0), 0.0, 0.0])


def test_siamese_head_is_antisymmetric_by_construction():
    torch.manual_seed(0)
    head = SiameseHead(in_channels=8, in_bins=16, n_tasks=3, context_bins=5, hidden=16)
    a, b = torch.randn(4, 8, 16), torch.randn(4, 8, 16)
    assert torch.allclose(head(a, b), -head(b, a), atol=1e-6)
    assert torch.equal(head(a, a), torch.zeros(4, 3))  # identical alleles: exactly no imbalance
    # only the centre bins are read: changing a far bin changes nothing
    c = a.clone()
    c[..., 0] += 10
    assert torch.equal(head(c, b), head(a, b))
    assert head.centre(torch.arange(16.0).expand(1, 1, 16)).flatten().tolist() == [6, 7, 8, 9, 10]


def _hostile_table(tmp_path):
    # genome contigs "1" and "MT" (Ensembl style); the table says chr1 / chrM / chrUn
    fa = write_fasta(tmp_path / "g.fa", {"1": "ACGTACGTAC" * 10, "MT": "GATTACA" * 5})
    rows = [
        ("chr1", 2, "C", "T", 10, 30, "A"),  # ok: chr1 -> 1, pos 2 is C
        ("chr1", 2, "C", "T", 10, 30, "B"),  # ok: same SNV, another group
        ("chr1", 3, "A", "T", 5, 5, "A"),  # ref_mismatch: pos 3 is G
        ("chrUn", 5, "A", "G", 1, 1, "A"),  # contig_missing
        ("chr1", 4, "TA", "T", 3, 3, "A"),  # not_snv (a deletion)
        ("chr1", 5, "A", "A", 3, 3, "A"),  # not_snv (alt equals ref)
        ("chrM", 1, "G", "A", 0, 0, "A"),  # no_reads
        ("chr1", 2, "C", "T", 1, 1, "A"),  # duplicate of the first row
        ("chr1", 999, "A", "C", 2, 2, "A"),  # out_of_bounds
    ]
    table = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt", "ref_count", "alt_count", "cell"])
    path = tmp_path / "counts.tsv"
    table.to_csv(path, sep="\t", index=False)
    return fa, str(path)


def test_read_allelic_keeps_every_row_with_a_status(tmp_path):
    fa, path = _hostile_table(tmp_path)
    df = read_allelic(AllelicSpec(path=path, group="cell"), Genome(fa))
    assert df.status.tolist() == [
        "ok",
        "ok",
        "ref_mismatch",
        "contig_missing",
        "not_snv",
        "not_snv",
        "no_reads",
        "duplicate",
        "out_of_bounds",
    ]
    assert df.chrom.tolist()[:2] == ["1", "1"]  # resolved to the genome's spelling
    snvs, groups, target, depth, truth = pair_table(df)
    assert len(snvs) == 1 and groups == ["A", "B"]
    assert target[0] == pytest.approx([np.log(31 / 11)] * 2) and depth[0].tolist() == [40, 40]
    assert np.isnan(truth).all()


def test_read_allelic_bad_input_is_one_line(tmp_path):
    fa, path = _hostile_table(tmp_path)
    g = Genome(fa)
    with pytest.raises(ZooError, match=r"no column 'reads_ref' \(allelic.ref_count"):
        read_allelic(AllelicSpec(path=path, ref_count="reads_ref"), g)
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tpos\tref\talt\tref_count\talt_count\nchr1\t2\tC\tT\t-3\t4\n")
    with pytest.raises(ZooError, match=r"bad.tsv line 2: column 'ref_count' is '-3'"):
        read_allelic(AllelicSpec(path=str(bad)), g)


@pytest.fixture(scope="module")
def siamese_run(tmp_path_factory, world, zoo_home):
    out = tmp_path_factory.mktemp("siamese")
    res = run("finetune", RECIPE, "--out", out, "--set", f"data={world}/data.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res.stdout


@pytest.mark.slow
def test_siamese_recipe_recovers_the_allelic_truth(siamese_run, world):
    out, stdout = siamese_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["test"]["pooled"]["truth"]["pearson"] >= 0.5
    assert m["test"]["pooled"]["observed"]["pearson"] >= 0.5
    assert m["chromosomes"]["test"] == ["chr4"] and m["groups"] == ["cellA", "cellC", "cellB"]
    assert m["antisymmetry_max_abs"] == 0.0
    n_rows = len(pd.read_csv(os.path.join(world, "allelic", "allelic_counts.tsv"), sep="\t"))
    records = pd.read_csv(out / "allelic_records.tsv", sep="\t")
    assert len(records) == n_rows and sum(m["allelic_rows"].values()) == n_rows
    assert "with the truth" in stdout
    for f in ("model.ckpt", "predictions.tsv", "log.csv", "curves.png", "pred_vs_obs.png", "config.yaml"):
        assert os.path.exists(out / f), f


@pytest.mark.slow
def test_siamese_model_loads_and_flips_sign_on_swap(siamese_run, world):
    out, _ = siamese_run
    model = load_model(f"local:{out}")
    assert getattr(model, "is_siamese", False) and model.card.n_tasks == 3 and model.card.n_bins == 1
    pred = pd.read_csv(out / "predictions.tsv", sep="\t").head(20)
    from zoo_tools.data.onehot import codes_to_tensor
    from zoo_tools.train.pairs import allele_codes

    ref, alt = allele_codes(Genome(os.path.join(world, "genome.fa")), pred, model.card.seq_len)
    xr, xa = codes_to_tensor(ref), codes_to_tensor(alt)
    y = model.predict_pairs(xr, xa, progress=False)
    # the reloaded model reproduces the run's own predictions, and swapping alleles flips the sign
    assert y[:, 0] == pytest.approx(pred["pred_cellA"].to_numpy(), abs=1e-4)
    assert model.predict_pairs(xa, xr, progress=False) == pytest.approx(-y, abs=1e-6)
    with pytest.raises(ZooError, match="siamese model"):
        model.predict(xr)


def test_siamese_recipe_without_allelic_table_is_one_line(tmp_path, world):
    cfg = yaml.safe_load(open(os.path.join(world, "data.yaml")))
    cfg.pop("allelic")
    cfg["genome"] = os.path.join(world, cfg["genome"])
    for t in cfg["tracks"]:
        t["path"] = os.path.join(world, t["path"])
    cfg["peaks"] = []
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump(cfg))
    res = run("finetune", RECIPE, "--out", tmp_path / "o", "--set", f"data={data}")
    assert_user_error(res, "no `allelic:` table", str(data))


@pytest.mark.slow
def test_siamese_model_scores_a_vcf(siamese_run, world, tmp_path):
    """`zoo score-variants` with a siamese model: the pair's predicted imbalance, both strands."""
    from zoo_tools.data.onehot import codes_to_tensor
    from zoo_tools.score import read_scores
    from zoo_tools.train.pairs import allele_codes

    out_dir, _ = siamese_run
    out = tmp_path / "imbalance.tsv"
    vcf, fasta = os.path.join(world, "variants.vcf"), os.path.join(world, "genome.fa")
    res = run("score-variants", "--model", f"local:{out_dir}", "--vcf", vcf, "--genome", fasta, "--out", out)
    assert res.returncode == 0, res.stderr[-2000:]
    s = read_scores(str(out))
    assert list(s.columns[8:]) == ["cellA:diff", "cellC:diff", "cellB:diff", "max_abs_effect"]
    snv = s[(s.ref.str.len() == 1) & (s.alt.str.len() == 1)].head(8)
    model = load_model(f"local:{out_dir}")
    ref, alt = allele_codes(Genome(os.path.join(world, "genome.fa")), snv, model.card.seq_len)
    xr, xa = codes_to_tensor(ref), codes_to_tensor(alt)
    with torch.no_grad():
        want = 0.5 * (model.compare(xr, xa) + model.compare(xr.flip((-2, -1)), xa.flip((-2, -1)))).numpy()
    assert snv[["cellA:diff", "cellC:diff", "cellB:diff"]].to_numpy() == pytest.approx(want, abs=1e-5)
    truth = pd.read_csv(os.path.join(world, "truth", "variants.tsv"), sep="\t")
    m = s.merge(truth, on=["chrom", "pos", "ref", "alt"])
    # a variant that breaks a motif lowers the alt allele's accessibility: negative imbalance
    assert m[m.breaks_motif]["cellA:diff"].mean() < m[~m.breaks_motif]["cellA:diff"].mean()


def test_siamese_model_is_explained_against_its_reference(siamese_run, world):
    """ISM of a siamese model: the effect of each substitution is compare(reference, mutant),
    by hand on a few mutants; the fast path equals the plain one; gradients work too."""
    from zoo_tools.data.onehot import codes_to_tensor
    from zoo_tools.interpret import explain, ism
    from zoo_tools.interpret.attributions import attribute

    out_dir, _ = siamese_run
    model = load_model(f"local:{out_dir}")
    g = Genome(os.path.join(world, "genome.fa"))
    L = model.card.seq_len
    x = codes_to_tensor(g.codes("chr1", 20_000, 20_000 + L)[None])
    e = explain(model)
    lo, hi = L // 2 - 10, L // 2 + 10
    fast = ism(e, x, lo, hi, progress=False)[0]
    plain = ism(e, x, lo, hi, fast=False, progress=False)[0]
    assert fast.shape == (4, hi - lo, len(model.card.tasks))
    np.testing.assert_allclose(fast, plain, atol=1e-5)
    for i, b in [(L // 2, 0), (L // 2 + 3, 2)]:
        m = x.clone()
        m[0, :, i] = 0
        m[0, b, i] = 1
        with torch.no_grad():
            want = model.compare(x, m)[0].numpy()
        assert fast[b, i - lo] == pytest.approx(want, abs=1e-5)
    a = attribute(e, x, "input_x_gradient", progress=False)
    assert a.hypothetical.shape == (1, 4, L) and np.isfinite(a.hypothetical).all()
