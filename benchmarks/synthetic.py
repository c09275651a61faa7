"""Synthetic benchmark inputs (cached in bench_out/data): a random genome FASTA, a bigWig of
piecewise-constant runs (10-50 bp, 30% zero, some uncovered), and N random windows.

Sizes follow ../shared/peer-baselines (3 contigs x 50 Mb, 10,000 x 2,048 bp windows); set
BENCH_CONTIG_MB to shrink them for a quick run.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

OUT = os.environ.get("BENCH_OUT", "bench_out")
CONTIG_MB = int(os.environ.get("BENCH_CONTIG_MB", 50))
N_WINDOWS = int(os.environ.get("BENCH_WINDOWS", 10_000))
WINDOW = 2048


def make(seed: int = 2) -> dict[str, str]:
    """Create (once) and return paths: fasta, bigwig, windows (TSV chrom/start/end)."""
    import pyBigWig
    import pyfaidx

    d = os.path.join(OUT, f"data_{CONTIG_MB}mb_{N_WINDOWS}")
    paths = dict(fasta=f"{d}/genome.fa", bigwig=f"{d}/signal.bw", windows=f"{d}/windows.tsv")
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = [(f"chr{i}", CONTIG_MB * 1_000_000) for i in (1, 2, 3)]
    bw = pyBigWig.open(paths["bigwig"], "w")
    bw.addHeader(sizes, maxZooms=10)
    for c, n in sizes:
        ends = np.cumsum(rng.integers(10, 51, size=n // 10))
        ends = np.append(ends[ends < n], n).astype(np.int64)
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        vals = rng.gamma(0.5, 2.0, size=len(starts))
        vals[rng.random(len(vals)) < 0.3] = 0.0
        keep = rng.random(len(vals)) > 0.05  # 5% of runs uncovered (NaN in the bigWig)
        bw.addEntries(
            [c] * int(keep.sum()), starts[keep].tolist(), ends=ends[keep].tolist(), values=vals[keep].tolist()
        )
    bw.close()
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(paths["fasta"], "wb") as fh:
        for c, n in sizes:
            fh.write(f">{c}\n".encode())
            s = letters[rng.integers(0, 4, n)].reshape(-1, 50)
            fh.write(np.concatenate([s, np.full((len(s), 1), ord("\n"), np.uint8)], 1).tobytes())
    pyfaidx.Faidx(paths["fasta"]).close()
    with open(paths["fasta"] + ".sizes", "w") as fh:
        fh.writelines(f"{c}\t{n}\n" for c, n in sizes)
    ci = rng.integers(0, 3, N_WINDOWS)
    st = np.array([rng.integers(0, sizes[i][1] - WINDOW) for i in ci])
    pd.DataFrame({"chrom": [sizes[i][0] for i in ci], "start": st, "end": st + WINDOW}).to_csv(
        paths["windows"], sep="\t", index=False, header=False
    )
    return paths


def windows(paths: dict[str, str]) -> pd.DataFrame:
    return pd.read_csv(paths["windows"], sep="\t", header=None, names=["chrom", "start", "end"])


def grelu_checkpoint(path: str, model_params: dict, seq_len: int, n_tasks: int) -> str:
    """A gReLU checkpoint (as Lightning writes it, random weights, seed 0) that both gReLU and
    zoo_tools load; ``seq_len`` bp input, ``n_tasks`` tasks named task0, task1, ..."""
    import lightning
    import torch
    from grelu.lightning import LightningModel

    torch.manual_seed(0)
    lm = LightningModel(model_params=model_params, train_params={"task": "regression", "loss": "mse"})
    iv = {"chrom": ["chr1"], "start": [0], "end": [seq_len]}
    split = {"seq_len": seq_len, "bin_size": 1, "label_len": seq_len, "genome": "hg38", "intervals": iv}
    tasks = {"name": [f"task{i}" for i in range(n_tasks)]}
    lm.data_params = {"tasks": tasks, "train": split, "val": split, "test": split}
    ckpt = {"epoch": 0, "global_step": 0, "pytorch-lightning_version": lightning.__version__}
    ckpt.update(state_dict=lm.state_dict(), hyper_parameters=dict(lm.hparams))
    lm.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return path


def random_genome(folder: str, sizes: dict[str, int], rng) -> tuple[str, dict[str, str]]:
    """A random genome FASTA ``folder/genome.fa`` (uniform bases, 60 per line) with its .fai and
    .sizes; returns its path and the sequences."""
    import pyfaidx

    fa = os.path.join(folder, "genome.fa")
    seqs = {}
    with open(fa, "w") as fh:
        for c, size in sizes.items():
            s = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes().decode()
            seqs[c] = s
            fh.write(f">{c}\n" + "\n".join(s[i : i + 60] for i in range(0, size, 60)) + "\n")
    pyfaidx.Faidx(fa).close()
    with open(fa + ".sizes", "w") as fh:
        fh.write("".join(f"{c}\t{size}\n" for c, size in sizes.items()))
    return fa, seqs
