"""The one engine every recipe runs on.

``run_recipe(recipe, out)``:

1. **start**: output folder, seeds, the data YAML resolved (``demo`` made on first use) and the
   resolved recipe saved as ``out/config.yaml`` (:func:`start_run`);
2. **prepare** (the recipe's own step): data, the network and its datasets (:class:`Prepared`);
3. **fit**: loaders, the Lightning module, training, the best epoch reloaded (:func:`fit_prepared`);
4. **evaluate** (the recipe's own step): metrics per split, predictions and plots;
5. **write**: ``log.csv``, ``curves.png``, the recipe's card, ``model.ckpt`` (checkpoint format 2)
   and ``metrics.json`` (:meth:`RunResult.to_json`).

A recipe registers its ``prepare``, ``evaluate``, ``card`` and result class as a
:class:`~zoo_tools.train.recipes.RecipeKind`; the engine does the rest.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
import torch
from torch import nn

from zoo_tools.data.config import DataConfig, dump_config, load_data_config
from zoo_tools.data.genome import Genome
from zoo_tools.models.checkpoint import finetuned_checkpoint
from zoo_tools.train.config import Recipe
from zoo_tools.train.plots import plot_curves
from zoo_tools.train.results import RunResult
from zoo_tools.train.windows import resolve_data


@dataclass
class RunContext:
    """What every step of a run sees: the recipe, its output folder, the data YAML, and (loaded
    on first use, in the order a recipe asks) the genome and the base model."""

    recipe: Recipe
    out: str
    cfg: DataConfig
    warnings: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.time)

    @cached_property
    def genome(self) -> Genome:
        """The data YAML's reference genome."""
        return Genome(self.cfg.genome)

    @cached_property
    def base(self):
        """The base :class:`~zoo_tools.models.model.ZooModel` (``recipe.model``)."""
        from zoo_tools.zoo import load_model

        return load_model(self.recipe.model)

    @property
    def single_device(self) -> bool:
        """One device and one node (then loaders hand whole index batches to the dataset)."""
        return all(str(self.recipe.trainer.get(k, 1)) in ("1", "auto") for k in ("devices", "num_nodes"))

    def leaked_test_chroms(self) -> list[str]:
        """Test chromosomes that were in the base model's own training set (its card knows them)."""
        return sorted(set(self.cfg.splits.test) & set(self.base.card.train_chroms))


@dataclass
class Prepared:
    """A recipe's network and data, ready to fit.

    Attributes
    ----------
    net : the whole network, saved in ``model.ckpt`` (trunk + head).
    head : its new head (``head.config`` rebuilds it).
    train_net : what Lightning trains (the head over an identity trunk when ``cached``).
    sets : datasets by split (``train`` and ``val`` at least).
    cached : only the head trains, on cached trunk embeddings.
    info : result fields known before training (``chromosomes``, data reports, ...).
    state : whatever the recipe's evaluate and card steps need (windows, targets, ...).
    loss_fn : ``loss_fn(net, batch)``; None for the multi-task head's loss on ``(x, y)``.
    task_weights : ``(T,)`` per-task loss weights, or None.
    net_args : extra constructor arguments of ``net`` (saved in the checkpoint).
    reseed : seed again right before fitting (keeps a recipe's numbers when it fits twice).
    """

    net: nn.Module
    head: nn.Module
    train_net: nn.Module
    sets: dict[str, Any]
    cached: bool
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    loss_fn: Callable | None = None
    task_weights: torch.Tensor | None = None
    net_args: dict[str, Any] | None = None
    reseed: bool = False


@dataclass
class Fitted:
    """A finished fit: the trainer, its CSV log and the training wall time (s)."""

    trainer: Any
    log_csv: str
    fit_seconds: float

    @property
    def rank(self) -> int:
        return int(self.trainer.global_rank)

    @property
    def epochs(self) -> int:
        return int(self.trainer.current_epoch)


def make_loader(ds, batch_size: int, shuffle: bool, seed: int, num_workers: int, batched: bool):
    """DataLoader; ``batched`` hands whole index batches to the dataset (vectorised gather, far
    less per-item overhead) and is used on one device; with several devices / nodes the plain
    per-item loader lets Lightning insert its distributed sampler.

    Parameters
    ----------
    ds : a dataset (with ``batched``, one whose ``__getitem__`` takes index arrays).
    batch_size, shuffle, seed, num_workers : examples per batch; shuffle each epoch, seeded; worker processes.
    batched : hand whole index batches to ``ds``.

    Returns
    -------
    torch.utils.data.DataLoader
    """
    from torch.utils.data import DataLoader

    from zoo_tools.data.datasets import batch_loader

    if batched:
        return batch_loader(ds, batch_size, shuffle=shuffle, seed=seed, num_workers=num_workers)
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
    )


def start_run(recipe: Recipe, out: str) -> RunContext:
    """What every run does first: the output folder, seeds, the data YAML (``demo`` made on first
    use) resolved and validated, and the resolved recipe saved as ``out/config.yaml``.

    Parameters
    ----------
    recipe : the recipe (``recipe.data`` is set to the resolved data YAML path).
    out : the output folder (made).

    Returns
    -------
    RunContext
        What the recipe's steps see (the genome and base model are loaded when first used).
    """
    from zoo_tools.train.lightning import seed_everything

    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    seed_everything(recipe.train.seed)
    recipe.data = resolve_data(recipe.data)
    dump_config(recipe, os.path.join(out, "config.yaml"))
    return RunContext(recipe, out, load_data_config(recipe.data), t0=t0)


def fit_prepared(ctx: RunContext, prep: Prepared, out: str, callbacks=()) -> Fitted:
    """Loaders, the Lightning module and training into ``out``; the best epoch's weights are
    loaded back into ``prep.train_net``.

    Parameters
    ----------
    ctx, prep : the run and the recipe's prepared network and datasets.
    out : folder of Lightning's logs and checkpoints (``ctx.out``, or e.g. a control's sub-folder).
    callbacks : extra Lightning callbacks.

    Returns
    -------
    Fitted
        The trainer, its CSV log and the training wall time in seconds.
    """
    from zoo_tools.train.lightning import LitFineTune, fit, seed_everything

    spec = ctx.recipe.train
    loaders = {
        s: make_loader(d, spec.batch_size, s == "train", spec.seed, spec.num_workers, batched=ctx.single_device)
        for s, d in prep.sets.items()
    }
    lit = LitFineTune(prep.train_net, spec, len(loaders["train"]), prep.task_weights, prep.cached, prep.loss_fn)
    if prep.reseed:
        seed_everything(spec.seed)
    t_fit = time.time()
    best, log_csv, trainer = fit(lit, loaders, ctx.recipe, out, callbacks)
    fit_s = time.time() - t_fit
    if best:
        lit.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
    return Fitted(trainer, log_csv, fit_s)


def run_recipe(recipe: Recipe, out: str, callbacks=()) -> RunResult:
    """Run any registered recipe into folder ``out``: start, prepare, fit, evaluate, write.

    Parameters
    ----------
    recipe, out : the recipe (validated); the output folder.
    callbacks : extra Lightning callbacks.

    Returns
    -------
    RunResult
        The recipe's typed result (also ``out/metrics.json``); on non-zero DDP ranks a partial one
        (no evaluation, nothing written).
    """
    from zoo_tools.train.recipes import recipe_kind

    kind = recipe_kind(recipe.head.type)
    ctx = start_run(recipe, out)
    prep = kind.prepare(ctx)
    fitted = fit_prepared(ctx, prep, out, callbacks)
    fields = dict(
        recipe=recipe.name,
        model=recipe.model,
        data=recipe.data,
        embedding_cache=prep.cached,
        epochs_run=fitted.epochs,
        fit_seconds=round(fitted.fit_seconds, 1),
        warnings=ctx.warnings,
        **prep.info,
    )
    if fitted.rank != 0:
        return kind.result(**fields)
    fields.update(kind.evaluate(ctx, prep, fitted))
    result = kind.result(**fields)
    write_outputs(ctx, prep, fitted, result, kind.card(ctx, prep, result))
    return result


def finished_run(recipe: Recipe, out: str) -> RunResult | None:
    """The result of a finished run of exactly this recipe in ``out``, if there is one.

    Parameters
    ----------
    recipe, out : the recipe; the folder to look in.

    Returns
    -------
    RunResult or None
        Read from ``out/metrics.json`` when ``out/config.yaml`` equals the resolved recipe and
        ``model.ckpt`` and ``metrics.json`` are there; else None.
    """
    import yaml

    paths = [os.path.join(out, f) for f in ("config.yaml", "model.ckpt", "metrics.json")]
    if not all(os.path.exists(p) for p in paths):
        return None
    resolved = recipe.model_copy(deep=True)
    resolved.data = resolve_data(resolved.data)
    with open(paths[0]) as fh:
        same = yaml.safe_load(fh) == resolved.model_dump(mode="json")
    return RunResult.from_json(paths[2]) if same else None


def reuse_or_run(recipe: Recipe, out: str, callbacks=()) -> RunResult:
    """:func:`run_recipe`, unless ``out`` holds a finished run of the same recipe (then its result);
    processes sharing ``out`` wait for the one that trains.

    Parameters
    ----------
    recipe, out, callbacks : as for :func:`run_recipe`.

    Returns
    -------
    RunResult
        The finished run's result, or the new run's.
    """
    from zoo_tools.core.locks import file_lock

    with file_lock(os.path.abspath(out).rstrip(os.sep) + ".lock"):
        return finished_run(recipe, out) or run_recipe(recipe, out, callbacks)


def write_outputs(ctx: RunContext, prep: Prepared, fitted: Fitted, result: RunResult, card) -> None:
    """``log.csv`` and ``curves.png``, ``model.ckpt``, ``metrics.json``; Lightning's own
    checkpoints removed (``model.ckpt`` holds the best weights).

    Parameters
    ----------
    ctx, prep, fitted : the run, its prepared network and its fit.
    result : the typed result (its ``total_seconds`` is set here).
    card : the saved model's :class:`~zoo_tools.models.card.ModelCard` (the recipe's ``card`` step).
    """
    out = ctx.out
    if os.path.exists(fitted.log_csv):
        epochs = pd.read_csv(fitted.log_csv).groupby("epoch").first().reset_index()
        epochs.to_csv(os.path.join(out, "log.csv"), index=False)
        plot_curves(fitted.log_csv, os.path.join(out, "curves.png"))
    save_model(os.path.join(out, "model.ckpt"), ctx, prep, card)
    result.total_seconds = round(time.time() - ctx.t0, 1)
    result.to_json(os.path.join(out, "metrics.json"))
    for folder in (out, *prep.state.get("extra_runs", ())):
        shutil.rmtree(os.path.join(folder, "lightning_logs", "checkpoints"), ignore_errors=True)


def save_model(path: str, ctx: RunContext, prep: Prepared, card) -> None:
    """Write ``prep.net`` as a zoo_tools checkpoint (format 2: the trunk described completely).

    Parameters
    ----------
    path : the checkpoint file (``model.ckpt``).
    ctx, prep : the run (its base model describes the trunk) and the network to save.
    card : the model's :class:`~zoo_tools.models.card.ModelCard`.
    """
    from zoo_tools.train.recipes import recipe_kind

    base = ctx.base
    ckpt = finetuned_checkpoint(
        kind=recipe_kind(ctx.recipe.head.type).net_kind,
        trunk=base.arch,
        head=prep.head.config,
        base_spec=ctx.recipe.model,
        base_sha256=base.card.sha256,
        net_args=prep.net_args or {},
        state_dict=prep.net.state_dict(),
        card=card,
    )
    torch.save(ckpt, path)
