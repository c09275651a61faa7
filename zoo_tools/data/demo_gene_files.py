"""The files of the demo world's genes (:mod:`zoo_tools.data.demo_genes`): the annotation (GTF or
GFF3, optionally with hostile lines and another contig spelling), the CAGE / RNA bigWigs and CAGE
peaks, ``truth/genes.tsv``, ``gene_variants.vcf`` with ``truth/gene_variants.tsv`` and
``data_genes.yaml``. Coordinates in tables are 0-based half-open, VCF positions 1-based, GTF 1-based
inclusive.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from zoo_tools.data.demo_genes import expression, gene_rates, place_genes
from zoo_tools.data.demo_planting import DemoSpec, track_strengths, write_bigwig
from zoo_tools.data.demo_variants import _breaking_snv, write_vcf
from zoo_tools.data.genome import ALPHABET
from zoo_tools.data.motifs import information, log_odds


def _gtf_lines(g, chrom: str) -> list[str]:
    """GTF lines of one gene: gene, canonical transcript, exons; a longer untagged transcript for some."""
    base = f'gene_id "{g.gene_id}"; gene_name "{g.gene_name}"; gene_type "protein_coding";'
    lines = [f"{chrom}\tdemo\tgene\t{g.start + 1}\t{g.end}\t.\t{g.strand}\t.\t{base}"]
    txs = [(f"{g.gene_id}.1", list(g.exons), ' tag "basic"; tag "Ensembl_canonical";')]
    if len(g.exons) >= 2 and int(g.gene_id[2:]) % 4 == 0:  # a longer, untagged isoform
        extra = (g.end + 200, g.end + 300) if g.strand == "+" else (g.start - 300, g.start - 200)
        txs.append((f"{g.gene_id}.2", sorted([*g.exons, extra]), ' tag "basic";'))
    for tid, exons, tags in txs:
        t = f'{base} transcript_id "{tid}";'
        lines.append(f"{chrom}\tdemo\ttranscript\t{exons[0][0] + 1}\t{exons[-1][1]}\t.\t{g.strand}\t.\t{t}{tags}")
        lines += [f"{chrom}\tdemo\texon\t{s + 1}\t{e}\t.\t{g.strand}\t.\t{t}" for s, e in exons]
    return lines


def _gff3_lines(g, chrom: str) -> list[str]:
    """The same gene as GFF3 (Ensembl style: ``gene:`` / ``transcript:`` IDs, ``biotype``)."""
    out = []
    for line in _gtf_lines(g, chrom):
        f = line.split("\t")
        attrs = dict(
            kv.strip().split(" ", 1) for kv in f[8].split(";") if kv.strip() and not kv.strip().startswith("tag")
        )
        attrs = {k: v.strip('"') for k, v in attrs.items()}
        tags = ",".join(t.split('"')[1] for t in f[8].split(";") if t.strip().startswith("tag"))
        if f[2] == "gene":
            f[8] = f"ID=gene:{attrs['gene_id']};Name={attrs['gene_name']};biotype=protein_coding"
        elif f[2] == "transcript":
            f[2], f[8] = "mRNA", f"ID=transcript:{attrs['transcript_id']};Parent=gene:{attrs['gene_id']};tag={tags}"
        else:
            f[8] = f"Parent=transcript:{attrs['transcript_id']}"
        out.append("\t".join(f))
    return out


def _hostile_lines(genes: pd.DataFrame, chrom_of, contigs: dict[str, int], fmt: str) -> list[str]:
    """Lines a real annotation has: CDS / UTR features, a gene on a contig the genome lacks, one
    past a contig's end, and a gene line without exons."""
    g = genes.iloc[0]
    first = list(contigs)[0]
    cds = (
        f'gene_id "{g.gene_id}"; transcript_id "{g.gene_id}.1";' if fmt == "gtf" else f"Parent=transcript:{g.gene_id}.1"
    )
    lines = [f"{chrom_of(g.chrom)}\tdemo\tCDS\t{g.start + 11}\t{g.start + 40}\t.\t{g.strand}\t0\t{cds}"]
    lines.append(f"{chrom_of(g.chrom)}\tdemo\tfive_prime_UTR\t{g.start + 1}\t{g.start + 10}\t.\t{g.strand}\t.\t{cds}")
    odd = [("DGX_UNPLACED", "chrUn_demo", 1000), ("DGX_PAST_END", chrom_of(first), contigs[first] + 500)]
    for gid, chrom, at in odd:
        fake = pd.Series(dict(g, gene_id=gid, gene_name=gid, exons=[(at, at + 100)], start=at, end=at + 100))
        lines += (_gtf_lines if fmt == "gtf" else _gff3_lines)(fake, chrom)[:3]  # gene, transcript, exon
    attrs = 'gene_id "DGX_NO_EXONS"; gene_name "none";' if fmt == "gtf" else "ID=gene:DGX_NO_EXONS;Name=none"
    lines.append(f"{chrom_of(first)}\tdemo\tgene\t5001\t5100\t.\t+\t.\t{attrs}")
    return lines


def write_annotation(
    path: str, genes: pd.DataFrame, spec: DemoSpec, fmt: str = "gtf", prefix: str = "", hostile: bool = False
) -> None:
    """The genes as a GTF or GFF3 (contigs spelled ``prefix + name``).

    Parameters
    ----------
    path : str
        The file written.
    genes : pandas.DataFrame
        :func:`~zoo_tools.data.demo_genes.place_genes` rows (0-based exons).
    spec : DemoSpec
        The contigs.
    fmt : str
        ``gtf`` or ``gff3``.
    prefix : str
        Prepended to contig names (``chr`` for a UCSC-style annotation of an Ensembl-style FASTA).
    hostile : bool
        Add comment, blank, CDS / UTR lines and genes the reader must skip (:func:`_hostile_lines`).
    """

    def chrom_of(c):
        return prefix + c

    write = _gtf_lines if fmt == "gtf" else _gff3_lines
    lines = ["##gff-version 3"] if fmt == "gff3" else ["#!genome-build demo", "#!genebuild zoo_tools"]
    for g in genes.itertuples(index=False):
        lines += write(g, chrom_of(g.chrom))
    if hostile:
        lines[2:2] = ["", "# a comment between records"]
        lines += _hostile_lines(genes, chrom_of, spec.contigs, fmt)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def write_gene_tracks(out: str, spec: DemoSpec, rng, genes: pd.DataFrame, expr: pd.DataFrame) -> tuple[list, list]:
    """Per cell type ``CAGE_plus``, ``CAGE_minus`` and ``RNA`` bigWigs, CAGE peaks; the YAML entries.

    Parameters
    ----------
    out : str
        The world's folder.
    spec, rng, genes, expr
        The spec, the genes' random stream, :func:`~zoo_tools.data.demo_genes.place_genes` rows and
        their expression.

    Returns
    -------
    tuple of list
        The data YAML's track entries and peak entries.
    """
    tracks, peaks = [], []
    for cell in spec.cell_types:
        e = expr[cell].to_numpy()
        for assay, strand, suffix in (("CAGE", "+", "CAGE_plus"), ("CAGE", "-", "CAGE_minus"), ("RNA", ".", "RNA")):
            name = f"{cell}_{suffix}"
            counts = {
                c: rng.poisson(gene_rates(genes, e, c, n, assay, strand)).astype(np.float32)
                for c, n in spec.contigs.items()
            }
            write_bigwig(os.path.join(out, "tracks", f"{name}.bw"), spec.contigs, counts)
            desc = f"demo {assay}, {'TSS reads' if assay == 'CAGE' else 'exon coverage'} of the demo genes"
            tracks.append(
                dict(name=name, path=f"tracks/{name}.bw", assay=assay, cell_type=cell, strand=strand, description=desc)
            )
            if assay == "CAGE":
                peaks.append(dict(path=f"peaks/{name}.narrowPeak", track=name))
                _cage_peaks(
                    os.path.join(out, "peaks", f"{name}.narrowPeak"), genes[(genes.strand == strand) & (e >= 0.2)]
                )
    return tracks, peaks


def _cage_peaks(path: str, genes: pd.DataFrame) -> None:
    """narrowPeak rows at TSS +- 50 bp (summit at the TSS), sorted."""
    rows = [
        (g.chrom, g.tss - 50, g.tss + 51, g.gene_id, 1000, g.strand, 10.0, 50.0, 48.0, 50) for g in genes.itertuples()
    ]
    pd.DataFrame(rows).sort_values([0, 1]).to_csv(path, sep="\t", header=False, index=False)


def _promoter_breaks(seqs, sites, motifs, genes, expr, spec) -> list[dict]:
    """The SNV breaking each expressed gene's promoter motif: the gene it changes (sign -1), the
    true log2 fold change per cell type, and other genes it changes (through an enhancer)."""
    by_id = sites.set_index("site_id")
    rows = []
    for k, g in enumerate(genes.itertuples()):
        site = by_id.loc[g.promoter]
        if site.motif not in spec.drivers or expr.iloc[k].max() < 0.2:
            continue
        r = pd.Series(dict(site, site_id=g.promoter))
        lo = log_odds(motifs[site.motif])
        pos0, ref, alt, new_aff = _breaking_snv(r, seqs, lo, information(motifs[site.motif]))
        if site.affinity - new_aff < 0.5:
            continue
        after = expression(
            genes, sites.assign(affinity=sites.affinity.where(sites.site_id != g.promoter, new_aff)), spec
        )
        lfc = np.log2(after / expr)
        if lfc.iloc[k].abs().max() < 0.3:
            continue
        others = [genes.gene_id[j] for j in np.flatnonzero(lfc.abs().max(1) >= 0.05) if j != k]
        fc = {f"log2fc_{c}": round(float(lfc.iloc[k][c]), 4) for c in spec.cell_types}
        rows.append(
            dict(
                chrom=g.chrom,
                pos=pos0 + 1,
                ref=ref,
                alt=alt,
                kind="promoter_snv",
                gene_id=g.gene_id,
                sign=-1,
                also_changes=";".join(others),
                site_id=g.promoter,
                **fc,
            )
        )
    return rows


def _neutral_rows(rng, seqs, sites, genes: pd.DataFrame, n: int, cells) -> list[dict]:
    """SNVs (and every fifth a 2-10 bp deletion) in gene bodies and 500 bp flanks, >= 250 bp from
    every site's edge: they change no gene."""
    rows, tries = [], 0
    edges = {c: np.sort(np.r_[on.start.to_numpy(), on.end.to_numpy()]) for c, on in sites.groupby("chrom")}
    while len(rows) < n and tries < 100 * n:
        tries += 1
        g = genes.iloc[int(rng.integers(len(genes)))]
        p = int(rng.integers(g.start - 500, g.end + 500))
        e = edges.get(g.chrom, np.array([], int))
        k = np.searchsorted(e, p)
        near = e[max(k - 1, 0) : k + 1]
        if (len(near) and np.abs(near - p).min() < 250) or seqs[g.chrom][p : p + 12].max() > 3:
            continue
        size = int(rng.integers(2, 11)) if len(rows) % 5 == 4 else 0
        ref = "".join(ALPHABET[x] for x in seqs[g.chrom][p : p + 1 + size])
        alt = ref[0] if size else ALPHABET[(int(seqs[g.chrom][p]) + int(rng.integers(1, 4))) % 4]
        kind = "neutral_deletion" if size else "neutral_snv"
        rows.append(
            dict(
                chrom=g.chrom,
                pos=p + 1,
                ref=ref,
                alt=alt,
                kind=kind,
                gene_id="",
                sign=0,
                also_changes="",
                site_id="",
                **{f"log2fc_{c}": 0.0 for c in cells},
            )
        )
    return rows


def gene_variants(rng, seqs, sites, motifs, genes, expr, spec) -> pd.DataFrame:
    """Labelled variants: promoter breaks of expressed genes and as many neutral ones, sorted.

    Parameters
    ----------
    rng, seqs, sites, motifs
        The genes' random stream, ``{contig: codes}``, the planted sites and ``{label: PWM}``.
    genes, expr : pandas.DataFrame
        :func:`~zoo_tools.data.demo_genes.place_genes` rows and their expression.
    spec : DemoSpec
        Drivers and cell types.

    Returns
    -------
    pandas.DataFrame
        ``chrom, pos`` (1-based), ``id, ref, alt, kind, gene_id`` (the gene it changes, empty if
        none), ``sign`` (-1 or 0), ``also_changes`` (other genes, through an enhancer), ``site_id``
        and ``log2fc_<cell>`` (the labelled gene's true log2 fold change).
    """
    rows = _promoter_breaks(seqs, sites, motifs, genes, expr, spec)
    rows += _neutral_rows(rng, seqs, sites, genes, len(rows), list(spec.cell_types))
    order = {c: i for i, c in enumerate(seqs)}
    df = pd.DataFrame(rows).sort_values(["chrom", "pos"], key=lambda s: s.map(order) if s.name == "chrom" else s)
    df = df.drop_duplicates(["chrom", "pos"]).reset_index(drop=True)
    df.insert(2, "id", [f"gvar{i:04d}" for i in range(len(df))])
    return df


def gene_truth(genes: pd.DataFrame, expr: pd.DataFrame, sites: pd.DataFrame, spec: DemoSpec) -> pd.DataFrame:
    """``truth/genes.tsv``: each gene, its exons, promoter and enhancer, expression per cell type and
    the motifs that drive it.

    Parameters
    ----------
    genes, expr, sites, spec
        :func:`~zoo_tools.data.demo_genes.place_genes` rows, their expression, the planted sites, the spec.

    Returns
    -------
    pandas.DataFrame
    """
    motif = sites.set_index("site_id").motif
    enh_motif = genes.enhancer.map(lambda s: motif.get(s, "") if s else "")
    drivers = [
        ";".join(
            m for m in (motif[p], e) if m and any(m in track_strengths(spec, c, "H3K27ac") for c in spec.cell_types)
        )
        for p, e in zip(genes.promoter, enh_motif)
    ]
    return pd.DataFrame(
        {
            **{c: genes[c] for c in ("gene_id", "gene_name", "chrom", "strand", "tss", "start", "end")},
            "n_exons": genes.exons.map(len),
            "exons": genes.exons.map(lambda ex: ";".join(f"{s}-{e}" for s, e in ex)),
            "promoter_site": genes.promoter,
            "promoter_motif": genes.promoter.map(motif),
            "enhancer_site": genes.enhancer,
            "enhancer_motif": enh_motif,
            "enhancer_distance": genes.enhancer_distance.where(genes.enhancer != "", 0),
            **{f"expr_{c}": expr[c].round(4) for c in spec.cell_types},
            "drivers": drivers,
        }
    )


def write_gene_world(out: str, spec: DemoSpec, seqs, sites: pd.DataFrame, motifs, base: dict) -> dict:
    """Write the genes' files (see the module docstring) into the world ``out``.

    Parameters
    ----------
    out : str
        The world's folder.
    spec : DemoSpec
        ``seed``, contigs, cell types; ``gene_format`` (``gtf`` / ``gff3``), ``gene_contig_prefix``
        and ``hostile_annotation`` shape the annotation and the gene VCF.
    seqs, sites, motifs
        The genome's codes, the planted sites and ``{label: PWM}``.
    base : dict
        The world's data YAML (genome, tracks, peaks, splits); ``data_genes.yaml`` extends it.

    Returns
    -------
    dict
        ``genes`` (count), ``gene_variants`` (records), ``gene_variants_changing``, ``annotation`` (file name).
    """
    rng = np.random.default_rng([spec.seed, 15])
    genes = place_genes(rng, seqs, sites)
    expr = expression(genes, sites, spec)
    fmt, prefix = spec.gene_format, spec.gene_contig_prefix
    name = f"genes.{fmt}"
    write_annotation(os.path.join(out, name), genes, spec, fmt, prefix, spec.hostile_annotation)
    tracks, peaks = write_gene_tracks(out, spec, rng, genes, expr)
    gene_truth(genes, expr, sites, spec).to_csv(os.path.join(out, "truth", "genes.tsv"), sep="\t", index=False)
    variants = gene_variants(rng, seqs, sites, motifs, genes, expr, spec)
    vcf = variants.assign(chrom=prefix + variants.chrom)
    write_vcf(os.path.join(out, "gene_variants.vcf"), {prefix + c: n for c, n in spec.contigs.items()}, vcf)
    variants.to_csv(os.path.join(out, "truth", "gene_variants.tsv"), sep="\t", index=False)
    data = dict(base, tracks=base["tracks"] + tracks, peaks=base["peaks"] + peaks, genes=name)
    return dict(
        data=data,
        genes=len(genes),
        gene_variants=len(variants),
        changing=int((variants.sign != 0).sum()),
        annotation=name,
    )
