"""Multi-task fine-tuning (``head.type: multitask``, recipes/multitask_encode.yaml).

1. **Windows**: summit-centred windows of the model's input length around every peak of the data
   YAML (near-duplicates within ``min_spacing`` bp merged), plus GC-matched background windows
   (``background_ratio`` per peak), blacklist-filtered, split by chromosome; a val/test window
   overlapping a train window is refused (:mod:`zoo_tools.train.windows`).
2. **Targets**: every track binned at the model's bin size (mean per bin), optionally transformed.
3. **Guards**: class balance and track depth reported; test chromosomes the base model was trained
   on warned about; per-task scale from training windows only.
4. **Training**: a new :class:`MultiTaskHead` on the base trunk (frozen for the warm-up or for good;
   with it frozen and no shifts, trunk embeddings are cached once per window).
5. **Outputs**: ``model.ckpt``, ``metrics.json`` (per task and mean, per split), ``log.csv``,
   ``curves.png``, ``pred_vs_obs.png``, ``config.yaml``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.metrics import position_baseline, track_metrics
from zoo_tools.data.datasets import SeqTrackDataset
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.heads import MultiTaskHead, task_scale
from zoo_tools.models.model import rc_task_perm
from zoo_tools.models.nets.multitask import FineTuner
from zoo_tools.train.embeddings import EmbeddingDataset, cache_embeddings, data_key
from zoo_tools.train.engine import Prepared, RunContext
from zoo_tools.train.plots import plot_pred_vs_obs
from zoo_tools.train.recipes import RecipeKind, register_recipe
from zoo_tools.train.results import RunResult, register_result
from zoo_tools.train.windows import binned_windows, data_report, target_geometry

log = logging.getLogger(__name__)

OUTPUT = {
    "poisson": "expected signal per bin (Poisson head, exp x task scale)",
    "mse": "signal per bin (MSE head)",
    "bce": "probability of a peak call per bin",
    "multinomial": "expected signal per bin (multinomial profile x total)",
}


@register_result
@dataclasses.dataclass
class MultitaskResult(RunResult):
    """A multi-task run: metrics per split (``train`` / ``val`` / ``test``: ``per_task`` and
    ``mean`` Pearson, Spearman, log1p Pearson, auROC / auPRC over peak windows) and the data report."""

    HEAD: ClassVar[str] = "multitask"
    KEYS: ClassVar[tuple[str, ...]] = tuple(  # metrics.json key order
        "recipe model data bin_size embedding_cache epochs_run fit_seconds seconds_per_epoch chromosomes "
        "data_report warnings train val test total_seconds".split()
    )
    bin_size: int = 0
    seconds_per_epoch: float | None = None
    data_report: dict[str, Any] = dataclasses.field(default_factory=dict)
    train: dict[str, Any] | None = None
    val: dict[str, Any] | None = None

    def __post_init__(self):
        if self.seconds_per_epoch is None:
            self.seconds_per_epoch = round(self.fit_seconds / max(self.epochs_run, 1), 3)

    def summary(self, out: str) -> str:
        t = self.test["mean"]
        lines = [
            f"fine-tuned {self.model} ({self.recipe}) in {self.total_seconds:.0f} s, {self.epochs_run} "
            f"epoch(s){' (embedding cache)' if self.embedding_cache else ''}",
            f"  test ({', '.join(self.chromosomes['test'])}): mean Pearson {t['pearson']:.3f}, "
            f"log1p {t['pearson_log1p']:.3f}, Spearman {t['spearman']:.3f}"
            + (
                f", auROC {t['auroc']:.3f}, auPRC {t['auprc']:.3f} (chance {t['auprc_chance']:.2f})"
                if "auroc" in t
                else ""
            ),
        ]
        if "pearson_position_baseline" in t:  # runs of 0.2.0 lack it
            lines.append(
                f"  against a position-only baseline (mean training profile) Pearson "
                f"{t['pearson_position_baseline']:.3f}; per-window (summed) Pearson {t['pearson_window']:.3f}"
            )
        bal = self.data_report["class_balance"]
        lines.append(
            "  windows (peak/background): "
            + ", ".join(f"{s} {bal[s]['peak']}/{bal[s]['background']}" for s in ("train", "val", "test") if s in bal)
        )
        lines.append(
            "  track depth (mean signal per bp, train): "
            + ", ".join(f"{k} {v:.3g}" for k, v in self.data_report["track_depth"].items())
        )
        return "\n".join(
            lines + self._tail(out, "model.ckpt, metrics.json, log.csv, curves.png, pred_vs_obs.png, config.yaml")
        )


def guard_warnings(ctx: RunContext, report: dict) -> None:
    """Warn about test chromosomes the base model trained on and about depth spread.

    Parameters
    ----------
    ctx : the run (warnings added to ``ctx.warnings`` and logged).
    report : :func:`~zoo_tools.train.windows.data_report`'s result.
    """
    leaked = ctx.leaked_test_chroms()
    if leaked:
        ctx.warnings.append(
            f"test chromosome(s) {', '.join(leaked)} were in {ctx.recipe.model}'s own training "
            f"set: test metrics may be optimistic"
        )
    if report["depth_spread"] > 2:
        ctx.warnings.append(
            f"tracks differ {report['depth_spread']:.1f}x in mean signal (sequencing depth); "
            + ("per-task scaling is on" if ctx.recipe.head.normalize else "consider head.normalize=true")
        )
    for w in ctx.warnings:
        log.warning(w)


def _datasets(ctx: RunContext, net, windows, targets, idx, cached: bool):
    """Datasets per split (cached embeddings or sequences with RC / shift augmentation on train),
    and the embedding array (None without the cache)."""
    spec, cfg = ctx.recipe.train, ctx.cfg
    plain = SeqTrackDataset(ctx.genome, windows, targets)
    perm = rc_task_perm(task_table(pd.DataFrame([t.model_dump() for t in cfg.tracks])))
    if cached:
        key = data_key(ctx.base.card.sha256 or ctx.recipe.model, windows, ctx.base.card.seq_len, spec.rc)
        emb = cache_embeddings(net, plain, spec.rc, key, budget_gb=spec.cache_budget_gb)
        return (
            {
                s: EmbeddingDataset(emb[i], targets[i], spec.rc and s == "train", spec.seed, perm)
                for s, i in idx.items()
            },
            emb,
            plain,
        )
    return (
        {
            s: SeqTrackDataset(
                ctx.genome,
                windows.iloc[i].reset_index(drop=True),
                targets[i],
                rc=spec.rc and s == "train",
                max_shift=spec.max_shift if s == "train" else 0,
                seed=spec.seed,
                rc_track_perm=perm,
            )
            for s, i in idx.items()
        },
        None,
        plain,
    )


def prepare(ctx: RunContext) -> Prepared:
    """Windows, binned targets, the head and the datasets of a multi-task run.

    Parameters
    ----------
    ctx : the run (recipe, data YAML, genome, base model).

    Returns
    -------
    Prepared
        ``FineTuner(trunk, MultiTaskHead)``, datasets per split, ``task_weights`` ``(T,)``; ``state``:
        ``windows``, ``targets`` ``(N, T, B)`` float32, ``idx`` per split, ``data`` (for prediction).
    """
    spec, cfg, hs = ctx.recipe.train, ctx.cfg, ctx.recipe.head
    unknown = sorted(set(hs.task_weights) - set(cfg.track_names))
    if unknown:
        raise ZooError(
            f"head.task_weights: track(s) {', '.join(unknown)} not in the data YAML "
            f"(tracks: {', '.join(cfg.track_names)})"
        )
    bin_size, crop, n_out_bins, c, b_in = target_geometry(ctx)
    windows, targets = binned_windows(ctx, bin_size, crop, n_out_bins)
    report = data_report(windows, targets, cfg.track_names, bin_size)
    guard_warnings(ctx, report)
    split = windows.split.to_numpy()
    idx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    scale = task_scale(targets[idx["train"]], hs.loss) if hs.normalize else None
    head = MultiTaskHead(
        c,
        len(cfg.tracks),
        b_in,
        n_out_bins,
        loss=hs.loss,
        hidden=hs.hidden,
        scale=scale,
        dropout=hs.dropout,
        layers=hs.layers,
        kernel_size=hs.kernel_size,
    )
    net = FineTuner(ctx.base.trunk, head)
    weights = torch.tensor([hs.task_weights.get(n, 1.0) for n in cfg.track_names], dtype=torch.float32)
    cached = spec.embedding_cache == "on" or (
        spec.embedding_cache == "auto" and spec.freeze_trunk and spec.max_shift == 0
    )
    sets, emb, plain = _datasets(ctx, net, windows, targets, idx, cached)
    # with cached embeddings Lightning sees only the head (no unused trunk parameters under DDP)
    train_net = FineTuner(nn.Identity(), head) if cached else net
    chroms = {s: sorted(set(windows.chrom[split == s])) for s in ("train", "val", "test")}
    return Prepared(
        net=net,
        head=head,
        train_net=train_net,
        sets=sets,
        cached=cached,
        task_weights=weights,
        info=dict(bin_size=bin_size, chromosomes=chroms, data_report=report),
        state=dict(windows=windows, targets=targets, idx=idx, data=emb if cached else plain),
    )


def predict_split(net: FineTuner, data, idx: np.ndarray, cached: bool, batch_size: int = 128) -> np.ndarray:
    """``(n, T, B)`` predictions for windows ``idx`` from cached embeddings ``(N, [2,] C, B')`` or a
    :class:`SeqTrackDataset`.

    Parameters
    ----------
    net : the fine-tuned network (its head alone reads embeddings).
    data, cached : the embeddings (forward strand used) when ``cached``, else the dataset.
    idx, batch_size : window indices; windows per forward pass.

    Returns
    -------
    np.ndarray
        ``(len(idx), T, B)`` float32.
    """
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(idx), batch_size):
            b = idx[i : i + batch_size]
            if cached:
                e = data[b, 0] if data.ndim == 4 else data[b]
                out.append(net.head(torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))).numpy())
            else:
                x, _ = data[b]
                out.append(net(x).numpy())
    return np.concatenate(out)


def evaluate(ctx: RunContext, prep: Prepared, fitted) -> dict:
    """Track metrics per split; ``pred_vs_obs.png`` on the test split.

    Parameters
    ----------
    ctx, prep, fitted : the run, its prepared network and state, its fit (unused).

    Returns
    -------
    dict
        ``{split: track metrics}`` for ``train``, ``val`` and ``test`` (``per_task`` and ``mean``).
    """
    st, names = prep.state, ctx.cfg.track_names
    peaks = st["windows"].is_peak.to_numpy()
    out = {}
    for s in ("train", "val", "test"):
        i = st["idx"][s]
        pred = predict_split(prep.net, st["data"], i, prep.cached)
        out[s] = track_metrics(pred, st["targets"][i], names, peaks[i])
        add_position_baseline(out[s], st["targets"][st["idx"]["train"]], st["targets"][i], names)
        if s == "test":
            plot_pred_vs_obs(pred, st["targets"][i], names, out[s], os.path.join(ctx.out, "pred_vs_obs.png"))
    warn_below_baseline(ctx.warnings, out["test"])
    return out


def add_position_baseline(metrics: dict, train_obs: np.ndarray, obs: np.ndarray, names: list[str]) -> None:
    """Add ``pearson_position_baseline`` (per task and mean) to one split's track metrics.

    Parameters
    ----------
    metrics : dict
        :func:`~zoo_tools.core.metrics.track_metrics` of the split; updated in place.
    train_obs, obs : numpy.ndarray
        ``(N, T, B)`` training targets (the baseline's mean profile) and the split's targets.
    names : list of str
        The ``T`` task names.
    """
    base = position_baseline(train_obs, obs)
    for k, n in enumerate(names):
        metrics["per_task"][n]["pearson_position_baseline"] = float(base[k])
    metrics["mean"]["pearson_position_baseline"] = float(np.nanmean(base))


def warn_below_baseline(warnings: list[str], test: dict, margin: float = 0.01) -> None:
    """Warn when the model's test per-bin Pearson does not beat the position-only baseline.

    Parameters
    ----------
    warnings : list of str
        The run's warnings (``metrics.json``), appended to.
    test : dict
        The test split's metrics with ``pearson_position_baseline``.
    margin : float
        How much the model must beat the baseline by (Pearson units).
    """
    model, base = test["mean"]["pearson"], test["mean"]["pearson_position_baseline"]
    if not model > base + margin:
        warnings.append(
            f"test per-bin Pearson {model:.3f} does not beat the position-only baseline {base:.3f} (the "
            f"training windows' mean profile, no sequence): the model has learned where signal sits in a "
            f"window, not what in the sequence drives it (per-window Pearson {test['mean']['pearson_window']:.3f})"
        )


def card(ctx: RunContext, prep: Prepared, result: MultitaskResult) -> ModelCard:
    """The fine-tuned model's card: the data YAML's tracks with their test metrics.

    Parameters
    ----------
    ctx, prep, result : the run, its prepared network and its evaluated result.

    Returns
    -------
    ModelCard
        Saved in ``model.ckpt``.
    """
    recipe, base = ctx.recipe, ctx.base
    tasks = task_table(pd.DataFrame([t.model_dump() for t in ctx.cfg.tracks]).drop(columns=["path"]))
    for k in ("pearson_log1p", "pearson", "spearman", "auroc", "auprc"):
        if k in result.test["mean"]:
            tasks[f"test_{k}"] = [result.test["per_task"][n][k] for n in tasks["name"]]
    splits = result.chromosomes
    return ModelCard(
        source="local",
        name=os.path.abspath(ctx.out),
        seq_len=base.card.seq_len,
        bin_size=result.bin_size,
        n_bins=prep.head.config["n_bins"],
        crop_bins=base.card.crop_bins,
        tasks=tasks,
        genome=ctx.cfg.genome,
        train_chroms=splits["train"],
        val_chroms=splits["val"],
        test_chroms=splits["test"],
        output=OUTPUT[recipe.head.loss],
        metrics={f"test_{k}": v for k, v in result.test["mean"].items()},
        notes=f"fine-tuned from {recipe.model} with recipe {recipe.name}",
    )


register_recipe(RecipeKind("multitask", prepare=prepare, evaluate=evaluate, card=card, result=MultitaskResult))
