"""``demo:base``: a small broadly-pretrained model that stands in for a zoo model offline.

It is trained on a generated *pretraining world* in which every motif of gReLU's JASPAR 2024
consensus file (182 clusters) drives its own track, so its trunk learns a general motif vocabulary
(as a real zoo model learns one from thousands of ENCODE tracks), and it is saved as a gReLU
Lightning checkpoint in the cache, so it goes through the same loading code as a real gReLU zoo
model.

The pretraining world: random sequence (GC 0.42) cut into 6,000 windows of 1,024 bp, each with 10
planted motif instances (one per ~102 bp slot, uniform over the 182 motifs, either strand, sampled
from the squared PWM and kept only if their affinity is >= 0.6). Track ``m`` counts reads per 32 bp bin:
``Poisson(bg)`` background (bg = 0.02 reads per bin) plus ``Poisson(20 * affinity)`` for each
instance of motif ``m`` centred in the bin. Windows are split into train / val / test "contigs".

The model is gReLU's ``ConvModel``: a stem of 364 filters of width 19 initialised from the 182
PWMs' log-odds and their reverse complements, a 1x1 convolution (364 -> 192, its first 182
channels initialised to add each motif's two strands) with ReLU and max-pooling to 32 bp bins,
and a 1x1 head to 182 tracks.
The stem is kept fixed (it is the motif vocabulary); the rest is trained with the Poisson loss and
a one-cycle learning rate for 2 epochs (about 3 minutes on 2 CPU cores). The held-out test Pearson
(log1p) of every track is recorded in the checkpoint's ``performance`` and shows on the card.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.progress import progress_bar
from zoo_tools.data.motifs import load_motifs, log_odds

log = logging.getLogger(__name__)

SEQ_LEN, BIN, WIDTH = 1024, 32, 19
N_BINS = SEQ_LEN // BIN
SPLITS = {"pretrain_train": 4800, "pretrain_val": 400, "pretrain_test": 800}  # windows per split
SITES_PER_WINDOW = 10
BACKGROUND, HEIGHT = 0.02, 20.0
EPOCHS, BATCH, MAX_LR = 2, 64, 1e-2


def _pad_pwm(pwm: np.ndarray, width: int = WIDTH) -> np.ndarray:
    """Centre a ``(4, w)`` PWM in ``width`` columns (uniform padding), or crop its most
    informative ``width`` columns."""
    w = pwm.shape[1]
    if w >= width:
        info = 2 + (np.clip(pwm, 1e-9, 1) * np.log2(np.clip(pwm, 1e-9, 1))).sum(0)
        best = int(np.argmax(np.convolve(info, np.ones(width), mode="valid")))
        return pwm[:, best : best + width]
    left = (width - w) // 2
    out = np.full((4, width), 0.25)
    out[:, left : left + w] = pwm
    return out


def _sample(rng: np.random.Generator, pwm: np.ndarray, n: int) -> np.ndarray:
    """``n`` instances ``(n, w)`` codes sampled from the squared, renormalised PWM."""
    p = pwm**2
    cum = np.cumsum(p / p.sum(0, keepdims=True), axis=0)  # (4, w)
    u = rng.random((n, pwm.shape[1]))
    return (u[:, None, :] > cum[None, :, :]).sum(1).clip(0, 3).astype(np.uint8)


def pretraining_world(seed: int = 0):
    """Generate the pretraining world in memory (see the module docstring).

    Parameters
    ----------
    seed : seed of the NumPy generator (the same seed gives the same world).

    Returns
    -------
    tuple
        ``(codes, counts, split, motif_names)``: codes ``(W, 1024)`` uint8 (A,C,G,T = 0-3),
        counts ``(W, 182, 32)`` uint16 reads per 32 bp bin, split ``(W,)`` str
        (``pretrain_train`` / ``pretrain_val`` / ``pretrain_test``), and the 182 JASPAR motif
        names (task order); ``W = 6000``.
    """
    rng = np.random.default_rng(seed)
    motifs = load_motifs("jaspar")
    names = list(motifs)
    pwms = [np.asarray(motifs[m]) for m in names]
    los = [log_odds(p) for p in pwms]
    n_windows = sum(SPLITS.values())
    u = rng.random((n_windows, SEQ_LEN))
    codes = np.digitize(u, [0.29, 0.5, 0.71]).astype(np.uint8)  # GC 0.42
    counts = rng.poisson(BACKGROUND, (n_windows, len(names), N_BINS)).astype(np.uint16)
    n_sites = n_windows * SITES_PER_WINDOW
    which = rng.integers(0, len(names), n_sites)
    for m in range(len(names)):
        idx = np.flatnonzero(which == m)
        w = pwms[m].shape[1]
        inst = _sample(rng, pwms[m], 4 * len(idx) + 8)
        best = los[m].max(0).sum()
        aff = np.clip((los[m][inst, np.arange(w)].sum(1) - best / 2) / (best / 2), 0, 1)
        inst, aff = inst[aff >= 0.6], aff[aff >= 0.6]
        take = rng.integers(0, len(inst), len(idx))
        for k, site in enumerate(idx):
            win = site // SITES_PER_WINDOW
            slot = site % SITES_PER_WINDOW  # one site per 146 bp slot: sites never overlap
            start = 4 + slot * (SEQ_LEN // SITES_PER_WINDOW) + int(rng.integers(0, SEQ_LEN // SITES_PER_WINDOW - w - 8))
            seq = inst[take[k]] if rng.random() < 0.5 else (3 - inst[take[k]][::-1])
            codes[win, start : start + w] = seq
            b = (start + w // 2) // BIN
            counts[win, m, b] += rng.poisson(HEIGHT * aff[take[k]])
    split = np.repeat(list(SPLITS), list(SPLITS.values()))
    return codes, counts, split, names


def build_model(names: list[str], seed: int = 0) -> tuple[nn.Module, dict]:
    """gReLU ConvModel initialised from the PWMs (see the module docstring).

    Parameters
    ----------
    names : JASPAR motif names, one task each (stem filters: their log-odds and reverse
        complements, 19 bp).
    seed : torch seed for the weights not set from the PWMs.

    Returns
    -------
    tuple
        ``(model, params)``: the ConvModel (``(N, 4, 1024)`` one-hot -> ``(N, T, 32)`` log rates)
        and its ``model_params`` (``model_type`` + constructor arguments, gReLU's layout).
    """
    from grelu.model.models import ConvModel

    torch.manual_seed(seed)
    n = len(names)
    params = dict(
        model_type="ConvModel",
        n_tasks=n,
        stem_channels=2 * n,
        stem_kernel_size=WIDTH,
        n_conv=2,
        channel_init=n + 10,
        kernel_size=1,
        act_func="relu",
        pool_func="max",
        pool_size=BIN,
        final_pool_func=None,
    )
    model = ConvModel(**{k: v for k, v in params.items() if k != "model_type"})
    motifs = load_motifs("jaspar")
    lo = np.stack([log_odds(_pad_pwm(np.asarray(motifs[m]))) for m in names])  # (n, 4, 19)
    lo = np.concatenate([lo, lo[:, ::-1, ::-1]])  # reverse complements
    best = lo.max(1).sum(1)  # best score per filter
    stem = model.embedding.conv_tower.blocks[0].conv
    conv = model.embedding.conv_tower.blocks[1].conv
    head = model.head.channel_transform.conv.layer  # a Conv1d (an Identity if in == out channels)
    with torch.no_grad():
        stem.weight.copy_(torch.tensor(lo / best[:, None, None], dtype=torch.float32))
        stem.bias.fill_(-0.6)
        conv.weight.mul_(0.01)
        idx = torch.arange(n)
        conv.weight[:n].zero_()
        conv.weight[idx, idx, 0] = 1.0
        conv.weight[idx, idx + n, 0] = 1.0
        conv.bias.zero_()
        head.weight.mul_(0.01)
        head.weight[idx, idx, 0] = 16.0
        head.bias.fill_(float(np.log(BACKGROUND)))
    return model, params


def pearson_log1p(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per-task Pearson of log1p(pred) vs log1p(obs) over all windows and bins.

    Parameters
    ----------
    pred, obs : ``(N, T, B)`` predicted and observed reads per bin.

    Returns
    -------
    numpy.ndarray : ``(T,)`` float64 correlations (about 0 for a constant track)."""
    p = np.log1p(pred.transpose(1, 0, 2).reshape(pred.shape[1], -1))
    o = np.log1p(obs.transpose(1, 0, 2).reshape(obs.shape[1], -1).astype(np.float64))
    p, o = p - p.mean(1, keepdims=True), o - o.mean(1, keepdims=True)
    return (p * o).sum(1) / np.sqrt((p**2).sum(1) * (o**2).sum(1) + 1e-12)


def _predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.exp(model(x[i : i + 256])) for i in range(0, len(x), 256)]).numpy()


def train(seed: int = 0, epochs: int = EPOCHS, progress: bool = True) -> dict:
    """Generate the pretraining world, train, evaluate (see the module docstring).

    Parameters
    ----------
    seed : seed of the world, the initial weights and the batch order.
    epochs : passes over the 4,800 training windows (batch 64, one-cycle learning rate).
    progress : show a progress bar.

    Returns
    -------
    dict
        A gReLU-format checkpoint (:func:`checkpoint_dict`) with the val / test Pearson (log1p).
    """
    from zoo_tools.data.onehot import codes_to_tensor

    t0 = time.time()
    codes, counts, split, names = pretraining_world(seed)
    model, params = build_model(names, seed)
    x = {s: codes_to_tensor(codes[split == s]) for s in SPLITS}
    y = {s: torch.from_numpy(counts[split == s].astype(np.float32)) for s in SPLITS}
    for p in model.embedding.conv_tower.blocks[0].parameters():  # the PWM stem stays the motif vocabulary
        p.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=MAX_LR / 5, weight_decay=1e-4)
    n_train = len(x["pretrain_train"])
    steps = epochs * ((n_train + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=MAX_LR, total_steps=steps, pct_start=0.1, div_factor=5)
    loss_fn = nn.PoissonNLLLoss(log_input=True, full=False)
    gen = torch.Generator().manual_seed(seed)
    with progress_bar(total=steps, desc="pretraining demo:base", unit="step", disable=not progress) as bar:
        for _ in range(epochs):
            model.train()
            order = torch.randperm(n_train, generator=gen)
            for i in range(0, n_train, BATCH):
                b = order[i : i + BATCH]
                loss = loss_fn(model(x["pretrain_train"][b]), y["pretrain_train"][b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
    perf = {}
    for s in ("pretrain_val", "pretrain_test"):
        r = pearson_log1p(_predict(model, x[s]), counts[split == s])
        perf[s.removeprefix("pretrain_")] = {
            "pearson_log1p": float(np.nanmean(r)),
            "pearson_log1p_min": float(np.nanmin(r)),
        }
        perf[s.removeprefix("pretrain_")]["per_task"] = {n: float(v) for n, v in zip(names, r)}
    log.info("demo:base trained in %.0f s; test Pearson %.3f", time.time() - t0, perf["test"]["pearson_log1p"])
    return checkpoint_dict(model, params, names, perf, seed, time.time() - t0)


# gReLU's ``data_params[s]`` for split ``s`` (``train``, ``val``, ``test``) of the world
def _split_params(s: str) -> dict:
    n = SPLITS[f"pretrain_{s}"]
    return {
        "seq_len": SEQ_LEN,
        "bin_size": BIN,
        "label_len": SEQ_LEN,
        "genome": "demo-pretraining-world",
        "label_aggfunc": "sum",
        "intervals": {
            "chrom": [f"pretrain_{s}"] * n,
            "start": [i * SEQ_LEN for i in range(n)],
            "end": [(i + 1) * SEQ_LEN for i in range(n)],
        },
    }


def checkpoint_dict(model: nn.Module, params: dict, names: list[str], perf: dict, seed: int, seconds: float) -> dict:
    """A Lightning checkpoint in gReLU's layout (loadable by ``LightningModel.load_from_checkpoint``).

    Parameters
    ----------
    model, params : the trained ConvModel and its ``model_params`` (:func:`build_model`).
    names : the tasks' motif names.
    perf : ``{"val": ..., "test": ...}`` metrics, each with a ``per_task`` dict of Pearsons.
    seed, seconds : recorded under ``data_params["software"]`` (training time in s).

    Returns
    -------
    dict
        ``state_dict`` (keys ``model.*``), ``hyper_parameters`` (``model_params``, ``train_params``),
        ``data_params`` (tasks and per split ``seq_len``, ``bin_size``, ``intervals``) and
        ``performance`` (with ``test_pearson_log1p_per_task``).
    """
    import grelu
    import lightning

    tasks = pd.DataFrame(
        {
            "name": names,
            "assay": "pretraining (motif-driven)",
            "cell_type": "synthetic",
            "strand": ".",
            "description": [f"reads driven by JASPAR 2024 motif {n}" for n in names],
        }
    )

    performance = {s: {k: v for k, v in perf[s].items() if k != "per_task"} for s in perf}
    performance["test_pearson_log1p_per_task"] = perf["test"]["per_task"]
    return {
        "epoch": EPOCHS - 1,
        "global_step": 0,
        "pytorch-lightning_version": lightning.__version__,
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "hyper_parameters": {
            "model_params": params,
            "train_params": {
                "task": "regression",
                "loss": "poisson",
                "lr": MAX_LR,
                "batch_size": BATCH,
                "max_epochs": EPOCHS,
                "optimizer": "adamw",
            },
        },
        "data_params": {
            "tasks": tasks.to_dict(orient="list"),
            "train": _split_params("train"),
            "val": _split_params("val"),
            "test": _split_params("test"),
            "software": {"grelu": grelu.__version__, "zoo_tools_seed": seed, "train_seconds": round(seconds, 1)},
        },
        "performance": performance,
    }


def ensure_demo_model(progress: bool = True) -> str:
    """Path of the cached ``demo:base`` checkpoint, training it first if it is missing.

    Training (a few minutes on CPU) holds a lock in ``$ZOO_HOME``, so processes that start at once
    train it once.

    Parameters
    ----------
    progress : show the training progress bar.

    Returns
    -------
    str
        ``$ZOO_HOME/models/demo/base/model.ckpt``, registered as ``demo:base``.
    """
    from zoo_tools.core.locks import file_lock
    from zoo_tools.zoo import cache

    hit = cache.lookup("demo:base")
    if hit:
        return hit
    with file_lock(cache.zoo_home() / "demo_base.lock"):  # another process may be building it
        hit = cache.lookup("demo:base")
        if hit:
            return hit
        import sys

        print(
            f"demo:base is not in the cache: training it once (a few minutes on 2 CPU cores) into {cache.zoo_home()}",
            file=sys.stderr,
        )
        ckpt = train(progress=progress)
        path = os.path.join(cache.model_dir("demo", "base"), "model.ckpt")
        torch.save(ckpt, path)
        cache.register("demo:base", path, "demo")
    return path
