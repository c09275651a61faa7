"""Siamese (twin) fine-tuning: one trunk, shared weights, applied to the two alleles of a SNV.

``run(recipe, out)`` runs a recipe whose head is ``type: siamese`` (recipes/siamese_allelic.yaml):

1. **Pairs**: the data YAML's ``allelic:`` table (:mod:`zoo_tools.data.allelic`) read losslessly; each
   usable SNV gives a reference and an alternative window of the model's input length with the
   SNV at the centre (index ``seq_len // 2``); targets are ``log((alt + 1) / (ref + 1))`` per group
   (cell type), NaN where a group has no row. SNVs split by chromosome (``splits`` of the data YAML).
2. **Model**: ``SiameseHead(trunk(ref), trunk(alt))``, antisymmetric by construction, so swapping
   the alleles flips the sign. With the trunk frozen (default) the centre embedding bins of both
   alleles are computed once and only the head trains.
3. **Loss**: squared error on observed pairs, weighted by read depth (mean weight 1) with
   ``weight_by_depth``: a 60-read SNV's log ratio is far less noisy than a 6-read one's.
4. **Outputs** as for ``zoo finetune``: ``model.ckpt`` (``load_model("local:OUT")`` gives a
   :class:`SiameseZooModel` whose ``compare(ref, alt)`` predicts the imbalance; ``zoo
   score-variants`` uses it), ``metrics.json`` (Pearson / Spearman with the observed log ratio and,
   with a ``truth`` column, with the truth; per group and pooled; per split; the antisymmetry
   check), ``allelic_records.tsv`` (every input row with its status), ``log.csv``, ``curves.png``,
   ``pred_vs_obs.png``, ``config.yaml``.
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
from zoo_tools.core.metrics import pearson, spearman
from zoo_tools.core.progress import progress_bar
from zoo_tools.data.allelic import pair_table, read_allelic, status_counts
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.intervals import assign_splits
from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.models.heads import SiameseHead
from zoo_tools.models.model import ZooModel
from zoo_tools.train.config import Recipe

log = logging.getLogger(__name__)


class SiameseNet(nn.Module):
    """``(ref, alt)`` one-hot ``(N, 4, L)`` each -> ``(N, T)`` through one shared trunk."""

    def __init__(self, trunk: nn.Module, head: SiameseHead):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(ref), self.trunk(alt))


class SiameseZooModel(ZooModel):
    """A fine-tuned siamese model: it scores **pairs** of sequences.

    ``compare(ref, alt)`` -> ``(N, T)`` predicted ``log((alt + 1) / (ref + 1))`` per task (group);
    ``predict_pairs`` does it in batches from strings, arrays or tensors. A single sequence has no
    output (``predict`` says so).
    """

    is_siamese = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ZooError(f"{self.card.name} is a siamese model: it compares two alleles; use "
                       f"model.compare(ref, alt), model.predict_pairs(...) or zoo score-variants")

    def compare(self, ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        self.check_input(ref)
        self.check_input(alt)
        return self.head(self.trunk(ref), self.trunk(alt))

    def predict_pairs(self, ref, alt, batch_size: int = 64, progress: bool = True,
                      device: str | torch.device | None = None) -> np.ndarray:
        """``(N, T)`` float32 imbalance for paired inputs (strings, ``(N, 4, L)`` arrays or tensors)."""
        xr, xa = self._as_one_hot(ref, None), self._as_one_hot(alt, None)
        if xr.shape != xa.shape:
            raise ZooError(f"ref and alt inputs differ in shape: {tuple(xr.shape)} vs {tuple(xa.shape)}")
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.eval().to(device)
        out = []
        with torch.no_grad(), progress_bar(total=len(xr), desc=f"compare {self.card.name}", unit="pair",
                                           disable=not progress) as bar:
            for i in range(0, len(xr), batch_size):
                out.append(self.compare(xr[i:i + batch_size].to(device), xa[i:i + batch_size].to(device)).cpu())
                bar.update(len(out[-1]))
        return torch.cat(out).numpy() if out else np.zeros((0, self.card.n_tasks), np.float32)


def allele_codes(genome: Genome, snvs: pd.DataFrame, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternative windows ``(N, seq_len)`` uint8 codes with each SNV at ``seq_len // 2``
    (N-padded past contig ends)."""
    c = seq_len // 2
    starts = snvs["pos"].to_numpy(np.int64) - 1 - c
    ref = genome.batch_codes(snvs["chrom"].to_numpy(), starts, seq_len)
    alt = ref.copy()
    alt[:, c] = encode("".join(snvs["alt"]))
    return ref, alt


class PairDataset(torch.utils.data.Dataset):
    """Index arrays -> ``(ref, alt, target (B, T), weight (B, T))`` float32 batches; ``ref`` /
    ``alt`` are cached embeddings, or uint8 codes turned into one-hot here."""

    def __init__(self, ref: np.ndarray, alt: np.ndarray, target: np.ndarray, weight: np.ndarray, codes: bool):
        self.ref, self.alt, self.target, self.weight, self.codes = ref, alt, target, weight, codes

    def __len__(self) -> int:
        return len(self.target)

    def _x(self, a: np.ndarray) -> torch.Tensor:
        return codes_to_tensor(a) if self.codes else torch.from_numpy(np.ascontiguousarray(a, np.float32))

    def __getitem__(self, idx):
        single = np.ndim(idx) == 0
        idx = np.atleast_1d(np.asarray(idx))
        out = (self._x(self.ref[idx]), self._x(self.alt[idx]), torch.from_numpy(self.target[idx]),
               torch.from_numpy(self.weight[idx]))
        return tuple(t[0] for t in out) if single else out


def pair_loss(net: nn.Module, batch) -> torch.Tensor:
    """Weighted squared error over observed (non-NaN) pair x task entries."""
    ref, alt, y, w = batch
    pred = net(ref, alt)
    seen = torch.isfinite(y)
    err = torch.where(seen, pred - torch.nan_to_num(y), torch.zeros_like(pred)) ** 2
    return (err * w).sum() / (w * seen).sum().clamp_min(1e-6)


def centre_embeddings(trunk: nn.Module, head: SiameseHead, codes: np.ndarray, desc: str,
                      batch_size: int = 64) -> np.ndarray:
    """``(N, C, context_bins)`` float32: the head's centre bins of the trunk embedding."""
    trunk.eval()
    out = []
    with torch.no_grad(), progress_bar(total=len(codes), desc=desc, unit="seq") as bar:
        for i in range(0, len(codes), batch_size):
            out.append(head.centre(trunk(codes_to_tensor(codes[i:i + batch_size]))).numpy())
            bar.update(len(out[-1]))
    return np.concatenate(out)


def pair_metrics(pred: np.ndarray, obs: np.ndarray, truth: np.ndarray, groups: list[str]) -> dict:
    """Pearson / Spearman of predictions with observed log ratios (and truth), pooled and per group."""
    def corr(p, o):
        m = np.isfinite(o)
        if m.sum() < 3:
            return {"n": int(m.sum())}
        p3, o3 = p[m][None, None, :], o[m][None, None, :]
        return {"n": int(m.sum()), "pearson": float(pearson(p3, o3)[0]), "spearman": float(spearman(p3, o3)[0]),
                "sign_agreement": float(np.mean(np.sign(p[m]) == np.sign(o[m])))}

    out = {"pooled": {"observed": corr(pred.ravel(), obs.ravel())}, "per_group": {}}
    if np.isfinite(truth).any():
        out["pooled"]["truth"] = corr(pred.ravel(), truth.ravel())
    for t, g in enumerate(groups):
        out["per_group"][g] = {"observed": corr(pred[:, t], obs[:, t])}
        if np.isfinite(truth[:, t]).any():
            out["per_group"][g]["truth"] = corr(pred[:, t], truth[:, t])
    return out


def plot_pairs(pred: np.ndarray, obs: np.ndarray, truth: np.ndarray, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("observed log ratio", obs)] + ([("true log ratio", truth)] if np.isfinite(truth).any() else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, (label, y) in zip(axes[0], panels):
        m = np.isfinite(y)
        ax.scatter(y[m], pred[m], s=6, alpha=0.5)
        r = pearson(pred[m][None, None], y[m][None, None])[0] if m.sum() > 2 else np.nan
        ax.axhline(0, lw=0.5, c="grey")
        ax.axvline(0, lw=0.5, c="grey")
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("predicted log((alt+1)/(ref+1))", fontsize=8)
        ax.set_title(f"test SNVs: Pearson {r:.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(recipe: Recipe, out: str, callbacks=()) -> dict:
    """Run a siamese recipe into ``out``; returns the metrics dict (also ``out/metrics.json``)."""

    from zoo_tools.models.card import ModelCard, task_table
    from zoo_tools.train.finetune import (
        embedding_shape,
        fit,
        lightning_module,
        make_loader,
        plot_curves,
        save_model,
        start_run,
    )
    from zoo_tools.zoo import load_model

    t0 = time.time()
    spec, hs = recipe.train, recipe.head
    cfg = start_run(recipe, out)
    if cfg.allelic is None:
        raise ZooError(f"{recipe.data}: no `allelic:` table for the siamese recipe; add e.g. "
                       f"`allelic: {{path: counts.tsv, group: cell_type}}` (see README, siamese recipe)")
    genome = Genome(cfg.genome)
    records = read_allelic(cfg.allelic, genome)
    records.to_csv(os.path.join(out, "allelic_records.tsv"), sep="\t", index=False)
    statuses = status_counts(records)
    skipped = {k: v for k, v in statuses.items() if k != "ok"}
    warnings = []
    if skipped:
        warnings.append(f"{sum(skipped.values())} of {len(records)} allelic rows not used ("
                        + ", ".join(f"{k} {v}" for k, v in skipped.items())
                        + f"); see {os.path.join(out, 'allelic_records.tsv')}")
    snvs, groups, target, depth, truth = pair_table(records)
    snvs = assign_splits(snvs, cfg.splits.val, cfg.splits.test, genome.contigs)
    split = snvs.split.to_numpy()
    idx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    for s, i in idx.items():
        if not len(i):
            raise ZooError(f"no {s} SNVs in the allelic table: check `splits` in {recipe.data} (SNVs on: "
                           f"{', '.join(sorted(set(snvs.chrom)))})")
    base = load_model(recipe.model)
    seq_len = base.card.seq_len
    leaked = sorted(set(cfg.splits.test) & set(base.card.train_chroms))
    if leaked:
        warnings.append(f"test chromosome(s) {', '.join(leaked)} were in {recipe.model}'s own training set")
    for w in warnings:
        log.warning(w)
    c, b_in = embedding_shape(base.trunk, seq_len)
    head = SiameseHead(c, b_in, len(groups), context_bins=hs.context_bins, hidden=hs.hidden, dropout=hs.dropout)
    net = SiameseNet(base.trunk, head)
    ref_codes, alt_codes = allele_codes(genome, snvs, seq_len)
    weight = np.where(np.isfinite(target), depth, 0).astype(np.float32)
    if hs.weight_by_depth:
        weight = weight / max(float(weight[idx["train"]][np.isfinite(target[idx["train"]])].mean()), 1e-6)
    else:
        weight = np.isfinite(target).astype(np.float32)
    cached = spec.freeze_trunk
    if cached:
        ref_x = centre_embeddings(base.trunk, head, ref_codes, "embedding reference alleles")
        alt_x = centre_embeddings(base.trunk, head, alt_codes, "embedding alternative alleles")
    else:
        ref_x, alt_x = ref_codes, alt_codes
    sets = {s: PairDataset(ref_x[i], alt_x[i], target[i], weight[i], codes=not cached) for s, i in idx.items()}
    single = all(str(recipe.trainer.get(k, 1)) in ("1", "auto") for k in ("devices", "num_nodes"))
    loaders = {s: make_loader(d, spec.batch_size, s == "train", spec.seed, spec.num_workers, batched=single)
               for s, d in sets.items()}
    train_net = SiameseNet(nn.Identity(), head) if cached else net
    lit = lightning_module(train_net, spec, len(loaders["train"]), None, cached, loss_fn=pair_loss)
    t_fit = time.time()
    best, log_csv, trainer = fit(lit, loaders, recipe, out, callbacks)
    fit_s = time.time() - t_fit
    if best:
        lit.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
    metrics = {"recipe": recipe.name, "model": recipe.model, "data": recipe.data, "head": "siamese",
               "groups": groups, "allelic_rows": statuses, "snvs": {s: int(len(i)) for s, i in idx.items()},
               "embedding_cache": cached, "epochs_run": int(trainer.current_epoch), "fit_seconds": round(fit_s, 1),
               "chromosomes": {s: sorted(set(snvs.chrom[split == s])) for s in ("train", "val", "test")},
               "warnings": warnings}
    if trainer.global_rank != 0:
        return metrics
    train_net.eval()
    preds = np.zeros_like(target)
    with torch.no_grad():
        for s, i in idx.items():
            for j in range(0, len(i), 256):
                b = i[j:j + 256]
                d = sets[s]
                preds[b] = train_net(d._x(ref_x[b]), d._x(alt_x[b])).numpy()
        b = idx["test"][:256]
        swapped = train_net(sets["test"]._x(alt_x[b]), sets["test"]._x(ref_x[b])).numpy()
    for s, i in idx.items():
        metrics[s] = pair_metrics(preds[i], target[i], truth[i], groups)
    metrics["antisymmetry_max_abs"] = float(np.abs(swapped + preds[b]).max()) if len(b) else 0.0
    table = snvs.copy()
    for t, g in enumerate(groups):
        table[f"pred_{g}"], table[f"obs_{g}"] = preds[:, t], target[:, t]
    table.to_csv(os.path.join(out, "predictions.tsv"), sep="\t", index=False, float_format="%.5g")
    plot_pairs(preds[idx["test"]], target[idx["test"]], truth[idx["test"]], os.path.join(out, "pred_vs_obs.png"))
    if os.path.exists(log_csv):
        pd.read_csv(log_csv).groupby("epoch").first().reset_index().to_csv(os.path.join(out, "log.csv"), index=False)
        plot_curves(log_csv, os.path.join(out, "curves.png"))
    test = metrics["test"]["pooled"]
    tasks = task_table(pd.DataFrame({"name": groups, "assay": "allelic imbalance", "cell_type": groups}))
    tasks["test_pearson"] = [metrics["test"]["per_group"][g]["observed"].get("pearson", np.nan) for g in groups]
    card = ModelCard(source="local", name=os.path.abspath(out), seq_len=seq_len, bin_size=seq_len, n_bins=1,
                     tasks=tasks, genome=cfg.genome, train_chroms=metrics["chromosomes"]["train"],
                     val_chroms=metrics["chromosomes"]["val"], test_chroms=metrics["chromosomes"]["test"],
                     output="log((alt+1)/(ref+1)) allelic imbalance of a SNV at the input centre (siamese: "
                            "compare(ref, alt))",
                     metrics={f"test_{k}_pearson": v.get("pearson") for k, v in test.items()},
                     notes=f"siamese fine-tune of {recipe.model} with recipe {recipe.name}")
    save_model(os.path.join(out, "model.ckpt"), base, head, net, card, recipe, kind="siamese")
    metrics["total_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=1)
    shutil.rmtree(os.path.join(out, "lightning_logs", "checkpoints"), ignore_errors=True)
    return metrics


def summary(m: dict, out: str) -> str:
    """Short report of a siamese run."""
    t = m["test"]["pooled"]
    line = f"  test SNVs ({', '.join(m['chromosomes']['test'])}): Pearson with observed log ratio " \
           f"{t['observed'].get('pearson', float('nan')):.3f}"
    if "truth" in t:
        line += f", with the truth {t['truth'].get('pearson', float('nan')):.3f}"
    lines = [f"siamese fine-tune of {m['model']} ({m['recipe']}) in {m['total_seconds']:.0f} s, "
             f"{m['epochs_run']} epoch(s); groups: {', '.join(m['groups'])}", line,
             f"  SNVs train/val/test: {m['snvs']['train']}/{m['snvs']['val']}/{m['snvs']['test']}; "
             f"allelic rows: " + ", ".join(f"{k} {v}" for k, v in m["allelic_rows"].items()),
             f"  swap check: max |f(ref,alt) + f(alt,ref)| = {m['antisymmetry_max_abs']:.1e}"]
    lines += [f"  warning: {w}" for w in m["warnings"]]
    lines.append(f"  outputs: {out}/ (model.ckpt, metrics.json, predictions.tsv, allelic_records.tsv, log.csv, "
                 f"curves.png, pred_vs_obs.png, config.yaml)")
    lines.append(f"  load it: zoo info local:{out}")
    return "\n".join(lines)
