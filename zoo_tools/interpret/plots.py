"""Figures of explanations: sequence logos (logomaker), ISM heatmaps, marginalisation bars.

Every function writes one PNG and returns its path; arrays are ``(4, w)`` rows A, C, G, T.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def logo_png(matrix: np.ndarray, path: str, title: str = "", start: int = 0) -> str:
    """Sequence logo of a ``(4, w)`` matrix (contributions or probabilities); x axis from ``start``.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(4, w)``, rows A, C, G, T.
    path, title
        The PNG written and its title.
    start : int
        Position of the first column on the x axis (e.g. its window index, 0-based).

    Returns
    -------
    str
        ``path``.
    """
    import logomaker

    plt = _plt()
    w = matrix.shape[1]
    df = pd.DataFrame(np.asarray(matrix, float).T, columns=list("ACGT"), index=np.arange(start, start + w))
    fig, ax = plt.subplots(figsize=(min(max(w / 8, 3), 24), 1.8))
    logomaker.Logo(df, ax=ax, color_scheme="classic")
    ax.set_title(title, fontsize=9)
    ax.axhline(0, color="grey", lw=0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def ism_png(effects: np.ndarray, seq_codes: np.ndarray, path: str, title: str = "", start: int = 0) -> str:
    """ISM heatmap ``(4, w)`` (effect of each base at each position; 0 at the reference) over the
    logo of the reference bases weighted by minus the mean effect of mutating them away.

    Parameters
    ----------
    effects : numpy.ndarray
        ``(4, w)`` effects of one input and task (``ism(...)[i, :, :, t]``), rows A, C, G, T.
    seq_codes : numpy.ndarray
        ``(w,)`` uint8 reference codes, A=0, C=1, G=2, T=3 (N=4: no letter).
    path, title
        The PNG written and its title.
    start : int
        Window index (0-based) of the first column, for the x axis.

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    import logomaker

    w = effects.shape[1]
    imp = -effects.sum(0) / 3  # mean effect of the 3 substitutions, sign flipped: a base's importance
    ref = np.zeros((4, w))
    ok = seq_codes < 4
    ref[seq_codes[ok], np.nonzero(ok)[0]] = imp[ok]
    fig, (a1, a2) = plt.subplots(
        2, 1, figsize=(min(max(w / 8, 4), 24), 3.6), sharex=True, gridspec_kw={"height_ratios": [1, 1.2]}
    )
    logomaker.Logo(
        pd.DataFrame(ref.T, columns=list("ACGT"), index=np.arange(start, start + w)), ax=a1, color_scheme="classic"
    )
    a1.set_title(title, fontsize=9)
    lim = float(np.abs(effects).max()) or 1.0
    im = a2.imshow(
        effects, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(start - 0.5, start + w - 0.5, 3.5, -0.5)
    )
    a2.set_yticks(range(4), list("ACGT"))
    a2.set_xlim(start - 0.5, start + w - 0.5)
    a2.set_xlabel("position in window (bp)")
    fig.colorbar(im, ax=a2, fraction=0.02, label="effect")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def marginalize_png(table: pd.DataFrame, path: str, title: str = "") -> str:
    """Bar per task (and spacing): mean effect with its confidence interval.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~zoo_tools.interpret.marginalize.marginalize`'s table (``task``, ``spacing``,
        ``effect``, ``ci_low``, ``ci_high``); bars are labelled ``task @spacing`` when spacings differ.
    path, title
        The PNG written and its title.

    Returns
    -------
    str
        ``path``.
    """
    plt = _plt()
    labels = [f"{r.task}" + (f" @{r.spacing}" if table.spacing.nunique() > 1 else "") for r in table.itertuples()]
    eff = table.effect.to_numpy()
    err = np.vstack([eff - table.ci_low.to_numpy(), table.ci_high.to_numpy() - eff])
    fig, ax = plt.subplots(figsize=(max(3, 0.5 * len(table) + 1.5), 3))
    ax.bar(range(len(table)), eff, yerr=err, color=["tab:red" if e > 0 else "tab:blue" for e in eff], capsize=3)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(range(len(table)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("effect (after - before)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
