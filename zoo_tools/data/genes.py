"""Gene annotations: GTF (GENCODE, Ensembl, RefSeq) or GFF3, plain or gzip, as a gene table.

**Reader.** gtfparse, which is maintained, reads gzip, and keeps every repeated ``tag`` (needed to
find ``Ensembl_canonical`` / ``MANE_Select`` transcripts; pyranges keeps only the last one).
Two wrappers make it fit for users' files: every line is checked first, so a bad line is an
error naming its file and line number (gtfparse's errors do not say where); and GFF3
attributes (``key=value;``), which gtfparse leaves unparsed, are parsed here.

**Gene table** (:func:`read_genes`), one row per gene, coordinates 0-based half-open:

``gene_id, gene_name, gene_type``  as annotated (GFF3 ``ID`` without its ``gene:`` prefix, ``Name``, ``biotype``)
``chrom``                          the genome's spelling when a genome is given (``chr1`` / ``1`` aliases)
``strand``                         ``+`` or ``-``
``tss``                            0-based position of the first transcribed base (the last exon base on ``-``)
``start, end``                     the span of the chosen exons
``exons``                          tuple of ``(start, end)`` exons of the chosen transcript (or their union), sorted
``transcript``                     the chosen transcript's id, or ``union``

``transcript="canonical"`` picks the transcript tagged ``Ensembl_canonical`` (else ``MANE_Select``,
else the longest by exon bases); ``"union"`` merges the exons of all transcripts. Genes that cannot
be used are counted in :attr:`GeneTable.skipped`, never dropped silently.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.textfile import text_lines

GENE_COLUMNS = ["gene_id", "gene_name", "gene_type", "chrom", "strand", "tss", "start", "end", "exons", "transcript"]
TRANSCRIPTS = ("canonical", "union")
_GTF_ATTR = re.compile(r'^\s*[A-Za-z_][\w.]* +"')
_CANONICAL = ("Ensembl_canonical", "MANE_Select")


@dataclass
class GeneTable:
    """The genes of an annotation file and what was skipped.

    ``genes`` has :data:`GENE_COLUMNS`; ``skipped`` counts genes left out by reason
    (``no_exons``, ``contig_missing``, ``past_contig_end``).
    """

    path: str
    genes: pd.DataFrame
    skipped: dict[str, int] = field(default_factory=dict)


def _annotation_format(path: str) -> str:
    """``gtf`` or ``gff3``: from the name (``.gtf``, ``.gff3``, ``.gff``, optionally ``.gz``), else
    from the first data line (``key "value";`` is GTF, ``key=value;`` GFF3)."""
    name = path.lower().removesuffix(".gz").removesuffix(".bgz")
    if name.endswith(".gtf"):
        return "gtf"
    if name.endswith((".gff3", ".gff")):
        return "gff3"
    for line in text_lines(path):
        if line.strip() and not line.startswith("#"):
            attrs = line.rstrip("\r\n").split("\t")[-1]
            return "gtf" if _GTF_ATTR.match(attrs) else "gff3"
    return "gtf"


def line_problem(fields: list[str], fmt: str) -> str | None:
    """What stops a GTF / GFF3 line from being read, in words (None: it is fine).

    Parameters
    ----------
    fields : list of str
        The line split at tabs.
    fmt : str
        ``gtf`` or ``gff3``.

    Returns
    -------
    str or None
    """
    if len(fields) != 9:
        return (
            f"{len(fields)} column(s); a {fmt.upper()} line needs 9 tab-separated ones (seqname source "
            f"feature start end score strand frame attributes)"
        )
    start, end, strand, feature, attrs = fields[3], fields[4], fields[6], fields[2], fields[8]
    for name, value in (("start", start), ("end", end)):
        if not value.isdigit():
            return f"{name} '{value[:20]}' is not a whole number"
    if int(start) < 1 or int(start) > int(end):
        return f"start {start} and end {end} do not make a 1-based interval (1 <= start <= end)"
    if strand not in ("+", "-", "."):
        return f"strand '{strand}' is not +, - or ."
    if fmt == "gtf" and feature in ("gene", "transcript", "exon") and "gene_id" not in attrs:
        return f"the {feature} has no gene_id attribute"
    if fmt == "gff3" and feature == "exon" and "Parent=" not in attrs:
        return "the exon has no Parent attribute"
    return None


def _check_lines(path: str, fmt: str) -> int:
    """Check every data line before gtfparse reads the file (a bad one names its line); count them."""
    n = 0
    for number, line in enumerate(text_lines(path), 1):
        text = line.rstrip("\r\n")
        if not text.strip() or text.startswith("#"):
            continue
        problem = line_problem(text.split("\t"), fmt)
        if problem:
            raise ZooError(f"{path}, line {number}: {problem}; fix or remove that line")
        n += 1
    return n


def _gff3_attributes(text: str) -> dict[str, str]:
    out = {}
    for part in text.strip().strip(";").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _gff3_table(raw: pd.DataFrame) -> pd.DataFrame:
    """GFF3 rows (gtfparse, attributes unparsed) as GTF-like rows: gene_id, transcript_id, tag, ..."""
    attrs = [_gff3_attributes(a) for a in raw["attribute"]]
    ids = [a.get("ID", "") for a in attrs]
    parents = [a.get("Parent", "").split(",")[0] for a in attrs]
    gene_of = {}  # transcript ID -> gene ID, gene ID -> itself
    for i, p in zip(ids, parents):
        if i and not p:
            gene_of[i] = i
    for i, p in zip(ids, parents):
        if i and p in gene_of:
            gene_of[i] = gene_of[p]
    gene = [gene_of.get(i) if not p else gene_of.get(p, gene_of.get(i)) for i, p in zip(ids, parents)]
    transcript = [p if f == "exon" else (i if p else "") for f, i, p in zip(raw["feature"], ids, parents)]
    strip = re.compile(r"^(gene|transcript):")
    out = raw.drop(columns="attribute").assign(
        gene_id=[strip.sub("", g) if g else "" for g in gene],
        transcript_id=[strip.sub("", t) for t in transcript],
        gene_name=[a.get("Name", a.get("gene_name", "")) for a in attrs],
        gene_type=[a.get("biotype", a.get("gene_biotype", a.get("gene_type", ""))) for a in attrs],
        tag=[a.get("tag", "") for a in attrs],
    )
    keep = out["feature"].isin(["gene", "ncRNA_gene", "pseudogene"]) | (out["transcript_id"] != "")
    return out[keep & (out["gene_id"] != "")]


def read_annotation(path: str) -> pd.DataFrame:
    """The gene, transcript and exon rows of a GTF / GFF3, one DataFrame, coordinates as in the file.

    Parameters
    ----------
    path : str
        GTF or GFF3, plain or gzip.

    Returns
    -------
    pandas.DataFrame
        ``seqname, feature, start, end`` (1-based, inclusive, as in the file), ``strand``,
        ``gene_id, gene_name, gene_type, transcript_id, tag`` (tags comma-joined).
    """
    from gtfparse import read_gtf

    path = str(require_file(path, "gene annotation", "give a GTF or GFF3 file (gzip ok)"))
    fmt = _annotation_format(path)
    if _check_lines(path, fmt) == 0:
        raise ZooError(f"{path}: no gene, transcript or exon lines; is it a GTF / GFF3?")
    logging.getLogger("gtfparse").setLevel(logging.WARNING)
    raw = read_gtf(path, expand_attribute_column=fmt == "gtf", result_type="pandas")
    df = _gff3_table(raw) if fmt == "gff3" else raw
    for col in ("gene_name", "gene_type", "transcript_id", "tag"):
        if col not in df.columns:
            df[col] = ""
    if "gene_type" in df and (df["gene_type"] == "").all() and "gene_biotype" in df:
        df["gene_type"] = df["gene_biotype"]
    cols = ["seqname", "feature", "start", "end", "strand", "gene_id", "gene_name", "gene_type", "transcript_id", "tag"]
    types = {c: str for c in cols} | {"start": np.int64, "end": np.int64}  # gtfparse gives categoricals
    return df[cols].astype(types).reset_index(drop=True)


def _merged(ex: pd.DataFrame) -> pd.DataFrame:
    """The union of each gene's 0-based half-open intervals (``gene_id, start0, end``), touching ones
    joined: ``gene_id, start0, end`` sorted by gene (first appearance) and start."""
    order = pd.Categorical(ex.gene_id, categories=ex.gene_id.unique())
    ex = ex.assign(_g=order.codes).sort_values(["_g", "start0"], kind="stable")
    reach = ex.groupby("_g").end.cummax()
    prev = reach.groupby(ex._g).shift()
    new = prev.isna() | (ex.start0 > prev)
    block = new.cumsum()
    out = ex.groupby(block).agg(
        gene_id=("gene_id", "first"), start0=("start0", "min"), end=("end", "max"), _g=("_g", "first")
    )
    return out.sort_values(["_g", "start0"], kind="stable").drop(columns="_g")


def _chosen_exons(exons: pd.DataFrame, transcript: str) -> pd.DataFrame:
    """The exon rows of each gene's chosen transcript (``union``: all), with a ``transcript`` column:
    the transcript tagged ``Ensembl_canonical`` (else ``MANE_Select``), the longest by exon bases
    among those (else among all), the first listed on ties."""
    if transcript == "union":
        return exons.assign(transcript="union")
    tx = exons.assign(_len=exons.end - exons.start0).groupby(["gene_id", "transcript_id"], sort=False)
    tx = tx.agg(length=("_len", "sum"), tag=("tag", "first")).reset_index()
    tags = tx.tag.fillna("").astype(str).str.split(",")
    tx["rank"] = [0 if _CANONICAL[0] in t else 1 if _CANONICAL[1] in t else 2 for t in tags]
    tx["_o"] = np.arange(len(tx))
    best = tx.sort_values(["rank", "length", "_o"], ascending=[True, False, True], kind="stable")
    best = best.drop_duplicates("gene_id")[["gene_id", "transcript_id"]]
    keep = exons.merge(best, on=["gene_id", "transcript_id"], how="inner")
    return keep.assign(transcript=keep.transcript_id.astype(str))


def gene_rows(df: pd.DataFrame, transcript: str = "canonical") -> tuple[pd.DataFrame, int]:
    """One row per gene of :func:`read_annotation`'s rows (before contigs are checked).

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`read_annotation`'s rows.
    transcript : str
        ``canonical`` or ``union``.

    Returns
    -------
    tuple
        ``(genes with GENE_COLUMNS, chrom as in the file; genes without exons)``.
    """
    exons = df[df.feature == "exon"].assign(start0=lambda d: d.start - 1)
    tx_tags = df[df.feature.isin(["transcript", "mRNA"])].set_index("transcript_id")["tag"]
    exons = exons.assign(tag=exons.transcript_id.map(tx_tags).fillna(exons.tag))
    info = df.groupby("gene_id", sort=False).agg(
        gene_name=("gene_name", lambda s: next((x for x in s if x), "")),
        gene_type=("gene_type", lambda s: next((x for x in s if x), "")),
        chrom=("seqname", "first"),
        strand=("strand", "first"),
    )
    chosen = _chosen_exons(exons[["gene_id", "transcript_id", "start0", "end", "tag"]], transcript)
    names = chosen.groupby("gene_id", sort=False).transcript.first()
    merged = _merged(chosen)
    ids = merged.gene_id.to_numpy()
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    pairs = list(zip(merged.start0.astype(int).tolist(), merged.end.astype(int).tolist()))
    bounds = [0, *cuts.tolist(), len(ids)]
    exons_of = [tuple(pairs[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    gene_ids = [ids[a] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    genes = pd.DataFrame({"gene_id": gene_ids, "exons": exons_of}).join(info, on="gene_id")
    genes["start"] = genes.exons.map(lambda e: e[0][0])
    genes["end"] = genes.exons.map(lambda e: e[-1][1])
    genes["tss"] = np.where(genes.strand == "-", genes.end - 1, genes.start)
    genes["transcript"] = genes.gene_id.map(names)
    return genes[GENE_COLUMNS].reset_index(drop=True), int((~info.index.isin(genes.gene_id)).sum())


def read_genes(path: str | os.PathLike, genome: Genome | None = None, transcript: str = "canonical") -> GeneTable:
    """Read a GTF / GFF3 into a :class:`GeneTable` (see the module docstring for the columns).

    Parameters
    ----------
    path : str or os.PathLike
        GTF or GFF3, plain or gzip.
    genome : Genome, optional
        Contigs are resolved to its spelling; genes on contigs it lacks or past a contig's end
        are skipped and counted.
    transcript : str
        ``canonical`` (tagged, else longest) or ``union`` (all transcripts' exons merged).

    Returns
    -------
    GeneTable
        Genes sorted by contig order and TSS, with ``skipped`` counts.
    """
    if transcript not in TRANSCRIPTS:
        raise ZooError(f"--transcript '{transcript}': choose {' or '.join(TRANSCRIPTS)}")
    genes, no_exons = gene_rows(read_annotation(str(path)), transcript)
    skipped = {"no_exons": no_exons} if no_exons else {}
    if genome is not None:
        names = {c: resolve_contig(c, genome.contigs, "") for c in dict.fromkeys(genes.chrom)}
        genes["chrom"] = genes.chrom.map(names)
        missing = genes.chrom.isna()
        past = ~missing & (genes.end > genes.chrom.map(genome.contigs).fillna(0))
        for reason, mask in (("contig_missing", missing), ("past_contig_end", past)):
            if mask.any():
                skipped[reason] = int(mask.sum())
        genes = genes[~missing & ~past]
        order = {c: i for i, c in enumerate(genome.contigs)}
        genes = genes.assign(_o=genes.chrom.map(order)).sort_values(["_o", "tss"], kind="stable").drop(columns="_o")
    return GeneTable(str(path), genes.reset_index(drop=True), skipped)
