"""In-silico mutagenesis: `zoo interpret ism`'s path vs gReLU's ISM_predict and tangermeme's
saturation_mutagenesis (default, and its fast path forced), same model and sequence, one run.

    python benchmarks/bench_ism.py                 # all three models, medians of 3
    python benchmarks/bench_ism.py grelu_conv      # one model

Models (random weights unless said):
- grelu_conv: the peer baseline's model (../shared/peer-baselines/bench_ism.py): gReLU ConvModel,
  stem 64 x 21, 7 dilated residual convolutions, global average pool, 1 task, 1,000 bp.
- demo: `demo:base` (1,024 bp, 182 tracks x 32 bins; trained), all tasks, all bins.
- bpnet: bpnet-lite BPNet (64 filters, 6 dilated layers, 2 strands; 1,000 bp in, 654 bp of
  profile out); gReLU's ISM_predict only takes gReLU models, so this one is ours vs tangermeme.

Every method explains the same function (zoo_tools' `Explained`: the mean over bins of each
task's output) and its result is compared with ours (max abs diff). mutants/s counts the 3 L
single-base substitutions (gReLU also runs the L identity "mutants"; that is part of its cost).
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
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from synthetic import grelu_checkpoint  # noqa: E402

os.environ.setdefault("ZOO_PROGRESS", "0")
warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

REPS = int(os.environ.get("REPS", 3))
OUT = os.environ.get("BENCH_OUT", "bench_out")
BS = 256
# a dilated residual ConvModel: 64-channel stem (k 21), 7 convs (k 3, dilation 1, 2, 4, ...), avg pool
GRELU_CONV = {"model_type": "ConvModel", "n_tasks": 1, "stem_channels": 64, "stem_kernel_size": 21, "n_conv": 7}
GRELU_CONV.update(
    channel_init=64, kernel_size=3, dilation_init=1, dilation_mult=2, residual=True, final_pool_func="avg"
)


def setup(name: str, folder: str):
    """(zoo model, gReLU LightningModel or None, sequence length)."""
    from zoo_tools.zoo import load_model

    if name == "grelu_conv":
        ckpt = grelu_checkpoint(os.path.join(folder, "conv.ckpt"), GRELU_CONV, 1000, 1)
        return load_model(f"local:{ckpt}"), ckpt, 1000
    if name == "demo":
        from zoo_tools.zoo.demo_model import ensure_demo_model

        model = load_model("demo:base")
        return model, ensure_demo_model(), model.card.seq_len
    if name == "bpnet":
        from bpnetlite import BPNet

        torch.manual_seed(0)
        # 6 dilated layers: receptive-field trimming 10 + (2 + 4 + ... + 64) + 37 = 173 bp each side
        net = BPNet(n_filters=64, n_layers=6, n_outputs=2, n_control_tracks=0, trimming=173, verbose=False).eval()
        with torch.no_grad():  # random weights give log counts < 0, i.e. 0 reads everywhere: shift to ~20 reads
            net.linear.bias.fill_(3.0)
        path = os.path.join(folder, "bpnet.torch")
        torch.save(net, path)
        return load_model(f"bpnet:{path}", seq_len=1000, trust=True), None, 1000
    raise SystemExit(f"unknown model {name}")


def run(name: str, folder: str) -> dict:
    import tangermeme.saturation_mutagenesis as tsm
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    from zoo_tools.interpret import explain, ism
    from zoo_tools.zoo.sources.grelu import grelu_side_effects_contained

    model, ckpt, L = setup(name, folder)
    e = explain(model)
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), L))
    x = torch.zeros(1, 4, L)
    x[0, ["ACGT".index(c) for c in seq], np.arange(L)] = 1
    n_mut = 3 * L
    lm = None
    if ckpt:
        from grelu.lightning import LightningModel

        lm = LightningModel.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False).eval()

    def ours():
        return ism(e, x, batch_size=BS, progress=False)[0]  # (4, L, T)

    def grelu():
        from grelu.interpret.score import ISM_predict

        with grelu_side_effects_contained():
            p = ISM_predict(
                [seq], lm, devices="cpu", num_workers=0, batch_size=BS, compare_func="subtract", return_df=False
            )
        p = np.asarray(p).reshape(L, 4, -1, model.card.n_bins)[..., e.bins[0] : e.bins[1]].mean(-1)
        return p.transpose(1, 0, 2)[..., e.task_idx]

    def tangermeme(force: bool):
        def go():
            old = tsm._FAST_MIN_SECONDS
            tsm._FAST_MIN_SECONDS = 0.0 if force else old
            try:
                y0, y = saturation_mutagenesis(e, x, batch_size=BS, device="cpu", raw_outputs=True, fast=True)
            finally:
                tsm._FAST_MIN_SECONDS = old
            return (y[0] - y0[0][None, None]).numpy()  # (4, L, T)

        return go

    methods = {
        "zoo_tools": ours,
        "tangermeme (default)": tangermeme(False),
        "tangermeme (fast path forced)": tangermeme(True),
    }
    if lm is not None:
        methods["gReLU ISM_predict"] = grelu
    results, times = {}, {k: [] for k in methods}
    for k, f in methods.items():  # warm-up, and the result compared
        results[k] = f()
    for _ in range(REPS):
        for k, f in methods.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{name}: {L} bp, {len(e.task_idx)} task(s), {n_mut} mutants, medians of {REPS}:")
    print("| method | s | mutants/s | zoo_tools speed-up | max abs diff vs zoo_tools |\n|---|---|---|---|---|")
    diffs = {}
    for k in methods:
        diffs[k] = float(np.abs(results[k] - results["zoo_tools"]).max())
        print(f"| {k} | {med[k]:.2f} | {n_mut / med[k]:.0f} | {med[k] / med['zoo_tools']:.2f}x | {diffs[k]:.1e} |")
    print(f"scale of the effects: max |effect| {float(np.abs(results['zoo_tools']).max()):.2e}", flush=True)
    return {
        "median_s": med,
        "times": times,
        "mutants_per_s": {k: n_mut / v for k, v in med.items()},
        "max_abs_diff": diffs,
    }


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="bench_ism_", dir=OUT)
    which = sys.argv[1:] or ["grelu_conv", "demo", "bpnet"]
    res = {name: run(name, folder) for name in which}
    with open(os.path.join(OUT, "bench_ism.json"), "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
