"""Track binning: windows/s of zoo_tools.data.tracks.read_binned vs per-window pyBigWig values() +
reshape and vs gReLU's grelu.io.bigwig.read_bigwig, on the same 10,000 x 2,048 bp windows and
32 bp bins, in one run: random windows (sparse: per-window path) and overlapping tiles (dense:
span path). Checks agreement (max abs diff < 1e-5) and prints the ratios.

    python benchmarks/bench_tracks.py          # REPS=3 by default; BENCH_CONTIG_MB=10 for a quick run
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import synthetic  # noqa: E402

os.environ.setdefault("ZOO_PROGRESS", "0")
REPS = int(os.environ.get("REPS", 3))
BIN = 32


def ours(path, iv):
    from zoo_tools.data.tracks import read_binned

    return read_binned([path], iv, BIN, progress=False)[:, 0]


def pybigwig_values(path, iv):
    import pyBigWig

    out = np.empty((len(iv), synthetic.WINDOW // BIN), np.float32)
    with pyBigWig.open(path) as bw:
        for k, (c, s, e) in enumerate(zip(iv.chrom, iv.start, iv.end)):
            out[k] = np.nan_to_num(bw.values(c, int(s), int(e), numpy=True)).reshape(-1, BIN).mean(1)
    return out


def grelu(path, iv):
    from grelu.io.bigwig import read_bigwig

    return np.nan_to_num(read_bigwig(iv, path, bin_size=BIN, aggfunc="mean"))[:, 0]


def run(paths, iv, label: str) -> dict:
    methods = {"zoo_tools read_binned": ours, "pyBigWig values()+reshape": pybigwig_values, "gReLU read_bigwig": grelu}
    times = {k: [] for k in methods}
    results = {}
    for rep in range(REPS):
        for name, fn in methods.items():
            t = time.perf_counter()
            results[name] = fn(paths["bigwig"], iv)
            times[name].append(time.perf_counter() - t)
            print(f"{label} rep {rep} {name}: {times[name][-1]:.2f}s", flush=True)
    ref = results["pyBigWig values()+reshape"]
    base = statistics.median(times["pyBigWig values()+reshape"])
    print(
        f"\n{label}: {len(iv):,} windows x {synthetic.WINDOW} bp, {BIN} bp bins, genome 3 x "
        f"{synthetic.CONTIG_MB} Mb, median of {REPS}"
    )
    print("| method | median s | windows/s | vs per-window values() | max abs diff |")
    print("|---|---|---|---|---|")
    summary = {}
    for name in methods:
        med = statistics.median(times[name])
        diff = float(np.abs(results[name] - ref).max())
        summary[name] = dict(median_s=med, windows_per_s=len(iv) / med, ratio=base / med, max_abs_diff=diff)
        print(f"| {name} | {med:.3f} | {len(iv) / med:,.0f} | {base / med:.1f}x | {diff:.1e} |")
        assert diff < 1e-5, f"{name} disagrees with pyBigWig: {diff}"
    ours_s = summary["zoo_tools read_binned"]["median_s"]
    print(
        f"{label}: zoo_tools / per-window values(): {base / ours_s:.1f}x; zoo_tools / gReLU: "
        f"{summary['gReLU read_bigwig']['median_s'] / ours_s:.1f}x\n",
        flush=True,
    )
    return summary


def main() -> None:
    import pandas as pd

    paths = synthetic.make()
    random_windows = synthetic.windows(paths)
    starts = np.arange(len(random_windows)) * 1024  # overlapping tiles of the first contig
    tiled = pd.DataFrame({"chrom": "chr1", "start": starts, "end": starts + synthetic.WINDOW})
    summary = {
        "random windows": run(paths, random_windows, "random windows"),
        "tiled windows (stride 1 kb)": run(paths, tiled, "tiled windows (stride 1 kb)"),
    }
    with open(os.path.join(synthetic.OUT, "bench_tracks.json"), "w") as fh:
        json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
