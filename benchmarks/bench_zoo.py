"""Model zoo overhead and prediction throughput, ours vs the native libraries, in one run.

1. Full-size Enformer (196,608 bp, batch 1, CPU, random weights, official hyper-parameters): one
   forward through ``load_model("enformer:DIR")``'s ZooModel vs ``enformer_pytorch.Enformer``
   directly on the same weights and input. Each measurement runs in its own process so that peak
   RSS is that of the forward alone. Target: time ratio <= 1.05. Also ``predict(precision="bf16")``
   time, peak RSS and error against fp32.
2. The demo model (``demo:base``): ``ZooModel.predict`` sequences/s vs gReLU's
   ``LightningModel.predict_on_seqs`` on the same 512 sequences (outputs compared).

    python benchmarks/bench_zoo.py            # REPS=2 (Enformer forwards take ~40 s each)
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPS = int(os.environ.get("REPS", 2))
OUT = os.environ.get("BENCH_OUT", "bench_out")
L = 196_608


def one_hot_input(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (1, L), generator=g)
    return torch.nn.functional.one_hot(idx, 4).float().transpose(1, 2).contiguous()


def child(kind: str, folder: str) -> None:
    """Run one forward in this process; print JSON with seconds, peak RSS and an output digest."""
    torch.manual_seed(0)
    x = one_hot_input()
    if kind == "native":
        from enformer_pytorch import Enformer

        model = Enformer.from_pretrained(folder).eval()
        t = time.perf_counter()
        with torch.no_grad():
            y = model(x.transpose(1, 2))["human"].transpose(1, 2)
    else:
        from zoo_tools.zoo import load_model

        model = load_model(f"enformer:{folder}")
        t = time.perf_counter()
        y = torch.from_numpy(
            model.predict(x, batch_size=1, precision="bf16" if kind == "zoo_bf16" else "fp32", progress=False)
        )
    seconds = time.perf_counter() - t
    np.save(os.path.join(folder, f"out_{kind}.npy"), y.numpy())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"kind": kind, "seconds": seconds, "peak_rss_gib": rss}))


def run_child(kind: str, folder: str) -> dict:
    res = subprocess.run(
        [sys.executable, __file__, "--child", kind, folder],
        capture_output=True,
        text=True,
        env={**os.environ, "ZOO_PROGRESS": "0"},
    )
    if res.returncode:
        raise SystemExit(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def enformer_part() -> dict:
    from enformer_pytorch import Enformer, EnformerConfig

    folder = tempfile.mkdtemp(prefix="bench_enformer_", dir=OUT)
    torch.manual_seed(0)
    model = Enformer(EnformerConfig())
    n_params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder, safe_serialization=False)
    del model
    runs = {k: [] for k in ("native", "zoo", "zoo_bf16")}
    for rep in range(REPS):
        for kind in runs:
            if kind == "zoo_bf16" and rep:
                continue  # one bf16 run is enough for its error and memory
            r = run_child(kind, folder)
            runs[kind].append(r)
            print(f"rep {rep} {kind}: {r['seconds']:.1f}s, peak RSS {r['peak_rss_gib']:.2f} GiB", flush=True)
    outs = {k: np.load(os.path.join(folder, f"out_{k}.npy")) for k in runs}
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    rss = {k: max(r["peak_rss_gib"] for r in v) for k, v in runs.items()}
    rel = np.abs(outs["zoo_bf16"] - outs["native"]) / (np.abs(outs["native"]) + 1e-6)
    summary = dict(
        params=n_params,
        median_s=med,
        peak_rss_gib=rss,
        ratio_zoo_vs_native=med["zoo"] / med["native"],
        max_abs_diff_fp32=float(np.abs(outs["zoo"] - outs["native"]).max()),
        bf16_median_rel_err=float(np.median(rel)),
        bf16_p99_rel_err=float(np.quantile(rel, 0.99)),
    )
    print(f"\nEnformer full size ({n_params / 1e6:.1f}M params), 196,608 bp, batch 1, CPU, median of {REPS}")
    print("| path | seconds | peak RSS GiB |")
    print("|---|---|---|")
    for k in runs:
        print(f"| {k} | {med[k]:.1f} | {rss[k]:.2f} |")
    print(
        f"zoo / native time ratio: {summary['ratio_zoo_vs_native']:.3f} (target <= 1.05); fp32 max abs diff "
        f"{summary['max_abs_diff_fp32']:.1e}; bf16 median relative error {summary['bf16_median_rel_err']:.2%}"
    )
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    os.rmdir(folder)
    return summary


def demo_part(n: int = 512) -> dict:
    from grelu.lightning import LightningModel

    from zoo_tools.data.genome import decode
    from zoo_tools.zoo import load_model

    model = load_model("demo:base")
    g = torch.Generator().manual_seed(1)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (n, 1024), generator=g), 4).float().transpose(1, 2)
    seqs = decode(x.numpy())
    native = LightningModel.load_from_checkpoint(model.card.weights, map_location="cpu", weights_only=False).eval()
    times = {"zoo_tools ZooModel.predict": [], "gReLU predict_on_seqs": []}
    precision = torch.get_float32_matmul_precision()
    for _ in range(REPS + 1):
        t = time.perf_counter()
        ours = model.predict(x, batch_size=128, progress=False)
        times["zoo_tools ZooModel.predict"].append(time.perf_counter() - t)
        t = time.perf_counter()
        theirs = np.concatenate([native.predict_on_seqs(seqs[i : i + 128]) for i in range(0, n, 128)])
        times["gReLU predict_on_seqs"].append(time.perf_counter() - t)
        torch.set_float32_matmul_precision(precision)  # gReLU changes it process-wide
    med = {k: statistics.median(v[1:]) for k, v in times.items()}  # first rep warms up
    diff = float(np.abs(ours - theirs).max())
    print(f"\ndemo:base, {n} sequences x 1,024 bp, batch 128, median of {REPS}")
    print("| path | seconds | sequences/s |")
    print("|---|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v:.2f} | {n / v:,.0f} |")
    ratio = med["gReLU predict_on_seqs"] / med["zoo_tools ZooModel.predict"]
    print(f"zoo_tools / gReLU: {ratio:.2f}x; max abs diff {diff:.1e}")
    return dict(median_s=med, ratio=ratio, max_abs_diff=diff)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    summary = {"demo": demo_part()}
    if os.environ.get("BENCH_SKIP_ENFORMER") != "1":
        summary["enformer"] = enformer_part()
    with open(os.path.join(OUT, "bench_zoo.json"), "w") as fh:
        json.dump(summary, fh, indent=1, default=str)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
