"""Variant-effect scoring: `zoo score-variants`' path vs gReLU's predict_variant_effects vs the pure
forward passes of the same windows, on the same model and VCF, in one run.

    python benchmarks/bench_score.py            # 5,000 SNVs, 2,000 bp windows, RC on everywhere
    N_VARIANTS=1000 python benchmarks/bench_score.py

Two models (random weights, 4 tasks, as in ../shared/peer-baselines/bench_variant.py):
- conv: gReLU ConvModel (stem 15 + 2 convs of 5, global average pool). Target: >= 2x gReLU.
- attention: gReLU ConvTransformerModel (a conv block pooling to 200 positions, then a transformer
  layer: every output sees the whole window, so there is no local saving).
  Target: total time <= 1.1x the pure forward time.

Every method starts from the VCF path. "pure forward" runs the model on pre-built one-hot tensors
of every window the scoring needs (ref + alt, both strands): the cost of scoring by full passes
with zero overhead.
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
import pandas as pd
import torch

sys.path.insert(0, os.path.dirname(__file__))
from synthetic import grelu_checkpoint  # noqa: E402

os.environ.setdefault("ZOO_PROGRESS", "0")
warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

N = int(os.environ.get("N_VARIANTS", 5000))
REPS = int(os.environ.get("REPS", 3))
SEQ_LEN = 2000
OUT = os.environ.get("BENCH_OUT", "bench_out")


def make_data(folder: str, n: int, seed: int = 1) -> tuple[str, str]:
    """Random genome (2 x 2 Mb) with .fai and .sizes, and a VCF of n SNVs away from the ends."""
    import pyfaidx

    rng = np.random.default_rng(seed)
    fa = os.path.join(folder, "genome.fa")
    sizes = {"chr1": 2_000_000, "chr2": 2_000_000}
    seqs = {}
    with open(fa, "w") as fh:
        for c, size in sizes.items():
            s = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes().decode()
            seqs[c] = s
            fh.write(f">{c}\n" + "\n".join(s[i : i + 60] for i in range(0, size, 60)) + "\n")
    pyfaidx.Faidx(fa).close()
    with open(fa + ".sizes", "w") as fh:
        fh.write("".join(f"{c}\t{size}\n" for c, size in sizes.items()))
    rows = []
    for i in range(n):
        c = "chr1" if i % 2 == 0 else "chr2"
        pos = int(rng.integers(5_000, sizes[c] - 5_000))
        ref = seqs[c][pos - 1]
        rows.append((c, pos, ref, "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]))
    rows.sort()
    vcf = os.path.join(folder, "snvs.vcf")
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={s}>\n" for c, s in sizes.items()))
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        fh.writelines(f"{c}\t{p}\tv{k}\t{r}\t{a}\t.\tPASS\t.\n" for k, (c, p, r, a) in enumerate(rows))
    return fa, vcf


MODELS = {
    "conv": dict(
        model_type="ConvModel",
        n_tasks=4,
        stem_channels=32,
        stem_kernel_size=15,
        n_conv=3,
        channel_init=32,
        kernel_size=5,
        final_pool_func="avg",
    ),
    "attention": dict(
        model_type="ConvTransformerModel",
        n_tasks=4,
        stem_channels=16,
        stem_kernel_size=15,
        n_conv=2,
        channel_init=16,
        n_transformers=1,
        n_heads=2,
        key_len=8,
        final_pool_func="avg",
        pool_func="max",
        pool_size=10,
    ),
}


def run(name: str, folder: str, fa: str, vcf: str) -> dict:
    from grelu.lightning import LightningModel
    from grelu.variant import predict_variant_effects

    from zoo_tools.data.genome import Genome
    from zoo_tools.data.onehot import codes_to_tensor
    from zoo_tools.data.variants import read_variants
    from zoo_tools.score import read_scores, score_vcf
    from zoo_tools.score.patch import LocalPatch
    from zoo_tools.score.windows import allele_windows, centre_index
    from zoo_tools.zoo import load_model
    from zoo_tools.zoo.sources.grelu import grelu_side_effects_contained

    ckpt = grelu_checkpoint(os.path.join(folder, f"{name}.ckpt"), MODELS[name], SEQ_LEN, 4)
    native = LightningModel.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False).eval()
    model = load_model(f"local:{ckpt}")
    print(
        f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters; local patch: "
        f"{LocalPatch.probe(model, SEQ_LEN) is not None}",
        flush=True,
    )

    def ours(fast=True):
        out = os.path.join(folder, f"{name}_scores.tsv")
        score_vcf(load_model(f"local:{ckpt}"), vcf, Genome(fa), out, kinds=["diff"], rc=True, batch_size=128, fast=fast)
        return read_scores(out)[[f"task{i}:diff" for i in range(4)]].to_numpy()

    def grelu():
        from cyvcf2 import VCF

        df = pd.DataFrame([(v.CHROM, v.POS, v.REF, v.ALT[0]) for v in VCF(vcf)], columns=["chrom", "pos", "ref", "alt"])
        with grelu_side_effects_contained():  # else gReLU leaves fp32 matmuls in bf16 for what runs after it
            y = predict_variant_effects(
                df,
                native,
                devices="cpu",
                seq_len=SEQ_LEN,
                genome=os.path.abspath(fa),
                rc=True,
                batch_size=128,
                num_workers=0,
                compare_func="subtract",
                return_ad=False,
            )
        return np.asarray(y).reshape(len(df), 4, -1).mean(-1)

    g = Genome(fa)
    var = read_variants(vcf, g)
    from zoo_tools.data.variants import Variant

    vs = [Variant(**r) for r in var.to_dict("records")]
    ref, alt = allele_windows(g, vs, SEQ_LEN, centre_index(SEQ_LEN))
    x = codes_to_tensor(np.concatenate([ref, alt]))
    xs = torch.cat([x, x.flip((-2, -1))])  # every window scoring needs: ref + alt, both strands

    def forward_only():
        with torch.no_grad():
            for i in range(0, len(xs), 128):
                model(xs[i : i + 128])
        return None

    methods = {
        "zoo_tools": ours,
        "zoo_tools --no-patch": lambda: ours(False),
        "gReLU": grelu,
        "pure forward": forward_only,
    }
    results, times = {}, {k: [] for k in methods}
    for k, f in methods.items():  # warm-up, and the values compared below
        results[k] = f()
    for _ in range(REPS):
        for k, f in methods.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    diff = float(np.abs(results["zoo_tools"] - results["gReLU"]).max())
    diff_np = float(np.abs(results["zoo_tools"] - results["zoo_tools --no-patch"]).max())
    print(f"\n{name} model, {N} SNVs, {SEQ_LEN} bp, RC on, medians of {REPS}:")
    print("| method | s | variants/s | time / pure forward |\n|---|---|---|---|")
    for k in methods:
        print(f"| {k} | {med[k]:.2f} | {N / med[k]:.0f} | {med[k] / med['pure forward']:.2f} |")
    print(
        f"zoo_tools vs gReLU: {med['gReLU'] / med['zoo_tools']:.2f}x faster; max |diff| of scores {diff:.1e} "
        f"(patched vs full passes {diff_np:.1e})",
        flush=True,
    )
    return {
        "median_s": med,
        "times": times,
        "speedup_vs_grelu": med["gReLU"] / med["zoo_tools"],
        "ratio_to_forward": med["zoo_tools"] / med["pure forward"],
        "max_abs_diff_vs_grelu": diff,
    }


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="bench_score_", dir=OUT)
    fa, vcf = make_data(folder, N)
    which = sys.argv[1:] or list(MODELS)
    res = {name: run(name, folder, fa, vcf) for name in which}
    with open(os.path.join(OUT, "bench_score.json"), "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
