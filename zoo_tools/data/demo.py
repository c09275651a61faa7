"""The demo world: a small genome with planted motifs and the tracks, peaks and variants they cause.

Everything in it is generated from a seed in a few seconds, and its ground truth is written beside
it, so a model trained on it can be checked against what was planted:

``genome.fa`` (+ ``.fai`` index and ``.sizes`` chromosome sizes)
    A few contigs (about 1 Mb) of random sequence whose GC content varies in 5 kb blocks, with
    1 kb of N at each contig start, and real TF motifs (sampled from the MEME files gReLU ships)
    planted every 1.5-4.5 kb on either strand.
``tracks/<cell>_<assay>.bw``
    For each cell type an ATAC-like track (sharp peaks at sites of the motifs active in that cell)
    and a ChIP-like H3K27ac track (broad peaks at the same sites, except CTCF sites, which are
    accessible but not active). Values are Poisson read counts per bp at a track-specific
    sequencing depth; bases with no reads are left uncovered (read back as 0).
    A *decoy* motif is planted too and drives nothing.
``peaks/<track>.narrowPeak``
    Peaks at the sites driving each track (10-column narrowPeak, summit at the motif centre).
``data.yaml``
    The data config (genome, tracks, peaks, chromosome splits, allelic counts table) that recipes take.
``variants.vcf``
    SNVs that break planted driver motifs, neutral SNVs far from any site, MNVs, indels and one
    multi-allelic record. ``truth/variants.tsv`` says which break a motif (one row per ALT).
``truth/motif_sites.tsv``, ``truth/tracks.tsv``
    Every planted site (0-based coordinates, strand, motif, affinity, the tracks it drives) and
    every track's cell type, assay, depth and driving motifs.
``allelic/allelic_counts.tsv``
    Allele-specific ATAC read counts at heterozygous SNVs in planted driver sites: reads split
    between alleles in proportion to each allele's expected accessibility.
``genes.gtf``, ``tracks/<cell>_CAGE_plus|minus.bw``, ``tracks/<cell>_RNA.bw``, ``data_genes.yaml``
    Genes whose promoters are planted sites (some with a distal enhancer), stranded CAGE-like and
    RNA-like tracks of their expression, ``truth/genes.tsv`` and ``gene_variants.vcf`` with
    ``truth/gene_variants.tsv`` naming the gene each variant changes and the sign
    (:mod:`zoo_tools.data.demo_genes`). ``data_genes.yaml`` is ``data.yaml`` plus these tracks
    and ``genes:``; the other files do not change with them.
``haplotypes.vcf``, ``truth/haplotype_pairs.tsv``, ``truth/haplotypes.tsv``
    12 samples' phased genotypes of about 8 pairs of SNVs, each pair at the two most informative
    bases of one driver site's motif (each alone drops its affinity by 0.5 or more, so both on one
    haplotype remove less than the sum: sub-additive), in cis, in trans, alone, homozygous and
    absent, plus neutral SNVs; the truth gives each haplotype's affinity and loss
    (:mod:`zoo_tools.data.demo_haplotypes`, its own random stream: the other files do not change).

A site's *affinity* is its motif log-odds score rescaled so a perfect match is 1 and half the
perfect score or less is 0; the expected signal of a site scales with it, so a mutation at a
high-information position of a motif removes its peak and one in a flank does nothing.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import yaml

from zoo_tools.core.progress import progress_bar
from zoo_tools.data.demo_gene_files import write_gene_world
from zoo_tools.data.demo_haplotypes import write_haplotype_world
from zoo_tools.data.demo_planting import (
    DemoSpec,
    expected_rate,
    plant_sites,
    random_contig,
    track_strengths,
    write_bigwig,
    write_peaks,
)
from zoo_tools.data.demo_variants import allelic_counts, make_variants, truth_rows, write_vcf
from zoo_tools.data.genome import reverse_complement
from zoo_tools.data.motifs import find_motif

log = logging.getLogger(__name__)

DEMO_VERSION = 4  # bump when the world's files change (cached worlds are then rebuilt)


# --------------------------------------------------------------------------------------------
def _write_fasta(path: str, seqs: dict[str, np.ndarray], width: int = 60) -> None:
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    with open(path, "w") as fh:
        for chrom, codes in seqs.items():
            s = letters[codes].tobytes().decode()
            fh.write(f">{chrom}\n")
            fh.write("\n".join(s[i : i + width] for i in range(0, len(s), width)) + "\n")


def _load_motifs(spec: DemoSpec) -> dict[str, np.ndarray]:
    motifs = {}
    for name in spec.drivers + [spec.decoy]:
        full, pwm = find_motif(spec.motif_names.get(name, name), spec.motif_db)
        motifs[name] = pwm
        log.info("motif %s = %s", name, full)
    return motifs


def _write_genome(out: str, spec: DemoSpec, seqs: dict[str, np.ndarray]) -> None:
    """``genome.fa`` with its ``.fai`` index and ``.sizes`` chromosome sizes."""
    import pyfaidx

    fasta = os.path.join(out, "genome.fa")
    _write_fasta(fasta, seqs)
    if os.path.exists(fasta + ".fai"):
        os.remove(fasta + ".fai")
    pyfaidx.Faidx(fasta).close()
    with open(fasta + ".sizes", "w") as fh:  # chrom sizes, as UCSC tools and gReLU expect
        fh.writelines(f"{c}\t{n}\n" for c, n in spec.contigs.items())


def _write_tracks(out: str, spec: DemoSpec, rng, sites: pd.DataFrame) -> tuple[list, list, list]:
    """Every cell type's ATAC and H3K27ac bigWig and narrowPeak; returns the data YAML's track and
    peak entries and the truth rows of the tracks."""
    tracks, peaks, track_rows = [], [], []
    bar = progress_bar(total=2 * len(spec.cell_types), desc="demo tracks", unit="track")
    for cell in spec.cell_types:
        for assay in ("ATAC", "H3K27ac"):
            bar.update(1)
            name = f"{cell}_{assay}"
            depth = spec.depths.get(name, 1.0)
            strengths = track_strengths(spec, cell, assay)
            counts = {
                c: rng.poisson(depth * expected_rate(sites, c, n, strengths, assay)).astype(np.float32)
                for c, n in spec.contigs.items()
            }
            write_bigwig(os.path.join(out, "tracks", f"{name}.bw"), spec.contigs, counts)
            n_peaks = write_peaks(
                os.path.join(out, "peaks", f"{name}.narrowPeak"), sites, strengths, assay, counts, depth
            )
            tracks.append(
                dict(
                    name=name,
                    path=f"tracks/{name}.bw",
                    assay=assay,
                    cell_type=cell,
                    description=f"demo {assay}, depth {depth}x, driven by "
                    + ", ".join(f"{m} ({s})" for m, s in strengths.items()),
                )
            )
            peaks.append(dict(path=f"peaks/{name}.narrowPeak", track=name))
            track_rows.append(
                dict(
                    track=name,
                    cell_type=cell,
                    assay=assay,
                    depth=depth,
                    n_peaks=n_peaks,
                    drivers=";".join(f"{m}={s}" for m, s in strengths.items()),
                )
            )
    bar.close()
    return tracks, peaks, track_rows


def _write_site_truth(out: str, sites: pd.DataFrame, track_rows: list[dict]) -> None:
    """``truth/motif_sites.tsv`` (each site with the tracks it drives) and ``truth/tracks.tsv``."""
    drives = [
        ";".join(t["track"] for t in track_rows if dict(x.split("=") for x in t["drivers"].split(";") if x).get(m))
        for m in sites.motif
    ]
    sites.assign(drives=drives).to_csv(os.path.join(out, "truth", "motif_sites.tsv"), sep="\t", index=False)
    pd.DataFrame(track_rows).to_csv(os.path.join(out, "truth", "tracks.tsv"), sep="\t", index=False)


def _write_yaml(path: str, data: dict, comment: str = "") -> None:
    with open(path, "w") as fh:
        if comment:
            fh.write(comment)
        yaml.safe_dump(data, fh, sort_keys=False)


def _write_configs(out: str, spec: DemoSpec, tracks: list, peaks: list, world: tuple) -> dict:
    """``data.yaml``, then the genes' files and ``data_genes.yaml`` (:func:`write_gene_world`'s summary)."""
    seqs, sites, motifs = world
    data = dict(
        genome="genome.fa",
        tracks=tracks,
        peaks=peaks,
        splits=dict(val=list(spec.val), test=list(spec.test)),
        allelic=dict(path="allelic/allelic_counts.tsv", group="cell_type", truth="true_log_ratio"),
    )
    _write_yaml(
        os.path.join(out, "data.yaml"),
        data,
        "# Demo world data config (zoo demo-data). Paths are relative to this file.\n",
    )
    genes = write_gene_world(out, spec, seqs, sites, motifs, data)
    _write_yaml(os.path.join(out, "data_genes.yaml"), genes["data"], "# The demo world's data config with its genes.\n")
    return genes


def make_demo_world(out: str, spec: DemoSpec | None = None) -> dict:
    """Write the demo world into folder ``out``; returns a summary dict (also ``summary.yaml``).

    Parameters
    ----------
    out : str
        The folder (created; files already there are overwritten).
    spec : DemoSpec, optional
        What to generate; default :class:`DemoSpec` (seed 0). The same spec gives the same files.

    Returns
    -------
    dict
        ``version, folder, seed, genome_bp, contigs`` (``{name: bp}``), ``tracks``, ``sites``
        (``{motif: n}``), ``decoy``, ``variants`` (ALT alleles), ``variants_breaking``,
        ``allelic_snvs`` (rows), ``genes``, ``gene_variants``, ``gene_variants_changing``,
        ``annotation``, ``haplotype_samples``, ``haplotype_records``, ``haplotype_pairs`` and
        ``splits`` (see :func:`format_summary`).
    """
    spec = spec or DemoSpec()
    rng = np.random.default_rng(spec.seed)
    for sub in ("tracks", "peaks", "truth", "allelic"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    motifs = _load_motifs(spec)
    seqs = {c: random_contig(rng, n) for c, n in spec.contigs.items()}
    sites = plant_sites(rng, seqs, motifs)
    _write_genome(out, spec, seqs)
    tracks, peaks, track_rows = _write_tracks(out, spec, rng, sites)
    _write_site_truth(out, sites, track_rows)
    variants = make_variants(rng, seqs, sites, motifs, spec.drivers)
    write_vcf(os.path.join(out, "variants.vcf"), spec.contigs, variants)
    truth_rows(variants).to_csv(os.path.join(out, "truth", "variants.tsv"), sep="\t", index=False)
    allelic = allelic_counts(rng, seqs, sites, motifs, spec)
    allelic.to_csv(os.path.join(out, "allelic", "allelic_counts.tsv"), sep="\t", index=False)
    genes = _write_configs(out, spec, tracks, peaks, (seqs, sites, motifs))
    haplotypes = write_haplotype_world(out, spec, seqs, sites, motifs)
    summary = dict(
        version=DEMO_VERSION,
        folder=os.path.abspath(out),
        seed=spec.seed,
        genome_bp=int(sum(spec.contigs.values())),
        contigs=dict(spec.contigs),
        tracks=[t["track"] for t in track_rows],
        sites={m: int((sites.motif == m).sum()) for m in motifs},
        decoy=spec.decoy,
        variants=int(len(truth_rows(variants))),
        variants_breaking=int(variants.breaks_motif.sum()),
        allelic_snvs=int(len(allelic)),
        **{k: genes[k] for k in ("genes", "gene_variants", "annotation")},
        gene_variants_changing=genes["changing"],
        **haplotypes,
        splits=dict(val=list(spec.val), test=list(spec.test)),
    )
    _write_yaml(os.path.join(out, "summary.yaml"), summary)
    return summary


def format_summary(s: dict) -> str:
    """Human-readable summary of :func:`make_demo_world`'s result.

    Parameters
    ----------
    s : dict
        The summary :func:`make_demo_world` returns (folder, seed, contigs, tracks, planted sites).

    Returns
    -------
    str
        What ``zoo demo-data`` prints: the folder and seed, then one line per part of the world
        (genome, tracks, peaks, variants, truth), no trailing newline.
    """
    lines = [
        f"demo world written to {s['folder']} (seed {s['seed']})",
        f"  genome   : {s['genome_bp']:,} bp in {len(s['contigs'])} contigs "
        f"({', '.join(f'{c} {n:,}' for c, n in s['contigs'].items())})",
        f"  tracks   : {len(s['tracks'])} bigWigs: {', '.join(s['tracks'])}",
        f"  sites    : {sum(s['sites'].values())} planted "
        f"({', '.join(f'{m} {n}' for m, n in s['sites'].items())}; decoy {s['decoy']} drives nothing)",
        f"  variants : {s['variants']} alleles in variants.vcf, {s['variants_breaking']} break a motif",
        f"  allelic  : {s['allelic_snvs']} het SNV x cell-type rows in allelic/allelic_counts.tsv",
        f"  genes    : {s['genes']} in {s['annotation']} with CAGE and RNA tracks; {s['gene_variants']} records in "
        f"gene_variants.vcf, {s['gene_variants_changing']} change a gene (data_genes.yaml)",
        f"  haplotypes: {s['haplotype_records']} records x {s['haplotype_samples']} phased samples in "
        f"haplotypes.vcf, {s['haplotype_pairs']} motif pairs (truth/haplotype_pairs.tsv)",
        f"  splits   : val {', '.join(s['splits']['val'])}; test {', '.join(s['splits']['test'])}; rest train",
        f"  config   : {os.path.join(s['folder'], 'data.yaml')}",
    ]
    return "\n".join(lines)


__all__ = ["DemoSpec", "make_demo_world", "format_summary", "reverse_complement"]
