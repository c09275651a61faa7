"""Predicting an assay in a cell type the model never saw, from sequence plus that cell's ATAC.

A recipe whose head is ``type: celltype`` (recipes/novel_celltype_atac.yaml).
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

import dataclasses
import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoo_tools.core.metrics import track_metrics
from zoo_tools.data.datasets import SeqTrackDataset
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.heads import MultiTaskHead
from zoo_tools.models.nets.celltype import CellTypeNet
from zoo_tools.models.nets.multitask import FineTuner
from zoo_tools.train.cells import CellWindowDataset, cell_arrays, cell_design, example_sets
from zoo_tools.train.embeddings import cache_embeddings, data_key
from zoo_tools.train.engine import Prepared, RunContext, fit_prepared
from zoo_tools.train.plots import plot_pred_vs_obs
from zoo_tools.train.recipes import RecipeKind, register_recipe
from zoo_tools.train.results import RunResult, register_result
from zoo_tools.train.windows import binned_windows, target_geometry

LABELS = {
    "holdout_cells_train_chroms": "held-out cell type(s) on training chromosomes (optimistic: loci seen)",
    "train_cells_test_chroms": "training cell types on test chromosomes",
}


@register_result
@dataclasses.dataclass
class CellTypeResult(RunResult):
    """A cell-type run: ``evaluations`` per example set (``test``: held-out cell types on test
    chromosomes, and the two optimistic sets) per predictor (``model``, the ``cell_type_average``
    baseline, the ``sequence_only`` control); ``test`` is the model's test metrics."""

    HEAD: ClassVar[str] = "celltype"
    KEYS: ClassVar[tuple[str, ...]] = tuple(  # metrics.json key order
        "recipe model data head input_assay target_assays train_cell_types holdout_cell_types embedding_cache "
        "epochs_run fit_seconds chromosomes examples track_depth warnings evaluations test total_seconds".split()
    )
    head: str = "celltype"
    input_assay: str = ""
    target_assays: list[str] = dataclasses.field(default_factory=list)
    train_cell_types: list[str] = dataclasses.field(default_factory=list)
    holdout_cell_types: list[str] = dataclasses.field(default_factory=list)
    examples: dict[str, int] = dataclasses.field(default_factory=dict)
    track_depth: dict[str, float] = dataclasses.field(default_factory=dict)
    evaluations: dict[str, Any] | None = None

    @property
    def baselines(self) -> dict[str, dict]:
        """Test metrics of every predictor other than the model (baseline and control)."""
        return {k: v for k, v in (self.evaluations or {}).get("test", {}).items() if k != "model"}

    def summary(self, out: str) -> str:
        lines = [
            f"cell-type model from {self.model} ({self.recipe}) in {self.total_seconds:.0f} s, "
            f"{self.epochs_run} epoch(s): {self.input_assay} + sequence -> {', '.join(self.target_assays)}; "
            f"trained on {', '.join(self.train_cell_types)}, held out {', '.join(self.holdout_cell_types)}"
        ]
        labels = {
            "test": f"held-out cell type(s) on test chromosomes ({', '.join(self.chromosomes['test'])})",
            **LABELS,
        }
        for name, e in self.evaluations.items():
            parts = ", ".join(f"{who} {v['mean']['pearson']:.3f}" for who, v in e.items())
            lines.append(f"  {labels.get(name, name)}: mean Pearson {parts}")
        ctrl = ", sequence_only/" if "sequence_only" in self.evaluations["test"] else ""
        return "\n".join(
            lines
            + self._tail(
                out,
                f"model.ckpt, metrics.json, comparison.tsv, log.csv, curves.png, pred_vs_obs.png, config.yaml{ctrl}",
            )
        )


def celltype_loss(net: CellTypeNet, batch) -> torch.Tensor:
    """The head's loss (``head.loss``: poisson / mse) of ``net.logits(x, signal)`` against the targets.

    Parameters
    ----------
    net : the :class:`~zoo_tools.models.nets.celltype.CellTypeNet` being trained.
    batch : ``(x, signal, target)`` from :class:`~zoo_tools.train.cells.CellWindowDataset`.

    Returns
    -------
    torch.Tensor
        The scalar loss.
    """
    x, s, y = batch
    return net.head.loss(net.logits(x, s), y)


def build(ctx: RunContext, st: dict, n_signals: int) -> Prepared:
    """The cell-type network with ``n_signals`` input channels (0: the sequence-only control).

    Parameters
    ----------
    ctx : the run.
    st : :func:`prepare`'s state (``design``, ``x``, ``signal``, ``target``, ``pairs``, ``cached``, geometry).
    n_signals : input signal channels (1, or 0).

    Returns
    -------
    Prepared
        A :class:`~zoo_tools.models.nets.celltype.CellTypeNet`, ``train`` / ``val`` datasets of (window,
        cell) pairs, :func:`celltype_loss`, ``state=st``; reseeded before its fit.
    """
    hs, cached = ctx.recipe.head, st["cached"]
    head = MultiTaskHead(
        st["c_emb"] + n_signals,
        len(st["design"]["targets"]),
        st["n_bins"],
        st["n_bins"],
        loss=hs.loss,
        hidden=hs.hidden,
        dropout=hs.dropout,
        layers=hs.layers,
        kernel_size=hs.kernel_size,
    )
    net = CellTypeNet(ctx.base.trunk, head, n_signals, st["b_in"], st["n_bins"])
    train_net = CellTypeNet(nn.Identity(), head, n_signals, st["b_in"], st["n_bins"]) if cached else net
    sets = {
        s: CellWindowDataset(st["x"], st["signal"], st["target"], st["pairs"][s], codes=not cached)
        for s in ("train", "val")
    }
    return Prepared(
        net=net,
        head=head,
        train_net=train_net,
        sets=sets,
        cached=cached,
        loss_fn=celltype_loss,
        reseed=True,
        state=st,
        net_args={"n_signals": n_signals, "in_bins": st["b_in"], "n_bins": st["n_bins"]},
    )


def prepare(ctx: RunContext) -> Prepared:
    """Cell design, windows, depth-normalised signal and targets, embeddings, the network.

    Parameters
    ----------
    ctx : the run (recipe, data YAML, genome, base model).

    Returns
    -------
    Prepared
        :func:`build` with one signal channel; ``state`` adds ``windows`` and ``x`` (embeddings
        ``(Nw, C, B')`` with the trunk frozen, else codes ``(Nw, L)``) to the arrays of
        :mod:`zoo_tools.train.cells`; ``info`` the cell types, chromosomes, example counts and depths.
    """
    recipe, spec, hs, cfg = ctx.recipe, ctx.recipe.train, ctx.recipe.head, ctx.cfg
    design = cell_design(cfg, hs.input_assay, hs.target_assays, hs.holdout_cell_types)
    bin_size, crop, n_bins, c_emb, b_in = target_geometry(ctx)
    seq_len = ctx.base.card.seq_len
    windows, raw = binned_windows(ctx, bin_size, crop, n_bins)
    split = windows.split.to_numpy()
    signal, target, depth = cell_arrays(design, raw, split == "train")
    pairs = example_sets(design, split)
    cached = spec.freeze_trunk
    if cached:
        x = cache_embeddings(
            FineTuner(ctx.base.trunk, nn.Identity()),
            SeqTrackDataset(ctx.genome, windows, raw),
            False,
            data_key(ctx.base.card.sha256 or recipe.model, windows, seq_len, False),
            budget_gb=spec.cache_budget_gb,
        )
    else:
        x = ctx.genome.batch_codes(windows.chrom.to_numpy(), windows.start.to_numpy(), seq_len)
    st = dict(design=design, windows=windows, x=x, signal=signal, target=target, pairs=pairs, cached=cached)
    st.update(c_emb=c_emb, b_in=b_in, n_bins=n_bins, bin_size=bin_size, crop=crop)
    prep = build(ctx, st, 1)
    prep.info = dict(
        input_assay=design["input_assay"],
        target_assays=design["targets"],
        train_cell_types=design["train_cells"],
        holdout_cell_types=design["holdout"],
        chromosomes={s: sorted(set(windows.chrom[split == s])) for s in ("train", "val", "test")},
        examples={k: int(len(v)) for k, v in pairs.items()},
        track_depth={t.name: float(d) for t, d in zip(cfg.tracks, depth)},
    )
    return prep


def predict(net: CellTypeNet, st: dict, p: np.ndarray) -> np.ndarray:
    """``(n, T, B)`` predictions for (window, cell) pairs ``p``.

    Parameters
    ----------
    net : a cell-type network (``prep.train_net``: over cached embeddings when ``st["cached"]``).
    st : :func:`prepare`'s state.
    p : ``(n, 2)`` int64 rows of (window index, cell index).

    Returns
    -------
    np.ndarray
        ``(n, T, B)`` float32, in units of each track's training mean.
    """
    net.eval()
    ds = CellWindowDataset(st["x"], st["signal"], st["target"], p, codes=not st["cached"])
    res = []
    with torch.no_grad():
        for i in range(0, len(p), 256):
            xb, sb, _ = ds[np.arange(i, min(i + 256, len(p)))]
            res.append(net(xb, sb).numpy())
    return np.concatenate(res) if res else np.zeros((0,) + st["target"].shape[2:], np.float32)


def _metrics(pred: np.ndarray, st: dict, p: np.ndarray) -> dict:
    obs = st["target"][p[:, 1], p[:, 0]]
    return track_metrics(pred, obs, st["design"]["targets"], st["windows"].is_peak.to_numpy()[p[:, 0]])


def evaluate(ctx: RunContext, prep: Prepared, fitted) -> dict:
    """The model, the cell-type-average baseline and the sequence-only control on every example
    set but train / val; ``comparison.tsv`` and ``pred_vs_obs.png``.

    Parameters
    ----------
    ctx, prep, fitted : the run, its prepared network and state, its fit (the control is fitted here,
        into ``out/sequence_only``).

    Returns
    -------
    dict
        ``evaluations`` ``{example set: {predictor: track metrics}}`` and ``test``: the model's metrics
        on the held-out cell types on test chromosomes.
    """
    st = prep.state
    baseline = st["target"][[st["design"]["cells"].index(c) for c in st["design"]["train_cells"]]].mean(0)
    evals = {
        name: {
            "model": _metrics(predict(prep.train_net, st, p), st, p),
            "cell_type_average": _metrics(baseline[p[:, 0]], st, p),
        }
        for name, p in st["pairs"].items()
        if name not in ("train", "val") and len(p)
    }
    if ctx.recipe.head.sequence_only_control:
        ctrl_dir = os.path.join(ctx.out, "sequence_only")
        ctrl = build(ctx, st, 0)
        fit_prepared(ctx, ctrl, ctrl_dir)
        for name in evals:
            p = st["pairs"][name]
            evals[name]["sequence_only"] = _metrics(predict(ctrl.train_net, st, p), st, p)
        st["extra_runs"] = [ctrl_dir]
    rows = [
        dict(evaluation=name, predictor=who, **{k: m["mean"][k] for k in ("pearson", "pearson_log1p", "spearman")})
        for name, e in evals.items()
        for who, m in e.items()
    ]
    pd.DataFrame(rows).to_csv(os.path.join(ctx.out, "comparison.tsv"), sep="\t", index=False, float_format="%.4f")
    test_p = st["pairs"]["test"]
    plot_pred_vs_obs(
        predict(prep.train_net, st, test_p),
        st["target"][test_p[:, 1], test_p[:, 0]],
        st["design"]["targets"],
        evals["test"]["model"],
        os.path.join(ctx.out, "pred_vs_obs.png"),
    )
    return {"evaluations": evals, "test": evals["test"]["model"]}


def card(ctx: RunContext, prep: Prepared, result: CellTypeResult) -> ModelCard:
    """The cell-type model's card: one task per target assay, in units of the training mean.

    Parameters
    ----------
    ctx, prep, result : the run, its prepared state and its evaluated result.

    Returns
    -------
    ModelCard
        Saved in ``model.ckpt``, with each assay's test Pearson.
    """
    st, names, ch = prep.state, result.target_assays, result.chromosomes
    tasks = task_table(pd.DataFrame({"name": names, "assay": names, "cell_type": "any (input signal)"}))
    tasks["test_pearson"] = [result.test["per_task"][n]["pearson"] for n in names]
    return ModelCard(
        source="local",
        name=os.path.abspath(ctx.out),
        seq_len=ctx.base.card.seq_len,
        bin_size=st["bin_size"],
        n_bins=st["n_bins"],
        crop_bins=st["crop"],
        tasks=tasks,
        genome=ctx.cfg.genome,
        train_chroms=ch["train"],
        val_chroms=ch["val"],
        test_chroms=ch["test"],
        output=f"{', '.join(names)} per bin in units of the track's training mean, given "
        f"signal = log1p({result.input_assay} / its mean) per bin",
        metrics={f"test_{k}": v for k, v in result.test["mean"].items()},
        notes=f"cell-type model fine-tuned from {ctx.recipe.model} with recipe {ctx.recipe.name}; "
        f"trained on {', '.join(result.train_cell_types)}; held out "
        f"{', '.join(result.holdout_cell_types)}",
    )


register_recipe(RecipeKind("celltype", prepare=prepare, evaluate=evaluate, card=card, result=CellTypeResult))
