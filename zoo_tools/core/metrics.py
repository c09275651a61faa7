"""Evaluation metrics on held-out windows (pure functions on arrays).

Arrays are ``(N, T, B)`` predictions and observations (N windows, T tasks, B bins). Correlations
are computed per task over all windows and bins (flattened), on the raw scale and on
``log1p`` scale (signal tracks are heavy-tailed: a few peaks dominate raw Pearson). Peak metrics
score a window by its mean prediction and label it by whether it is a peak window.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _flat(x: np.ndarray) -> np.ndarray:
    """``(N, T, B)`` -> ``(T, N*B)`` float64."""
    x = np.asarray(x, dtype=np.float64)
    return x.transpose(1, 0, 2).reshape(x.shape[1], -1)


def pearson(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per-task Pearson ``(T,)`` of ``(N, T, B)`` arrays; NaN for a constant task.

    Parameters
    ----------
    pred, obs : numpy.ndarray
        ``(N, T, B)`` predictions and observations (N windows, T tasks, B bins).

    Returns
    -------
    numpy.ndarray
        ``(T,)`` float64: each task's correlation over all its windows and bins (flattened).
    """
    p, o = _flat(pred), _flat(obs)
    p = p - p.mean(1, keepdims=True)
    o = o - o.mean(1, keepdims=True)
    denom = np.sqrt((p**2).sum(1) * (o**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (p * o).sum(1) / np.where(denom > 0, denom, 1), np.nan)


def spearman(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per-task Spearman ``(T,)`` float64 of ``(N, T, B)`` arrays: Pearson of average ranks (NaN if constant).

    Parameters
    ----------
    pred, obs : numpy.ndarray

    Returns
    -------
    numpy.ndarray
    """
    p = np.stack([rankdata(r) for r in _flat(pred)])[:, None, :].transpose(1, 0, 2)
    o = np.stack([rankdata(r) for r in _flat(obs)])[:, None, :].transpose(1, 0, 2)
    return pearson(p, o)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN if only one class is present.

    Parameters
    ----------
    scores, labels : numpy.ndarray
        ``(N,)`` scores (higher: more likely positive) and bool labels (positive = True).

    Returns
    -------
    float
    """
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision (area under precision-recall, step-wise); NaN without positives.

    Unlike auROC, its chance level is the positive fraction, so it shows how well rare peaks
    are found among many background windows (the seeds' class-imbalance pitfall).

    Parameters
    ----------
    scores, labels : numpy.ndarray
        ``(N,)`` scores (higher: more likely positive) and bool labels (positive = True); tied
        scores keep their input order.

    Returns
    -------
    float
    """
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    if labels.sum() == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = labels[order]
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def position_baseline(train_obs: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per-task Pearson ``(T,)`` of a predictor that knows only where a bin sits in its window.

    It predicts, for every window, the mean profile of the training windows (``(T, B)``). Over
    summit-centred windows this scores well with no sequence at all (signal peaks at the centre),
    so a model's per-bin Pearson means something only above it.

    Parameters
    ----------
    train_obs : numpy.ndarray
        ``(N_train, T, B)`` training observations (the profile is their mean over windows).
    obs : numpy.ndarray
        ``(N, T, B)`` observations it is scored on.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` float64 Pearson over all windows and bins, NaN for a constant task.
    """
    profile = np.asarray(train_obs, dtype=np.float64).mean(0, keepdims=True)
    return pearson(np.broadcast_to(profile, np.shape(obs)), obs)


def track_metrics(pred: np.ndarray, obs: np.ndarray, names: list[str], is_peak: np.ndarray | None = None) -> dict:
    """Per-task and mean metrics of ``(N, T, B)`` predictions against observations.

    Always ``pearson`` (over every window and bin), ``pearson_log1p`` (of values clipped at 0),
    ``spearman`` and ``pearson_window`` (of each window's summed signal: whether the model ranks
    windows, which per-bin Pearson over summit-centred windows does not show); with an
    ``is_peak`` holding both classes also ``auroc`` / ``auprc`` of the window-mean prediction for
    peak vs background windows, and ``auprc_chance`` (the peak fraction).

    Parameters
    ----------
    pred, obs : numpy.ndarray
        ``(N, T, B)`` predictions and observations (N windows, T tasks, B bins).
    names : list of str
        The T task names.
    is_peak : numpy.ndarray, optional
        ``(N,)`` bool: which windows are peak windows.

    Returns
    -------
    dict
        ``{"per_task": {name: {metric: float}}, "mean": {metric: float}}``, means over tasks
        ignoring NaN.
    """
    pred, obs = np.asarray(pred), np.asarray(obs)
    per = {
        "pearson": pearson(pred, obs),
        "pearson_log1p": pearson(np.log1p(np.clip(pred, 0, None)), np.log1p(np.clip(obs, 0, None))),
        "spearman": spearman(pred, obs),
        "pearson_window": pearson(pred.sum(-1, keepdims=True), obs.sum(-1, keepdims=True)),
    }
    if is_peak is not None and np.asarray(is_peak).any() and not np.asarray(is_peak).all():
        score = pred.mean(-1)
        per["auroc"] = np.array([auroc(score[:, t], is_peak) for t in range(pred.shape[1])])
        per["auprc"] = np.array([auprc(score[:, t], is_peak) for t in range(pred.shape[1])])
        per["auprc_chance"] = np.full(pred.shape[1], float(np.mean(is_peak)))
    out = {"per_task": {n: {k: float(v[i]) for k, v in per.items()} for i, n in enumerate(names)}}
    out["mean"] = {k: float(np.nanmean(v)) for k, v in per.items()}
    return out
