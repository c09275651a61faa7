"""How the demo world is generated: its specification, random contigs, planted motif sites, the
Poisson tracks and peaks they cause, and the variants and allelic counts with their truth.

Coordinates are 0-based half-open (``start, end``) except VCF positions (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zoo_tools.data.motifs import log_odds, score_codes

ATAC_HEIGHT, ATAC_SCALE = 30.0, 50.0  # peak rate (reads/bp at depth 1) and Laplace scale (bp)
CHIP_HEIGHT, CHIP_SD = 8.0, 250.0
BACKGROUND_RATE = {"ATAC": 0.3, "H3K27ac": 0.4}


@dataclass
class DemoSpec:
    """What to generate. Defaults give about 1 Mb, 3 cell types, 4 driver motifs and a decoy."""

    seed: int = 0
    contigs: dict[str, int] = field(
        default_factory=lambda: {"chr1": 350_000, "chr2": 250_000, "chr3": 200_000, "chr4": 200_000}
    )
    val: list[str] = field(default_factory=lambda: ["chr3"])
    test: list[str] = field(default_factory=lambda: ["chr4"])
    motif_db: str = "jaspar"
    # short label -> name in the motif database (labels are used in all the truth tables)
    motif_names: dict[str, str] = field(
        default_factory=lambda: {
            "CTCF": "C055:CTCF:C2H2_ZF",
            "GATA": "C101:GATA_MECOM:GATA",
            "CEBP": "C027:CEBP:bZIP",
            "AP1": "C026:FOS_JUN:bZIP",
            "NRF1": "C124:NRF1:Unknown",
        }
    )
    drivers: list[str] = field(default_factory=lambda: ["CTCF", "GATA", "CEBP", "AP1"])
    decoy: str = "NRF1"
    # cell type -> motif -> strength (the chromatin-opening power of the motif in that cell)
    cell_types: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "cellA": {"GATA": 1.0, "AP1": 0.6, "CTCF": 0.4},
            "cellB": {"CEBP": 1.0, "AP1": 0.6, "CTCF": 0.4},
            "cellC": {"GATA": 0.7, "CEBP": 0.7, "CTCF": 0.4},
        }
    )
    inactive_for_chip: list[str] = field(default_factory=lambda: ["CTCF"])
    # the genes (zoo_tools.data.demo_genes): annotation format, its contig spelling ("chr" + name),
    # and whether it holds the lines real annotations have (CDS/UTR, genes off the genome)
    gene_format: str = "gtf"
    gene_contig_prefix: str = ""
    hostile_annotation: bool = False
    depths: dict[str, float] = field(
        default_factory=lambda: {
            "cellA_ATAC": 1.0,
            "cellB_ATAC": 3.0,
            "cellC_ATAC": 0.5,
            "cellA_H3K27ac": 2.0,
            "cellB_H3K27ac": 0.7,
            "cellC_H3K27ac": 1.5,
        }
    )


# --------------------------------------------------------------------------------------------
# Sequence and sites
# --------------------------------------------------------------------------------------------
def random_contig(rng: np.random.Generator, n: int, block: int = 5000, n_gap: int = 1000) -> np.ndarray:
    """``(n,)`` uint8 codes: GC varies per ``block`` bp (mean 0.42), first ``n_gap`` bp are N.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Contig length (bp).
    block : int
        Length (bp) of a block of one GC content (normal, sd 0.07, clipped to [0.25, 0.65]).
    n_gap : int
        Leading bases set to N.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` uint8 codes, A=0, C=1, G=2, T=3, N=4.
    """
    gc = np.clip(rng.normal(0.42, 0.07, n // block + 1), 0.25, 0.65).repeat(block)[:n]
    u = rng.random(n)
    at = (1 - gc) / 2
    codes = np.where(u < at, 0, np.where(u < at + gc / 2, 1, np.where(u < at + gc, 2, 3))).astype(np.uint8)
    codes[:n_gap] = 4
    return codes


def affinity(lo: np.ndarray, codes: np.ndarray) -> float:
    """Site affinity in [0, 1] of forward-strand codes ``(w,)`` under log-odds ``lo``.

    Parameters
    ----------
    lo, codes : numpy.ndarray
        ``(4, w)`` log-odds (:func:`~zoo_tools.data.motifs.log_odds`) and ``(w,)`` uint8 codes.

    Returns
    -------
    float
    """
    best = lo.max(0).sum()
    return float(np.clip((score_codes(lo, codes) - best / 2) / (best / 2), 0, 1))


def sample_instance(rng: np.random.Generator, pwm: np.ndarray) -> np.ndarray:
    """A strong instance ``(w,)`` codes: each column sampled from the squared, renormalised PWM.

    Parameters
    ----------
    rng : numpy.random.Generator
    pwm : numpy.ndarray
        ``(4, w)`` probabilities, rows A, C, G, T.

    Returns
    -------
    numpy.ndarray
        ``(w,)`` uint8 codes (0-3).
    """
    p = np.asarray(pwm) ** 2
    p = p / p.sum(0, keepdims=True)
    return np.array([rng.choice(4, p=p[:, j]) for j in range(p.shape[1])], dtype=np.uint8)


def plant_sites(
    rng: np.random.Generator, seqs: dict[str, np.ndarray], motifs: dict[str, np.ndarray], n_gap: int = 1000
) -> pd.DataFrame:
    """Plant motif instances every 1.5-4.5 kb on random strands; returns the site table.

    An instance is redrawn (up to 50 times) until its affinity is at least 0.6, then written into
    ``seqs`` (reverse-complemented on the ``-`` strand).

    Parameters
    ----------
    rng : numpy.random.Generator
    seqs : dict of str to numpy.ndarray
        ``{contig: (L,) uint8 codes}``, modified in place.
    motifs : dict of str to numpy.ndarray
        ``{label: (4, w) PWM}``; each site's motif is drawn uniformly.
    n_gap : int
        Leading N bases of each contig; sites start 2 kb past them and 2 kb or more before the end.

    Returns
    -------
    pandas.DataFrame
        ``site_id, chrom, start, end`` (0-based, half-open), ``strand, motif, affinity``.
    """
    names = list(motifs)
    rows = []
    for chrom, seq in seqs.items():
        pos = n_gap + 2000
        while pos < len(seq) - 2000:
            motif = names[rng.integers(len(names))]
            pwm = motifs[motif]
            lo = log_odds(pwm)
            inst = sample_instance(rng, pwm)
            for _ in range(50):  # keep only strong instances, so every planted site is a real site
                if affinity(lo, inst) >= 0.6:
                    break
                inst = sample_instance(rng, pwm)
            strand = "+" if rng.random() < 0.5 else "-"
            placed = inst if strand == "+" else (3 - inst[::-1])
            seq[pos : pos + len(inst)] = placed
            rows.append(
                dict(
                    chrom=chrom, start=pos, end=pos + len(inst), strand=strand, motif=motif, affinity=affinity(lo, inst)
                )
            )
            pos += int(rng.integers(1500, 4500))
    sites = pd.DataFrame(rows)
    sites.insert(0, "site_id", [f"site{i:04d}" for i in range(len(sites))])
    return sites


# --------------------------------------------------------------------------------------------
# Tracks
# --------------------------------------------------------------------------------------------
def kernel(assay: str, offsets: np.ndarray) -> np.ndarray:
    """Expected-signal shape of one site at ``offsets`` bp from its centre (peak value 1).

    Parameters
    ----------
    assay : str
        ``ATAC``: Laplace of scale ``ATAC_SCALE`` bp; any other: Gaussian of sd ``CHIP_SD`` bp.
    offsets : numpy.ndarray
        Distances (bp) from the site centre, any shape.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``offsets``.
    """
    if assay == "ATAC":
        return np.exp(-np.abs(offsets) / ATAC_SCALE)
    return np.exp(-0.5 * (offsets / CHIP_SD) ** 2)


def track_strengths(spec: DemoSpec, cell: str, assay: str) -> dict[str, float]:
    """Motif -> strength for one track (H3K27ac ignores the motifs in ``inactive_for_chip``).

    Parameters
    ----------
    spec : DemoSpec
    cell, assay : str
        The track's cell type (a key of ``spec.cell_types``) and assay (``ATAC`` or ``H3K27ac``).

    Returns
    -------
    dict of str to float
    """
    strengths = dict(spec.cell_types[cell])
    if assay != "ATAC":
        strengths = {m: s for m, s in strengths.items() if m not in spec.inactive_for_chip}
    return strengths


def expected_rate(
    sites: pd.DataFrame,
    chrom: str,
    n: int,
    strengths: dict[str, float],
    assay: str,
    affinities: np.ndarray | None = None,
) -> np.ndarray:
    """``(n,)`` expected reads per bp at depth 1 for one contig of one track.

    The background ``BACKGROUND_RATE[assay]`` plus, around each site on the contig,
    ``strength x affinity x height`` times its :func:`kernel` (out to 6 scales / sds).

    Parameters
    ----------
    sites : pandas.DataFrame
        The planted sites (:func:`plant_sites`).
    chrom : str
        The contig.
    n : int
        Its length (bp).
    strengths : dict of str to float
        The track's motif strengths (:func:`track_strengths`).
    assay : str
        ``ATAC`` or ``H3K27ac``.
    affinities : numpy.ndarray, optional
        ``(len(sites),)`` affinities to use instead of ``sites.affinity``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 rates (reads per bp).
    """
    rate = np.full(n, BACKGROUND_RATE[assay])
    height = ATAC_HEIGHT if assay == "ATAC" else CHIP_HEIGHT
    reach = int(6 * (ATAC_SCALE if assay == "ATAC" else CHIP_SD))
    aff = sites["affinity"].to_numpy() if affinities is None else affinities
    for k in np.flatnonzero((sites["chrom"] == chrom).to_numpy()):
        s = strengths.get(sites["motif"].iat[k], 0.0) * aff[k]
        if s <= 0:
            continue
        centre = (sites["start"].iat[k] + sites["end"].iat[k]) // 2
        lo, hi = max(centre - reach, 0), min(centre + reach, n)
        rate[lo:hi] += s * height * kernel(assay, np.arange(lo, hi) - centre)
    return rate


def write_bigwig(path: str, contigs: dict[str, int], values: dict[str, np.ndarray]) -> None:
    """Write per-base values as bedGraph-like runs; zero runs are left uncovered.

    Parameters
    ----------
    path : str
        The bigWig written.
    contigs : dict of str to int
        ``{contig: length}`` (bp), the header in this order.
    values : dict of str to numpy.ndarray
        ``{contig: (length,) values}`` per base (e.g. reads per bp); a run of equal values is one entry.
    """
    import pyBigWig

    bw = pyBigWig.open(path, "w")
    bw.addHeader(list(contigs.items()), maxZooms=6)
    for chrom in contigs:
        v = values[chrom].astype(np.float64)
        change = np.flatnonzero(np.diff(v)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(v)]])
        keep = v[starts] != 0
        if keep.any():
            bw.addEntries(
                [chrom] * int(keep.sum()),
                starts[keep].tolist(),
                ends=ends[keep].tolist(),
                values=v[starts][keep].tolist(),
            )
    bw.close()


def write_peaks(
    path: str, sites: pd.DataFrame, strengths: dict[str, float], assay: str, counts: dict[str, np.ndarray], depth: float
) -> int:
    """narrowPeak of the sites driving a track; signal = fold enrichment over background.

    A site drives the track when ``strength x affinity > 0.05``; its peak spans +-100 bp (ATAC) or
    +-400 bp (H3K27ac) of its centre (0-based, half-open; the summit at the centre), with the
    Poisson -log10 p-value of its reads against the background (capped at 300), q-value
    ``p - 2`` (floored at 0) and score ``min(1000, 10 x fold)``.

    Parameters
    ----------
    path : str
        The narrowPeak written (10 columns, no header, sorted by contig name and start).
    sites : pandas.DataFrame
        The planted sites (:func:`plant_sites`).
    strengths, assay
        The track's motif strengths (:func:`track_strengths`) and assay.
    counts : dict of str to numpy.ndarray
        ``{contig: (L,) reads per bp}``, the track's values.
    depth : float
        The track's sequencing depth (scales the background rate).

    Returns
    -------
    int
        The number of peaks written.
    """
    from scipy.stats import poisson

    half = 100 if assay == "ATAC" else 400
    bg = BACKGROUND_RATE[assay] * depth
    rows = []
    for r in sites.itertuples():
        if strengths.get(r.motif, 0) * r.affinity <= 0.05:
            continue
        centre = (r.start + r.end) // 2
        start, end = max(centre - half, 0), centre + half
        reads = counts[r.chrom][start:end]
        fold = reads.mean() / bg
        p = float(-poisson.logsf(reads.sum() - 1, bg * (end - start)) / np.log(10))
        p = p if np.isfinite(p) else 300.0  # beyond float range: report the cap, as MACS does
        rows.append(
            (
                r.chrom,
                start,
                end,
                f"{r.site_id}",
                min(1000, int(10 * fold)),
                ".",
                round(fold, 3),
                round(p, 3),
                round(max(p - 2, 0), 3),
                centre - start,
            )
        )
    peaks = pd.DataFrame(rows).sort_values([0, 1]) if rows else pd.DataFrame()
    peaks.to_csv(path, sep="\t", header=False, index=False)
    return len(peaks)


# --------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------
