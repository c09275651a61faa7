"""Training plots (PNG): loss curves, predicted vs observed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoo_tools.core.metrics import pearson


def _pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(log_csv: str, path: str) -> None:
    """Training and validation loss per epoch.

    Parameters
    ----------
    log_csv : Lightning's ``metrics.csv`` (columns ``epoch``, ``train_loss``, ``val_loss``).
    path : the PNG to write.
    """
    plt = _pyplot()
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


def plot_pred_vs_obs(
    pred: np.ndarray, obs: np.ndarray, names: list[str], metrics: dict, path: str, max_points: int = 4000, seed: int = 0
) -> None:
    """log1p(predicted) vs log1p(observed) per task on test bins, with the test Pearson.

    Parameters
    ----------
    pred, obs : ``(n, T, B)`` predicted and observed targets.
    names : the ``T`` task names.
    metrics : :func:`~zoo_tools.core.metrics.track_metrics` of ``pred`` and ``obs`` (its ``per_task``).
    path : the PNG to write (one panel per task).
    max_points, seed : bins drawn per panel, at random with this seed.
    """
    plt = _pyplot()
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


def plot_pairs(pred: np.ndarray, obs: np.ndarray, truth: np.ndarray, path: str) -> None:
    """Predicted vs observed (and true) allelic log ratios of the test SNVs, all groups pooled.

    Parameters
    ----------
    pred, obs, truth : ``(N, groups)`` predicted, observed and true ``log((alt + 1) / (ref + 1))``
        (NaN where unobserved / unknown; no truth panel when all are NaN).
    path : the PNG to write.
    """
    plt = _pyplot()
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
