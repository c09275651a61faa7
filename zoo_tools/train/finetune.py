"""Fine-tuning a zoo model on a user's tracks: windows -> targets -> Lightning -> a loadable model.

``finetune(recipe, out)`` runs one recipe (see :mod:`zoo_tools.train.config`):

1. **Windows**: summit-centred windows of the model's input length around every peak of the data
   YAML (near-duplicates within ``min_spacing`` bp merged), plus GC-matched background windows
   (``background_ratio`` per peak), blacklist-filtered, split by chromosome (``splits`` of the
   data YAML); a val/test window overlapping a train window is refused.
2. **Targets**: every track binned at the model's bin size (mean per bin), optionally transformed.
3. **Guards**: the class balance of peak / background windows and each track's depth (mean signal
   per bp on training windows) are reported; test chromosomes the base model was trained on are
   warned about (its card knows them); per-task scale comes from training windows only.
4. **Training** (PyTorch Lightning): a new multi-task head on the base trunk. The trunk is frozen
   for ``head_warmup_epochs`` (or for good with ``freeze_trunk``), then trained at ``trunk_lr``;
   one-cycle learning rate, gradient clipping, early stopping on validation loss, the best epoch
   kept. With the trunk frozen and no augmentation varying the input, trunk embeddings are computed
   once per window (both strands with ``rc``) into a memory-mapped cache and only the head trains.
5. **Outputs** in ``out``: ``config.yaml`` (resolved recipe), ``model.ckpt`` (loads with
   ``load_model("local:OUT")``, card included), ``metrics.json`` (per task and mean, per split),
   ``log.csv`` (per-epoch losses), ``curves.png`` and ``pred_vs_obs.png``.
"""

from __future__ import annotations

import hashlib
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
from zoo_tools.data.config import DataConfig, load_data_config
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import (
    assign_splits,
    centre_windows,
    check_split_overlap,
    filter_blacklist,
    gc_matched_background,
    read_bed,
)
from zoo_tools.data.tracks import read_binned
from zoo_tools.models.heads import MultiTaskHead, SiameseHead, task_scale
from zoo_tools.train.config import Recipe

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def resolve_data(data: str) -> str:
    """Path of the data YAML; ``demo`` is the demo world in ``$ZOO_HOME/demo_world`` (made once)."""
    if data != "demo":
        return data
    from zoo_tools.data.demo import make_demo_world
    from zoo_tools.zoo.cache import zoo_home

    folder = zoo_home() / "demo_world"
    if not (folder / "data.yaml").exists() or not demo_is_current(folder):
        log.warning("making the demo world in %s", folder)
        make_demo_world(str(folder))
    return str(folder / "data.yaml")


def demo_is_current(folder) -> bool:
    """Whether a demo world was made by this version of the generator (older ones lack files)."""
    import yaml

    from zoo_tools.data.demo import DEMO_VERSION

    try:
        with open(os.path.join(folder, "summary.yaml")) as fh:
            return (yaml.safe_load(fh) or {}).get("version") == DEMO_VERSION
    except OSError:
        return False


def peak_windows(cfg: DataConfig, genome: Genome, seq_len: int, min_spacing: int) -> pd.DataFrame:
    """Summit-centred windows around the peaks of every track, near-duplicates merged."""
    if not cfg.peaks:
        raise ZooError("the data YAML lists no peaks; add `peaks:` (or set windows.peaks=false to tile)")
    frames = [centre_windows(read_bed(p.path, genome), seq_len)[["chrom", "start", "end"]] for p in cfg.peaks]
    w = pd.concat(frames, ignore_index=True).sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    keep = np.ones(len(w), bool)
    for _, idx in w.groupby("chrom", sort=False).indices.items():
        last = -10**12
        for i in idx:
            if w.start.iat[i] - last < min_spacing:
                keep[i] = False
            else:
                last = w.start.iat[i]
    return w[keep].reset_index(drop=True)


def build_windows(cfg: DataConfig, genome: Genome, seq_len: int, spec, seed: int) -> pd.DataFrame:
    """Peak + GC-matched background windows with ``split`` and ``is_peak`` columns."""
    if spec.peaks:
        peaks = peak_windows(cfg, genome, seq_len, spec.min_spacing)
        inside = (peaks.start >= 0) & (peaks.end <= peaks.chrom.map(genome.contigs))
        peaks = peaks[inside].reset_index(drop=True)
        bg = gc_matched_background(genome, peaks, ratio=spec.background_ratio, seed=seed) \
            if spec.background_ratio > 0 else peaks.iloc[:0]
        w = pd.concat([peaks.assign(is_peak=True), bg[["chrom", "start", "end"]].assign(is_peak=False)],
                      ignore_index=True)
    else:
        from zoo_tools.data.intervals import tile

        w = tile(genome.contigs, seq_len, seq_len // 2).assign(is_peak=False)
    if cfg.blacklist:
        w = filter_blacklist(w, cfg.blacklist)
    w = assign_splits(w, cfg.splits.val, cfg.splits.test, genome.contigs)
    check_split_overlap(w)
    for split in ("train", "val", "test"):
        if not (w.split == split).any():
            raise ZooError(f"no {split} windows: check `splits` in the data YAML (contigs with peaks: "
                           f"{', '.join(sorted(set(w.chrom)))})")
    return w.sort_values(["split", "chrom", "start"], kind="stable").reset_index(drop=True)


def data_report(windows: pd.DataFrame, targets: np.ndarray, names: list[str], bin_size: int) -> dict:
    """Class balance per split and per-track depth (mean signal per bp, training windows)."""
    balance = {s: {"peak": int(g.is_peak.sum()), "background": int((~g.is_peak).sum())}
               for s, g in windows.groupby("split")}
    train = windows.split.to_numpy() == "train"
    depth = {n: float(targets[train, i].mean()) for i, n in enumerate(names)}
    spread = max(depth.values()) / max(min(depth.values()), 1e-9)
    return {"class_balance": balance, "track_depth": depth, "depth_spread": spread}


# --------------------------------------------------------------------------------------------
# Model pieces
# --------------------------------------------------------------------------------------------
def embedding_shape(trunk: nn.Module, seq_len: int) -> tuple[int, int]:
    """``(C, B')`` of the trunk's embedding for one input of ``seq_len`` bp."""
    trunk.eval()
    with torch.no_grad():
        e = trunk(torch.zeros(1, 4, seq_len))
    return int(e.shape[1]), int(e.shape[2])


class FineTuner(nn.Module):
    """Trunk + new head; ``logits`` for the loss, ``forward`` for predictions."""

    def __init__(self, trunk: nn.Module, head: MultiTaskHead):
        super().__init__()
        self.trunk, self.head = trunk, head

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head.logits(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class EmbeddingDataset(torch.utils.data.Dataset):
    """Cached trunk embeddings ``(N, [2,] C, B')`` with targets; with ``rc`` each epoch picks per
    window the forward embedding with its targets, or the reverse complement's embedding with the
    targets reversed along bins (strand-paired tracks swapped), as sequence-level RC would."""

    def __init__(self, emb: np.ndarray, targets: np.ndarray, rc: bool, seed: int,
                 rc_track_perm: np.ndarray | None = None):
        self.emb, self.targets, self.rc, self.seed = emb, targets, rc, seed
        self.perm = np.arange(targets.shape[1]) if rc_track_perm is None else np.asarray(rc_track_perm)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        rng = np.random.default_rng([self.seed, epoch])
        self.flip = rng.random(len(self.targets)) < 0.5 if self.rc else np.zeros(len(self.targets), bool)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, idx):
        """int -> ``((C, B'), (T, B))``; index array -> batched."""
        single = np.ndim(idx) == 0
        idx = np.atleast_1d(np.asarray(idx))
        if self.rc:
            e = np.where(self.flip[idx, None, None], self.emb[idx, 1], self.emb[idx, 0])
            y = np.where(self.flip[idx, None, None], self.targets[idx][:, self.perm, ::-1], self.targets[idx])
        else:  # forward strand only (a two-strand cache outside training)
            e, y = (self.emb[idx, 0] if self.emb.ndim == 4 else self.emb[idx]), self.targets[idx]
        e = torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
        return (e[0], y[0]) if single else (e, y)


def cache_embeddings(model, dataset, rc: bool, key: str, batch_size: int = 64) -> np.ndarray:
    """Trunk embeddings of every window (and its reverse complement), memory-mapped on disk.

    Stored in ``$ZOO_HOME/embeddings/<key>.npy`` where ``key`` hashes the model weights and the
    windows, so a second run with the same model and data reuses them.
    """
    from zoo_tools.core.progress import progress_bar
    from zoo_tools.zoo.cache import zoo_home

    folder = zoo_home() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    c, b = embedding_shape(model.trunk, dataset.seq_len)  # dataset: a SeqTrackDataset without augmentation
    shape = (len(dataset), 2, c, b) if rc else (len(dataset), c, b)
    tmp = folder / f"{key}.{os.getpid()}.tmp.npy"  # several DDP ranks may build it at once
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    model.trunk.eval()
    with torch.no_grad(), progress_bar(total=len(dataset), desc="caching trunk embeddings", unit="win") as bar:
        for i in range(0, len(dataset), batch_size):
            idx = np.arange(i, min(i + batch_size, len(dataset)))
            x, _ = dataset[idx]
            e = model.trunk(x).numpy()
            if rc:
                out[idx, 0] = e
                out[idx, 1] = model.trunk(x.flip((-2, -1))).numpy()  # paired with reversed targets
            else:
                out[idx] = e
            bar.update(len(idx))
    out.flush()
    del out
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def data_key(model_sha: str, windows: pd.DataFrame, seq_len: int, rc: bool) -> str:
    h = hashlib.sha256(f"{model_sha}|{seq_len}|{rc}".encode())
    h.update(pd.util.hash_pandas_object(windows[["chrom", "start", "end"]], index=False).values.tobytes())
    return h.hexdigest()[:24]



# --------------------------------------------------------------------------------------------
# Lightning
# --------------------------------------------------------------------------------------------
def lightning_module(net: nn.Module, spec, steps_per_epoch: int, task_weights: torch.Tensor | None,
                     cached: bool, loss_fn=None):
    """The LightningModule: loss, trunk freezing schedule, optimiser and one-cycle schedule.

    ``net`` has ``trunk`` and ``head``; ``loss_fn(net, batch) -> loss`` replaces the multi-task
    loss for other heads (siamese, cell type).
    """
    import lightning as L

    class LitFineTune(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("task_weights", task_weights if task_weights is not None else torch.ones(0))

        def _logits(self, x):
            return self.net.head.logits(x) if cached else self.net.logits(x)

        def _loss(self, batch):
            if loss_fn is not None:
                return loss_fn(self.net, batch)
            x, y = batch
            w = self.task_weights if self.task_weights.numel() else None
            return self.net.head.loss(self._logits(x), y, w)

        def training_step(self, batch, batch_idx):
            loss = self._loss(batch)
            self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(batch[0]))
            return loss

        def validation_step(self, batch, batch_idx):
            loss = self._loss(batch)
            self.log("val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(batch[0]),
                     sync_dist=True)

        def on_train_epoch_start(self):
            frozen = cached or spec.freeze_trunk or self.current_epoch < spec.head_warmup_epochs
            for p in self.net.trunk.parameters():
                p.requires_grad_(not frozen)
            if frozen:
                self.net.trunk.eval()
            ds = self.trainer.train_dataloader.dataset if self.trainer.train_dataloader is not None else None
            if hasattr(ds, "set_epoch"):
                ds.set_epoch(self.current_epoch)

        def configure_optimizers(self):
            head = list(self.net.head.parameters())
            groups = [{"params": head, "lr": spec.lr}]
            trunk = [p for p in self.net.trunk.parameters()]
            if trunk and not cached and not spec.freeze_trunk:
                groups.append({"params": trunk, "lr": spec.trunk_lr or spec.lr / 10})
            opt = torch.optim.AdamW(groups, weight_decay=spec.weight_decay)
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=[g["lr"] for g in groups], total_steps=spec.epochs * steps_per_epoch, pct_start=0.15,
                div_factor=10, final_div_factor=100)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return LitFineTune()


def make_loader(ds, batch_size: int, shuffle: bool, seed: int, num_workers: int, batched: bool):
    """DataLoader; ``batched`` hands whole index batches to the dataset (vectorised gather, far
    less per-item overhead) and is used on one device; with several devices / nodes the plain
    per-item loader lets Lightning insert its distributed sampler."""
    from torch.utils.data import DataLoader

    from zoo_tools.data.datasets import batch_loader

    if batched:
        return batch_loader(ds, batch_size, shuffle=shuffle, seed=seed, num_workers=num_workers)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      generator=torch.Generator().manual_seed(seed) if shuffle else None)


def fit(lit, loaders: dict, recipe: Recipe, out: str, callbacks=()):
    """Run Lightning; returns the path of the best checkpoint and the CSV log path.

    ``callbacks``: extra Lightning callbacks (``zoo tune`` reports each epoch through one).
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from zoo_tools.core.progress import quiet_lightning

    spec = recipe.train
    quiet_lightning()
    loggers = [CSVLogger(out, name="lightning_logs", version="")]
    if recipe.logger == "wandb":
        from lightning.pytorch.loggers import WandbLogger

        loggers.append(WandbLogger(project="zoo_tools", name=recipe.name, save_dir=out, offline=True))
    ckpt = ModelCheckpoint(dirpath=os.path.join(out, "lightning_logs", "checkpoints"), monitor="val_loss",
                           save_top_k=1, save_weights_only=True, filename="best")
    # no early stop in the first half: the one-cycle schedule's rising learning rate makes the
    # validation loss climb for a few epochs before it falls (small data sets stopped there)
    options = dict(max_epochs=spec.epochs, min_epochs=max(1, spec.epochs // 2), logger=loggers,
                   callbacks=[EarlyStopping("val_loss", patience=spec.patience), ckpt, *callbacks],
                   gradient_clip_val=spec.grad_clip or None, deterministic=spec.deterministic,
                   precision=spec.precision, enable_model_summary=False, num_sanity_val_steps=0,
                   default_root_dir=out, accelerator="auto", devices=1,
                   log_every_n_steps=max(1, min(50, len(loaders["train"]))))
    options.update(recipe.trainer)
    if options.get("strategy") == "ddp" and not spec.freeze_trunk:
        # the trunk is frozen during the head warm-up: its parameters get no gradient then
        options["strategy"] = "ddp_find_unused_parameters_true"
    try:
        trainer = L.Trainer(**options)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ZooError(f"trainer options {recipe.trainer}: {str(err).splitlines()[0][:160]}") from None
    # Lightning's deterministic=True switches torch to deterministic algorithms for the whole
    # process and leaves it on; restore the caller's setting (later code, e.g. max-unpooling in
    # DeepLIFT, has no deterministic kernel)
    was = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        trainer.fit(lit, loaders["train"], loaders["val"])
    finally:
        torch.use_deterministic_algorithms(was[0], warn_only=was[1])
    return ckpt.best_model_path, os.path.join(out, "lightning_logs", "metrics.csv"), trainer


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------
def plot_curves(log_csv: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(log_csv)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for col in ("train_loss", "val_loss"):
        if col in df.columns:
            d = df[["epoch", col]].dropna()
            ax.plot(d.epoch + 1, d[col], marker="o", label=col.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pred_vs_obs(pred: np.ndarray, obs: np.ndarray, names: list[str], metrics: dict, path: str,
                     max_points: int = 4000, seed: int = 0) -> None:
    """log1p(predicted) vs log1p(observed) per task on test bins, with the test Pearson."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(names)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows), squeeze=False)
    rng = np.random.default_rng(seed)
    for t, name in enumerate(names):
        ax = axes[t // cols][t % cols]
        p, o = np.log1p(np.clip(pred[:, t].ravel(), 0, None)), np.log1p(np.clip(obs[:, t].ravel(), 0, None))
        k = rng.choice(len(p), min(max_points, len(p)), replace=False)
        ax.scatter(o[k], p[k], s=3, alpha=0.3)
        r = metrics["per_task"][name]["pearson_log1p"]
        ax.set_title(f"{name}\nPearson (log1p) {r:.2f}", fontsize=8)
        ax.set_xlabel("observed log1p", fontsize=7)
        ax.set_ylabel("predicted log1p", fontsize=7)
    for t in range(n, rows * cols):
        axes[t // cols][t % cols].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_model(path: str, base, head: nn.Module, net: nn.Module, card, recipe: Recipe, kind: str = "multitask",
               net_args: dict | None = None) -> None:
    """A zoo_tools checkpoint: how to rebuild the trunk, the head config, weights and the card.

    ``kind``: ``multitask``, ``siamese`` or ``celltype``; ``net_args``: extra constructor
    arguments of the network (e.g. the cell-type model's input signals).
    """
    ckpt = {"zoo_tools": {"format": 1, "kind": kind, "arch": base.arch, "head": head.config, "base_spec": recipe.model,
                          "net": net_args or {}},
            "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "card": json.loads(card.to_json())}
    torch.save(ckpt, path)


def load_finetuned(ckpt: dict, path: str):
    """Rebuild a model saved by :func:`save_model` (no base weights, no network needed)."""
    from zoo_tools.models.card import ModelCard
    from zoo_tools.models.model import ZooModel

    meta = ckpt["zoo_tools"]
    arch = meta["arch"]
    trunk = rebuild_trunk(arch)
    kind = meta.get("kind", "multitask")
    if kind == "siamese":
        from zoo_tools.train.siamese import SiameseNet as Net
        from zoo_tools.train.siamese import SiameseZooModel as Model
        head = SiameseHead(**meta["head"])
    elif kind == "celltype":
        from zoo_tools.train.celltype import CellTypeNet as Net
        from zoo_tools.train.celltype import CellTypeZooModel as Model
        head = MultiTaskHead(**meta["head"])
    else:
        Net, Model, head = FineTuner, ZooModel, MultiTaskHead(**meta["head"])
    net = Net(trunk, head, **meta.get("net", {}))
    try:
        net.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        detail = str(err).splitlines()[0][:160]
        raise ZooError(f"{path}: weights do not fit the saved architecture ({detail})") from None
    card = ModelCard.from_dict(ckpt["card"])
    card.weights = os.path.abspath(path)
    return Model(trunk, head, card, arch=arch, **meta.get("net", {})).eval()


def rebuild_trunk(arch: dict) -> nn.Module:
    """The base trunk's architecture (weights come from the fine-tuned checkpoint)."""
    if arch["kind"] == "grelu":
        from zoo_tools.zoo.sources.grelu import build_architecture

        return build_architecture(arch["model_params"]).embedding
    if arch["kind"] == "enformer":
        from zoo_tools.zoo.sources.enformer import trunk_from_config

        return trunk_from_config(arch["config"], arch.get("use_tf_gamma", False))
    from zoo_tools.zoo import load_model

    return load_model(arch["spec"]).trunk


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
def _predict_split(net: FineTuner, data, idx: np.ndarray, cached: bool, batch_size: int = 128) -> np.ndarray:
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(idx), batch_size):
            b = idx[i:i + batch_size]
            if cached:
                e = data[b, 0] if data.ndim == 4 else data[b]
                out.append(net.head(torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))).numpy())
            else:
                x, _ = data[b]
                out.append(net(x).numpy())
    return np.concatenate(out)


def card_for(recipe: Recipe, cfg: DataConfig, base, head: MultiTaskHead, metrics: dict, out: str):
    from zoo_tools.models.card import ModelCard, task_table

    tasks = task_table(pd.DataFrame([t.model_dump() for t in cfg.tracks]).drop(columns=["path"]))
    for k in ("pearson_log1p", "pearson", "spearman", "auroc", "auprc"):
        if k in metrics["test"]["mean"]:
            tasks[f"test_{k}"] = [metrics["test"]["per_task"][n][k] for n in tasks["name"]]
    output = {"poisson": "expected signal per bin (Poisson head, exp x task scale)",
              "mse": "signal per bin (MSE head)", "bce": "probability of a peak call per bin",
              "multinomial": "expected signal per bin (multinomial profile x total)"}[recipe.head.loss]
    splits = metrics["chromosomes"]
    return ModelCard(source="local", name=os.path.abspath(out), seq_len=base.card.seq_len,
                     bin_size=metrics["bin_size"], n_bins=head.config["n_bins"], crop_bins=base.card.crop_bins,
                     tasks=tasks, genome=cfg.genome, train_chroms=splits["train"], val_chroms=splits["val"],
                     test_chroms=splits["test"], output=output,
                     metrics={f"test_{k}": v for k, v in metrics["test"]["mean"].items()},
                     notes=f"fine-tuned from {recipe.model} with recipe {recipe.name}")


def start_run(recipe: Recipe, out: str) -> DataConfig:
    """What every recipe run does first: the output folder, seeds, the data YAML (``demo`` made on
    first use) resolved and validated, and the resolved recipe saved as ``out/config.yaml``."""
    import lightning as L

    from zoo_tools.data.config import dump_config

    os.makedirs(out, exist_ok=True)
    L.seed_everything(recipe.train.seed, workers=True, verbose=False)
    recipe.data = resolve_data(recipe.data)
    dump_config(recipe, os.path.join(out, "config.yaml"))
    return load_data_config(recipe.data)


def run(recipe: Recipe, out: str, callbacks=()) -> dict:
    """Run a recipe into folder ``out``; returns the metrics dict (also ``out/metrics.json``).

    Dispatches on ``recipe.head.type`` (``siamese`` and ``celltype`` have their own modules);
    ``callbacks`` are extra Lightning callbacks.
    """

    from zoo_tools.data.datasets import SeqTrackDataset
    from zoo_tools.zoo import load_model

    if recipe.head.type == "siamese":
        from zoo_tools.train.siamese import run as run_siamese

        return run_siamese(recipe, out, callbacks)
    if recipe.head.type == "celltype":
        from zoo_tools.train.celltype import run as run_celltype

        return run_celltype(recipe, out, callbacks)
    t0 = time.time()
    spec = recipe.train
    cfg = start_run(recipe, out)
    unknown = sorted(set(recipe.head.task_weights) - set(cfg.track_names))
    if unknown:
        raise ZooError(f"head.task_weights: track(s) {', '.join(unknown)} not in the data YAML "
                       f"(tracks: {', '.join(cfg.track_names)})")
    genome = Genome(cfg.genome)
    base = load_model(recipe.model)
    seq_len = base.card.seq_len
    bin_size = recipe.windows.bin_size or base.card.bin_size
    if not seq_len or seq_len % bin_size:
        raise ZooError(f"windows.bin_size {bin_size} does not divide the model's input length {seq_len}")
    crop = base.card.crop_bins * base.card.bin_size // bin_size  # target bins outside the model's output
    n_out_bins = seq_len // bin_size - 2 * crop
    c, b_in = embedding_shape(base.trunk, seq_len)
    if n_out_bins < 1 or b_in % n_out_bins:
        raise ZooError(f"head: the trunk gives {b_in} bins, which cannot be pooled to {n_out_bins} target bins "
                       f"(windows.bin_size {bin_size}); choose a bin size whose bin count divides {b_in}")
    windows = build_windows(cfg, genome, seq_len, recipe.windows, spec.seed)
    targets = read_binned(cfg.track_paths, windows, bin_size, transform=recipe.windows.transform)
    targets = np.ascontiguousarray(targets[:, :, crop:crop + n_out_bins])
    report = data_report(windows, targets, cfg.track_names, bin_size)
    warnings = []
    leaked = sorted(set(cfg.splits.test) & set(base.card.train_chroms))
    if leaked:
        warnings.append(f"test chromosome(s) {', '.join(leaked)} were in {recipe.model}'s own training set: "
                        f"test metrics may be optimistic")
    if report["depth_spread"] > 2:
        warnings.append(f"tracks differ {report['depth_spread']:.1f}x in mean signal (sequencing depth); "
                        + ("per-task scaling is on" if recipe.head.normalize else "consider head.normalize=true"))
    for w in warnings:
        log.warning(w)
    split = windows.split.to_numpy()
    idx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    scale = task_scale(targets[idx["train"]], recipe.head.loss) if recipe.head.normalize else None
    head = MultiTaskHead(c, len(cfg.tracks), b_in, n_out_bins, loss=recipe.head.loss, hidden=recipe.head.hidden,
                         scale=scale, dropout=recipe.head.dropout, layers=recipe.head.layers,
                         kernel_size=recipe.head.kernel_size)
    net = FineTuner(base.trunk, head)
    weights = torch.tensor([recipe.head.task_weights.get(n, 1.0) for n in cfg.track_names], dtype=torch.float32)
    cached = spec.embedding_cache == "on" or (spec.embedding_cache == "auto" and spec.freeze_trunk
                                              and spec.max_shift == 0)
    plain = SeqTrackDataset(genome, windows, targets)
    from zoo_tools.models.card import task_table
    from zoo_tools.models.model import rc_task_perm

    perm = rc_task_perm(task_table(pd.DataFrame([t.model_dump() for t in cfg.tracks])))
    if cached:
        emb = cache_embeddings(net, plain, spec.rc, data_key(base.card.sha256 or recipe.model, windows, seq_len,
                                                            spec.rc))
        sets = {s: EmbeddingDataset(emb[i], targets[i], spec.rc and s == "train", spec.seed, perm)
                for s, i in idx.items()}
    else:
        sets = {s: SeqTrackDataset(genome, windows.iloc[i].reset_index(drop=True), targets[i],
                                   rc=spec.rc and s == "train", max_shift=spec.max_shift if s == "train" else 0,
                                   seed=spec.seed, rc_track_perm=perm) for s, i in idx.items()}
    single = all(str(recipe.trainer.get(k, 1)) in ("1", "auto") for k in ("devices", "num_nodes"))
    loaders = {s: make_loader(d, spec.batch_size, s == "train", spec.seed, spec.num_workers, batched=single)
               for s, d in sets.items()}
    # with cached embeddings Lightning sees only the head (no unused trunk parameters under DDP)
    lit = lightning_module(FineTuner(nn.Identity(), head) if cached else net, spec, len(loaders["train"]),
                           weights, cached)
    t_fit = time.time()
    best, log_csv, trainer = fit(lit, loaders, recipe, out, callbacks)
    fit_s = time.time() - t_fit
    if best:
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        lit.load_state_dict(state)
    metrics = {"recipe": recipe.name, "model": recipe.model, "data": recipe.data, "bin_size": bin_size,
               "embedding_cache": cached, "epochs_run": int(trainer.current_epoch), "fit_seconds": round(fit_s, 1),
               "seconds_per_epoch": round(fit_s / max(trainer.current_epoch, 1), 3),
               "chromosomes": {s: sorted(set(windows.chrom[split == s])) for s in ("train", "val", "test")},
               "data_report": report, "warnings": warnings}
    if trainer.global_rank != 0:
        return metrics
    emb_all = emb if cached else None
    for s in ("train", "val", "test"):
        pred = _predict_split(net, emb_all if cached else plain, idx[s], cached)
        metrics[s] = track_metrics(pred, targets[idx[s]], cfg.track_names, windows.is_peak.to_numpy()[idx[s]])
        if s == "test":
            plot_pred_vs_obs(pred, targets[idx[s]], cfg.track_names, metrics[s], os.path.join(out, "pred_vs_obs.png"))
    if os.path.exists(log_csv):
        epochs = pd.read_csv(log_csv).groupby("epoch").first().reset_index()
        epochs.to_csv(os.path.join(out, "log.csv"), index=False)
        plot_curves(log_csv, os.path.join(out, "curves.png"))
    card = card_for(recipe, cfg, base, head, metrics, out)
    save_model(os.path.join(out, "model.ckpt"), base, head, net, card, recipe)
    metrics["total_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=1)
    ckpt_dir = os.path.join(out, "lightning_logs", "checkpoints")
    if os.path.isdir(ckpt_dir):
        shutil.rmtree(ckpt_dir)  # model.ckpt holds the best weights
    return metrics


def summary(m: dict, out: str) -> str:
    """Short report of a run."""
    t = m["test"]["mean"]
    lines = [f"fine-tuned {m['model']} ({m['recipe']}) in {m['total_seconds']:.0f} s, {m['epochs_run']} epoch(s)"
             f"{' (embedding cache)' if m['embedding_cache'] else ''}",
             f"  test ({', '.join(m['chromosomes']['test'])}): mean Pearson {t['pearson']:.3f}, "
             f"log1p {t['pearson_log1p']:.3f}, Spearman {t['spearman']:.3f}"
             + (f", auROC {t['auroc']:.3f}, auPRC {t['auprc']:.3f} (chance {t['auprc_chance']:.2f})"
                if "auroc" in t else "")]
    bal = m["data_report"]["class_balance"]
    lines.append("  windows (peak/background): " + ", ".join(
        f"{s} {bal[s]['peak']}/{bal[s]['background']}" for s in ("train", "val", "test") if s in bal))
    lines.append("  track depth (mean signal per bp, train): " + ", ".join(
        f"{k} {v:.3g}" for k, v in m["data_report"]["track_depth"].items()))
    for w in m["warnings"]:
        lines.append(f"  warning: {w}")
    lines.append(f"  outputs: {out}/ (model.ckpt, metrics.json, log.csv, curves.png, pred_vs_obs.png, config.yaml)")
    lines.append(f"  load it: zoo info local:{out}")
    return "\n".join(lines)
