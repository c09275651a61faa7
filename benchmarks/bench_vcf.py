"""VCF reading: zoo_tools' line reader (``data/vcf.py`` via ``iter_variants``) vs cyvcf2, the peer.

Both read the same bgzipped VCF (N records, 2 samples with GT:DP, 10% multi-allelic) and produce
the fields scoring needs (CHROM, POS, ID, REF, each ALT); cyvcf2 is called as zoo_tools 0.2.0 did
(``lazy=True, threads=1``, one row per ALT), bare and making the same rows as ours (a ``Variant``
with its allele status per ALT, as 0.2.0's reader did). Rows are checked to agree. No genome: this times
reading, not the REF check. ``N`` (default 200,000) and ``REPS`` (3) from the environment.

    python benchmarks/bench_vcf.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

N = int(os.environ.get("N", 200_000))
REPS = int(os.environ.get("REPS", 3))
OUT = os.environ.get("BENCH_OUT", "bench_out")


def make_vcf(folder: str, n: int) -> str:
    """A bgzipped VCF of ``n`` sorted records on 3 contigs (2 samples, genotypes)."""
    from Bio import bgzf

    rng = np.random.default_rng(0)
    bases = np.array(list("ACGT"))
    path = os.path.join(folder, "bench.vcf.gz")
    contigs = {"chr1": 50_000_000, "chr2": 40_000_000, "chr3": 30_000_000}
    head = "##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={n}>\n" for c, n in contigs.items())
    head += '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    head += '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    head += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
    with bgzf.BgzfWriter(path, "wb") as fh:
        fh.write(head.encode())
        per = n // len(contigs) + 1
        for c in contigs:
            pos = np.sort(rng.choice(contigs[c] - 10, per, replace=False)) + 1
            refs = bases[rng.integers(0, 4, per)]
            lines = []
            for i, (p, r) in enumerate(zip(pos, refs)):
                alts = [b for b in "ACGT" if b != r]
                alt = ",".join(alts[:2]) if i % 10 == 0 else alts[i % 3]
                lines.append(f"{c}\t{p}\t{c}_{i}\t{r}\t{alt}\t50\tPASS\t.\tGT:DP\t0/1:12\t1|1:7\n")
            fh.write("".join(lines).encode())
    return path


def ours(path: str) -> list[tuple]:
    from zoo_tools.data.variants import iter_variants

    return [(v.chrom, v.pos, v.id, v.ref, v.alt) for v in iter_variants(path)]


def peer(path: str) -> list[tuple]:
    from cyvcf2 import VCF

    rows = []
    vcf = VCF(path, lazy=True, threads=1)
    for rec in vcf:
        for alt in rec.ALT or ["."]:
            rows.append((rec.CHROM, rec.POS, rec.ID or ".", rec.REF, alt))
    vcf.close()
    return rows


def peer_as_rows(path: str) -> list[tuple]:
    """cyvcf2 making zoo_tools' rows (the 0.2.0 reader): a Variant with its allele status per ALT."""
    from cyvcf2 import VCF

    from zoo_tools.data.variants import Variant, allele_status

    rows = []
    vcf = VCF(path, lazy=True, threads=1)
    for i, rec in enumerate(vcf):
        for k, alt in enumerate(rec.ALT or [None], 1):
            s = allele_status(rec.REF, alt) or "ok"
            v = Variant(i, k, rec.CHROM, int(rec.POS), rec.ID or ".", rec.REF, alt or ".", s)
            rows.append((v.chrom, v.pos, v.id, v.ref, v.alt))
    vcf.close()
    return rows


def timed(fn, path: str) -> tuple[float, list]:
    times, rows = [], None
    for _ in range(REPS):
        t = time.perf_counter()
        rows = fn(path)
        times.append(time.perf_counter() - t)
    return statistics.median(times), rows


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    path = make_vcf(tempfile.mkdtemp(prefix="bench_vcf_", dir=OUT), N)
    t_ours, a = timed(ours, path)
    t_peer, b = timed(peer, path)
    t_rows, c = timed(peer_as_rows, path)
    assert a == b == c, "the readers disagree"
    res = {
        "records": N,
        "rows": len(a),
        "ours_rows_per_s": len(a) / t_ours,
        "cyvcf2_rows_per_s": len(b) / t_peer,
        "cyvcf2_as_rows_per_s": len(c) / t_rows,
        "ratio": t_peer / t_ours,
        "ratio_as_rows": t_rows / t_ours,
    }
    print(f"{N:,} records ({len(a):,} rows), bgzipped, 2 samples; median of {REPS}")
    print(f"  zoo_tools line reader : {t_ours:6.2f} s  {res['ours_rows_per_s']:,.0f} rows/s")
    print(f"  cyvcf2 (lazy)         : {t_peer:6.2f} s  {res['cyvcf2_rows_per_s']:,.0f} rows/s")
    print(f"  cyvcf2 + zoo rows     : {t_rows:6.2f} s  {res['cyvcf2_as_rows_per_s']:,.0f} rows/s (the 0.2.0 reader)")
    print(f"  ours / cyvcf2         : {res['ratio']:.2f}x")
    print(f"  ours / cyvcf2 + rows  : {res['ratio_as_rows']:.2f}x")
    with open(os.path.join(OUT, "bench_vcf.json"), "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
