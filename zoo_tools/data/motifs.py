"""Motif databases (MEME format) and position weight matrices.

gReLU ships three MEME files, available here by short name:

* ``jaspar`` : JASPAR 2024 clustered consensus motifs (182), names like ``C055:CTCF:C2H2_ZF``;
* ``h12`` / ``h13`` : HOCOMOCO v12 / v13 core collections, names like ``CTCF.H13CORE.0.P.B``.

A motif is a ``(4, w)`` float64 probability matrix, rows A, C, G, T. Names are resolved exactly,
then case-insensitively on the parts of the name split at ``:`` and ``.`` (so ``CTCF`` finds
``C055:CTCF:C2H2_ZF``), and an ambiguous or unknown name is an error listing candidates.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

import numpy as np

from zoo_tools.core.errors import ZooError, require_file, short_list

MEME_DATABASES = {
    "jaspar": "jaspar_2024_consensus.meme",
    "h12": "H12CORE_meme_format.meme",
    "h13": "H13CORE_meme_format.meme",
}
BACKGROUND = np.full(4, 0.25)


def meme_path(db: str = "jaspar") -> str:
    """Path of a MEME file: a gReLU short name (``jaspar``, ``h12``, ``h13``) or a file path.

    Parameters
    ----------
    db : str
        A short name (case-insensitive), else an existing file.

    Returns
    -------
    str
    """
    if db.lower() in MEME_DATABASES:
        from importlib.resources import files

        return str(files("grelu") / "resources" / "meme" / MEME_DATABASES[db.lower()])
    return require_file(db, "motif database", "give a MEME file or one of jaspar, h12, h13")


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, np.ndarray]:
    motifs: dict[str, np.ndarray] = {}
    name, rows = None, []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "MOTIF":
                if name and rows:
                    motifs[name] = np.array(rows).T
                name, rows = parts[1], []
            elif name and re.fullmatch(r"[-+.0-9eE]+", parts[0]) and len(parts) == 4:
                rows.append([float(x) for x in parts])
    if name and rows:
        motifs[name] = np.array(rows).T
    if not motifs:
        raise ZooError(f"{path}: no motifs found (expected MEME format with 'MOTIF' blocks)")
    return motifs


def load_motifs(db: str = "jaspar") -> dict[str, np.ndarray]:
    """All motifs of a MEME database: name -> ``(4, w)`` probabilities (rows A,C,G,T).

    Parameters
    ----------
    db : str
        As in :func:`meme_path`; the file is parsed once per process.

    Returns
    -------
    dict of str to numpy.ndarray
        ``(4, w)`` float64 each, in file order (a fresh dict; the arrays are shared).
    """
    path = meme_path(db)
    try:
        return dict(_load(os.path.abspath(path)))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ZooError(f"cannot read motif database {path}: {err}") from None


def find_motif(name: str, db: str = "jaspar") -> tuple[str, np.ndarray]:
    """Resolve a motif name in a database; returns ``(full name, (4, w) matrix)``.

    An exact name, else a unique case-insensitive match of a part of the names split at ``:`` and
    ``.``; an ambiguous or unknown name is a :class:`ZooError` listing candidates.

    Parameters
    ----------
    name : str
        E.g. ``C055:CTCF:C2H2_ZF`` or ``CTCF``.
    db : str
        As in :func:`meme_path`.

    Returns
    -------
    tuple of (str, numpy.ndarray)
        The full name and its ``(4, w)`` float64 probabilities (rows A, C, G, T).
    """
    motifs = load_motifs(db)
    if name in motifs:
        return name, motifs[name]
    key = name.lower()
    hits = [m for m in motifs if key in [p.lower() for p in re.split(r"[:.]", m)]]
    if len(hits) == 1:
        return hits[0], motifs[hits[0]]
    if hits:
        raise ZooError(f"motif '{name}' is ambiguous in {db}: {short_list(hits)}; give the full name")
    close = [m for m in motifs if key in m.lower()]
    if not close:
        import difflib

        parts = {p.lower(): m for m in motifs for p in re.split(r"[:._]", m) if len(p) > 1}
        close = list(dict.fromkeys(parts[p] for p in difflib.get_close_matches(key, list(parts), n=5, cutoff=0.6)))
    hint = f" (similar: {short_list(close)})" if close else ""
    raise ZooError(f"motif '{name}' not found in {db}{hint}; list names with `grep MOTIF {meme_path(db)}`")


def consensus(pwm: np.ndarray) -> str:
    """Most likely base at each position of a ``(4, w)`` matrix.

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(4, w)``, rows A, C, G, T.

    Returns
    -------
    str
    """
    return "".join("ACGT"[i] for i in np.asarray(pwm).argmax(0))


def log_odds(pwm: np.ndarray, pseudo: float = 1e-3) -> np.ndarray:
    """``(4, w)`` log2 odds of a probability matrix (rows A,C,G,T; pseudocount ``pseudo``) vs a uniform background.

    Parameters
    ----------
    pwm : numpy.ndarray
    pseudo : float

    Returns
    -------
    numpy.ndarray
    """
    p = (np.asarray(pwm) + pseudo) / (1 + 4 * pseudo)
    return np.log2(p / BACKGROUND[:, None])


def score_codes(lo: np.ndarray, codes: np.ndarray) -> float:
    """Log-odds score of integer-coded bases ``(w,)`` under ``lo`` (N scores the column mean).

    Parameters
    ----------
    lo : numpy.ndarray
        ``(4, w)`` log-odds (:func:`log_odds`).
    codes : numpy.ndarray
        ``(w,)`` codes, A=0, C=1, G=2, T=3, N=4.

    Returns
    -------
    float
        The sum over positions (log2 units).
    """
    cols = np.arange(lo.shape[1])
    safe = np.minimum(codes, 3)
    vals = np.where(codes < 4, lo[safe, cols], lo.mean(0))
    return float(vals.sum())


def information(pwm: np.ndarray) -> np.ndarray:
    """Information content ``(w,)`` (bits, 0 to 2) of each position of a ``(4, w)`` matrix.

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(4, w)`` probabilities, rows A, C, G, T.

    Returns
    -------
    numpy.ndarray
    """
    p = np.clip(np.asarray(pwm), 1e-9, 1)
    return 2 + (p * np.log2(p)).sum(0)
