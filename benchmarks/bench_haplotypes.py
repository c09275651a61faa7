"""Phased haplotype scoring and calibration throughput, on the same model and genome in one run.

    python benchmarks/bench_haplotypes.py                  # 300 records x 50 samples, 5,000 background SNVs
    N_RECORDS=100 N_SAMPLES=20 N_BACKGROUND=1000 REPS=1 python benchmarks/bench_haplotypes.py

Model: gReLU ConvModel (stem 15 + 2 convs of 5, global average pool, 4 tasks, random weights;
MODELS["conv"] of bench_score.py), 2,000 bp input, loaded through ``zoo_tools.zoo.load_model``.

1. haplotypes: ``HaplotypeScorer`` as ``score_vcf(haplotypes=True)`` builds it (each record's
   reference window predicted once and shared by its rows; identical haplotype windows predicted
   once), vs ``HaplotypeScorer(scorer, share_reference=False)`` (one reference pass per row), on
   the same chunks of rows (listed once, outside the timing); only ``hs.score(chunk)`` is timed.
   Input: a random 2 x 1 Mb genome and a phased, sorted VCF of N_RECORDS SNVs 50-800 bp apart
   (about 5 in every 2 kb window), N_SAMPLES samples with random phased genotypes (allele
   frequency uniform in 0.05-0.5 per record). Also ``score_vcf(haplotypes=True)`` once, end to end.
2. calibration: ``calibrate(model, genome, out, n_random=N_BACKGROUND, seed=0)`` background
   variants/s vs plain ``score_vcf`` of the background VCF it wrote (``OUT.background.vcf``);
   they should be level, since calibration scores through ``score_vcf``.

Medians of REPS (default 3), the two methods alternating in each repetition (the model is warmed
up on a few rows first, the calibration by plain scoring of the phased VCF's records). Results in
bench_out/bench_haplotypes.json.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from synthetic import grelu_checkpoint, random_genome  # noqa: E402

os.environ.setdefault("ZOO_PROGRESS", "0")
warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

N_RECORDS = int(os.environ.get("N_RECORDS", 300))
N_SAMPLES = int(os.environ.get("N_SAMPLES", 50))
N_BACKGROUND = int(os.environ.get("N_BACKGROUND", 5000))
REPS = int(os.environ.get("REPS", 3))
SEQ_LEN = 2000
BATCH = 128
KINDS = ["diff"]
OUT = os.environ.get("BENCH_OUT", "bench_out")

MODEL = dict(
    model_type="ConvModel",
    n_tasks=4,
    stem_channels=32,
    stem_kernel_size=15,
    n_conv=3,
    channel_init=32,
    kernel_size=5,
    final_pool_func="avg",
)


def make_data(folder: str, n_records: int, n_samples: int, seed: int = 1) -> tuple[str, str]:
    """Random genome (2 x 1 Mb, .fai and .sizes) and a sorted phased VCF: ``n_records`` SNVs,
    half per contig, 50-800 bp apart, ``n_samples`` samples with ``a|b`` genotypes drawn per
    haplotype with the record's allele frequency (uniform in 0.05-0.5)."""
    rng = np.random.default_rng(seed)
    sizes = {"chr1": 1_000_000, "chr2": 1_000_000}
    fa, seqs = random_genome(folder, sizes, rng)
    samples = [f"S{i:03d}" for i in range(n_samples)]
    vcf = os.path.join(folder, "phased.vcf")
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={s}>\n" for c, s in sizes.items()))
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n")
        k = 0
        for i, c in enumerate(sizes):
            pos = 20_000
            for _ in range(n_records // 2 + (i < n_records % 2)):
                pos += int(rng.integers(50, 801))
                ref = seqs[c][pos - 1]
                alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
                gt = (rng.random((n_samples, 2)) < rng.uniform(0.05, 0.5)).astype(int)
                calls = "\t".join(f"{a}|{b}" for a, b in gt)
                fh.write(f"{c}\t{pos}\tv{k}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{calls}\n")
                k += 1
    return fa, vcf


def timed(f, *args, **kwargs):
    t = time.perf_counter()
    out = f(*args, **kwargs)
    return time.perf_counter() - t, out


def cpu_timed(f, *args, **kwargs):
    """``(wall s, CPU s of this process's threads, result)``."""
    t, c = time.perf_counter(), time.process_time()
    out = f(*args, **kwargs)
    return time.perf_counter() - t, time.process_time() - c, out


def run_haplotypes(folder: str, model, fa: str, vcf: str) -> dict:
    """Shared reference (ours, the default) vs one reference pass per row, on the same chunks."""
    import pandas as pd

    from zoo_tools.data.genome import Genome
    from zoo_tools.score import score_vcf
    from zoo_tools.score.haplotypes import HaplotypeScorer, haplotype_chunks
    from zoo_tools.score.rows import Run
    from zoo_tools.score.stream import Scorer, scorer_options

    genome = Genome(fa)
    options = scorer_options(model, None, KINDS, 0, True, BATCH, 1.0, True, genome)
    scorer = Scorer(model, genome, **options)
    run = Run(vcf, genome, os.path.join(folder, "haplotypes.tsv"), None, 1024, False)
    ours, chunk_iter = haplotype_chunks(run, scorer, [])
    assert ours.share
    list_s, chunks = timed(list, chunk_iter)
    rows = [r for c in chunks for r in c]
    scored = [r for r in rows if r.status == "ok"]
    unique_haps = len({(r.variant.chrom, r.edits) for r in scored})
    unique_refs = len({(r.variant.chrom, r.variant.pos) for r in scored})
    baseline = HaplotypeScorer(scorer, share_reference=False)
    scorers = {"shared reference (ours)": ours, "reference per row (baseline)": baseline}
    numeric = [c for c in ours.columns if ":" in c]

    def score_all(hs):
        hs.windows = {"rows": 0, "reference": 0, "haplotype": 0}
        return pd.concat([hs.score(c) for c in chunks], ignore_index=True)

    for hs in scorers.values():  # warm-up on a few rows
        hs.score(chunks[0][:64])
    times, cpu, frames = {k: [] for k in scorers}, {k: [] for k in scorers}, {}
    for _ in range(REPS):
        for k, hs in scorers.items():
            t, c, frames[k] = cpu_timed(score_all, hs)
            times[k].append(t)
            cpu[k].append(c)
    windows = {k: dict(hs.windows) for k, hs in scorers.items()}
    a, b = (f[numeric].to_numpy(np.float64) for f in frames.values())
    assert np.allclose(a, b, atol=1e-5, equal_nan=True), np.nanmax(np.abs(a - b))
    max_diff = float(np.nanmax(np.abs(a - b)))
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    n_ok = len(scored)
    e2e_s, e2e = timed(
        score_vcf, model, vcf, genome, os.path.join(folder, "haplotypes_e2e.tsv"), kinds=KINDS, rc=True,
        batch_size=BATCH, haplotypes=True,
    )  # fmt: skip
    assert e2e["haplotypes"] == windows["shared reference (ours)"], (e2e["haplotypes"], windows)
    ratio = med["reference per row (baseline)"] / med["shared reference (ours)"]
    ratio_cpu = med_cpu["reference per row (baseline)"] / med_cpu["shared reference (ours)"]
    print(
        f"\nhaplotypes: {N_RECORDS} records x {N_SAMPLES} samples, {len(rows):,} rows ({n_ok:,} scored, "
        f"{len(chunks)} chunks; listing them {list_s:.2f} s, untimed); {unique_refs} records with scored rows, "
        f"{unique_haps:,} unique haplotype windows ({n_ok / unique_haps:.2f} rows per window); medians of {REPS}:"
    )
    print(
        "| method | rows | reference windows | haplotype windows | s | CPU s | rows/s |\n|---|---|---|---|---|---|---|"
    )
    for k in scorers:
        w = windows[k]
        print(
            f"| {k} | {w['rows']:,} | {w['reference']:,} | {w['haplotype']:,} | {med[k]:.2f} | {med_cpu[k]:.2f} | "
            f"{n_ok / med[k]:.0f} |"
        )
    print(
        f"baseline / ours: {ratio:.2f}x ({ratio_cpu:.2f}x in CPU time); max |diff| of scores {max_diff:.1e}; "
        f"score_vcf(haplotypes=True) end to end {e2e_s:.2f} s ({e2e['rows']:,} rows, {e2e['rows'] / e2e_s:.0f} rows/s)",
        flush=True,
    )
    return {
        "rows": len(rows),
        "rows_scored": n_ok,
        "records_with_scored_rows": unique_refs,
        "unique_haplotype_windows": unique_haps,
        "windows": windows,
        "times": times,
        "median_s": med,
        "cpu_s": cpu,
        "median_cpu_s": med_cpu,
        "rows_per_s": {k: n_ok / v for k, v in med.items()},
        "speedup": ratio,
        "speedup_cpu": ratio_cpu,
        "max_abs_diff": max_diff,
        "score_vcf_s": e2e_s,
        "score_vcf_rows": e2e["rows"],
    }


def run_calibration(folder: str, model, fa: str, vcf: str) -> dict:
    """``calibrate`` background variants/s vs plain ``score_vcf`` of the same background VCF
    (after a warm-up: plain ``score_vcf`` of ``vcf``, the first run of the local patch)."""
    from zoo_tools.data.genome import Genome
    from zoo_tools.score import score_vcf
    from zoo_tools.score.calibrate import calibrate

    genome = Genome(fa)
    out = os.path.join(folder, "calibration.parquet")
    background = os.path.join(folder, "calibration.background.vcf")
    opts = dict(kinds=KINDS, rc=True, batch_size=BATCH)

    def cal():
        return calibrate(model, genome, out, n_random=N_BACKGROUND, seed=0, **opts)

    def plain():
        t, c, res = cpu_timed(
            score_vcf, model, background, genome, os.path.join(folder, "background_scores.tsv"), **opts
        )
        return dict(seconds=t, cpu_s=c, variants_per_s=res["rows"] / t, rows=res["rows"])

    score_vcf(model, vcf, genome, os.path.join(folder, "warm_up.tsv"), **opts)
    runs = {"calibrate (background scoring)": [], "score_vcf of the same VCF": []}
    totals = []
    for _ in range(REPS):
        t, c, res = cpu_timed(cal)  # CPU s of the whole call (drawing, scoring, writing)
        runs["calibrate (background scoring)"].append(dict(res, cpu_s=c))
        totals.append(t)
        runs["score_vcf of the same VCF"].append(plain())  # the VCF calibrate() just wrote
    n = runs["score_vcf of the same VCF"][0]["rows"]
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    vps = {k: statistics.median(r["variants_per_s"] for r in v) for k, v in runs.items()}
    ratio = vps["calibrate (background scoring)"] / vps["score_vcf of the same VCF"]
    print(f"\ncalibration: {N_BACKGROUND:,} random SNVs (seed 0), {n:,} rows; medians of {REPS}:")
    cpu = {k: statistics.median(r["cpu_s"] for r in v) for k, v in runs.items()}
    print("| method | s | variants/s | CPU s |\n|---|---|---|---|")
    for k in runs:
        print(f"| {k} | {med[k]:.2f} | {vps[k]:.0f} | {cpu[k]:.2f} |")
    print(
        f"calibrate / score_vcf variants/s: {ratio:.2f}; calibrate() total incl. drawing the background and "
        f"writing the calibration: {statistics.median(totals):.2f} s (CPU s: of the whole call for calibrate)",
        flush=True,
    )
    return {
        "rows": n,
        "median_s": med,
        "variants_per_s": vps,
        "ratio": ratio,
        "calibrate_total_s": totals,
        "median_cpu_s": cpu,
        "scored_s": {k: [r["seconds"] for r in v] for k, v in runs.items()},
    }


def main() -> None:
    from zoo_tools.zoo import load_model

    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="bench_haplotypes_", dir=OUT)
    fa, vcf = make_data(folder, N_RECORDS, N_SAMPLES)
    ckpt = grelu_checkpoint(os.path.join(folder, "conv.ckpt"), MODEL, SEQ_LEN, 4)
    model = load_model(f"local:{ckpt}")
    print(f"conv: {sum(p.numel() for p in model.parameters()):,} parameters, {SEQ_LEN} bp", flush=True)
    res = {"haplotypes": run_haplotypes(folder, model, fa, vcf), "calibration": run_calibration(folder, model, fa, vcf)}
    summary = {
        "haplotypes_speedup": res["haplotypes"]["speedup"],
        "calibration_vs_score_vcf": res["calibration"]["ratio"],
    }
    print("SUMMARY " + json.dumps(summary))
    with open(os.path.join(OUT, "bench_haplotypes.json"), "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
