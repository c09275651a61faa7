"""Gene-level predictions (issue 15, part 2): window placement, exon weights and TSS bins by hand,
then a model whose output is known (G/C bases per bin) so every value can be counted on the sequence,
and `zoo predict --genes` through the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zoo_tools.data.genes import read_genes
from zoo_tools.data.genome import Genome
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel
from zoo_tools.score.genes import _exon_weights, _tss_mask, gene_predictions, gene_window

from .conftest import write_fasta
from .test_cli import run
from .test_genes import gtf_line

BIN, BINS, CROP, L = 16, 12, 2, 256  # output: bins 2..13 of the input's 16, i.e. input bases [32, 224)


class GCPerBin(nn.Module):
    """(N, 4, L) -> (N, 2, 12): G+C bases in each 16 bp bin of the central 192 bp, twice."""

    def forward(self, x):
        gc = x[:, 1] + x[:, 2]
        per_bin = gc.reshape(len(x), L // BIN, BIN).sum(-1)[:, CROP : CROP + BINS]
        return torch.stack([per_bin, per_bin], 1)


def gc_model() -> ZooModel:
    tasks = task_table(pd.DataFrame({"name": ["gc_plus", "gc_any"], "strand": ["+", "."]}))
    card = ModelCard(source="test", name="gc", seq_len=L, bin_size=BIN, n_bins=BINS, tasks=tasks, crop_bins=CROP)
    return ZooModel(nn.Identity(), GCPerBin(), card)


def test_windows_weights_and_tss_bins_by_hand():
    card = gc_model().card
    # an 80 bp gene fits the 192 bp output with 48 bp (a quarter) each side: the output is centred on it
    start = gene_window((1000, 1080), 1000, "+", card)
    assert start + card.output_start == 1040 - 96 and start == 912
    # a 100 bp gene does not: the TSS sits a quarter of the output from its upstream edge
    assert gene_window((1000, 1100), 1000, "+", card) + 32 == 1000 - 48
    # a 1 kb gene on +: the same, and the output runs downstream
    assert gene_window((1000, 2000), 1000, "+", card) + 32 == 1000 - 192 // 4  # a quarter of the output
    # on -: the TSS (last base, 1999) sits a quarter of the output before its end
    assert gene_window((1000, 2000), 1999, "-", card) + 32 + 192 == 2000 + 192 // 4
    w, inside = _exon_weights([(10, 20), (40, 41)], 0, BIN, 4)  # bins [0,16) [16,32) [32,48) [48,64)
    assert w.tolist() == [6 / 16, 4 / 16, 1 / 16, 0.0] and inside == 11
    assert _tss_mask(37, 0, BIN, 4, k=1).tolist() == [False, True, True, True]
    assert _tss_mask(200, 0, BIN, 4).tolist() == [False] * 4  # TSS outside: no bins


@pytest.fixture
def world(tmp_path):
    rng = np.random.default_rng(3)
    seqs = {c: "".join(rng.choice(list("ACGT"), 5000)) for c in ("1", "2")}
    fa = write_fasta(tmp_path / "g.fa", seqs)
    lines = [
        gtf_line("chr1", "exon", 1001, 1060, "+", gene_id="P", transcript_id="Pt"),  # fits: centred
        gtf_line("chr1", "exon", 1101, 1140, "+", gene_id="P", transcript_id="Pt"),
        gtf_line("chr2", "exon", 2001, 2100, "-", gene_id="M", transcript_id="Mt"),  # long, minus strand
        gtf_line("chr2", "exon", 2601, 2700, "-", gene_id="M", transcript_id="Mt"),
    ]
    (tmp_path / "g.gtf").write_text("\n".join(lines) + "\n")
    return Genome(fa), seqs, str(tmp_path / "g.gtf")


def test_gc_model_values_are_counts_on_the_sequence(world):
    genome, seqs, gtf = world
    genes = read_genes(gtf, genome).genes
    df = gene_predictions(gc_model(), genome, genes, progress=False)
    assert df.shape[0] == 4 and df.task.tolist() == ["gc_plus", "gc_any"] * 2
    for gene in genes.itertuples():
        rows = df[df.gene_id == gene.gene_id].set_index("task")
        out_lo = int(rows.window_start.iloc[0]) + CROP * BIN
        seq = seqs[gene.chrom]
        gc = np.array([c in "GC" for c in seq])
        tss_bin = (gene.tss - out_lo) // BIN
        want_tss = gc[out_lo + (tss_bin - 1) * BIN : out_lo + (tss_bin + 2) * BIN].sum()
        covered = [(max(s, out_lo), min(e, out_lo + BINS * BIN)) for s, e in gene.exons]
        bins = gc[out_lo : out_lo + BINS * BIN].reshape(BINS, BIN).sum(1)
        frac = np.zeros(BINS)
        for s, e in covered:
            for b in range(BINS):
                lo = out_lo + b * BIN
                frac[b] += max(0, min(e, lo + BIN) - max(s, lo)) / BIN
        assert rows.loc["gc_any", "tss_signal"] == want_tss
        assert rows.loc["gc_any", "exon_signal"] == pytest.approx((bins * frac).sum())
        total = sum(e - s for s, e in gene.exons)
        assert rows.loc["gc_any", "exon_coverage"] == pytest.approx(sum(max(0, e - s) for s, e in covered) / total)
        if gene.strand == "-":  # a + stranded task says nothing about a - gene
            assert np.isnan(rows.loc["gc_plus", "tss_signal"]) and np.isnan(rows.loc["gc_plus", "exon_signal"])
        else:
            assert rows.loc["gc_plus", "tss_signal"] == want_tss
    p = df[df.gene_id == "P"].iloc[0]
    assert p.exon_coverage == 1.0  # the 140 bp gene fits the 192 bp output whole
    m = df[df.gene_id == "M"].iloc[0]
    assert 0 < m.exon_coverage < 1  # 700 bp long: the output holds its TSS end only


def test_zoo_predict_genes_on_the_demo_model(tmp_path, world):
    """The CLI's table equals the same computation on model.predict's output of each window."""
    from zoo_tools.zoo import load_model

    _, seqs, _ = world
    demo = load_model("demo:base")
    n = demo.card.seq_len
    fa = write_fasta(tmp_path / "big.fa", {"1": (seqs["1"] * 3)[:12000], "2": (seqs["2"] * 3)[:12000]})
    lines = [
        gtf_line("1", "exon", 3001, 3300, "+", gene_id="A", transcript_id="At"),
        gtf_line("1", "exon", 5001, 9000, "-", gene_id="B", transcript_id="Bt"),
    ]
    (tmp_path / "demo.gtf").write_text("\n".join(lines) + "\n")
    out = tmp_path / "genes.tsv"
    args = ["predict", "demo:base", "--genome", fa, "--genes", tmp_path / "demo.gtf", "--out", out]
    res = run(*args, "--tasks", "C002", "C055", "--tss-bins", "2")
    assert res.returncode == 0, res.stderr
    assert "predicted 2 genes x 2 tasks" in res.stdout
    df = pd.read_csv(out, sep="\t")
    assert list(df.columns)[:8] == [
        "gene_id",
        "gene_name",
        "gene_type",
        "chrom",
        "strand",
        "tss",
        "window_start",
        "task",
    ]
    b = df[df.gene_id == "B"].iloc[0]
    x = Genome(fa).batch_codes(["1"], [int(b.window_start)], n)
    from zoo_tools.data.onehot import codes_to_tensor

    pred = demo.predict(codes_to_tensor(x), progress=False)[0]
    task = int(np.flatnonzero(demo.card.tasks.name.str.startswith(b.task.split(":")[0]))[0])
    out_lo = int(b.window_start) + demo.card.output_start
    tss_bin = (int(b.tss) - out_lo) // demo.card.bin_size
    assert b.tss_signal == pytest.approx(pred[task, tss_bin - 2 : tss_bin + 3].sum(), rel=1e-5)
    res = run(*args[:-1], tmp_path / "genes.h5")
    assert res.returncode == 2 and "with --genes write a .tsv, .tsv.gz or .parquet" in res.stderr


def test_log_sed_matches_borzoi_formula():
    """baskerville compute_scores (logSED) on 2 bins x 2 targets: log2(sum alt + 1) - log2(sum ref + 1)."""
    from zoo_tools.score.genes import borzoi_gene_bins, log_sed

    ref, alt = np.array([[1.0, 10.0], [3.0, 0.0]]), np.array([[2.0, 10.0], [5.0, 1.0]])
    got = log_sed(ref, alt, np.array([0, 1]))
    assert got == pytest.approx([np.log2(8 / 5), np.log2(12 / 11)]) and got == pytest.approx(
        [0.678072, 0.125531], abs=1e-6
    )
    # exons [5, 20) and [40, 41) on 16 bp bins from 0: bins 0, 1 and 2, each once; clipped to the output
    assert borzoi_gene_bins([(5, 20), (18, 30), (40, 41)], 0, BIN, 4).tolist() == [0, 1, 2]
    assert borzoi_gene_bins([(60, 100)], 0, BIN, 4).tolist() == [3]
