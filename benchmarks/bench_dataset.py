"""Training examples/s including the build: zoo_tools SeqTrackDataset (+ batch_loader) vs gReLU's
BigWigSeqDataset (+ a DataLoader), on the same 10,000 x 2,048 bp windows, one bigWig, 32 bp
mean bins, batch 64, one shuffled epoch, in one run. Checks that both serve the same examples.

    python benchmarks/bench_dataset.py        # REPS=3; BENCH_CONTIG_MB=10 for a quick run
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))
import synthetic  # noqa: E402

os.environ.setdefault("ZOO_PROGRESS", "0")
warnings.filterwarnings("ignore")
REPS = int(os.environ.get("REPS", 3))
BIN, BATCH = 32, 64


def build_ours(paths, iv):
    from zoo_tools.data.datasets import SeqTrackDataset
    from zoo_tools.data.genome import Genome

    return SeqTrackDataset.from_tracks(Genome(paths["fasta"]), iv, [paths["bigwig"]], bin_size=BIN)


def epoch_ours(ds):
    from zoo_tools.data.datasets import batch_loader

    n = 0
    for x, _ in batch_loader(ds, BATCH, shuffle=True, seed=0):
        n += x.shape[0]
    return n


def build_grelu(paths, iv):
    from grelu.data.dataset import BigWigSeqDataset

    return BigWigSeqDataset(
        intervals=iv,
        bw_files=[paths["bigwig"]],
        seq_len=synthetic.WINDOW,
        genome=paths["fasta"],
        label_aggfunc="mean",
        bin_size=BIN,
    )


def epoch_grelu(ds):
    from torch.utils.data import DataLoader

    n = 0
    for x, _ in DataLoader(ds, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0)):
        n += x.shape[0]
    return n


def main() -> None:
    paths = synthetic.make()
    iv = synthetic.windows(paths)
    runs = {"zoo_tools SeqTrackDataset": (build_ours, epoch_ours), "gReLU BigWigSeqDataset": (build_grelu, epoch_grelu)}
    build_t = {k: [] for k in runs}
    epoch_t = {k: [] for k in runs}
    datasets = {}
    for rep in range(REPS):
        for name, (build, epoch) in runs.items():
            datasets.pop(name, None)
            t = time.perf_counter()
            datasets[name] = build(paths, iv)
            build_t[name].append(time.perf_counter() - t)
            t = time.perf_counter()
            n = epoch(datasets[name])
            epoch_t[name].append(time.perf_counter() - t)
            assert n == len(iv)
            print(f"rep {rep} {name}: build {build_t[name][-1]:.2f}s, epoch {epoch_t[name][-1]:.2f}s", flush=True)
    ours, theirs = datasets["zoo_tools SeqTrackDataset"], datasets["gReLU BigWigSeqDataset"]
    dx = dy = 0.0
    for i in range(0, len(iv), 97):
        gx, gy = theirs[i]
        ox, oy = ours[i]
        dx = max(dx, float((gx.float() - ox).abs().max()))
        dy = max(dy, float((gy - oy).abs().max()))
    print(f"\nagreement on every 97th example: max|dx| = {dx:.1e}, max|dy| = {dy:.1e}")
    assert dx == 0 and dy < 1e-5
    print(f"{len(iv):,} windows x {synthetic.WINDOW} bp, batch {BATCH}, median of {REPS}")
    print("| dataset | build s | epoch s | examples/s (epoch) | examples/s incl. build |")
    print("|---|---|---|---|---|")
    summary = {}
    for name in runs:
        b, e = statistics.median(build_t[name]), statistics.median(epoch_t[name])
        summary[name] = dict(build_s=b, epoch_s=e, ex_per_s=len(iv) / e, ex_per_s_incl_build=len(iv) / (b + e))
        print(f"| {name} | {b:.2f} | {e:.2f} | {len(iv) / e:,.0f} | {len(iv) / (b + e):,.0f} |")
    ours, peer = summary["zoo_tools SeqTrackDataset"], summary["gReLU BigWigSeqDataset"]
    ratio = ours["ex_per_s_incl_build"] / peer["ex_per_s_incl_build"]
    print(f"\nzoo_tools / gReLU, examples/s including the build: {ratio:.1f}x")
    with open(os.path.join(synthetic.OUT, "bench_dataset.json"), "w") as fh:
        json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
