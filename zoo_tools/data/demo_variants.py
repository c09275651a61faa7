"""The demo world's variants (with the truth of which break a motif) and its allelic counts.

VCF positions are 1-based; site coordinates 0-based half-open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoo_tools.data.demo_planting import ATAC_HEIGHT, BACKGROUND_RATE, DemoSpec, affinity
from zoo_tools.data.genome import ALPHABET
from zoo_tools.data.motifs import information, log_odds


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
    """``n`` random (contig, 0-based pos) at least ``min_dist`` from every site centre, not N.

    Contigs are drawn in proportion to their length; the 10 bp from ``pos`` on hold no N.

    Parameters
    ----------
    rng : numpy.random.Generator
    seqs : dict of str to numpy.ndarray
        ``{contig: (L,) uint8 codes}``.
    sites : pandas.DataFrame
        The planted sites (``chrom, start, end``, 0-based, half-open).
    n, min_dist : int
        How many positions, and the least distance (bp) to a site centre.

    Returns
    -------
    list of (str, int)
    """
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


_COLUMNS = ("chrom", "pos", "ref", "alt", "breaks_motif", "kind", "motif", "site_id", "affinity_ref", "affinity_alt")


def _row(*values) -> dict:
    """One variant row (``pos`` 1-based), values in :data:`_COLUMNS` order."""
    return dict(zip(_COLUMNS, values))


def _breaking_rows(rng, seqs, sites: pd.DataFrame, motifs: dict[str, np.ndarray], drivers: list[str]) -> list[dict]:
    """SNVs that drop a driver site's affinity by >= 0.5, and a few deletions of a motif core."""
    rows = []
    driver_sites = sites[sites.motif.isin(drivers)]
    chosen = driver_sites.iloc[rng.permutation(len(driver_sites))[:80]]
    for k, r in enumerate(chosen.itertuples()):
        lo = log_odds(motifs[r.motif])
        g, ref, alt, new_aff = _breaking_snv(r, seqs, lo, information(motifs[r.motif]))
        if k < 4:  # a few deletions of the motif core instead of an SNV
            j0 = max(g - 2, r.start + 1)
            ref = "".join(ALPHABET[c] for c in seqs[r.chrom][j0 - 1 : j0 + 4])
            rows.append(_row(r.chrom, j0, ref, ref[0], True, "indel", r.motif, r.site_id, r.affinity, 0.0))
        elif r.affinity - new_aff >= 0.5:
            rows.append(_row(r.chrom, g + 1, ref, alt, True, "snv", r.motif, r.site_id, r.affinity, new_aff))
    return rows


def _neutral_rows(rng, seqs, sites: pd.DataFrame, n: int) -> list[dict]:
    """Variants far from any site: small indels, MNVs, SNVs and one multi-allelic record."""
    rows = []
    for k, (c, p) in enumerate(far_positions(rng, seqs, sites, n)):
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
        rows.append(_row(c, p + 1, ref_s, alt_s, False, kind, "", "", np.nan, np.nan))
    return rows


def make_variants(rng, seqs, sites: pd.DataFrame, motifs: dict[str, np.ndarray], drivers: list[str]) -> pd.DataFrame:
    """VCF rows (1-based pos) with truth: breaking SNVs/deletions at driver sites and neutral ones.

    Parameters
    ----------
    rng : numpy.random.Generator
    seqs : dict of str to numpy.ndarray
        ``{contig: (L,) uint8 codes}``.
    sites, motifs, drivers
        The planted sites, ``{label: (4, w) PWM}`` and the labels of the driver motifs.

    Returns
    -------
    pandas.DataFrame
        ``chrom, pos, id, ref, alt`` (one record lists two ALTs, comma-separated), ``breaks_motif,
        kind, motif, site_id, affinity_ref, affinity_alt``; one record per position, in contig order.
    """
    rows = _breaking_rows(rng, seqs, sites, motifs, drivers)
    rows += _neutral_rows(rng, seqs, sites, len(rows) + 20)
    df = pd.DataFrame(rows)
    order = {c: i for i, c in enumerate(seqs)}
    df = df.sort_values(["chrom", "pos"], key=lambda s: s.map(order) if s.name == "chrom" else s)
    df = df.drop_duplicates(["chrom", "pos"]).reset_index(drop=True)
    df.insert(2, "id", [f"var{i:04d}" for i in range(len(df))])
    return df


def write_vcf(path: str, contigs: dict[str, int], variants: pd.DataFrame, sample: str = "demo") -> None:
    """A VCF 4.2 with one heterozygous sample; ``variants`` has chrom, pos (1-based), id, ref, alt.

    Parameters
    ----------
    path : str
        The VCF written (plain text).
    contigs : dict of str to int
        ``{contig: length}`` for the ``##contig`` header lines.
    variants : pandas.DataFrame
        The records, in file order (:func:`make_variants`).
    sample : str
        The sample's name; every record's genotype is ``0/1``.
    """
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##source=zoo_tools.demo\n")
        for c, n in contigs.items():
            fh.write(f"##contig=<ID={c},length={n}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")
        for r in variants.itertuples():
            fh.write(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\t.\tGT\t0/1\n")


def truth_rows(variants: pd.DataFrame) -> pd.DataFrame:
    """One truth row per (record, ALT allele).

    Parameters
    ----------
    variants : pandas.DataFrame
        :func:`make_variants` rows; a comma-separated ``alt`` becomes one row per ALT.

    Returns
    -------
    pandas.DataFrame
    """
    df = variants.assign(alt=variants.alt.str.split(",")).explode("alt")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Allele-specific counts
# --------------------------------------------------------------------------------------------
def allelic_counts(rng, seqs, sites, motifs, spec: DemoSpec) -> pd.DataFrame:
    """Het SNVs in driver sites (random motif or flank positions) with ATAC allele read counts.

    Parameters
    ----------
    rng, seqs, sites, motifs, spec
        The generator, ``{contig: (L,) uint8 codes}``, planted sites, ``{label: PWM}`` and spec.

    Returns
    -------
    pandas.DataFrame
        A row per (SNV, cell type): ``chrom, pos`` (1-based), ``ref, alt, cell_type, track,
        ref_count, alt_count`` and the truth (``site_id, motif, in_motif``, affinities, ``true_log_ratio``).
    """
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
