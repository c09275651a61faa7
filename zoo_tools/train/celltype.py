"""Predicting an assay in a cell type the model never saw, from sequence plus that cell's ATAC.

``run(recipe, out)`` runs a recipe whose head is ``type: celltype`` (recipes/novel_celltype_atac.yaml).
A sequence model alone predicts one output per track, so it cannot say anything about a new cell
type; giving it the new cell type's chromatin accessibility as a **second input branch** can:

1. **Tracks**: every track of the data YAML needs ``assay`` and ``cell_type``. Tracks of
   ``input_assay`` (default ATAC) are the input; ``target_assays`` (default: every other assay)
   the outputs. A cell type with the input and every target is *complete*; replicates (several
   tracks of one cell type and assay) are averaged.
2. **Depth**: each track is divided by its mean over training-chromosome windows (sequencing depth
   differs between experiments: the seeds' confounder); the input is ``log1p`` of that, per bin.
3. **Splits, both ways**: train on the training cell types **and** training chromosomes; test on
   the held-out cell type(s) (``holdout_cell_types``, default the last complete one) **on the test
   chromosomes**. Held-out cell type alone shares the test loci with training (the seeds'
   dependent-examples pitfall); that inflated number is reported too
   (``holdout_cells_train_chroms``) so the gap is visible.
4. **Model**: ``trunk(sequence)`` pooled to the target bins, concatenated with the signal channel,
   then a multi-task head (dilated convolutions across bins). Trunk frozen by default (embeddings
   cached once per window: they do not depend on the cell type).
5. **Comparisons** on the same test set: the **cell-type-average baseline** (mean of the training
   cell types' target tracks) and a **sequence-only control** (the same model without the signal
   branch, ``sequence_only_control``).

Outputs: ``model.ckpt`` (``load_model("local:OUT")`` gives a :class:`CellTypeZooModel`; its
``predict(seqs, signal=...)`` takes the extra input), ``metrics.json``, ``comparison.tsv``,
``log.csv``, ``curves.png``, ``pred_vs_obs.png``, ``config.yaml``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.metrics import track_metrics
from zoo_tools.data.config import DataConfig
from zoo_tools.data.genome import Genome
from zoo_tools.data.tracks import read_binned
from zoo_tools.models.heads import MultiTaskHead
from zoo_tools.models.model import ZooModel
from zoo_tools.train.config import Recipe

log = logging.getLogger(__name__)


def signal_input(values: np.ndarray, track_mean: float) -> np.ndarray:
    """Input branch values: ``log1p(values / track_mean)`` (``track_mean``: the track's mean signal
    per bp over training-chromosome windows, so cells sequenced at different depths compare)."""
    return np.log1p(np.asarray(values, np.float32) / max(float(track_mean), 1e-9)).astype(np.float32)


class CellTypeNet(nn.Module):
    """``(N, 4, L)`` one-hot + ``(N, S, B)`` signal -> ``(N, T, B)`` logits / predictions.

    The trunk embedding ``(N, C, B')`` is average-pooled to ``B`` bins and concatenated with the
    ``S`` signal channels before the head; ``n_signals=0`` is the sequence-only control.
    """

    def __init__(self, trunk: nn.Module, head: MultiTaskHead, n_signals: int, in_bins: int, n_bins: int):
        super().__init__()
        self.trunk, self.head, self.n_signals = trunk, head, n_signals
        self.pool = nn.AvgPool1d(in_bins // n_bins) if in_bins != n_bins else nn.Identity()

    def features(self, x: torch.Tensor, signal: torch.Tensor | None) -> torch.Tensor:
        h = self.pool(self.trunk(x))
        return torch.cat([h, signal], dim=1) if self.n_signals else h

    def logits(self, x: torch.Tensor, signal: torch.Tensor | None) -> torch.Tensor:
        return self.head.logits(self.features(x, signal))

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, signal))


class CellTypeZooModel(ZooModel):
    """A fine-tuned cell-type model: ``predict(seqs, signal=...)`` with ``signal`` ``(N, S, B)``
    float32 = :func:`signal_input` of the cell type's input track(s) binned like the outputs."""

    def __init__(self, trunk, head, card, arch=None, n_signals: int = 1, in_bins: int = 1, n_bins: int = 1):
        super().__init__(trunk, head, card, arch=arch)
        self.net = CellTypeNet(trunk, head, n_signals, in_bins, n_bins)

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        if self.net.n_signals and signal is None:
            raise ZooError(f"{self.card.name} also takes the cell type's input signal: predict(seqs, signal=...) "
                           f"with signal of shape (N, {self.net.n_signals}, {self.card.n_bins})")
        return self.net(x, signal)

    def predict(self, seqs, signal=None, genome=None, batch_size: int = 64, progress: bool = True, **_) -> np.ndarray:
        """``(N, T, B)`` predictions (tracks in units of their training mean)."""
        x = self._as_one_hot(seqs, genome)
        if self.net.n_signals:
            if signal is None:
                self.forward(x[:1])  # raises the one-line error
            signal = torch.as_tensor(np.asarray(signal, np.float32))
            if signal.shape != (len(x), self.net.n_signals, self.card.n_bins):
                raise ZooError(f"signal has shape {tuple(signal.shape)}; expected "
                               f"({len(x)}, {self.net.n_signals}, {self.card.n_bins})")
        self.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                out.append(self(x[i:i + batch_size], None if signal is None else signal[i:i + batch_size]))
        return torch.cat(out).numpy()


def cell_design(cfg: DataConfig, input_assay: str, target_assays: list[str], holdout: list[str]) -> dict:
    """Which tracks are inputs / targets of which cell types, and the held-out cell types.

    Returns ``{"cells": [...complete cell types...], "targets": [assays], "inputs": {cell: [track idx]},
    "outputs": {cell: {assay: [track idx]}}, "train_cells": [...], "holdout": [...]}``.
    """
    unnamed = [t.name for t in cfg.tracks if t.assay == "unknown" or t.cell_type == "unknown"]
    if unnamed:
        raise ZooError(f"head.type celltype needs `assay` and `cell_type` on every track of the data YAML "
                       f"(missing on: {', '.join(unnamed)})")
    assays = list(dict.fromkeys(t.assay for t in cfg.tracks))
    inp = [a for a in assays if a.lower() == input_assay.lower()]
    if not inp:
        raise ZooError(f"head.input_assay '{input_assay}' matches no track's assay (assays: {', '.join(assays)})")
    targets = target_assays or [a for a in assays if a not in inp]
    missing = [a for a in targets if a not in assays]
    if missing or not targets:
        raise ZooError(f"head.target_assays: {', '.join(missing) or 'none left'} not among the tracks' assays "
                       f"({', '.join(assays)})")
    cells = list(dict.fromkeys(t.cell_type for t in cfg.tracks))
    inputs = {c: [i for i, t in enumerate(cfg.tracks) if t.cell_type == c and t.assay in inp] for c in cells}
    outputs = {c: {a: [i for i, t in enumerate(cfg.tracks) if t.cell_type == c and t.assay == a] for a in targets}
               for c in cells}
    complete = [c for c in cells if inputs[c] and all(outputs[c][a] for a in targets)]
    if len(complete) < 2:
        raise ZooError(f"head.type celltype needs >= 2 cell types with both {inp[0]} and {', '.join(targets)} "
                       f"tracks (complete: {', '.join(complete) or 'none'})")
    holdout = list(holdout) or complete[-1:]
    bad = [c for c in holdout if c not in complete]
    if bad:
        raise ZooError(f"head.holdout_cell_types: {', '.join(bad)} not a cell type with every assay "
                       f"(complete: {', '.join(complete)})")
    train_cells = [c for c in complete if c not in holdout]
    if not train_cells:
        raise ZooError("head.holdout_cell_types holds out every cell type; leave at least one to train on")
    return {"cells": complete, "targets": targets, "input_assay": inp[0], "inputs": inputs, "outputs": outputs,
            "train_cells": train_cells, "holdout": holdout}


class CellWindowDataset(torch.utils.data.Dataset):
    """Examples are (window, cell type) pairs: index arrays -> ``(x, signal, target)`` batches.

    ``x``: cached embeddings ``(Nw, C, B')`` or uint8 codes ``(Nw, L)``; ``signal`` ``(Ncell, Nw, S, B)``;
    ``target`` ``(Ncell, Nw, T, B)``; ``pairs`` ``(n, 2)`` rows of (window, cell index).
    """

    def __init__(self, x: np.ndarray, signal: np.ndarray, target: np.ndarray, pairs: np.ndarray, codes: bool):
        self.x, self.signal, self.target, self.pairs, self.codes = x, signal, target, pairs, codes

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, idx):
        from zoo_tools.data.onehot import codes_to_tensor

        single = np.ndim(idx) == 0
        w, c = self.pairs[np.atleast_1d(np.asarray(idx))].T
        xb = codes_to_tensor(self.x[w]) if self.codes else torch.from_numpy(np.ascontiguousarray(self.x[w], np.float32))
        out = (xb, torch.from_numpy(self.signal[c, w]), torch.from_numpy(self.target[c, w]))
        return tuple(t[0] for t in out) if single else out


def celltype_loss(net: CellTypeNet, batch) -> torch.Tensor:
    x, s, y = batch
    return net.head.loss(net.logits(x, s), y)


def _pairs(windows_idx: np.ndarray, cells: list[int]) -> np.ndarray:
    return np.array([(w, c) for c in cells for w in windows_idx], dtype=np.int64).reshape(-1, 2)


def run(recipe: Recipe, out: str, callbacks=()) -> dict:
    """Run a novel-cell-type recipe into ``out``; returns the metrics (also ``out/metrics.json``)."""
    import lightning as L

    from zoo_tools.models.card import ModelCard, task_table
    from zoo_tools.train.finetune import (
        build_windows,
        cache_embeddings,
        data_key,
        embedding_shape,
        fit,
        lightning_module,
        make_loader,
        plot_curves,
        plot_pred_vs_obs,
        save_model,
        start_run,
    )
    from zoo_tools.zoo import load_model

    t0 = time.time()
    spec, hs = recipe.train, recipe.head
    cfg = start_run(recipe, out)
    design = cell_design(cfg, hs.input_assay, hs.target_assays, hs.holdout_cell_types)
    genome = Genome(cfg.genome)
    base = load_model(recipe.model)
    seq_len = base.card.seq_len
    bin_size = recipe.windows.bin_size or base.card.bin_size
    crop = base.card.crop_bins * base.card.bin_size // bin_size
    n_bins = seq_len // bin_size - 2 * crop
    c_emb, b_in = embedding_shape(base.trunk, seq_len)
    if seq_len % bin_size or n_bins < 1 or b_in % n_bins:
        raise ZooError(f"windows.bin_size {bin_size}: the trunk's {b_in} bins cannot be pooled to {n_bins} target "
                       f"bins; choose a bin size whose bin count divides {b_in}")
    windows = build_windows(cfg, genome, seq_len, recipe.windows, spec.seed)
    raw = read_binned(cfg.track_paths, windows, bin_size, transform=recipe.windows.transform)
    raw = np.ascontiguousarray(raw[:, :, crop:crop + n_bins])
    split = windows.split.to_numpy()
    train_w = split == "train"
    depth = np.maximum(raw[train_w].mean(axis=(0, 2)), 1e-9)  # (tracks,) training-chromosome means
    norm = raw / depth[None, :, None]
    cells = design["cells"]
    signal = np.stack([signal_input(norm[:, design["inputs"][c]].mean(1, keepdims=True), 1.0) for c in cells])
    target = np.stack([np.stack([norm[:, design["outputs"][c][a]].mean(1) for a in design["targets"]], 1)
                       for c in cells]).astype(np.float32)  # (cells, Nw, T, B)
    ci = {c: i for i, c in enumerate(cells)}
    train_c, hold_c = [ci[c] for c in design["train_cells"]], [ci[c] for c in design["holdout"]]
    widx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    pairs = {"train": _pairs(widx["train"], train_c), "val": _pairs(widx["val"], train_c),
             "test": _pairs(widx["test"], hold_c),
             "holdout_cells_train_chroms": _pairs(widx["train"], hold_c),
             "train_cells_test_chroms": _pairs(widx["test"], train_c)}
    cached = spec.freeze_trunk
    if cached:
        from zoo_tools.data.datasets import SeqTrackDataset
        from zoo_tools.train.finetune import FineTuner

        plain = SeqTrackDataset(genome, windows, raw)
        x = cache_embeddings(FineTuner(base.trunk, nn.Identity()), plain, False,
                             data_key(base.card.sha256 or recipe.model, windows, seq_len, False))
    else:
        x = genome.batch_codes(windows.chrom.to_numpy(), windows.start.to_numpy(), seq_len)
    single = all(str(recipe.trainer.get(k, 1)) in ("1", "auto") for k in ("devices", "num_nodes"))

    def train_one(n_signals: int, folder: str, extra=()):
        head = MultiTaskHead(c_emb + n_signals, len(design["targets"]), n_bins, n_bins, loss=hs.loss,
                             hidden=hs.hidden, dropout=hs.dropout, layers=hs.layers, kernel_size=hs.kernel_size)
        net = CellTypeNet(base.trunk, head, n_signals, b_in, n_bins)
        train_net = CellTypeNet(nn.Identity(), head, n_signals, b_in, n_bins) if cached else net
        sets = {s: CellWindowDataset(x, signal, target, pairs[s], codes=not cached) for s in ("train", "val")}
        loaders = {s: make_loader(d, spec.batch_size, s == "train", spec.seed, spec.num_workers, batched=single)
                   for s, d in sets.items()}
        lit = lightning_module(train_net, spec, len(loaders["train"]), None, cached, loss_fn=celltype_loss)
        L.seed_everything(spec.seed, workers=True, verbose=False)
        best, log_csv, trainer = fit(lit, loaders, recipe, folder, extra)
        if best:
            lit.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
        return net, train_net, head, log_csv, trainer

    def predict(train_net: CellTypeNet, p: np.ndarray) -> np.ndarray:
        train_net.eval()
        ds = CellWindowDataset(x, signal, target, p, codes=not cached)
        res = []
        with torch.no_grad():
            for i in range(0, len(p), 256):
                xb, sb, _ = ds[np.arange(i, min(i + 256, len(p)))]
                res.append(train_net(xb, sb).numpy())
        return np.concatenate(res) if res else np.zeros((0,) + target.shape[2:], np.float32)

    t_fit = time.time()
    net, train_net, head, log_csv, trainer = train_one(1, out, callbacks)
    fit_s = time.time() - t_fit
    names = design["targets"]
    baseline = target[train_c].mean(0)  # (Nw, T, B): the training cell types' average
    metrics = {"recipe": recipe.name, "model": recipe.model, "data": recipe.data, "head": "celltype",
               "input_assay": design["input_assay"], "target_assays": names, "train_cell_types": design["train_cells"],
               "holdout_cell_types": design["holdout"], "embedding_cache": cached,
               "epochs_run": int(trainer.current_epoch), "fit_seconds": round(fit_s, 1),
               "chromosomes": {s: sorted(set(windows.chrom[split == s])) for s in ("train", "val", "test")},
               "examples": {k: int(len(v)) for k, v in pairs.items()},
               "track_depth": {t.name: float(d) for t, d in zip(cfg.tracks, depth)}, "warnings": []}
    if trainer.global_rank != 0:
        return metrics
    rows = []
    evals = {}
    for name, p in pairs.items():
        if name in ("train", "val") or not len(p):
            continue
        obs = target[p[:, 1], p[:, 0]]
        peaks = windows.is_peak.to_numpy()[p[:, 0]]
        evals[name] = {"model": track_metrics(predict(train_net, p), obs, names, peaks),
                       "cell_type_average": track_metrics(baseline[p[:, 0]], obs, names, peaks)}
    seq_only = None
    if hs.sequence_only_control:
        ctrl_dir = os.path.join(out, "sequence_only")
        _, ctrl_net, _, _, _ = train_one(0, ctrl_dir)
        for name, p in pairs.items():
            if name in evals:
                obs = target[p[:, 1], p[:, 0]]
                evals[name]["sequence_only"] = track_metrics(predict(ctrl_net, p), obs, names,
                                                             windows.is_peak.to_numpy()[p[:, 0]])
        seq_only = ctrl_dir
    for name, e in evals.items():
        for who, m in e.items():
            rows.append(dict(evaluation=name, predictor=who, **{k: m["mean"][k] for k in
                                                                 ("pearson", "pearson_log1p", "spearman")}))
    metrics["evaluations"] = evals
    metrics["test"] = evals["test"]["model"]
    comp = pd.DataFrame(rows)
    comp.to_csv(os.path.join(out, "comparison.tsv"), sep="\t", index=False, float_format="%.4f")
    test_p = pairs["test"]
    plot_pred_vs_obs(predict(train_net, test_p), target[test_p[:, 1], test_p[:, 0]], names, evals["test"]["model"],
                     os.path.join(out, "pred_vs_obs.png"))
    if os.path.exists(log_csv):
        pd.read_csv(log_csv).groupby("epoch").first().reset_index().to_csv(os.path.join(out, "log.csv"), index=False)
        plot_curves(log_csv, os.path.join(out, "curves.png"))
    tasks = task_table(pd.DataFrame({"name": names, "assay": names, "cell_type": "any (input signal)"}))
    tasks["test_pearson"] = [evals["test"]["model"]["per_task"][n]["pearson"] for n in names]
    card = ModelCard(source="local", name=os.path.abspath(out), seq_len=seq_len, bin_size=bin_size, n_bins=n_bins,
                     crop_bins=crop, tasks=tasks, genome=cfg.genome, train_chroms=metrics["chromosomes"]["train"],
                     val_chroms=metrics["chromosomes"]["val"], test_chroms=metrics["chromosomes"]["test"],
                     output=f"{', '.join(names)} per bin in units of the track's training mean, given "
                            f"signal = log1p({design['input_assay']} / its mean) per bin",
                     metrics={f"test_{k}": v for k, v in evals["test"]["model"]["mean"].items()},
                     notes=f"cell-type model fine-tuned from {recipe.model} with recipe {recipe.name}; trained on "
                           f"{', '.join(design['train_cells'])}; held out {', '.join(design['holdout'])}")
    net_args = {"n_signals": 1, "in_bins": b_in, "n_bins": n_bins}
    save_model(os.path.join(out, "model.ckpt"), base, head, net, card, recipe, kind="celltype", net_args=net_args)
    metrics["total_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=1)
    shutil.rmtree(os.path.join(out, "lightning_logs", "checkpoints"), ignore_errors=True)
    if seq_only:
        shutil.rmtree(os.path.join(seq_only, "lightning_logs", "checkpoints"), ignore_errors=True)
    return metrics


def summary(m: dict, out: str) -> str:
    """Short report of a cell-type run: the model against the baseline and the control."""
    lines = [f"cell-type model from {m['model']} ({m['recipe']}) in {m['total_seconds']:.0f} s, {m['epochs_run']} "
             f"epoch(s): {m['input_assay']} + sequence -> {', '.join(m['target_assays'])}; trained on "
             f"{', '.join(m['train_cell_types'])}, held out {', '.join(m['holdout_cell_types'])}"]
    labels = {"test": f"held-out cell type(s) on test chromosomes ({', '.join(m['chromosomes']['test'])})",
              "holdout_cells_train_chroms": "held-out cell type(s) on training chromosomes (optimistic: loci seen)",
              "train_cells_test_chroms": "training cell types on test chromosomes"}
    for name, e in m["evaluations"].items():
        parts = ", ".join(f"{who} {v['mean']['pearson']:.3f}" for who, v in e.items())
        lines.append(f"  {labels.get(name, name)}: mean Pearson {parts}")
    lines += [f"  warning: {w}" for w in m["warnings"]]
    lines.append(f"  outputs: {out}/ (model.ckpt, metrics.json, comparison.tsv, log.csv, curves.png, pred_vs_obs.png, "
                 f"config.yaml{', sequence_only/' if 'sequence_only' in m['evaluations']['test'] else ''})")
    lines.append(f"  load it: zoo info local:{out}")
    return "\n".join(lines)
