"""Gene-level variant effects (``zoo score-variants --genes``): each gene in a variant's output
window, scored from the reference and alternative predictions.

**Genes in reach.** A gene is scored for a variant when its TSS or one of its exons (the chosen
transcript's, :func:`zoo_tools.data.genes.read_genes`) falls in the output span of the variant's
window (all output bins, whatever ``--window-bins``). A variant with no gene in reach gets status
``no_gene_in_window`` (its bin-level scores are still written).

**Signals.** Per task, a gene's signal is either its exon signal (the bins weighted by their
overlap with the gene's exon bases, Borzoi's convention) or its TSS signal (the TSS bin +- ``k``
bins, Enformer's CAGE convention). ``auto`` uses the TSS for tasks whose ``assay`` is CAGE-like
(CAGE, TSS, PRO-cap, ``start``) and the exons for all others (RNA-seq and everything else);
``exon`` / ``tss`` use one signal for every task. Stranded tasks score only genes on their strand.

**Scores** per task: ``gene_ref``, ``gene_alt`` (the signal of each allele), ``gene_diff = alt -
ref`` and ``gene_logSED = log2((alt + pc) / (ref + pc))`` (Borzoi's logSED: the pseudocount
added after summing the bins; negative sums clipped at 0). TSS tasks give NaN when the TSS is
outside the window, stranded tasks NaN for genes on the other strand.

**Indels.** The bins downstream of an indel in the alternative window are shifted by its length.
As baskerville's ``stitch_preds``, the alternative allele is also predicted in a window shifted
to compensate (:func:`~zoo_tools.score.windows.aligned_alt_windows`) and the two predictions are
stitched at the variant's bin, so that exon bins far from the indel compare like with like.

**Packing.** In the partial file each (record, ALT) stays one line: its genes are packed into one
``genes`` cell (:func:`pack`), the same text that becomes the ``ZOO_GENES`` INFO field of a
``.vcf.gz`` output; :func:`explode` makes one row per gene of it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genes import read_genes
from zoo_tools.data.genome import Genome

log = logging.getLogger(__name__)

GENE_ROW_COLUMNS = ["gene_id", "gene_name", "gene_strand", "tss_distance", "exon_coverage"]
GENE_KINDS = ["gene_ref", "gene_alt", "gene_diff", "gene_logSED"]
GENE_SUMMARY = "max_abs_gene_logSED"
SIGNALS = ("auto", "exon", "tss")
TSS_ASSAYS = re.compile(r"cage|tss|pro-?cap|start", re.IGNORECASE)
_ESCAPE = {c: f"%{ord(c):02X}" for c in "%,|;=: \t\r\n"}


def task_uses_tss(tasks: pd.DataFrame, signal: str = "auto") -> np.ndarray:
    """Which tasks are scored by their TSS signal (the others by their exon signal).

    Parameters
    ----------
    tasks : pandas.DataFrame
        Task table rows (``assay`` column).
    signal : str
        ``auto`` (CAGE-like assays: TSS, see :data:`TSS_ASSAYS`), ``exon`` or ``tss``.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` bool.
    """
    if signal not in SIGNALS:
        raise ZooError(f"--gene-signal '{signal}': choose {', '.join(SIGNALS)}")
    if signal != "auto":
        return np.full(len(tasks), signal == "tss")
    return tasks["assay"].astype(str).map(lambda a: bool(TSS_ASSAYS.search(a))).to_numpy(bool)


def _escape(text: str) -> str:
    """Percent-encode the characters a packed cell (and a VCF INFO value) cannot hold."""
    return "".join(_ESCAPE.get(c, c) for c in str(text))


class GeneIndex:
    """The genes of a table, by contig, for finding those within an output span.

    Parameters
    ----------
    genes : pandas.DataFrame
        :func:`~zoo_tools.data.genes.read_genes` rows (contigs in the genome's spelling).
    """

    def __init__(self, genes: pd.DataFrame):
        self.genes = genes.reset_index(drop=True)
        self.exons = [tuple(e) for e in self.genes.exons]
        self.tss = self.genes.tss.astype(int).tolist()
        self.strand = self.genes.strand.astype(str).tolist()
        self.exon_bases = [max(sum(e - s for s, e in ex), 1) for ex in self.exons]
        self.labels = [
            f"{_escape(i)}|{_escape(n)}" for i, n in zip(self.genes.gene_id, self.genes.gene_name.fillna(""))
        ]
        self.by_chrom: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        for chrom, rows in self.genes.groupby("chrom", sort=False).indices.items():
            lo = np.minimum(self.genes.start.to_numpy()[rows], self.genes.tss.to_numpy()[rows])
            order = np.argsort(lo, kind="stable")
            span = np.maximum(self.genes.end.to_numpy()[rows], self.genes.tss.to_numpy()[rows] + 1) - lo
            self.by_chrom[chrom] = (lo[order], rows[order], int(span.max()))

    def in_reach(self, chrom: str, lo: int, hi: int) -> list[int]:
        """Rows of genes whose TSS or an exon lies in ``[lo, hi)`` (0-based), in table order."""
        if chrom not in self.by_chrom:
            return []
        starts, rows, longest = self.by_chrom[chrom]
        cand = rows[np.searchsorted(starts, lo - longest) : np.searchsorted(starts, hi)]
        return sorted(int(g) for g in cand if self._touches(int(g), lo, hi))

    def _touches(self, g: int, lo: int, hi: int) -> bool:
        return lo <= self.tss[g] < hi or any(s < hi and e > lo for s, e in self.exons[g])


@dataclass
class GeneScoring:
    """What ``--genes`` adds to a run: the genes, the signal per task and the output geometry.

    Parameters
    ----------
    index : GeneIndex
        The genes.
    tss_task : numpy.ndarray
        ``(T,)`` bool per scored task: scored by the TSS (else the exon) signal (:func:`task_uses_tss`).
    task_strand : numpy.ndarray
        ``(T,)`` ``+``, ``-`` or ``.`` per scored task.
    bin_size, n_bins, output_start : int
        The model's output bins and where the first starts in the input window (bp).
    k : int
        TSS margin in bins.
    pseudocount : float
        ``pc`` of ``gene_logSED``.
    stitch : bool
        Align indels' alternative predictions (see the module docstring).
    """

    index: GeneIndex
    tss_task: np.ndarray
    task_strand: np.ndarray
    bin_size: int
    n_bins: int
    output_start: int
    k: int = 1
    pseudocount: float = 1.0
    stitch: bool = True

    def span(self, window_start: int) -> tuple[int, int]:
        """The output span ``[lo, hi)`` (0-based genome coordinates) of a window starting there."""
        lo = window_start + self.output_start
        return lo, lo + self.n_bins * self.bin_size

    def genes_of(self, chrom: str, window_start: int) -> list[int]:
        """Gene rows in reach of a window (:meth:`GeneIndex.in_reach`; remembered for the last windows asked)."""
        key = (chrom, window_start)
        if key not in self._reach:
            if len(self._reach) > 50_000:
                self._reach.clear()
            self._reach[key] = self.index.in_reach(chrom, *self.span(window_start))
        return self._reach[key]

    def reaches_past(self, chrom: str, window_start: int, first_bin: int) -> bool:
        """Whether a gene in reach of the window has exon bases or its TSS in output bins ``>= first_bin``
        (else an indel's stitched prediction would change nothing the genes are scored on)."""
        lo = self.span(window_start)[0] + first_bin * self.bin_size
        ix = self.index
        reach_tss = lo - self.k * self.bin_size  # a TSS bin up to k bins before still sums bins from there
        return any(ix.tss[g] >= reach_tss or ix.exons[g][-1][1] > lo for g in self.genes_of(chrom, window_start))

    def __post_init__(self):
        self._reach: dict[tuple[str, int], list[int]] = {}

    def masks(self, rows: list[int], out_lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``((G, B) exon weights, (G, B) TSS bins (NaN rows: TSS outside), (G,) exon coverage)``."""
        ix = self.index
        lo = out_lo + np.arange(self.n_bins) * self.bin_size
        owner = np.concatenate([np.full(len(ix.exons[g]), j) for j, g in enumerate(rows)])
        ex = np.array([e for g in rows for e in ix.exons[g]], dtype=np.int64).reshape(-1, 2)
        overlap = np.clip(np.minimum(ex[:, 1:2], lo + self.bin_size) - np.maximum(ex[:, :1], lo), 0, None)
        w = np.zeros((len(rows), self.n_bins))
        np.add.at(w, owner, overlap)
        cover = w.sum(1) / np.array([ix.exon_bases[g] for g in rows])
        b = (np.array([ix.tss[g] for g in rows]) - out_lo) // self.bin_size
        tss = (np.abs(np.arange(self.n_bins)[None, :] - b[:, None]) <= self.k).astype(np.float64)
        tss[(b < 0) | (b >= self.n_bins)] = np.nan
        return w / self.bin_size, tss, cover

    def effects(self, ref: np.ndarray, alt: np.ndarray, rows: list[int], out_lo: int) -> tuple[np.ndarray, np.ndarray]:
        """``((G, T, 4) gene_ref, gene_alt, gene_diff, gene_logSED; (G,) exon coverage)`` of one variant's
        ``(T, B)`` reference and alternative predictions."""
        w, tss, cover = self.masks(rows, out_lo)
        p = np.stack([ref, alt]).astype(np.float64)  # (2, T, B)
        sig = np.where(self.tss_task[None, :, None], p @ tss.T, p @ w.T)  # (2, T, G)
        strand = np.array([self.index.strand[g] for g in rows])
        sig[:, (self.task_strand[:, None] != ".") & (self.task_strand[:, None] != strand[None, :])] = np.nan
        r, a = sig
        pc = self.pseudocount
        with np.errstate(invalid="ignore", divide="ignore"):
            lsed = np.log2((np.maximum(a, 0) + pc) / (np.maximum(r, 0) + pc))
        return np.stack([r, a, a - r, lsed], axis=-1).transpose(1, 0, 2), cover


def pack(index: GeneIndex, rows: list[int], values: np.ndarray, cover: np.ndarray, pos0: int) -> str:
    """One variant's genes as one cell: genes joined by ``,``, fields by ``|``.

    Parameters
    ----------
    index : GeneIndex
        The genes.
    rows : list of int
        The variant's genes (rows of ``genes``).
    values : numpy.ndarray
        ``(G, T, 4)`` :data:`GENE_KINDS` per gene and task.
    cover : numpy.ndarray
        ``(G,)`` exon coverage.
    pos0 : int
        The variant's first REF base, 0-based.

    Returns
    -------
    str
        Per gene ``gene_id|gene_name|strand|tss_distance|exon_coverage|`` then ``T x 4`` values
        (``%.6g``, empty when NaN); names percent-encoded.
    """
    out = []
    for j, g in enumerate(rows):
        dist = pos0 - index.tss[g] if index.strand[g] != "-" else index.tss[g] - pos0
        nums = "|".join("" if not np.isfinite(x) else f"{x:.6g}" for x in values[j].ravel().tolist())
        out.append(f"{index.labels[g]}|{index.strand[g]}|{dist}|{cover[j]:.6g}|{nums}")
    return ",".join(out)


def gene_columns(task_names: list[str]) -> list[str]:
    """The per-task gene score columns, ``<task>:<kind>`` for each :data:`GENE_KINDS`.

    Parameters
    ----------
    task_names : list of str
        The scored tasks.

    Returns
    -------
    list of str
    """
    return [f"{t}:{k}" for t in task_names for k in GENE_KINDS]


def explode(df: pd.DataFrame, task_names: list[str], numeric: bool = True) -> pd.DataFrame:
    """Rows of a partial file (one per (record, ALT), a packed ``genes`` cell) -> one row per gene.

    Parameters
    ----------
    df : pandas.DataFrame
        Partial-file rows: base columns, bin-level scores, ``genes`` (:func:`pack`; empty: no gene).
    task_names : list of str
        The scored tasks, in the packed order.
    numeric : bool
        Parse the gene values into numbers; False keeps them as the packed text (for writing a
        TSV without formatting every number again; :data:`GENE_SUMMARY` is then text too).

    Returns
    -------
    pandas.DataFrame
        Base columns, :data:`GENE_ROW_COLUMNS`, the bin-level scores, the gene scores
        (:func:`gene_columns`) and :data:`GENE_SUMMARY`; a row without genes keeps one row with
        those empty. Input order kept, genes in TSS order.
    """
    cells = df["genes"].fillna("").astype(str).str.split(",")
    long = df.drop(columns="genes").loc[df.index.repeat(cells.str.len())].reset_index(drop=True)
    flat = [c for cell in cells for c in cell]
    cols = GENE_ROW_COLUMNS + gene_columns(task_names)
    parts = pd.DataFrame([c.split("|") if c else [""] * len(cols) for c in flat], columns=cols)
    parts["gene_id"] = parts.gene_id.map(unquote).replace("", None)
    parts["gene_name"] = parts.gene_name.map(unquote).where(parts.gene_id.notna(), None)
    parts["gene_strand"] = parts.gene_strand.replace("", None)
    lsed_cols = [c for c in cols if c.endswith(":gene_logSED")]
    lsed = parts[lsed_cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        summary = np.where(np.isfinite(lsed).any(1), np.nanmax(np.abs(np.where(np.isfinite(lsed), lsed, 0)), 1), np.nan)
    if numeric:
        nums = parts.columns[3:]
        parts[nums] = parts[nums].apply(pd.to_numeric, errors="coerce")
        parts["tss_distance"] = parts.tss_distance.astype("Int64")
    else:
        summary = ["" if not np.isfinite(x) else f"{x:.6g}" for x in summary]
    n_base = long.columns.get_loc("line") + 1
    base, rest = long.columns[:n_base], long.columns[n_base:]
    return pd.concat([long[base], parts[GENE_ROW_COLUMNS], long[rest], parts[cols[5:]]], axis=1).assign(
        **{GENE_SUMMARY: summary}
    )


class GeneRequest(NamedTuple):
    """What a user asks of ``--genes``: the annotation and how its genes are scored.

    ``path`` GTF / GFF3; ``transcript`` ``canonical`` or ``union``; ``k`` TSS margin in bins;
    ``signal`` ``auto``, ``exon`` or ``tss`` (:func:`task_uses_tss`); ``stitch`` align indels.
    """

    path: str
    transcript: str = "canonical"
    k: int = 1
    signal: str = "auto"
    stitch: bool = True


def gene_scoring(
    request: GeneRequest, card, genome: Genome, tasks: np.ndarray, pseudocount: float = 1.0
) -> GeneScoring:
    """Read the annotation against the genome and set up gene scoring for a model's tasks.

    Parameters
    ----------
    request : GeneRequest
        The annotation and options.
    card : ModelCard
        The model's bins (``bin_size``, ``n_bins``, ``output_start``) and task table.
    genome : Genome
        Contigs resolve to its spelling; genes off it are skipped and counted (logged).
    tasks : numpy.ndarray
        Indices of the scored tasks.
    pseudocount : float
        ``pc`` of ``gene_logSED``.

    Returns
    -------
    GeneScoring
    """
    if request.k < 0:
        raise ZooError(f"--tss-bins {request.k}: give 0 or more bins")
    table = read_genes(request.path, genome, request.transcript)
    if table.genes.empty:
        raise ZooError(f"{request.path}: no gene lies on the genome's contigs ({table.skipped}); check the build")
    rows = card.tasks.iloc[tasks]
    tss = task_uses_tss(rows, request.signal)
    skipped = ", ".join(f"{k} {v}" for k, v in table.skipped.items()) or "none"
    (log.warning if table.skipped else log.info)(
        "genes: %d from %s (skipped: %s)", len(table.genes), request.path, skipped
    )
    names = rows["name"].astype(str).to_numpy()
    log.info("gene signal: TSS for %s; exons for %s", list(names[tss]) or "no task", list(names[~tss]) or "no task")
    return GeneScoring(
        GeneIndex(table.genes),
        tss,
        rows["strand"].astype(str).to_numpy(),
        card.bin_size,
        card.n_bins,
        card.output_start,
        request.k,
        pseudocount,
        request.stitch,
    )


def top_genes(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (record, ALT) of a gene-level scores table, its genes ranked by ``|gene_logSED|``.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``score-variants --genes`` rows (:func:`~zoo_tools.score.formats.read_scores`).

    Returns
    -------
    pandas.DataFrame
        One row per (record, ALT), input order: ``record, alt, status, n_genes``, ``top_gene``
        (largest ``|gene_logSED|`` over the scored tasks; empty without genes), ``top_task`` and
        ``top_logSED`` (signed, at that task), and ``second_gene`` / ``second_abs_logSED``.
    """
    cols = [c for c in scores.columns if c.endswith(":gene_logSED")]
    vals = scores[cols].to_numpy(np.float64)
    finite = np.isfinite(vals).any(1)
    k = np.where(finite, np.nanargmax(np.where(np.isfinite(vals), np.abs(vals), -1.0), 1), 0)
    best = np.where(finite, vals[np.arange(len(vals)), k], np.nan)
    df = scores[["record", "alt", "status", "gene_id"]].assign(
        _abs=np.abs(best), top_task=[cols[i].rsplit(":", 1)[0] for i in k], top_logSED=best, _i=np.arange(len(scores))
    )
    ranked = df.sort_values(["record", "_i"]).sort_values("_abs", ascending=False, kind="stable", na_position="last")
    groups = ranked.groupby(["record", "alt"], sort=False, dropna=False)
    first, second = groups.nth(0).set_index(["record", "alt"]), groups.nth(1).set_index(["record", "alt"])
    out = df.drop_duplicates(["record", "alt"])[["record", "alt", "status"]].set_index(["record", "alt"])
    out["n_genes"] = scores.groupby(["record", "alt"], dropna=False).gene_id.count()
    out["top_gene"] = first.gene_id.where(first._abs.notna())
    out["top_task"], out["top_logSED"] = first.top_task.where(first._abs.notna()), first.top_logSED
    out["second_gene"], out["second_abs_logSED"] = second.gene_id, second._abs
    return out.reset_index()
