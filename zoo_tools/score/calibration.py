"""Calibrated variant effects: a background's effect distribution, quantiles, p-values and q-values.

A **calibration** (``zoo calibrate``, :mod:`zoo_tools.score.calibrate`) holds, per task and
statistic, the distribution of ``|effect|`` over ``n`` background variants scored by the same
model with the same windows. For an effect ``x`` let ``r`` be the number of background variants
with ``|effect| >= |x|``. Then

- the **signed quantile** is ``sign(x) * (n - r) / n`` in [-1, 1] (AlphaGenome's convention: the
  sign of the effect times its rank among background absolute effects);
- the **empirical two-sided p-value** is ``(r + 1) / (n + 1)`` (never 0; down to ``1 / (n + 1)``);
- with ``--fdr``, the **q-value** is the Benjamini-Hochberg adjusted p-value over all scored rows
  of the file, per task and statistic (``scipy.stats.false_discovery_control``).

The file is a Parquet table: column ``rank`` (``r``) and one column ``<task>:<stat>`` holding
the ``r``-th largest background ``|effect|``. Ranks 1 to 2,000 are all kept (exact p-values in
the tail); beyond, 1,000 log-spaced ranks up to ``n`` are kept and ``r`` is interpolated between
them (relative error in ``p`` under 1% for any ``n`` up to millions). The Parquet metadata holds
the model's sha256, the window settings, the statistics and the background's description, and
64-bit keys of the background variants (to warn when a scored variant is one of them).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, require_file

log = logging.getLogger(__name__)

EXACT_RANKS, SPACED_RANKS = 2000, 1000
ZERO_BELOW = 1e-4  # |effects| under this fraction of the background's 99th percentile count as 0 (float noise)
FORMAT = 1
_META_KEY = b"zoo_tools_calibration"
SETTINGS = ("seq_len", "centre", "window_bins", "rc", "pseudocount")


def model_identity(model) -> dict:
    """What names a model in a calibration: ``{"spec": "<source>:<name>", "sha256": ...}``.

    Parameters
    ----------
    model : ZooModel or siamese model

    Returns
    -------
    dict
    """
    card = model.card
    return {"spec": f"{card.source}:{card.name}", "sha256": model_sha256(model)}


def model_sha256(model) -> str:
    """The sha256 naming a model's weights: its checkpoint file's for a fine-tuned ``local:`` model,
    else the one its source recorded, else a hash of its state dict.

    Parameters
    ----------
    model : ZooModel or siamese model

    Returns
    -------
    str
        64 hex digits.
    """
    import hashlib

    from zoo_tools.zoo.cache import sha256_file

    card = model.card
    weights = getattr(card, "weights", "") or ""
    if card.source == "local" and os.path.isfile(weights):
        return sha256_file(weights)
    if card.sha256:
        return card.sha256
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def rank_grid(n: int) -> np.ndarray:
    """The background ranks a calibration keeps (see the module docstring).

    Parameters
    ----------
    n : int
        Background variants per column.

    Returns
    -------
    numpy.ndarray
        Ascending int64 ranks: ``1 .. min(n, 2000)``, then log-spaced up to ``n`` (``n`` included).
    """
    exact = np.arange(1, min(n, EXACT_RANKS) + 1)
    if n <= EXACT_RANKS:
        return exact
    spaced = np.unique(np.round(np.geomspace(EXACT_RANKS, n, SPACED_RANKS)).astype(np.int64))
    return np.unique(np.concatenate([exact, spaced, [n]]))


@dataclass
class Calibration:
    """A background effect distribution per ``<task>:<stat>`` column (see the module docstring).

    ``ranks`` ``(K,)`` ascending; ``values`` ``(K, C)``: the ``ranks[k]``-th largest background
    ``|effect|`` of column ``c`` (non-increasing down each column); ``n`` background effects per
    column; ``meta`` the description (model, settings, stats, tasks, background); ``keys`` the
    background variants' :func:`~zoo_tools.data.background.variant_keys`.
    """

    columns: list[str]
    n: int
    ranks: np.ndarray
    values: np.ndarray
    meta: dict = field(default_factory=dict)
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    path: str = ""

    @classmethod
    def from_effects(cls, effects: pd.DataFrame, meta: dict, keys: np.ndarray) -> Calibration:
        """The calibration of background effects ``(n, C)`` (one column per ``<task>:<stat>``; NaN-free).

        Parameters
        ----------
        effects : pandas.DataFrame
            The background's scores, rows = variants.
        meta : dict
            Its description (stored as is).
        keys : numpy.ndarray
            The background variants' keys.

        Returns
        -------
        Calibration
        """
        n = len(effects)
        if n < 1:
            raise ZooError("the background has no scored variant: nothing to calibrate against")
        ranks = rank_grid(n)
        a = np.abs(effects.to_numpy(dtype=np.float64))
        tol = ZERO_BELOW * np.quantile(a, 0.99, axis=0)
        a[a < tol] = 0.0  # float32 noise of "no effect" counts as no effect: ties at 0
        desc = -np.sort(-a, axis=0)  # descending per column
        cols = list(effects.columns)
        meta = dict(meta, zero_below=dict(zip(cols, tol.tolist())), zeros=dict(zip(cols, (a == 0).sum(0).tolist())))
        return cls(cols, n, ranks, desc[ranks - 1], meta, np.asarray(keys, np.uint64))

    def _abs(self, column: str, x: np.ndarray) -> np.ndarray:
        """``|x|``, with values under the column's noise floor set to 0 (as the background's were)."""
        a = np.abs(np.asarray(x, np.float64))
        return np.where(a < self.meta.get("zero_below", {}).get(column, 0.0), 0.0, a)

    def background_ranks(self, column: str, x: np.ndarray) -> np.ndarray:
        """``r``: how many background ``|effect|`` are ``>= |x|`` (interpolated between kept ranks).

        Parameters
        ----------
        column : str
            ``<task>:<stat>``.
        x : numpy.ndarray
            ``(m,)`` effects (NaN allowed).

        Returns
        -------
        numpy.ndarray
            ``(m,)`` float64 in ``[0, n]``; NaN where ``x`` is NaN.
        """
        v = self.values[:, self.columns.index(column)]
        a = self._abs(column, x)
        k = np.searchsorted(-v, -np.nan_to_num(a, nan=0.0), side="right")  # kept ranks with value >= |x|
        r_lo = np.where(k > 0, self.ranks[np.maximum(k - 1, 0)], 0).astype(np.float64)
        inner = (k > 0) & (k < len(v))
        kk = np.minimum(k, len(v) - 1)
        gap_r = self.ranks[kk] - r_lo - 1  # background values strictly between two kept ranks
        span = v[np.maximum(k - 1, 0)] - v[kk]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(span > 0, (v[np.maximum(k - 1, 0)] - a) / span, 0.0)
        r = r_lo + np.where(inner & (gap_r > 0), gap_r * np.clip(frac, 0, 1), 0.0)
        return np.where(np.isnan(a), np.nan, r)

    def quantile_and_p(self, column: str, x: np.ndarray, u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Signed quantile ``sign(x) (n - r) / n`` and p-value ``(r + 1) / (n + 1)`` of effects ``x``.

        An effect of 0 (under the column's noise floor) ties with the background's ``k`` zeros: its
        p-value is ``(n - k + K) / (n + 1)`` with ``K`` in ``1 .. k + 1`` picked by ``u`` (the
        permutation test's tie-breaking, so that p-values are uniform when nothing has an effect).

        Parameters
        ----------
        column : str
            ``<task>:<stat>``.
        x : numpy.ndarray
            ``(m,)`` effects.
        u : numpy.ndarray, optional
            ``(m,)`` numbers in [0, 1) breaking ties (:func:`tie_breakers`); default 0.5.

        Returns
        -------
        tuple of numpy.ndarray
            ``(quantile, p)``, each ``(m,)`` float64 (NaN where ``x`` is NaN).
        """
        r = self.background_ranks(column, x)
        zero = self._abs(column, x) == 0
        k = int(self.meta.get("zeros", {}).get(column, 0))
        u = np.full(len(r), 0.5) if u is None else np.asarray(u, np.float64)
        p = np.where(zero, (self.n - k + 1 + np.floor(u * (k + 1))) / (self.n + 1), (r + 1) / (self.n + 1))
        q = np.where(zero, 0.0, np.sign(x) * (self.n - r) / self.n)
        return np.where(np.isnan(r), np.nan, q), np.where(np.isnan(r), np.nan, p)

    def write(self, path: str) -> None:
        """Write the calibration as Parquet (atomically).

        Parameters
        ----------
        path : str
            The ``.parquet`` file.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(
            pd.DataFrame(self.values, columns=self.columns).assign(rank=self.ranks)[["rank", *self.columns]],
            preserve_index=False,
        )
        meta = dict(self.meta, format=FORMAT, n=self.n, keys=base64.b64encode(self.keys.tobytes()).decode())
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta)})
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        pq.write_table(table, path + ".tmp")
        os.replace(path + ".tmp", path)


def read_calibration(path: str) -> Calibration:
    """Read a calibration written by ``zoo calibrate``.

    Parameters
    ----------
    path : str
        The ``.parquet`` file.

    Returns
    -------
    Calibration
    """
    import pyarrow.parquet as pq

    require_file(path, "calibration", "make one with zoo calibrate --model SPEC --genome FA --out CAL.parquet")
    try:
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[_META_KEY])
    except Exception:
        raise ZooError(f"--calibration {path}: not a calibration written by zoo calibrate (no metadata)") from None
    df = table.to_pandas()
    keys = np.frombuffer(base64.b64decode(meta.pop("keys", "")), dtype=np.uint64).copy()
    cols = [c for c in df.columns if c != "rank"]
    return Calibration(
        cols, int(meta["n"]), df["rank"].to_numpy(np.int64), df[cols].to_numpy(np.float64), meta, keys, path
    )


def _short(sha: str) -> str:
    return (sha[:12] + "...") if sha else "(unknown)"


def check_calibration(cal: Calibration, model_meta: dict, settings: dict, names: list[str], kinds: list[str]) -> None:
    """Stop when a calibration was made for another model, other windows, tasks or statistics.

    Parameters
    ----------
    cal : Calibration
    model_meta : dict
        ``{"sha256", "spec"}`` of the model scoring now.
    settings : dict
        The run's :data:`SETTINGS`.
    names, kinds : list of str
        The scored tasks and statistics.
    """
    had, now = cal.meta.get("model", {}), model_meta
    if had.get("sha256") != now.get("sha256"):
        raise ZooError(
            f"--calibration {cal.path} was made with model {had.get('spec', '?')} (sha256 "
            f"{_short(had.get('sha256', ''))}), not {now.get('spec', '?')} (sha256 {_short(now.get('sha256', ''))}); "
            f"calibrate this model with zoo calibrate --model {now.get('spec', 'SPEC')}"
        )
    kept = cal.meta.get("settings", {})
    diff = [f"{k} {kept.get(k)!r} there, {settings[k]!r} here" for k in SETTINGS if kept.get(k) != settings[k]]
    if diff:
        raise ZooError(
            f"--calibration {cal.path} was made with other window settings ({'; '.join(diff)}); score with the "
            f"calibration's settings or calibrate again with these"
        )
    missing = [f"{t}:{k}" for t in names for k in kinds if f"{t}:{k}" not in cal.columns]
    if missing:
        raise ZooError(
            f"--calibration {cal.path} has no background for {', '.join(missing[:4])}"
            f"{' ...' if len(missing) > 4 else ''} (it has stats {','.join(cal.meta.get('stats', []))}); "
            f"pass the same --tasks / --score to zoo calibrate"
        )


def calibrated_columns(names: list[str], kinds: list[str]) -> list[str]:
    """The columns calibration adds: ``<task>:<stat>:quantile`` and ``<task>:<stat>:p`` per task and stat.

    Parameters
    ----------
    names, kinds : list of str
        Scored tasks and statistics.

    Returns
    -------
    list of str
    """
    return [f"{t}:{k}:{s}" for t in names for k in kinds for s in ("quantile", "p")]


def tie_breakers(keys: np.ndarray) -> np.ndarray:
    """Numbers in [0, 1) from rows' 64-bit keys (:func:`~zoo_tools.data.background.variant_keys`):
    the same row always breaks its ties the same way.

    Parameters
    ----------
    keys : numpy.ndarray
        ``(m,)`` uint64.

    Returns
    -------
    numpy.ndarray
        ``(m,)`` float64.
    """
    return (np.asarray(keys, np.uint64) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def annotate(cal: Calibration, scores: dict, names: list[str], kinds: list[str], keys: np.ndarray) -> list[np.ndarray]:
    """Quantile and p-value columns (in :func:`calibrated_columns` order) of a batch's scores.

    Parameters
    ----------
    cal : Calibration
    scores : dict
        ``{stat: (n, T) float64}`` (:func:`~zoo_tools.score.stats.effect_scores`).
    names, kinds : list of str
        The ``T`` task names and the statistics.
    keys : numpy.ndarray
        ``(n,)`` uint64 keys of the rows (ties at 0 are broken by them, :func:`tie_breakers`).

    Returns
    -------
    list of numpy.ndarray
        ``(n,)`` columns.
    """
    u = tie_breakers(keys)
    out = []
    for t, name in enumerate(names):
        for k in kinds:
            out += list(cal.quantile_and_p(f"{name}:{k}", scores[k][:, t], u))
    return out


def add_qvalues(df: pd.DataFrame) -> pd.DataFrame:
    """Benjamini-Hochberg q-values over the rows, one ``<task>:<stat>:q`` beside each ``...:p`` column.

    Parameters
    ----------
    df : pandas.DataFrame
        Scores with ``<task>:<stat>:p`` columns (NaN for rows not scored: left out, q NaN).

    Returns
    -------
    pandas.DataFrame
        ``df`` with each q column right after its p column.
    """
    from scipy.stats import false_discovery_control

    out = {}
    for c in df.columns:
        out[c] = df[c]
        if c.endswith(":p"):
            p = df[c].to_numpy(np.float64)
            q = np.full(len(p), np.nan)
            ok = np.isfinite(p)
            if ok.any():
                q[ok] = false_discovery_control(np.clip(p[ok], 0, 1), method="bh")
            out[c[:-2] + ":q"] = q
    return pd.DataFrame(out)
