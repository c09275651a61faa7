"""The Lightning side of training: one LightningModule for every recipe, and ``fit``.

This is the only module that imports Lightning at import time; the engine imports it when a run
starts, so ``import zoo_tools.train`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import quiet_lightning
from zoo_tools.train.config import Recipe, TrainSpec


class LitFineTune(L.LightningModule):
    """Loss, trunk-freezing schedule, AdamW and a one-cycle schedule around ``net``.

    Parameters
    ----------
    net : a module with ``trunk`` and ``head`` (the head alone when ``cached``).
    spec : the recipe's ``train`` block.
    steps_per_epoch : batches per training epoch (for the one-cycle schedule).
    task_weights : ``(T,)`` float32 per-task loss weights, or None.
    cached : the inputs are cached trunk embeddings (the trunk never trains).
    loss_fn : ``loss_fn(net, batch) -> loss`` for other heads (siamese, cell type); default the
        multi-task head's loss on ``(x, y)`` batches.
    """

    def __init__(
        self,
        net: nn.Module,
        spec: TrainSpec,
        steps_per_epoch: int,
        task_weights: torch.Tensor | None,
        cached: bool,
        loss_fn: Callable | None = None,
    ):
        super().__init__()
        self.net, self.spec, self.steps_per_epoch = net, spec, steps_per_epoch
        self.cached, self.loss_fn = cached, loss_fn
        self.register_buffer("task_weights", task_weights if task_weights is not None else torch.ones(0))

    def _logits(self, x):
        return self.net.head.logits(x) if self.cached else self.net.logits(x)

    def _loss(self, batch):
        if self.loss_fn is not None:
            return self.loss_fn(self.net, batch)
        x, y = batch
        w = self.task_weights if self.task_weights.numel() else None
        return self.net.head.loss(self._logits(x), y, w)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(batch[0]))
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log(
            "val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(batch[0]), sync_dist=True
        )

    def on_train_epoch_start(self):
        spec = self.spec
        frozen = self.cached or spec.freeze_trunk or self.current_epoch < spec.head_warmup_epochs
        for p in self.net.trunk.parameters():
            p.requires_grad_(not frozen)
        if frozen:
            self.net.trunk.eval()
        ds = self.trainer.train_dataloader.dataset if self.trainer.train_dataloader is not None else None
        if hasattr(ds, "set_epoch"):
            ds.set_epoch(self.current_epoch)

    def configure_optimizers(self):
        spec = self.spec
        groups = [{"params": list(self.net.head.parameters()), "lr": spec.lr}]
        trunk = list(self.net.trunk.parameters())
        if trunk and not self.cached and not spec.freeze_trunk:
            groups.append({"params": trunk, "lr": spec.trunk_lr or spec.lr / 10})
        opt = torch.optim.AdamW(groups, weight_decay=spec.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=[g["lr"] for g in groups],
            total_steps=spec.epochs * self.steps_per_epoch,
            pct_start=0.15,
            div_factor=10,
            final_div_factor=100,
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def trainer_options(recipe: Recipe, out: str, n_train_batches: int, callbacks=()) -> tuple[dict, ModelCheckpoint]:
    """Lightning ``Trainer`` keyword arguments for a recipe (its ``trainer:`` block wins), and the
    checkpoint callback that keeps the best epoch.

    Parameters
    ----------
    recipe, out : the recipe; the folder of Lightning's logs and checkpoints.
    n_train_batches : batches per training epoch (caps the logging interval).
    callbacks : extra Lightning callbacks.

    Returns
    -------
    tuple[dict, ModelCheckpoint]
        The ``Trainer`` options and the checkpoint callback among their ``callbacks``.
    """
    spec = recipe.train
    loggers = [CSVLogger(out, name="lightning_logs", version="")]
    if recipe.logger == "wandb":
        from lightning.pytorch.loggers import WandbLogger

        loggers.append(WandbLogger(project="zoo_tools", name=recipe.name, save_dir=out, offline=True))
    ckpt = ModelCheckpoint(
        dirpath=os.path.join(out, "lightning_logs", "checkpoints"),
        monitor="val_loss",
        save_top_k=1,
        save_weights_only=True,
        filename="best",
    )
    # no early stop in the first half: the one-cycle schedule's rising learning rate makes the
    # validation loss climb for a few epochs before it falls (small data sets stopped there)
    options = dict(
        max_epochs=spec.epochs,
        min_epochs=max(1, spec.epochs // 2),
        logger=loggers,
        callbacks=[EarlyStopping("val_loss", patience=spec.patience), ckpt, *callbacks],
        gradient_clip_val=spec.grad_clip or None,
        deterministic=spec.deterministic,
        precision=spec.precision,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=out,
        accelerator="auto",
        devices=1,
        log_every_n_steps=max(1, min(50, n_train_batches)),
    )
    options.update(recipe.trainer)
    if options.get("strategy") == "ddp" and not spec.freeze_trunk:
        # the trunk is frozen during the head warm-up: its parameters get no gradient then
        options["strategy"] = "ddp_find_unused_parameters_true"
    return options, ckpt


def fit(lit: LitFineTune, loaders: dict, recipe: Recipe, out: str, callbacks=()):
    """Train ``lit`` on the ``train`` loader, validating on ``val`` after each epoch.

    Parameters
    ----------
    lit : the Lightning module.
    loaders : data loaders by split (``train`` and ``val``).
    recipe, out : the recipe (its ``train`` and ``trainer`` blocks); the folder of logs and checkpoints.
    callbacks : extra Lightning callbacks (``zoo tune`` reports each epoch through one).

    Returns
    -------
    tuple[str, str, lightning.Trainer]
        ``(best checkpoint path, CSV log path, trainer)``; the path is ``""`` if no checkpoint was saved.
    """
    quiet_lightning()
    options, ckpt = trainer_options(recipe, out, len(loaders["train"]), callbacks)
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


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (and dataloader workers) as Lightning does.

    Parameters
    ----------
    seed : the seed (the recipe's ``train.seed``).
    """
    L.seed_everything(seed, workers=True, verbose=False)
