"""TF-MoDISco over peaks: the motifs a model uses, found from its attributions, named by TOMTOM.

1. Attributions (hypothetical contributions, :mod:`.attributions`) over the model's window centred
   on each peak summit; modisco runs on the central ``window`` bp.
2. modisco-lite's ``TFMoDISco`` finds seqlets (high-attribution stretches), clusters them and
   aggregates each cluster into a pattern: a contribution-weighted matrix (CWM) and a probability
   matrix (PPM). Positive patterns raise the output, negative ones lower it.
3. Each pattern's PPM, trimmed to its core, is compared with every motif of a MEME database by
   tomtom-lite (memelite's ``tomtom``: TOMTOM's statistics, no external binary), both strands, and
   named only when it passes :mod:`.motif_naming`'s tests (support, information, a null for the
   match, no rival); the others stay unnamed, with the reason.
"""

from __future__ import annotations

import html
import logging
import os

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError

log = logging.getLogger(__name__)


def trim(cwm: np.ndarray, frac: float = 0.3, flank: int = 1) -> tuple[int, int]:
    """``[start, end)`` of the columns of a ``(4, w)`` CWM whose total ``|score|`` is large.

    Parameters
    ----------
    cwm : numpy.ndarray
        ``(4, w)`` contribution-weighted matrix, rows A, C, G, T.
    frac : float
        Kept: the columns from the first to the last whose total ``|score|`` is at least ``frac``
        of the largest column's.
    flank : int
        Columns added each side (within the matrix).

    Returns
    -------
    tuple of int
        ``(start, end)`` column indices, 0-based, half-open; all columns when none is kept.
    """
    s = np.abs(cwm).sum(0)
    keep = np.nonzero(s >= frac * s.max())[0]
    if not len(keep):
        return 0, cwm.shape[1]
    return max(0, int(keep[0]) - flank), min(cwm.shape[1], int(keep[-1]) + 1 + flank)


def run_modisco(
    hypothetical: np.ndarray,
    one_hot: np.ndarray,
    max_seqlets: int = 2000,
    sliding_window: int = 21,
    flank: int = 10,
    min_cluster: int = 20,
    seed: int = 0,
) -> dict:
    """modisco-lite on ``(N, 4, L)`` hypothetical contributions and one-hot sequences.

    Parameters
    ----------
    hypothetical, one_hot : numpy.ndarray
        ``(N, 4, L)`` float32 hypothetical contributions and one-hot sequences (A,C,G,T).
    max_seqlets, min_cluster, sliding_window, flank
        modisco-lite's ``max_seqlets_per_metacluster``, ``min_metacluster_size`` (and
        ``final_min_cluster_size``), ``sliding_window_size`` and ``flank_size`` (bp).
    seed : int
        Seeds numpy's global generator (modisco-lite draws from it).

    Returns
    -------
    dict
        ``{"pos": [...], "neg": [...], "raw": (pos_patterns, neg_patterns)}``: each pattern a
        dict with ``name``, ``ppm`` and ``cwm`` ``(4, w)``, ``n_seqlets``. Too few seqlets is a
        :class:`ZooError` that says what to change.
    """
    from modiscolite.tfmodisco import TFMoDISco

    np.random.seed(seed)
    hyp = np.ascontiguousarray(np.transpose(hypothetical, (0, 2, 1)), np.float32)
    oh = np.ascontiguousarray(np.transpose(one_hot, (0, 2, 1)), np.float32)
    try:
        pos, neg = TFMoDISco(
            one_hot=oh,
            hypothetical_contribs=hyp,
            sliding_window_size=sliding_window,
            flank_size=flank,
            max_seqlets_per_metacluster=max_seqlets,
            min_metacluster_size=min_cluster,
            final_min_cluster_size=min_cluster,
            n_leiden_runs=8,
            target_seqlet_fdr=0.2,
            verbose=False,
        )
    except (ValueError, IndexError, ZeroDivisionError) as err:
        raise ZooError(
            f"TF-MoDISco found too few seqlets in {len(hyp)} sequence(s) ({err}); give more peaks, "
            f"a wider --window or a task the peaks are active in"
        ) from None
    out = {"raw": (pos, neg), "pos": _patterns("pos", pos), "neg": _patterns("neg", neg)}
    if not out["pos"] and not out["neg"]:
        raise ZooError(
            f"TF-MoDISco found no pattern in {len(hyp)} sequence(s): too few seqlets; give more "
            f"peaks, a wider --window or a task the peaks are active in"
        )
    return out


def _patterns(key: str, pats) -> list[dict]:
    """modisco-lite's ``pos`` or ``neg`` patterns (None: none) as dicts, matrices ``(4, w)``."""
    return [
        {
            "name": f"{key}_pattern_{i}",
            "ppm": np.asarray(p.sequence, float).T,
            "cwm": np.asarray(p.contrib_scores, float).T,
            "n_seqlets": len(p.seqlets),
        }
        for i, p in enumerate(pats or [])
    ]


def save_h5(result: dict, path: str, window: int) -> None:
    """modisco-lite's own HDF5 (``modisco.h5``, readable by ``modisco report`` and tangermeme).

    Parameters
    ----------
    result : dict
        :func:`run_modisco`'s result; its ``raw`` patterns are written.
    path, window
        The HDF5 file; the width (bp) of the windows modisco ran on.
    """
    from modiscolite.io import save_hdf5

    pos, neg = result["raw"]
    save_hdf5(path, pos or [], neg or [], window)


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of a 1-d array of p-values.

    Parameters
    ----------
    p : numpy.ndarray
        ``(n,)`` p-values.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float q-values in ``[0, 1]``, in the order of ``p``.
    """
    p = np.asarray(p, float)
    n = len(p)
    order = np.argsort(p)
    q = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(q, 0, 1)
    return out


def write_report(out_dir: str, table: pd.DataFrame, patterns: list[dict], title: str) -> str:
    """``report.html``: the named patterns, then the unnamed ones and why; a CWM logo per pattern
    (of its trimmed core) in ``logos/``.

    Parameters
    ----------
    out_dir : str
        The folder of ``report.html`` and ``logos/<pattern>.png``.
    table : pandas.DataFrame
        :func:`~zoo_tools.interpret.motif_naming.name_patterns`'s table.
    patterns : list of dict
        The patterns it judges (:func:`run_modisco`).
    title : str
        The page's title and heading.

    Returns
    -------
    str
        The report's path.
    """
    from zoo_tools.interpret.plots import logo_png

    os.makedirs(os.path.join(out_dir, "logos"), exist_ok=True)
    by_name = {p["name"]: p for p in patterns}
    rows = {True: [], False: []}
    for r in table.itertuples(index=False):
        png = os.path.join("logos", f"{r.pattern}.png")
        cwm = by_name[r.pattern]["cwm"][:, int(r.start) : int(r.end)]
        logo_png(cwm, os.path.join(out_dir, png), title=f"{r.pattern} ({r.n_seqlets} seqlets)")
        rows[r.status == "named"].append(_report_row(r, png))
    page = _REPORT.format(
        title=html.escape(title),
        named="".join(rows[True]) or _EMPTY.format("No pattern is named."),
        unnamed="".join(rows[False]) or _EMPTY.format("Every pattern is named."),
    )
    path = os.path.join(out_dir, "report.html")
    with open(path, "w") as fh:
        fh.write(page)
    return path


def _report_row(r, png: str) -> str:
    """One pattern's table row: name, seqlets, logo, status and reason, best matches."""
    matches = "<br>".join(
        f"{html.escape(str(getattr(r, f'match_{k}')))} (q={getattr(r, f'q_{k}'):.2g})"
        for k in range(1, 4)
        if hasattr(r, f"match_{k}") and isinstance(getattr(r, f"match_{k}"), str)
    )
    label = html.escape(str(r.name)) if r.status == "named" else html.escape(str(r.status))
    return (
        f"<tr><td>{r.pattern}</td><td>{r.n_seqlets}</td><td><img src='{png}' height='90'></td>"
        f"<td><b>{label}</b><br>{html.escape(str(r.reason))}</td><td>{r.information:.1f}</td><td>{matches}</td></tr>"
    )


_EMPTY = "<tr><td colspan='6'>{}</td></tr>"
_HEAD = (
    "<table border='1' cellpadding='4'><tr><th>pattern</th><th>seqlets</th><th>CWM logo (trimmed core)</th>"
    "<th>status</th><th>bits</th><th>best TOMTOM matches</th></tr>"
)
_REPORT = (
    "<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
    "<p>Patterns found by TF-MoDISco (modisco-lite) in the model's attributions, with their best TOMTOM "
    "(tomtom-lite) matches; q-values are Benjamini-Hochberg over the motif database. A pattern is named "
    "only with enough seqlets, enough information in its trimmed core, a match significant both by q "
    "and by an empirical FDR against column-shuffled copies of the database, and no rival match of "
    "another family (README: TF-MoDISco).</p>"
    "<h2>Named patterns</h2>" + _HEAD + "{named}</table>"
    "<h2>Unnamed patterns, and why</h2>" + _HEAD + "{unnamed}</table></body></html>"
)
