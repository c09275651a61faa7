"""The demo world's genes (issue 15, part 4): the planted truth is in the files, and a model
fine-tuned on the gene tracks recovers it through `zoo score-variants --genes`.

Done-when figures, on the labelled `gene_variants.vcf` (`truth/gene_variants.tsv`):
gene-level AUROC of expression-changing vs neutral variants >= 0.9; for changing variants with two
or more genes in the window, the labelled gene ranks first by |gene_logSED| in >= 80%; the sign
agrees with the truth in >= 90%. The same on a world of another shape is in test_other_world."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from zoo_tools.core.metrics import auroc
from zoo_tools.data.genes import read_genes
from zoo_tools.data.genome import Genome
from zoo_tools.score import read_scores, top_genes

from .test_cli import run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


def gene_truth(world: str) -> pd.DataFrame:
    return pd.read_csv(os.path.join(world, "truth", "genes.tsv"), sep="\t", keep_default_na=False)


def variant_truth(world: str) -> pd.DataFrame:
    return pd.read_csv(os.path.join(world, "truth", "gene_variants.tsv"), sep="\t", keep_default_na=False)


def gene_metrics(scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """The done-when figures of a `score-variants --genes` table against the variant truth."""
    top = top_genes(scores).set_index("record")
    assert len(top) == len(truth)  # one per record: the gene VCF has one ALT per record
    changing = (truth.sign != 0).to_numpy()
    score = top.top_logSED.abs().fillna(0).to_numpy()  # no gene in the window: no gene effect
    labelled = truth.gene_id.to_numpy()
    sign_ok, first, two = [], [], []
    for i in np.flatnonzero(changing):
        rows = scores[(scores.record == i) & (scores.gene_id == labelled[i])]
        assert len(rows) == 1, f"record {i}: the labelled gene {labelled[i]} is not in its window"
        lsed = rows.filter(like=":gene_logSED").iloc[0]
        sign_ok.append(np.sign(lsed[lsed.abs().idxmax()]) == truth.sign[i])
        if top.n_genes[i] >= 2:
            two.append(i)
            first.append(top.top_gene[i] == labelled[i])
    return dict(
        auroc=auroc(score, changing),
        sign=float(np.mean(sign_ok)),
        ranks_first=float(np.mean(first)),
        n_two_genes=len(two),
        n_changing=int(changing.sum()),
    )


def test_genes_sit_at_their_promoters_and_read_back(world):
    truth = gene_truth(world)
    sites = pd.read_csv(os.path.join(world, "truth", "motif_sites.tsv"), sep="\t").set_index("site_id")
    assert len(truth) >= 80 and set(truth.strand) == {"+", "-"} and truth.n_exons.between(1, 4).all()
    assert (truth.enhancer_site != "").sum() >= 10 and ((truth.end - truth.start) > 2048).any()  # long genes
    for g in truth.itertuples():
        site = sites.loc[g.promoter_site]
        assert site.chrom == g.chrom
        # the TSS is 40-120 bp past the promoter motif on the gene's strand (neighbours: on -)
        gap = g.tss - site.end if g.strand == "+" else site.start - 1 - g.tss
        assert 40 <= gap < 120, g.gene_id
    table = read_genes(os.path.join(world, "genes.gtf"), Genome(os.path.join(world, "genome.fa"))).genes
    back = table.set_index("gene_id")
    assert len(back) == len(truth) and not table.transcript.str.endswith(".2").any()  # canonical, not longest
    for g in truth.itertuples():
        exons = tuple(tuple(int(x) for x in e.split("-")) for e in g.exons.split(";"))
        assert back.loc[g.gene_id, "exons"] == exons and back.loc[g.gene_id, "tss"] == g.tss


def test_cage_and_rna_tracks_follow_expression(world):
    truth = gene_truth(world)
    for cell in ("cellA", "cellB", "cellC"):
        cage, rna = [], []
        with (
            pyBigWig.open(os.path.join(world, "tracks", f"{cell}_CAGE_plus.bw")) as plus,
            pyBigWig.open(os.path.join(world, "tracks", f"{cell}_CAGE_minus.bw")) as minus,
            pyBigWig.open(os.path.join(world, "tracks", f"{cell}_RNA.bw")) as bw,
        ):
            for g in truth.itertuples():
                on, off = (plus, minus) if g.strand == "+" else (minus, plus)
                at_tss = np.nan_to_num(on.values(g.chrom, g.tss - 8, g.tss + 9, numpy=True)).mean()
                other = np.nan_to_num(off.values(g.chrom, g.tss - 8, g.tss + 9, numpy=True)).mean()
                cage.append((at_tss, other))
                s, e = (int(x) for x in g.exons.split(";")[0].split("-"))
                rna.append(np.nan_to_num(bw.values(g.chrom, s, e, numpy=True)).mean())
        cage = np.array(cage)
        expr = truth[f"expr_{cell}"].to_numpy()
        assert np.corrcoef(cage[:, 0], expr)[0, 1] > 0.9  # reads at the TSS on the gene's strand
        assert cage[:, 0].mean() > 5 * cage[:, 1].mean()  # and not on the other strand
        assert np.corrcoef(rna, expr)[0, 1] > 0.8  # reads over its exons (overlapping genes add up)


def test_variant_labels_match_the_genome_and_the_genes(world):
    truth = variant_truth(world)
    genes = gene_truth(world).set_index("gene_id")
    g = Genome(os.path.join(world, "genome.fa"))
    for v in truth.itertuples():
        assert g.fetch(v.chrom, v.pos - 1, v.pos - 1 + len(v.ref)).upper() == v.ref
    changing = truth[truth.sign != 0]
    assert len(changing) >= 40 and (changing.sign == -1).all() and (truth.sign == 0).sum() >= 40
    for v in changing.itertuples():
        assert genes.promoter_site[v.gene_id] == v.site_id
        cells = [c for c in truth.columns if c.startswith("log2fc_")]
        assert min(getattr(v, c) for c in cells) <= -0.3  # it lowers the gene somewhere


def score_world_genes(model: str, world: str, annotation: str, out) -> tuple:
    """`zoo score-variants --genes` of a world's gene VCF with its annotation, CAGE and RNA tasks."""
    res = run(
        "score-variants",
        "--model",
        f"local:{model}",
        "--vcf",
        os.path.join(world, "gene_variants.vcf"),
        "--genome",
        os.path.join(world, "genome.fa"),
        "--genes",
        os.path.join(world, annotation),
        "--tasks",
        "CAGE|RNA",
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return read_scores(str(out)), res


@pytest.fixture(scope="session")
def gene_tuned(world, tmp_path_factory, zoo_home):
    """The multitask recipe fine-tuned (frozen trunk) on the demo world with its gene tracks."""
    out = tmp_path_factory.mktemp("ft_genes")
    res = run("finetune", RECIPE, "--out", out, "--set", f"data={world}/data_genes.yaml", "train.freeze_trunk=true")
    assert res.returncode == 0, res.stderr[-2000:]
    return str(out)


def test_finetuned_model_recovers_gene_effects(world, gene_tuned, tmp_path):
    scores, _ = score_world_genes(gene_tuned, world, "genes.gtf", tmp_path / "genes.tsv.gz")
    m = gene_metrics(scores, variant_truth(world))
    print(f"demo world gene effects: {m}")
    assert m["auroc"] >= 0.9 and m["sign"] >= 0.9
    assert m["n_two_genes"] >= 10 and m["ranks_first"] >= 0.8
    # CAGE tasks are scored at the TSS, RNA over exons (auto): a promoter break moves both
    assert {"cellA_CAGE_plus:gene_logSED", "cellA_RNA:gene_logSED"} <= set(scores.columns)
