"""Gene-level predictions: each gene's TSS and exon signal from a model's binned output
(``zoo predict --genes``).

For each gene (:func:`zoo_tools.data.genes.read_genes`) one input window is placed
(:func:`gene_window`): when the gene's exons fit in the model's output span, the output is centred
on them when they fit with a margin of a quarter of the output (or ``k + 1`` bins, if more) on
each side; otherwise the TSS sits that margin from the output's upstream edge and the output extends
in the direction of
transcription. From the ``(T, B)`` prediction of that window, per task:

``tss_signal``     sum of the bins within ``k`` bins of the TSS bin (Enformer's CAGE convention, ``k = 1``:
                   3 bins)
``exon_signal``    sum over bins of the prediction times the fraction of the bin covered by the gene's exons
                   (Borzoi's exon-coverage sum; each exon base counted once)
``exon_coverage``  fraction of the gene's exon bases inside the output span

Stranded tasks (task table ``strand`` ``+`` / ``-``) give values only for genes on their strand
(NaN on the other); unstranded tasks (``.``) for every gene. Coordinates are 0-based half-open.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genes import read_genes
from zoo_tools.data.genome import Genome
from zoo_tools.models.tasks import select_tasks

GENE_OUTPUT_COLUMNS = ["gene_id", "gene_name", "gene_type", "chrom", "strand", "tss", "window_start", "task"]
GENE_VALUES = ["tss_signal", "exon_signal", "exon_coverage"]


def gene_window(span: tuple[int, int], tss: int, strand: str, card, k: int = 1) -> int:
    """Start (0-based) of the input window scored for a gene.

    Parameters
    ----------
    span : tuple of int
        The gene's exon span ``(start, end)``, 0-based half-open.
    tss : int
        0-based TSS.
    strand : str
        ``+`` or ``-``.
    card : ModelCard
        ``seq_len``, ``bin_size``, ``n_bins`` and ``output_start`` of the model.
    k : int
        TSS margin in bins; the upstream margin is at least ``k + 1`` bins and a quarter of the output.

    Returns
    -------
    int
        The window's start; the output span is ``[start + output_start, ... + n_bins * bin_size)``.
    """
    out_len = card.n_bins * card.bin_size
    margin = max((k + 1) * card.bin_size, out_len // 4)  # a TSS at the edge lacks its promoter's context
    if span[1] - span[0] <= out_len - 2 * margin:
        out_lo = (span[0] + span[1]) // 2 - out_len // 2
    elif strand == "-":
        out_lo = tss + 1 + margin - out_len
    else:
        out_lo = tss - margin
    return int(out_lo - card.output_start)


def _exon_weights(exons, out_lo: int, bin_size: int, n_bins: int) -> tuple[np.ndarray, int]:
    """``(weights (n_bins,) in [0, 1], exon bases inside)``: the fraction of each output bin (the first
    starting at ``out_lo``) covered by the merged ``exons``."""
    lo = out_lo + np.arange(n_bins) * bin_size
    w = np.zeros(n_bins)
    for s, e in exons:
        w += np.clip(np.minimum(e, lo + bin_size) - np.maximum(s, lo), 0, None)
    return w / bin_size, int(w.sum())


def _tss_mask(tss: int, out_lo: int, bin_size: int, n_bins: int, k: int = 1) -> np.ndarray:
    """``(n_bins,)`` bool: output bins within ``k`` bins of the TSS's bin (none if the TSS is outside)."""
    b = (tss - out_lo) // bin_size
    idx = np.arange(n_bins)
    return (np.abs(idx - b) <= k) & (0 <= b < n_bins)


def _gene_values(pred: np.ndarray, weights: np.ndarray, mask: np.ndarray, on_strand: np.ndarray) -> np.ndarray:
    """``(T, 2)`` TSS and exon signal per task of one window's ``(T, B)`` prediction; NaN off strand."""
    out = np.stack([pred[:, mask].sum(1), pred @ weights], axis=1).astype(np.float64)
    out[~on_strand] = np.nan
    return out


def gene_table_rows(genes: pd.DataFrame, preds: np.ndarray, starts: np.ndarray, card, tasks: np.ndarray, k: int):
    """The long table: one row per gene and task (see the module docstring for the values).

    Parameters
    ----------
    genes : pandas.DataFrame
        :func:`~zoo_tools.data.genes.read_genes` rows.
    preds : numpy.ndarray
        ``(G, T, B)`` predictions of each gene's window (the selected tasks).
    starts : numpy.ndarray
        ``(G,)`` window starts (:func:`gene_window`).
    card : ModelCard
        The model's bins and task table.
    tasks : numpy.ndarray
        Indices of the selected tasks in ``card.tasks``.
    k : int
        TSS margin in bins.

    Returns
    -------
    pandas.DataFrame
        :data:`GENE_OUTPUT_COLUMNS` + :data:`GENE_VALUES`, genes in table order, tasks in model order.
    """
    names = card.tasks["name"].to_numpy()[tasks].astype(str)
    task_strand = card.tasks["strand"].to_numpy()[tasks].astype(str)
    vals, coverage = np.zeros((len(genes), len(tasks), 2)), np.zeros(len(genes))
    for g, (gene, start) in enumerate(zip(genes.itertuples(index=False), starts)):
        out_lo = int(start) + card.output_start
        w, inside = _exon_weights(gene.exons, out_lo, card.bin_size, card.n_bins)
        coverage[g] = inside / max(sum(e - s for s, e in gene.exons), 1)
        mask = _tss_mask(gene.tss, out_lo, card.bin_size, card.n_bins, k)
        vals[g] = _gene_values(preds[g], w, mask, (task_strand == ".") | (task_strand == gene.strand))
    per_gene = {c: np.repeat(genes[c].to_numpy(), len(tasks)) for c in GENE_OUTPUT_COLUMNS[:6]}
    return pd.DataFrame(
        per_gene
        | {"window_start": np.repeat(np.asarray(starts, np.int64), len(tasks)), "task": np.tile(names, len(genes))}
        | {"tss_signal": vals[..., 0].ravel(), "exon_signal": vals[..., 1].ravel()}
        | {"exon_coverage": np.repeat(coverage, len(tasks))},
        columns=GENE_OUTPUT_COLUMNS + GENE_VALUES,
    )


def gene_predictions(model, genome: Genome, genes: pd.DataFrame, tasks=None, k: int = 1, **predict) -> pd.DataFrame:
    """Predict each gene's window and return the gene-level table.

    Parameters
    ----------
    model : ZooModel
        A model with fixed input length and bins.
    genome : Genome
        The reference (windows past a contig end are padded with N).
    genes : pandas.DataFrame
        :func:`~zoo_tools.data.genes.read_genes` rows (contigs in the genome's spelling).
    tasks : list of str, optional
        Task names or patterns; default all.
    k : int
        TSS margin in bins (``tss_signal`` sums ``2k + 1`` bins).
    **predict
        Passed to ``model.predict`` (``batch_size``, ``rc_average``, ``precision``).

    Returns
    -------
    pandas.DataFrame
        One row per gene and task: :data:`GENE_OUTPUT_COLUMNS` + :data:`GENE_VALUES`.
    """
    card = model.card
    keep = select_tasks(card.tasks, tasks)
    starts = np.array(
        [gene_window((g.start, g.end), g.tss, g.strand, card, k) for g in genes.itertuples(index=False)], dtype=np.int64
    )
    windows = pd.DataFrame({"chrom": genes["chrom"].to_numpy(), "start": starts, "end": starts + card.seq_len})
    if not len(windows):
        return gene_table_rows(genes, np.zeros((0, len(keep), card.n_bins)), starts, card, keep, k)
    preds = model.predict(windows, genome=genome, **predict)[:, keep]  # windows of seq_len: kept as they are
    return gene_table_rows(genes, preds, starts, card, keep, k)


def predict_genes(spec: str, genome: str, genes: str, out: str, transcript: str = "canonical", **options) -> str:
    """``zoo predict --genes``: the gene-level table of a model over a GTF / GFF3, written to ``out``.

    Parameters
    ----------
    spec, genome, genes : str
        The model spec, the FASTA and the annotation.
    out : str
        ``.tsv``, ``.tsv.gz`` or ``.parquet``.
    transcript : str
        ``canonical`` or ``union`` (:func:`~zoo_tools.data.genes.read_genes`).
    **options
        ``tasks``, ``k``, ``trust`` and ``model.predict``'s ``batch_size``, ``rc_average``, ``precision``.

    Returns
    -------
    str
        A one-line summary: genes, tasks, skipped genes, the file.
    """
    from zoo_tools.zoo import load_model

    if not out.endswith((".tsv", ".tsv.gz", ".parquet")):
        raise ZooError(f"--out {out}: with --genes write a .tsv, .tsv.gz or .parquet table")
    g = Genome(genome)
    table = read_genes(genes, g, transcript)
    if table.genes.empty:
        raise ZooError(f"{genes}: no gene lies on the genome's contigs ({table.skipped}); check the annotation's build")
    model = load_model(spec, trust=options.pop("trust", False))
    df = gene_predictions(model, g, table.genes, **options)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if out.endswith(".parquet"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, sep="\t", index=False, float_format="%.6g")
    skipped = ", ".join(f"{k} {v}" for k, v in table.skipped.items()) or "none"
    return f"predicted {len(table.genes)} genes x {df.task.nunique()} tasks with {spec} (skipped: {skipped}) -> {out}"


def borzoi_gene_bins(exons, out_lo: int, bin_size: int, n_bins: int) -> np.ndarray:
    """Output bins a gene's exons touch, each once: Borzoi's gene bins (baskerville
    ``Gene.output_slice``, any overlap: ``floor(start / bin)`` to ``ceil(end / bin)``, clipped).

    Parameters
    ----------
    exons : sequence of (int, int)
        0-based half-open exons.
    out_lo, bin_size, n_bins : int
        Genomic start of the first output bin, bin width, number of bins.

    Returns
    -------
    numpy.ndarray
        Sorted unique bin indices in ``[0, n_bins)``.
    """
    idx = []
    for s, e in exons:
        lo, hi = max(s - out_lo, 0), max(e - out_lo, 0)
        idx.extend(range(min(lo // bin_size, n_bins), min(-(-hi // bin_size), n_bins)))
    return np.unique(np.array(idx, dtype=np.int64))


def log_sed(ref: np.ndarray, alt: np.ndarray, bins: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Borzoi's gene expression effect: ``log2(sum alt + pc) - log2(sum ref + pc)`` over the gene's bins.

    As baskerville's ``compute_scores`` (``logSED``): the pseudocount is added after summing the
    bins, in the model's output units.

    Parameters
    ----------
    ref, alt : numpy.ndarray
        ``(B, T)`` reference and alternative predictions (bins x tasks).
    bins : numpy.ndarray
        The gene's bins (:func:`borzoi_gene_bins`).
    pseudocount : float
        ``pc``, 1 as in Borzoi.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` float64.
    """
    r = np.asarray(ref, np.float64)[bins].sum(0)
    a = np.asarray(alt, np.float64)[bins].sum(0)
    return np.log2(a + pseudocount) - np.log2(r + pseudocount)
