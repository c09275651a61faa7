"""Siamese (twin) fine-tuning (``head.type: siamese``, recipes/siamese_allelic.yaml): one trunk,
shared weights, applied to the two alleles of a SNV.

1. **Pairs**: the data YAML's ``allelic:`` table (:mod:`zoo_tools.data.allelic`) read losslessly;
   each usable SNV gives a reference and an alternative window of the model's input length with
   the SNV at index ``seq_len // 2``; targets are ``log((alt + 1) / (ref + 1))`` per group (cell
   type), NaN where a group has no row. SNVs split by chromosome.
2. **Model**: ``SiameseHead(trunk(ref), trunk(alt))``, antisymmetric by construction. With the
   trunk frozen (default) the centre embedding bins of both alleles are computed once.
3. **Loss**: squared error on observed pairs, weighted by read depth (mean weight 1) with
   ``weight_by_depth``.
4. **Outputs**: ``model.ckpt`` (``load_model("local:OUT")`` gives a
   :class:`~zoo_tools.models.nets.siamese.SiameseZooModel`), ``metrics.json`` (Pearson / Spearman
   with the observed log ratio and the truth, pooled and per group, per split; the antisymmetry
   check), ``predictions.tsv``, ``allelic_records.tsv``, ``log.csv``, ``curves.png``,
   ``pred_vs_obs.png``, ``config.yaml``.
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
from zoo_tools.data.allelic import pair_table, read_allelic, status_counts
from zoo_tools.data.splits import assign_splits
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.heads import SiameseHead
from zoo_tools.models.nets.siamese import SiameseNet
from zoo_tools.train.embeddings import embedding_shape
from zoo_tools.train.engine import Prepared, RunContext
from zoo_tools.train.pairs import PairDataset, allele_codes, centre_embeddings, pair_loss, pair_metrics
from zoo_tools.train.plots import plot_pairs
from zoo_tools.train.recipes import RecipeKind, register_recipe
from zoo_tools.train.results import RunResult, register_result

log = logging.getLogger(__name__)


@register_result
@dataclasses.dataclass
class SiameseResult(RunResult):
    """A siamese run: per split ``pooled`` and ``per_group`` correlations of the predicted
    imbalance with the observed log ratio (and the truth, when the table has one)."""

    HEAD: ClassVar[str] = "siamese"
    KEYS: ClassVar[tuple[str, ...]] = tuple(  # metrics.json key order
        "recipe model data head groups allelic_rows snvs embedding_cache epochs_run fit_seconds chromosomes "
        "warnings train val test antisymmetry_max_abs total_seconds".split()
    )
    head: str = "siamese"
    groups: list[str] = dataclasses.field(default_factory=list)
    allelic_rows: dict[str, int] = dataclasses.field(default_factory=dict)
    snvs: dict[str, int] = dataclasses.field(default_factory=dict)
    train: dict[str, Any] | None = None
    val: dict[str, Any] | None = None
    antisymmetry_max_abs: float | None = None

    def test_mean(self) -> dict[str, float]:
        pooled = (self.test or {}).get("pooled", {})
        return {f"{k}_pearson": v.get("pearson") for k, v in pooled.items()}

    def split_pearson(self, split: str) -> float | None:
        return ((getattr(self, split, None) or {}).get("pooled", {}).get("observed", {})).get("pearson")

    def test_table(self) -> pd.DataFrame:
        test = self.test or {}
        stats = ("n", "pearson", "spearman")
        return pd.DataFrame(
            [
                {"group": g, **{f"{k} {stat}": d[k][stat] for k in d for stat in stats}}
                for g, d in [("pooled", test["pooled"]), *test.get("per_group", {}).items()]
            ]
        )

    TABLE_INLINE: ClassVar[bool] = True

    def describe(self, name=str, text=str) -> str:
        return f"siamese recipe {name(self.recipe)}: predicted vs allelic imbalance on the test SNVs"

    def headline(self, name: str) -> str:
        pooled = self.test["pooled"]
        return f"{name}: siamese, test Pearson {pooled['observed']['pearson']:.3f} with observed ratios" + (
            f", {pooled['truth']['pearson']:.3f} with the truth" if "truth" in pooled else ""
        )

    def summary(self, out: str) -> str:
        t = self.test["pooled"]
        line = (
            f"  test SNVs ({', '.join(self.chromosomes['test'])}): Pearson with observed log ratio "
            f"{t['observed'].get('pearson', float('nan')):.3f}"
        )
        if "truth" in t:
            line += f", with the truth {t['truth'].get('pearson', float('nan')):.3f}"
        lines = [
            f"siamese fine-tune of {self.model} ({self.recipe}) in {self.total_seconds:.0f} s, "
            f"{self.epochs_run} epoch(s); groups: {', '.join(self.groups)}",
            line,
            f"  SNVs train/val/test: {self.snvs['train']}/{self.snvs['val']}/{self.snvs['test']}; "
            f"allelic rows: " + ", ".join(f"{k} {v}" for k, v in self.allelic_rows.items()),
            f"  swap check: max |f(ref,alt) + f(alt,ref)| = {self.antisymmetry_max_abs:.1e}",
        ]
        return "\n".join(
            lines
            + self._tail(
                out,
                "model.ckpt, metrics.json, predictions.tsv, allelic_records.tsv, "
                "log.csv, curves.png, pred_vs_obs.png, config.yaml",
            )
        )


def read_pairs(ctx: RunContext) -> dict:
    """The allelic table (every row with its status in ``allelic_records.tsv``), its usable SNVs
    split by chromosome, and their targets / depths / truth ``(N, groups)``.

    Parameters
    ----------
    ctx : the run (the data YAML's ``allelic:`` table; skipped rows are warned about).

    Returns
    -------
    dict
        ``snvs`` (``chrom, pos, ref, alt, split``; ``pos`` 1-based), ``groups``, ``target`` (log
        ratios, NaN where unobserved), ``depth`` (reads), ``truth`` (NaN where unknown), ``idx``
        ``{split: SNV indices}`` (each non-empty) and ``statuses`` ``{status: rows}``.
    """
    cfg, recipe = ctx.cfg, ctx.recipe
    if cfg.allelic is None:
        raise ZooError(
            f"{recipe.data}: no `allelic:` table for the siamese recipe; add e.g. "
            f"`allelic: {{path: counts.tsv, group: cell_type}}` (see README, siamese recipe)"
        )
    records = read_allelic(cfg.allelic, ctx.genome)
    records.to_csv(os.path.join(ctx.out, "allelic_records.tsv"), sep="\t", index=False)
    statuses = status_counts(records)
    skipped = {k: v for k, v in statuses.items() if k != "ok"}
    if skipped:
        ctx.warnings.append(
            f"{sum(skipped.values())} of {len(records)} allelic rows not used ("
            + ", ".join(f"{k} {v}" for k, v in skipped.items())
            + f"); see {os.path.join(ctx.out, 'allelic_records.tsv')}"
        )
    snvs, groups, target, depth, truth = pair_table(records)
    if cfg.splits.by != "chromosome":
        raise ZooError(
            f"{recipe.data}: splits by {cfg.splits.by} are for the multitask and cell-type recipes; the siamese "
            f"recipe holds out whole contigs (list them under splits.val / splits.test)"
        )
    snvs = assign_splits(snvs, cfg.splits.val, cfg.splits.test, ctx.genome.contigs)
    split = snvs.split.to_numpy()
    idx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    for s, i in idx.items():
        if not len(i):
            raise ZooError(
                f"no {s} SNVs in the allelic table: check `splits` in {recipe.data} (SNVs on: "
                f"{', '.join(sorted(set(snvs.chrom)))})"
            )
    return dict(snvs=snvs, groups=groups, target=target, depth=depth, truth=truth, idx=idx, statuses=statuses)


def pair_weights(target: np.ndarray, depth: np.ndarray, train: np.ndarray, by_depth: bool) -> np.ndarray:
    """``(N, groups)`` loss weights: read depth scaled to mean 1 on observed training pairs, or 1
    per observed pair; 0 where unobserved.

    Parameters
    ----------
    target, depth : ``(N, groups)`` log ratios (NaN: unobserved) and read depths.
    train, by_depth : training SNV indices; weigh by depth (``head.weight_by_depth``).

    Returns
    -------
    np.ndarray
        ``(N, groups)`` float32.
    """
    if not by_depth:
        return np.isfinite(target).astype(np.float32)
    weight = np.where(np.isfinite(target), depth, 0).astype(np.float32)
    return weight / max(float(weight[train][np.isfinite(target[train])].mean()), 1e-6)


def prepare(ctx: RunContext) -> Prepared:
    """Allele pairs, the siamese head and the pair datasets (centre embeddings when frozen).

    Parameters
    ----------
    ctx : the run (recipe, data YAML, genome, base model).

    Returns
    -------
    Prepared
        ``SiameseNet(trunk, SiameseHead)``, a :class:`~zoo_tools.train.pairs.PairDataset` per split,
        :func:`~zoo_tools.train.pairs.pair_loss`; ``state``: :func:`read_pairs`'s dict with ``ref_x`` /
        ``alt_x`` (embeddings ``(N, C, context_bins)`` when frozen, else codes ``(N, seq_len)``).
    """
    spec, hs = ctx.recipe.train, ctx.recipe.head
    p = read_pairs(ctx)
    base = ctx.base
    leaked = ctx.leaked_test_chroms()
    if leaked:
        ctx.warnings.append(f"test chromosome(s) {', '.join(leaked)} were in {ctx.recipe.model}'s own training set")
    for w in ctx.warnings:
        log.warning(w)
    c, b_in = embedding_shape(base.trunk, base.card.seq_len)
    head = SiameseHead(c, b_in, len(p["groups"]), context_bins=hs.context_bins, hidden=hs.hidden, dropout=hs.dropout)
    net = SiameseNet(base.trunk, head)
    ref_codes, alt_codes = allele_codes(ctx.genome, p["snvs"], base.card.seq_len)
    weight = pair_weights(p["target"], p["depth"], p["idx"]["train"], hs.weight_by_depth)
    cached = spec.freeze_trunk
    if cached:
        ref_x = centre_embeddings(base.trunk, head, ref_codes, "embedding reference alleles")
        alt_x = centre_embeddings(base.trunk, head, alt_codes, "embedding alternative alleles")
    else:
        ref_x, alt_x = ref_codes, alt_codes
    sets = {
        s: PairDataset(ref_x[i], alt_x[i], p["target"][i], weight[i], codes=not cached) for s, i in p["idx"].items()
    }
    split = p["snvs"].split.to_numpy()
    info = dict(
        groups=p["groups"],
        allelic_rows=p["statuses"],
        snvs={s: int(len(i)) for s, i in p["idx"].items()},
        chromosomes={s: sorted(set(p["snvs"].chrom[split == s])) for s in ("train", "val", "test")},
    )
    train_net = SiameseNet(nn.Identity(), head) if cached else net
    return Prepared(
        net=net,
        head=head,
        train_net=train_net,
        sets=sets,
        cached=cached,
        loss_fn=pair_loss,
        info=info,
        state=dict(p, ref_x=ref_x, alt_x=alt_x),
    )


def evaluate(ctx: RunContext, prep: Prepared, fitted) -> dict:
    """Pair metrics per split, the swap (antisymmetry) check, ``predictions.tsv`` and ``pred_vs_obs.png``.

    Parameters
    ----------
    ctx, prep, fitted : the run, its prepared network and state, its fit (unused).

    Returns
    -------
    dict
        ``{split: pair metrics}`` and ``antisymmetry_max_abs``: max ``|f(ref, alt) + f(alt, ref)|``
        over (up to 256) test SNVs.
    """
    st, net = prep.state, prep.train_net
    target, idx, x = st["target"], st["idx"], prep.sets["test"]._x
    net.eval()
    preds = np.zeros_like(target)
    with torch.no_grad():
        for i in idx.values():
            for j in range(0, len(i), 256):
                b = i[j : j + 256]
                preds[b] = net(x(st["ref_x"][b]), x(st["alt_x"][b])).numpy()
        b = idx["test"][:256]
        swapped = net(x(st["alt_x"][b]), x(st["ref_x"][b])).numpy()
    out = {s: pair_metrics(preds[i], target[i], st["truth"][i], st["groups"]) for s, i in idx.items()}
    out["antisymmetry_max_abs"] = float(np.abs(swapped + preds[b]).max()) if len(b) else 0.0
    table = st["snvs"].copy()
    for t, g in enumerate(st["groups"]):
        table[f"pred_{g}"], table[f"obs_{g}"] = preds[:, t], target[:, t]
    table.to_csv(os.path.join(ctx.out, "predictions.tsv"), sep="\t", index=False, float_format="%.5g")
    i = idx["test"]
    plot_pairs(preds[i], target[i], st["truth"][i], os.path.join(ctx.out, "pred_vs_obs.png"))
    return out


def card(ctx: RunContext, prep: Prepared, result: SiameseResult) -> ModelCard:
    """The siamese model's card: one task per group, the test Pearson of each.

    Parameters
    ----------
    ctx : RunContext
        The run: its base model gives the input length and genome.
    prep : Prepared
        Unused (the card needs no network state).
    result : SiameseResult
        Its ``groups``, ``chromosomes`` and per-group test Pearson become the task table.

    Returns
    -------
    ModelCard
        ``source="local"``, output one log allelic ratio per group; saved in ``model.ckpt``.
    """
    groups, ch, seq_len = result.groups, result.chromosomes, ctx.base.card.seq_len
    tasks = task_table(pd.DataFrame({"name": groups, "assay": "allelic imbalance", "cell_type": groups}))
    tasks["test_pearson"] = [result.test["per_group"][g]["observed"].get("pearson", np.nan) for g in groups]
    return ModelCard(
        source="local",
        name=os.path.abspath(ctx.out),
        seq_len=seq_len,
        bin_size=seq_len,
        n_bins=1,
        tasks=tasks,
        genome=ctx.cfg.genome,
        train_chroms=ch["train"],
        val_chroms=ch["val"],
        test_chroms=ch["test"],
        output="log((alt+1)/(ref+1)) allelic imbalance of a SNV at the input centre (siamese: compare(ref, alt))",
        metrics={f"test_{k}_pearson": v.get("pearson") for k, v in result.test["pooled"].items()},
        notes=f"siamese fine-tune of {ctx.recipe.model} with recipe {ctx.recipe.name}",
    )


register_recipe(RecipeKind("siamese", prepare=prepare, evaluate=evaluate, card=card, result=SiameseResult))
