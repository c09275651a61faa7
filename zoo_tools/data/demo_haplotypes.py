"""The demo world's phased haplotypes: ``haplotypes.vcf`` (12 samples) with its truth
``truth/haplotype_pairs.tsv`` and ``truth/haplotypes.tsv``, for scoring haplotypes rather than
single variants.

**Pairs.** About 8 driver sites (never the decoy; each driving a track; 10 kb or more apart) each
get two SNVs inside the one motif instance: at the motif's most informative position (``A``) and
its second most informative one (``B``), each to the base the log-odds like least. A pair is kept
only when each SNV alone drops the site's affinity by 0.5 or more, so both together cannot remove
much more than one alone: the loss of a haplotype carrying both is *sub-additive* (less than the
sum of the two single losses by more than 0.1).

**Genotypes** of a pair over the 12 samples mix both ALTs on one haplotype (cis: ``1|0`` with
``1|0``, ``0|1`` with ``0|1``), on different ones (trans: ``1|0`` with ``0|1``), one ALT only,
homozygous for both, and neither, in a random order per pair. About 10 neutral SNVs 1 kb or more
from every site centre and one multi-allelic record (genotypes such as ``1|2``, ``2|0``) have
random phased genotypes. Every genotype is phased.

Drawn from its own random stream (seed, 16), so the rest of the world is unchanged. VCF positions
are 1-based; site coordinates 0-based half-open.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from zoo_tools.data.demo_planting import DemoSpec, affinity, track_strengths
from zoo_tools.data.demo_variants import _site_codes, far_positions
from zoo_tools.data.genome import ALPHABET
from zoo_tools.data.motifs import information, log_odds

SAMPLES = [f"HG{i + 1:04d}" for i in range(12)]
N_PAIRS, N_NEUTRAL, PAIR_GAP, MARGIN = 8, 10, 10_000, 0.1  # MARGIN: how far below additive is sub-additive
# What each sample's two haplotypes carry of a pair's ALTs (A, B); one sample per entry
DESIGN = [
    ("AB", ""),  # cis, on haplotype 1
    ("", "AB"),  # cis, on haplotype 2
    ("A", "B"),  # trans
    ("B", "A"),  # trans
    ("A", ""),  # A only
    ("", "A"),
    ("B", ""),  # B only
    ("", "B"),
    ("AB", "AB"),  # homozygous for both
    ("", ""),  # neither
    ("AB", "A"),
    ("B", "AB"),
]
PAIR_COLUMNS = ["pair", "site_id", "motif", "chrom", "start", "end", "strand"]
PAIR_COLUMNS += [f"{k}_{x}" for x in "ab" for k in ("pos", "ref", "alt")] + ["id_a", "id_b"]
PAIR_COLUMNS += ["affinity_ref", "affinity_a", "affinity_b", "affinity_ab", "tracks"]
_FROM_PAIR = ["pair", "site_id", "motif", "chrom", "pos_a", "pos_b", "id_a", "id_b", "affinity_ref"]
TRUTH_COLUMNS = _FROM_PAIR[:4] + ["sample", "haplotype", "carries"] + _FROM_PAIR[4:]
TRUTH_COLUMNS += ["affinity_hap", "loss_a", "loss_b", "loss_hap", "additive", "relation"]


def _drives(spec: DemoSpec, motif: str) -> list[str]:
    """The tracks ``<cell>_<assay>`` a motif drives (a non-zero strength), as in ``truth/motif_sites.tsv``."""
    tracks = [(c, a) for c in spec.cell_types for a in ("ATAC", "H3K27ac")]
    return [f"{c}_{a}" for c, a in tracks if track_strengths(spec, c, a).get(motif)]


def _candidates(spec: DemoSpec, sites: pd.DataFrame) -> pd.DataFrame:
    """Sites of driver motifs (never the decoy) that drive a track (strength x affinity > 0.05, as peaks)."""
    tracks = [track_strengths(spec, c, a) for c in spec.cell_types for a in ("ATAC", "H3K27ac")]
    best = {m: max(t.get(m, 0.0) for t in tracks) for m in spec.drivers if m != spec.decoy}
    return sites[[best.get(m, 0.0) * a > 0.05 for m, a in zip(sites.motif, sites.affinity)]]


def _snv(r, seqs, lo: np.ndarray, j: int) -> tuple[int, str, str, int]:
    """The SNV at motif position ``j`` of site ``r`` to the least likely base: 0-based genome
    position, REF and ALT (genome strand), and the ALT's code on the motif strand."""
    alt_code = int(np.argmin(lo[:, j]))
    g = r.start + j if r.strand == "+" else r.end - 1 - j
    alt = ALPHABET[alt_code] if r.strand == "+" else ALPHABET[3 - alt_code]
    return g, ALPHABET[seqs[r.chrom][g]], alt, alt_code


def _four(lo: np.ndarray, codes: np.ndarray, a: dict, b: dict) -> dict:
    """``affinity_ref, _a, _b, _ab`` of motif-strand ``codes`` with ``{position: code}`` changes a, b."""
    out = {}
    for key, changes in (("ref", {}), ("a", a), ("b", b), ("ab", {**a, **b})):
        c = codes.copy()
        c[list(changes)] = list(changes.values())
        out[f"affinity_{key}"] = affinity(lo, c)
    return out


def _pair_row(r, seqs, motifs, spec: DemoSpec) -> dict | None:
    """The pair at site ``r``; None unless each SNV alone drops affinity by >= 0.5 and both are sub-additive."""
    lo = log_odds(motifs[r.motif])
    ja, jb = (int(j) for j in np.argsort(-information(motifs[r.motif]), kind="stable")[:2])
    (ga, ref_a, alt_a, ca), (gb, ref_b, alt_b, cb) = _snv(r, seqs, lo, ja), _snv(r, seqs, lo, jb)
    aff = _four(lo, _site_codes(seqs, r), {ja: ca}, {jb: cb})
    loss = [aff["affinity_ref"] - aff[f"affinity_{k}"] for k in ("a", "b", "ab")]
    if min(loss[:2]) < 0.5 or loss[2] >= loss[0] + loss[1] - MARGIN:
        return None
    site = {k: getattr(r, k) for k in ("site_id", "motif", "chrom", "start", "end", "strand")}
    snvs = dict(pos_a=ga + 1, ref_a=ref_a, alt_a=alt_a, pos_b=gb + 1, ref_b=ref_b, alt_b=alt_b)
    return dict(**site, **snvs, **aff, tracks=",".join(_drives(spec, r.motif)))


def _choose_pairs(rng, seqs, sites: pd.DataFrame, motifs, spec: DemoSpec) -> list[dict]:
    """Up to ``N_PAIRS`` pairs (:func:`_pair_row`) at candidate sites ``PAIR_GAP`` or more apart."""
    cand, chosen = _candidates(spec, sites), []
    for r in cand.iloc[rng.permutation(len(cand))].itertuples():
        centre = (r.start + r.end) // 2
        if any(p["chrom"] == r.chrom and abs((p["start"] + p["end"]) // 2 - centre) < PAIR_GAP for p in chosen):
            continue
        row = _pair_row(r, seqs, motifs, spec)
        chosen += [row] if row else []
        if len(chosen) == N_PAIRS:
            break
    return chosen


def _pair_genotypes(rng) -> tuple[np.ndarray, ...]:
    """``(12, 2)`` allele indices (0 REF, 1 ALT) of SNV A and of SNV B: ``DESIGN`` in a random sample order."""
    design = [DESIGN[k] for k in rng.permutation(len(DESIGN))]
    return tuple(np.array([[x in h for h in haps] for haps in design], int) for x in "AB")


def _multi_allelic(rng, others: list[str]) -> tuple[str, np.ndarray]:
    """Two of ``others`` as ALTs (comma-separated) and ``(12, 2)`` genotypes holding ``1|2`` and ``2|0``."""
    alt = ",".join(others[i] for i in sorted(rng.choice(3, 2, replace=False)))
    gt = rng.choice(3, size=(len(SAMPLES), 2), p=[0.5, 0.25, 0.25])
    gt[:2] = [[1, 2], [2, 0]]
    return alt, gt[rng.permutation(len(SAMPLES))]


def _neutral_records(rng, seqs, sites: pd.DataFrame) -> list[dict]:
    """``N_NEUTRAL`` SNVs and a multi-allelic record >= 1 kb from every site centre, random phased GTs."""
    where = list(dict.fromkeys(far_positions(rng, seqs, sites, N_NEUTRAL + 3)))[: N_NEUTRAL + 1]
    out = []
    for k, (c, p) in enumerate(where):
        others = [b for b in ALPHABET if b != ALPHABET[seqs[c][p]]]
        if k < N_NEUTRAL:
            alt, gt = others[int(rng.integers(3))], (rng.random((len(SAMPLES), 2)) < 0.35).astype(int)
        else:
            alt, gt = _multi_allelic(rng, others)
        out.append(dict(chrom=c, pos=p + 1, ref=ALPHABET[seqs[c][p]], alt=alt, gt=gt))
    return out


def _records(pairs: list[dict], gts: dict, neutral: list[dict], order: dict[str, int]) -> pd.DataFrame:
    """All VCF records sorted by contig and position, with IDs ``hap0000`` ... (also set as the
    pairs' ``id_a`` / ``id_b``)."""
    rows, mine = list(neutral), []
    for p in pairs:
        for x, gt in zip("ab", gts[p["pair"]]):
            mine.append((p, x, len(rows)))
            rows.append(dict(chrom=p["chrom"], pos=p[f"pos_{x}"], ref=p[f"ref_{x}"], alt=p[f"alt_{x}"], gt=gt))
    df = pd.DataFrame(rows).sort_values(["chrom", "pos"], key=lambda s: s.map(order) if s.name == "chrom" else s)
    df.insert(2, "id", [f"hap{i:04d}" for i in range(len(df))])
    for p, x, i in mine:
        p[f"id_{x}"] = df.id.loc[i]
    return df.reset_index(drop=True)


def _write_vcf(path: str, contigs: dict[str, int], records: pd.DataFrame) -> None:
    """A VCF 4.2 of ``SAMPLES``' phased genotypes (``a|b`` for every sample on every record)."""
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##source=zoo_tools.demo\n")
        fh.writelines(f"##contig=<ID={c},length={n}>\n" for c, n in contigs.items())
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES) + "\n")
        for r in records.itertuples():
            gts = "\t".join(f"{a}|{b}" for a, b in r.gt)
            fh.write(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\t.\tGT\t{gts}\n")


def _truth_rows(p, gt_a: np.ndarray, gt_b: np.ndarray) -> list[dict]:
    """The haplotypes carrying an ALT of pair ``p`` (a pairs-table row): what they carry, affinity, losses."""
    aff = {"A": p.affinity_a, "B": p.affinity_b, "AB": p.affinity_ab}
    loss = {"A": p.affinity_ref - p.affinity_a, "B": p.affinity_ref - p.affinity_b}
    rows = []
    for s, h in np.argwhere(gt_a + gt_b > 0):
        carries = "A" * int(gt_a[s, h]) + "B" * int(gt_b[s, h])
        row = dict(sample=SAMPLES[s], haplotype=int(h) + 1, carries=carries, affinity_hap=aff[carries])
        row.update(loss_a=loss["A"], loss_b=loss["B"], loss_hap=p.affinity_ref - aff[carries])
        row["additive"] = sum(loss[x] for x in carries)
        sub = row["loss_hap"] < row["additive"] - MARGIN
        rows.append(dict(row, relation="single" if len(carries) == 1 else "sub_additive" if sub else "additive"))
    return rows


def _haplotype_truth(table: pd.DataFrame, gts: dict) -> pd.DataFrame:
    """``truth/haplotypes.tsv``: every pair's :func:`_truth_rows`, in ``TRUTH_COLUMNS`` order."""
    rows = [
        dict(r, **{k: getattr(p, k) for k in _FROM_PAIR})
        for p in table.itertuples()
        for r in _truth_rows(p, *gts[p.pair])
    ]
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def write_haplotype_world(out: str, spec: DemoSpec, seqs, sites: pd.DataFrame, motifs) -> dict:
    """Write ``haplotypes.vcf``, ``truth/haplotype_pairs.tsv`` and ``truth/haplotypes.tsv`` into ``out``.

    Parameters
    ----------
    out : str
        The world's folder (with its ``truth/`` folder).
    spec : DemoSpec
        ``seed`` (the stream is ``(seed, 16)``), contigs, drivers, decoy and cell types.
    seqs : dict of str to numpy.ndarray
        ``{contig: (L,) uint8 codes}``, the genome (not modified).
    sites : pandas.DataFrame
        The planted sites (0-based, half-open).
    motifs : dict of str to numpy.ndarray
        ``{label: (4, w) PWM}``.

    Returns
    -------
    dict
        ``haplotype_samples`` (12), ``haplotype_records`` (records in the VCF) and
        ``haplotype_pairs`` (SNV pairs kept).
    """
    rng = np.random.default_rng([spec.seed, 16])
    order = {c: i for i, c in enumerate(seqs)}
    pairs = sorted(_choose_pairs(rng, seqs, sites, motifs, spec), key=lambda p: (order[p["chrom"]], p["start"]))
    for k, p in enumerate(pairs):
        p["pair"] = f"pair{k + 1:02d}"
    gts = {p["pair"]: _pair_genotypes(rng) for p in pairs}
    records = _records(pairs, gts, _neutral_records(rng, seqs, sites), order)
    _write_vcf(os.path.join(out, "haplotypes.vcf"), spec.contigs, records)
    table = pd.DataFrame(pairs, columns=PAIR_COLUMNS)
    table.to_csv(os.path.join(out, "truth", "haplotype_pairs.tsv"), sep="\t", index=False)
    _haplotype_truth(table, gts).to_csv(os.path.join(out, "truth", "haplotypes.tsv"), sep="\t", index=False)
    return dict(haplotype_samples=len(SAMPLES), haplotype_records=len(records), haplotype_pairs=len(pairs))
