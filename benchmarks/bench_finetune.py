"""Embedding cache: seconds per epoch of the same frozen-trunk recipe with the trunk embeddings
cached vs recomputed every step, in one run, and the final validation / test metrics of both.

    python benchmarks/bench_finetune.py [KEY=VALUE ...]   # recipes/multitask_encode.yaml on the demo world
Target (issue 4): >= 10x faster per epoch with the same metrics within noise.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("ZOO_PROGRESS", "0")
RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")
OUT = os.environ.get("BENCH_OUT", "bench_out")


def main() -> None:
    from zoo_tools.train import finetune, load_recipe
    from zoo_tools.zoo.cache import zoo_home

    # the recipe as shipped, trunk frozen; extra KEY=VALUE arguments are recipe overrides
    sets = ["train.freeze_trunk=true", "train.patience=1000"] + sys.argv[1:]
    shutil.rmtree(zoo_home() / "embeddings", ignore_errors=True)  # time the cache build too
    results = {}
    for mode in ("on", "off"):
        out = tempfile.mkdtemp(prefix=f"bench_ft_{mode}_", dir=OUT)
        m = finetune(load_recipe(RECIPE, sets + [f"train.embedding_cache={mode}"]), out).to_dict()
        results[mode] = {
            "seconds_per_epoch": m["seconds_per_epoch"],
            "fit_seconds": m["fit_seconds"],
            "total_seconds": m["total_seconds"],
            "val": m["val"]["mean"],
            "test": m["test"]["mean"],
        }
        print(
            f"cache {mode}: {m['seconds_per_epoch']:.3f} s/epoch (fit {m['fit_seconds']:.1f} s, total "
            f"{m['total_seconds']:.1f} s incl. data and embedding cache), val Pearson "
            f"{m['val']['mean']['pearson']:.3f}, test Pearson {m['test']['mean']['pearson']:.3f}",
            flush=True,
        )
        shutil.rmtree(out)
    ratio = results["off"]["seconds_per_epoch"] / results["on"]["seconds_per_epoch"]
    print("\n| embedding cache | s/epoch | fit s | total s | val Pearson | val Pearson log1p | test Pearson |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        print(
            f"| {mode} | {r['seconds_per_epoch']:.3f} | {r['fit_seconds']:.1f} | {r['total_seconds']:.1f} | "
            f"{r['val']['pearson']:.3f} | {r['val']['pearson_log1p']:.3f} | {r['test']['pearson']:.3f} |"
        )
    print(f"\ncache / recompute: {ratio:.1f}x faster per epoch (target >= 10x)")
    results["ratio"] = ratio
    with open(os.path.join(OUT, "bench_finetune.json"), "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    main()
