"""How the demo world is generated: its specification, random contigs, planted motif sites, the
Poisson tracks and peaks they cause, and the variants and allelic counts with their truth.

Coordinates are 0-based half-open (``start, end``) except VCF positions (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zoo_tools.data.genome import ALPHABET
from zoo_tools.data.motifs import information, log_odds, score_codes

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
    """``(n,)`` uint8 codes: GC varies per ``block`` bp (mean 0.42), first ``n_gap`` bp are N."""
    gc = np.clip(rng.normal(0.42, 0.07, n // block + 1), 0.25, 0.65).repeat(block)[:n]
    u = rng.random(n)
    at = (1 - gc) / 2
    codes = np.where(u < at, 0, np.where(u < at + gc / 2, 1, np.where(u < at + gc, 2, 3))).astype(np.uint8)
    codes[:n_gap] = 4
    return codes


def affinity(lo: np.ndarray, codes: np.ndarray) -> float:
    """Site affinity in [0, 1] of forward-strand codes ``(w,)`` under log-odds ``lo``."""
    best = lo.max(0).sum()
    return float(np.clip((score_codes(lo, codes) - best / 2) / (best / 2), 0, 1))


def sample_instance(rng: np.random.Generator, pwm: np.ndarray) -> np.ndarray:
    """A strong instance ``(w,)`` codes: each column sampled from the squared, renormalised PWM."""
    p = np.asarray(pwm) ** 2
    p = p / p.sum(0, keepdims=True)
    return np.array([rng.choice(4, p=p[:, j]) for j in range(p.shape[1])], dtype=np.uint8)


def plant_sites(
    rng: np.random.Generator, seqs: dict[str, np.ndarray], motifs: dict[str, np.ndarray], n_gap: int = 1000
) -> pd.DataFrame:
    """Plant motif instances every 1.5-4.5 kb on random strands; returns the site table."""
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
    """Expected-signal shape of one site at ``offsets`` bp from its centre (peak value 1)."""
    if assay == "ATAC":
        return np.exp(-np.abs(offsets) / ATAC_SCALE)
    return np.exp(-0.5 * (offsets / CHIP_SD) ** 2)


def track_strengths(spec: DemoSpec, cell: str, assay: str) -> dict[str, float]:
    """Motif -> strength for one track (H3K27ac ignores the motifs in ``inactive_for_chip``)."""
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
    """``(n,)`` expected reads per bp at depth 1 for one contig of one track."""
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
    """Write per-base values as bedGraph-like runs; zero runs are left uncovered."""
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
    """narrowPeak of the sites driving a track; signal = fold enrichment over background."""
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
def _site_codes(seqs: dict[str, np.ndarray], r) -> np.ndarray:
    codes = seqs[r.chrom][r.start : r.end]
    return codes if r.strand == "+" else 3 - codes[::-1]


def _breaking_snv(r, seqs, lo: np.ndarray, info: np.ndarray) -> tuple[int, str, str, float]:
    """The SNV at the motif's most informative position to the least likely base."""
    j = int(np.argmax(info))
    fwd = _site_codes(seqs, r).copy()
    alt_code = int(np.argmin(lo[:, j]))
    fwd[j] = alt_code
    new_aff = affinity(lo, fwd)
    g = r.start + j if r.strand == "+" else r.end - 1 - j
    ref = ALPHABET[seqs[r.chrom][g]]
    alt = ALPHABET[alt_code] if r.strand == "+" else ALPHABET[3 - alt_code]
    return g, ref, alt, new_aff


def far_positions(rng, seqs, sites: pd.DataFrame, n: int, min_dist: int = 1000) -> list[tuple[str, int]]:
    """``n`` random (contig, 0-based pos) at least ``min_dist`` from every site centre, not N."""
    chroms = list(seqs)
    centres = {c: np.sort(((sites.start + sites.end) // 2)[sites.chrom == c].to_numpy()) for c in chroms}
    weights = np.array([len(seqs[c]) for c in chroms], float)
    out: list[tuple[str, int]] = []
    while len(out) < n:
        c = chroms[rng.choice(len(chroms), p=weights / weights.sum())]
        p = int(rng.integers(0, len(seqs[c]) - 10))
        k = np.searchsorted(centres[c], p)
        near = centres[c][max(k - 1, 0) : k + 1]
        if seqs[c][p : p + 10].max() < 4 and (len(near) == 0 or np.abs(near - p).min() >= min_dist):
            out.append((c, p))
    return out


def make_variants(rng, seqs, sites: pd.DataFrame, motifs: dict[str, np.ndarray], drivers: list[str]) -> pd.DataFrame:
    """VCF rows (1-based pos) with truth: breaking SNVs/deletions at driver sites and neutral ones."""
    rows = []
    driver_sites = sites[sites.motif.isin(drivers)]
    chosen = driver_sites.iloc[rng.permutation(len(driver_sites))[:80]]
    for k, r in enumerate(chosen.itertuples()):
        lo = log_odds(motifs[r.motif])
        g, ref, alt, new_aff = _breaking_snv(r, seqs, lo, information(motifs[r.motif]))
        if k < 4:  # a few deletions of the motif core instead of an SNV
            j0 = max(g - 2, r.start + 1)
            ref = "".join(ALPHABET[c] for c in seqs[r.chrom][j0 - 1 : j0 + 4])
            rows.append(
                dict(
                    chrom=r.chrom,
                    pos=j0,
                    ref=ref,
                    alt=ref[0],
                    breaks_motif=True,
                    kind="indel",
                    motif=r.motif,
                    site_id=r.site_id,
                    affinity_ref=r.affinity,
                    affinity_alt=0.0,
                )
            )
            continue
        if r.affinity - new_aff < 0.5:
            continue
        rows.append(
            dict(
                chrom=r.chrom,
                pos=g + 1,
                ref=ref,
                alt=alt,
                breaks_motif=True,
                kind="snv",
                motif=r.motif,
                site_id=r.site_id,
                affinity_ref=r.affinity,
                affinity_alt=new_aff,
            )
        )
    n_break = len(rows)
    for k, (c, p) in enumerate(far_positions(rng, seqs, sites, n_break + 20)):
        ref = ALPHABET[seqs[c][p]]
        others = [b for b in ALPHABET if b != ref]
        if k < 4:  # small insertions and deletions
            if k % 2:
                ref_s = "".join(ALPHABET[x] for x in seqs[c][p : p + 3])
                alt_s = ref_s[0]
            else:
                ref_s, alt_s = ref, ref + "".join(rng.choice(list(ALPHABET), 3))
            kind = "indel"
        elif k < 6:  # MNVs
            ref_s = "".join(ALPHABET[x] for x in seqs[c][p : p + 2])
            alt_s = "".join(b for b in (others[0], [x for x in ALPHABET if x != ref_s[1]][0]))
            kind = "mnv"
        else:
            ref_s, alt_s, kind = ref, others[int(rng.integers(3))], "snv"
        if k == 6:  # one multi-allelic record
            alt_s = f"{others[0]},{others[1]}"
        rows.append(
            dict(
                chrom=c,
                pos=p + 1,
                ref=ref_s,
                alt=alt_s,
                breaks_motif=False,
                kind=kind,
                motif="",
                site_id="",
                affinity_ref=np.nan,
                affinity_alt=np.nan,
            )
        )
    df = pd.DataFrame(rows)
    order = {c: i for i, c in enumerate(seqs)}
    df = df.sort_values(["chrom", "pos"], key=lambda s: s.map(order) if s.name == "chrom" else s)
    df = df.drop_duplicates(["chrom", "pos"]).reset_index(drop=True)
    df.insert(2, "id", [f"var{i:04d}" for i in range(len(df))])
    return df


def write_vcf(path: str, contigs: dict[str, int], variants: pd.DataFrame, sample: str = "demo") -> None:
    """A VCF 4.2 with one heterozygous sample; ``variants`` has chrom, pos (1-based), id, ref, alt."""
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##source=zoo_tools.demo\n")
        for c, n in contigs.items():
            fh.write(f"##contig=<ID={c},length={n}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")
        for r in variants.itertuples():
            fh.write(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\t.\tGT\t0/1\n")


def truth_rows(variants: pd.DataFrame) -> pd.DataFrame:
    """One truth row per (record, ALT allele)."""
    df = variants.assign(alt=variants.alt.str.split(",")).explode("alt")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Allele-specific counts
# --------------------------------------------------------------------------------------------
def allelic_counts(rng, seqs, sites, motifs, spec: DemoSpec) -> pd.DataFrame:
    """Het SNVs in driver sites (random motif or flank positions) with ATAC allele read counts."""
    rows = []
    drivers = sites[sites.motif.isin(spec.drivers)]
    for r in drivers.itertuples():
        lo = log_odds(motifs[r.motif])
        for _ in range(2):
            j = int(rng.integers(-6, r.end - r.start + 6))  # motif position, or up to 6 bp of flank
            g = r.start + j if r.strand == "+" else r.end - 1 - j
            ref_code = int(seqs[r.chrom][g])
            if ref_code > 3:
                continue
            alt_code = int(rng.choice([b for b in range(4) if b != ref_code]))
            alt_aff = r.affinity
            if 0 <= j < r.end - r.start:
                fwd = _site_codes(seqs, r).copy()
                fwd[j] = alt_code if r.strand == "+" else 3 - alt_code
                alt_aff = affinity(lo, fwd)
            for cell, strengths in spec.cell_types.items():
                s = strengths.get(r.motif, 0.0)
                if s <= 0:
                    continue
                track = f"{cell}_ATAC"
                r_ref = BACKGROUND_RATE["ATAC"] + s * r.affinity * ATAC_HEIGHT
                r_alt = BACKGROUND_RATE["ATAC"] + s * alt_aff * ATAC_HEIGHT
                mean = spec.depths.get(track, 1.0) * (r_ref + r_alt) / 2 * 4
                total = int(rng.poisson(mean))
                alt_n = int(rng.binomial(total, r_alt / (r_ref + r_alt)))
                rows.append(
                    dict(
                        chrom=r.chrom,
                        pos=g + 1,
                        ref=ALPHABET[ref_code],
                        alt=ALPHABET[alt_code],
                        cell_type=cell,
                        track=track,
                        ref_count=total - alt_n,
                        alt_count=alt_n,
                        site_id=r.site_id,
                        motif=r.motif,
                        in_motif=0 <= j < r.end - r.start,
                        affinity_ref=r.affinity,
                        affinity_alt=alt_aff,
                        true_log_ratio=float(np.log(r_alt / r_ref)),
                    )
                )
    df = pd.DataFrame(rows)
    return df.drop_duplicates(["chrom", "pos", "cell_type"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The whole world
