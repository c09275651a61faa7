"""The demo world's genes: an annotation whose promoters are planted motif sites, the CAGE- and
RNA-like tracks their expression causes, and variants labelled with the gene they change.

Genes are drawn from their own random stream (seed, 15), so the rest of the world is unchanged.

**Genes.** About 40% of planted sites become a gene's promoter: the gene is transcribed on the
site's strand from a TSS 40-120 bp past the motif, with 1-4 exons (60-250 bp) and introns
(80-400 bp). After some of them a long *neighbour* gene is promoted by the next site and runs back
towards the first one on the ``-`` strand (2-4 exons, up to 4.5 kb, overlapping the first gene
on the other strand), so that a variant's window holds two genes. About 30% of genes also have a
distal enhancer: the nearest other site 1-6 kb from the TSS, its signed distance (upstream
negative on the gene's strand) recorded.

**Expression** of a gene in a cell type: ``0.05 + activity(promoter) + 0.5 x activity(enhancer)``,
where a site's activity is its motif's strength in that cell (as for H3K27ac: CTCF and the decoy
do not activate) times its affinity.

**Tracks** per cell type: ``<cell>_CAGE_plus`` / ``<cell>_CAGE_minus`` (stranded; Poisson reads
over the TSS +-8 bp, 20 reads/bp at expression 1) and ``<cell>_RNA`` (unstranded; 4 reads/bp over
exon bases at expression 1), with CAGE peaks at the TSSs of expressed genes.

**Variants** (``gene_variants.vcf``, truth ``truth/gene_variants.tsv``): an SNV at the most
informative base of each expressed gene's promoter motif (``changes`` the gene, sign -1, with the
true log2 fold change per cell type), and neutral SNVs and small deletions in gene bodies and
flanks 250 bp or more from every site (sign 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoo_tools.data.demo_planting import DemoSpec, track_strengths

CAGE_HEIGHT, CAGE_HALF, RNA_HEIGHT = 20.0, 8, 4.0
GENE_BACKGROUND = {"CAGE": 0.01, "RNA": 0.05}
BASAL, ENHANCER_WEIGHT = 0.05, 0.5


def _exons_from(tss: int, strand: str, lengths: list[int], introns: list[int]) -> list[tuple[int, int]]:
    """Exons (0-based half-open, sorted) of a gene transcribed from ``tss`` on ``strand``."""
    exons, at = [], tss if strand == "+" else tss + 1
    for k, n in enumerate(lengths):
        exons.append((at, at + n) if strand == "+" else (at - n, at))
        gap = introns[k] if k < len(introns) else 0
        at = at + n + gap if strand == "+" else at - n - gap
    return sorted(exons)


def _random_exons(rng, tss: int, strand: str, n_exons: int, intron_hi: int = 400) -> list[tuple[int, int]]:
    lengths = rng.integers(60, 250, n_exons).tolist()
    return _exons_from(tss, strand, lengths, rng.integers(80, intron_hi, max(n_exons - 1, 0)).tolist())


def _centre(site) -> int:
    return (site.start + site.end) // 2


def _primary(rng, site) -> dict:
    """A gene promoted by ``site``, transcribed on its strand."""
    off = int(rng.integers(40, 120))
    tss = site.end + off if site.strand == "+" else site.start - off - 1
    return dict(
        chrom=site.chrom,
        strand=site.strand,
        tss=tss,
        promoter=site.site_id,
        exons=_random_exons(rng, tss, site.strand, int(rng.integers(1, 5))),
    )


def _neighbour(rng, site, nxt) -> dict | None:
    """A ``-`` gene promoted by the next site ``nxt`` whose last exon ends 150-400 bp past ``site``."""
    tss = nxt.start - int(rng.integers(40, 120)) - 1
    end3 = _centre(site) + int(rng.integers(150, 400))
    span = tss + 1 - end3
    n = int(rng.integers(2, 5))
    if span < n * 200:
        return None
    cuts = np.sort(rng.choice(np.arange(1, span // 10), 2 * n - 2, replace=False)) * 10
    bounds = [end3, *(end3 + cuts).tolist(), tss + 1]
    exons = [(bounds[2 * k], bounds[2 * k + 1]) for k in range(n)]
    return dict(chrom=site.chrom, strand="-", tss=tss, promoter=nxt.site_id, exons=exons)


def _enhancer(rng, gene: dict, sites: pd.DataFrame) -> tuple[str, int]:
    """With probability 0.3 the nearest other site 1-6 kb from the TSS: ``(site_id, distance)``."""
    if rng.random() >= 0.3:
        return "", 0
    on = sites[(sites.chrom == gene["chrom"]) & (sites.site_id != gene["promoter"])]
    dist = (on.start + on.end) // 2 - gene["tss"]
    dist = dist if gene["strand"] == "+" else -dist
    ok = dist[(dist.abs() >= 1000) & (dist.abs() <= 6000)]
    if ok.empty:
        return "", 0
    k = ok.abs().idxmin()
    return str(on.site_id[k]), int(ok[k])


def place_genes(rng, seqs: dict[str, np.ndarray], sites: pd.DataFrame, n_gap: int = 1000) -> pd.DataFrame:
    """Genes at planted sites (see the module docstring); 0-based half-open exons.

    Parameters
    ----------
    rng : numpy.random.Generator
    seqs : dict of str to numpy.ndarray
        ``{contig: (L,) uint8 codes}``.
    sites : pandas.DataFrame
        The planted sites (``site_id, chrom, start, end, strand, motif, affinity``).
    n_gap : int
        Leading N bases of each contig (genes stay 1 kb clear of them and of the end).

    Returns
    -------
    pandas.DataFrame
        ``gene_id, gene_name, chrom, strand, tss, start, end, exons, promoter, enhancer,
        enhancer_distance``, by contig and TSS.
    """
    genes, used = [], set()
    for _, on in sites.groupby("chrom", sort=False):
        rows = list(on.itertuples())
        for i, site in enumerate(rows):
            if site.site_id in used or rng.random() >= 0.4:
                continue
            made = [_primary(rng, site)]
            if i + 1 < len(rows) and rows[i + 1].site_id not in used and rng.random() < 0.4:
                made.append(_neighbour(rng, site, rows[i + 1]))
            for g in filter(None, made):
                n = len(seqs[g["chrom"]])
                if g["exons"][0][0] >= n_gap + 1000 and g["exons"][-1][1] <= n - 1000 and g["promoter"] not in used:
                    used.add(g["promoter"])
                    genes.append(g)
    for k, g in enumerate(genes):
        g["enhancer"], g["enhancer_distance"] = _enhancer(rng, g, sites)
        g.update(gene_id=f"DG{k:04d}", start=g["exons"][0][0], end=g["exons"][-1][1])
    df = pd.DataFrame(genes)
    motif = sites.set_index("site_id").motif
    df["gene_name"] = [f"{motif[p]}_{i[2:]}" for p, i in zip(df.promoter, df.gene_id)]
    cols = ["gene_id", "gene_name", "chrom", "strand", "tss", "start", "end", "exons", "promoter", "enhancer"]
    return df[cols + ["enhancer_distance"]]


def expression(genes: pd.DataFrame, sites: pd.DataFrame, spec: DemoSpec) -> pd.DataFrame:
    """``(genes, cell types)`` expression (see the module docstring), one column per cell type.

    Parameters
    ----------
    genes, sites : pandas.DataFrame
        :func:`place_genes` rows and the planted sites.
    spec : DemoSpec
        Cell types and motif strengths.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``genes``; columns the cell types.
    """
    by_id = sites.set_index("site_id")
    out = {}
    for cell in spec.cell_types:
        act = track_strengths(spec, cell, "H3K27ac")
        level = by_id.motif.map(lambda m, a=act: a.get(m, 0.0)) * by_id.affinity
        enh = genes.enhancer.map(lambda s, lv=level: lv.get(s, 0.0) if s else 0.0)
        out[cell] = BASAL + genes.promoter.map(level).to_numpy() + ENHANCER_WEIGHT * enh.to_numpy()
    return pd.DataFrame(out, index=genes.index)


def gene_rates(genes: pd.DataFrame, expr: np.ndarray, chrom: str, n: int, assay: str, strand: str = ".") -> np.ndarray:
    """``(n,)`` expected reads per bp of one contig of a CAGE (``strand`` ``+``/``-``) or RNA track.

    Parameters
    ----------
    genes : pandas.DataFrame
        :func:`place_genes` rows.
    expr : numpy.ndarray
        ``(genes,)`` expression in the track's cell type.
    chrom, n : str, int
        The contig and its length.
    assay : str
        ``CAGE`` (the TSS +- 8 bp of genes on ``strand``) or ``RNA`` (exon bases of every gene).
    strand : str
        The CAGE track's strand.

    Returns
    -------
    numpy.ndarray
        float64 rates.
    """
    rate = np.full(n, GENE_BACKGROUND[assay])
    for k in np.flatnonzero((genes.chrom == chrom).to_numpy()):
        g = genes.iloc[k]
        if assay == "CAGE" and g.strand == strand:
            rate[max(g.tss - CAGE_HALF, 0) : g.tss + CAGE_HALF + 1] += CAGE_HEIGHT * expr[k]
        elif assay == "RNA":
            for s, e in g.exons:
                rate[s:e] += RNA_HEIGHT * expr[k]
    return rate
