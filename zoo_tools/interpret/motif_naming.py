"""Which TF-MoDISco patterns get a motif's name, and why the others do not.

TOMTOM's q-value alone names too much: a pattern of a few seqlets, or a long low-information one,
finds a motif of a large database at a small q, because the database is large and its long, low
complexity motifs (zinc fingers) resemble anything. A pattern is **named** only when it passes, in
order (the first failure is its ``status``, with the figure behind it in ``reason``):

``few_seqlets``           at least ``min_seqlets`` seqlets and ``min_seqlet_fraction`` of the
                          largest pattern's (patterns of both signs);
``low_information``       its trimmed probability matrix holds ``min_information`` bits (flanks
                          trimmed: the columns where the CWM is large, then edge columns under
                          ``min_column_bits``);
``no_significant_match``  its best match has TOMTOM q <= ``max_q`` (Benjamini-Hochberg over the
                          database) *and* an empirical FDR <= ``max_fdr``: the pattern's core with
                          its columns in random order (``n_shuffles`` times) is matched against
                          the same database, the empirical p-value is the share of shuffles whose
                          best match is as good (``(1 + #{p_shuffle <= p_best}) / (1 +
                          n_shuffles)``), and the FDR is Benjamini-Hochberg over the run's
                          patterns. A shuffled core has the same columns, so the same chance of
                          resembling some motif, but no motif order: junk matches as well shuffled
                          as not, a real motif does not;
``ambiguous``             no second match of q <= ``max_q`` within ``ambiguity`` orders of
                          magnitude of the best one's p-value, unless the two motifs resemble each
                          other (TOMTOM p < 0.01 between them: one family, e.g. two GATA motifs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATUSES = ("named", "few_seqlets", "low_information", "no_significant_match", "ambiguous")


@dataclass
class NamingRules:
    """The thresholds of the module doc (the ``zoo interpret modisco`` options of the same names)."""

    min_seqlets: int = 30
    min_seqlet_fraction: float = 0.2
    min_information: float = 6.0
    min_column_bits: float = 0.25
    max_q: float = 0.05
    max_fdr: float = 0.05
    n_shuffles: int = 200
    ambiguity: float = 1.0
    seed: int = 0

    def __post_init__(self):
        from zoo_tools.core.errors import ZooError

        for opt, value, ok in (
            ("--min-seqlets", self.min_seqlets, self.min_seqlets >= 1),
            ("--min-seqlet-fraction", self.min_seqlet_fraction, 0 <= self.min_seqlet_fraction <= 1),
            ("--min-information", self.min_information, self.min_information >= 0),
            ("--max-q", self.max_q, 0 < self.max_q <= 1),
            ("--max-fdr", self.max_fdr, 0 < self.max_fdr <= 1),
            ("--null-shuffles", self.n_shuffles, self.n_shuffles >= 1),
            ("--ambiguity", self.ambiguity, self.ambiguity >= 0),
        ):
            if not ok:
                raise ZooError(f"{opt} {value}: out of range; see `zoo interpret modisco --help` for its meaning")


def column_bits(ppm: np.ndarray, pseudocount: float = 1e-3) -> np.ndarray:
    """Information content of each column of a ``(4, w)`` probability matrix, in bits.

    Parameters
    ----------
    ppm : numpy.ndarray
        ``(4, w)`` probabilities, rows A, C, G, T (columns need not sum exactly to 1).
    pseudocount : float
        Added to every probability before the columns are renormalised.

    Returns
    -------
    numpy.ndarray
        ``(w,)`` float ``2 + sum_b p_b log2 p_b``, in ``[0, 2]``.
    """
    p = np.asarray(ppm, float) + pseudocount
    p = p / p.sum(0, keepdims=True)
    return 2 + (p * np.log2(np.where(p > 0, p, 1))).sum(0)  # 0 log 0 = 0


def trim_columns(ppm: np.ndarray, cwm: np.ndarray, frac: float = 0.3, min_bits: float = 0.25) -> tuple[int, int]:
    """``[start, end)`` of a pattern's core: the CWM's large columns, less edge columns of low
    information.

    Parameters
    ----------
    ppm, cwm : numpy.ndarray
        ``(4, w)`` probability and contribution-weighted matrices of one pattern.
    frac : float
        As :func:`~zoo_tools.interpret.modisco.trim` takes it.
    min_bits : float
        Edge columns with less information (bits) are cut; at least one column stays.

    Returns
    -------
    tuple of int
        0-based, half-open column indices.
    """
    from zoo_tools.interpret.modisco import trim

    lo, hi = trim(cwm, frac)
    bits = column_bits(ppm[:, lo:hi])
    keep = np.nonzero(bits >= min_bits)[0]
    if not len(keep):
        return lo, lo + 1
    return lo + int(keep[0]), lo + int(keep[-1]) + 1


def shuffled_columns(ppm: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` copies of a ``(4, w)`` matrix with its columns in a random order (the match's null).

    Parameters
    ----------
    ppm : numpy.ndarray
        ``(4, w)`` probabilities.
    n, seed : int
        Copies, and the seed of their permutations.

    Returns
    -------
    list of numpy.ndarray
        ``n`` matrices ``(4, w)``.
    """
    rng = np.random.default_rng(seed)
    return [ppm[:, rng.permutation(ppm.shape[1])] for _ in range(n)]


def empirical_p(p_best: float, p_null: np.ndarray) -> float:
    """Share of null draws whose best match is at least as good: ``(1 + #{p_null <= p_best}) / (1 + n)``.

    Parameters
    ----------
    p_best : float
        The pattern's best TOMTOM p-value against the database.
    p_null : numpy.ndarray
        ``(n,)`` the best p-value of each shuffled copy against the same database.

    Returns
    -------
    float
        In ``[1 / (n + 1), 1]``.
    """
    return (1 + int((np.asarray(p_null) <= p_best).sum())) / (1 + len(p_null))


def _tomtom(queries: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """TOMTOM p-values (tomtom-lite, both strands) ``(queries, targets)`` of ``(4, w)`` matrices."""
    from memelite import tomtom

    p, *_ = tomtom([np.asarray(q, np.float64) for q in queries], [np.asarray(t, np.float64) for t in targets], n_jobs=1)
    return np.asarray(p)


def _judge(pat: dict, rules: NamingRules, floor: float, fig: dict, names: list[str], db: dict) -> dict:
    """Status, name and reason of one pattern (module doc); ``floor`` the seqlet minimum, ``fig``
    its figures (``information``, ``p`` against the database, ``fdr_1``)."""
    p, fdr, info = fig["p"], fig["fdr_1"], fig["information"]
    q = _bh(p)
    best, second = (list(np.argsort(p, kind="stable")) * 2)[:2]
    if pat["n_seqlets"] < floor:
        return _status("few_seqlets", f"{pat['n_seqlets']} seqlets < {floor:.0f}")
    if info < rules.min_information:
        return _status("low_information", f"{info:.1f} bits < {rules.min_information:g}")
    if q[best] > rules.max_q or fdr > rules.max_fdr:
        return _status(
            "no_significant_match",
            f"{names[best]}: q {q[best]:.2g} (max {rules.max_q:g}), empirical FDR {fdr:.2g} (max {rules.max_fdr:g})",
        )
    gap = np.log10(max(p[second], 1e-300)) - np.log10(max(p[best], 1e-300))
    if second != best and q[second] <= rules.max_q and gap < rules.ambiguity:
        if _tomtom([db[names[best]]], list(db.values()))[0, second] >= 0.01:  # against the whole database
            return _status("ambiguous", f"{names[best]} and {names[second]}: p-values {gap:.2g} log10 apart")
    return _status("named", f"q {q[best]:.2g}, empirical FDR {fdr:.2g}", names[best])


def _status(status: str, reason: str, name: str = "") -> dict:
    return {"status": status, "name": name, "reason": reason}


def _bh(p: np.ndarray) -> np.ndarray:
    from zoo_tools.interpret.modisco import bh_qvalues

    return bh_qvalues(p)


def _figures(pat: dict, db: list[np.ndarray], rules: NamingRules) -> dict:
    """A pattern's core (``start``, ``end``, ``width``), its ``information``, its p-values ``p``
    against the database and the empirical p-value ``null_p_1`` of the best one."""
    lo, hi = trim_columns(pat["ppm"], pat["cwm"], min_bits=rules.min_column_bits)
    core = pat["ppm"][:, lo:hi]
    p = _tomtom([core], db)[0]
    null = _tomtom(shuffled_columns(core, rules.n_shuffles, rules.seed), db).min(1)
    info = float(column_bits(core).sum())
    return dict(start=lo, end=hi, width=hi - lo, information=info, p=p, null_p_1=empirical_p(float(p.min()), null))


def name_patterns(patterns: list[dict], motifs: dict[str, np.ndarray], rules: NamingRules | None = None, top: int = 3):
    """Each pattern's best TOMTOM matches, and whether it is named (module doc).

    Parameters
    ----------
    patterns : list of dict
        :func:`~zoo_tools.interpret.modisco.run_modisco`'s patterns (``name``, ``ppm`` and ``cwm``
        ``(4, w)``, ``n_seqlets``), of both signs.
    motifs : dict
        Motif name -> ``(4, w)`` probabilities, rows A, C, G, T.
    rules : NamingRules, optional
        The thresholds; default :class:`NamingRules`.
    top : int
        Matches listed per pattern.

    Returns
    -------
    pandas.DataFrame
        One row per pattern: ``pattern, n_seqlets, start, end, width, information, match_1, q_1,
        null_p_1, fdr_1, match_2, q_2, ..., status, name, reason`` (``start``/``end`` the trimmed
        core's columns, ``information`` its bits, ``name`` the motif when ``status`` is ``named``).
    """
    import pandas as pd

    rules = rules or NamingRules()
    names = list(motifs)
    db = [motifs[n] for n in names]
    figs = [_figures(pat, db, rules) for pat in patterns]
    for f, fdr in zip(figs, _bh(np.array([f["null_p_1"] for f in figs]))):
        f["fdr_1"] = float(fdr)
    largest = max((p["n_seqlets"] for p in patterns), default=0)
    floor = max(rules.min_seqlets, rules.min_seqlet_fraction * largest)
    rows = []
    for pat, f in zip(patterns, figs):
        row = {"pattern": pat["name"], "n_seqlets": pat["n_seqlets"]}
        row |= {k: v for k, v in f.items() if k != "p"}
        q = _bh(f["p"])
        for k, j in enumerate(np.argsort(f["p"], kind="stable")[:top], 1):
            row[f"match_{k}"], row[f"q_{k}"] = names[j], float(q[j])
        rows.append(row | _judge(pat, rules, floor, f, names, motifs))
    cols = ["pattern", "n_seqlets", "start", "end", "width", "information", "match_1", "q_1", "null_p_1", "fdr_1"]
    cols += [c for k in range(2, top + 1) for c in (f"match_{k}", f"q_{k}")]
    table = pd.DataFrame(rows, columns=cols + ["status", "name", "reason"])
    return table
