"""Motif marginalisation: what does a motif do on its own, averaged over neutral backgrounds?

Backgrounds are random windows of the genome (few Ns), each dinucleotide-shuffled (tangermeme's
``dinucleotide_shuffle``): the composition of real sequence is kept, its motifs are destroyed. The
motif (its consensus) is written at the window centre (tangermeme's ``substitute``), optionally a
second motif ``spacing`` bp after its end, and the explained output is predicted before and after
on every background. The effect per task is the mean paired difference with a t confidence
interval and a paired t-test p-value. Writing any sequence changes the window a little (GC
content, broken background k-mers), so the same insertion is also made with the motif's bases in
a shuffled order (the *control*); the **specific** effect ``after - control`` is what the motif's
arrangement of bases does. A motif that drives a track raises it well beyond the interval; a
motif the model ignores leaves the specific effect's interval around 0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome

ACGT = re.compile(r"^[ACGTacgt]+$")


def motif_sequence(motif: str, db: str = "jaspar") -> tuple[str, str]:
    """``(label, consensus)`` of a motif name, or of a literal ACGT string.

    Parameters
    ----------
    motif : str
        A motif name resolved in the MEME database ``db`` (unknown names suggest close ones); an
        ACGT string that names no motif is used as it is (upper-cased).
    db : str
        The MEME database (:func:`~zoo_tools.data.motifs.meme_path`).

    Returns
    -------
    tuple of str
        ``(label, consensus)``: the motif's full name and its consensus (most likely base at each
        position), or the ACGT string twice.
    """
    from zoo_tools.data.motifs import consensus, find_motif

    try:
        name, pwm = find_motif(motif, db)
    except ZooError:
        if ACGT.match(motif):  # not a motif name: a consensus sequence
            return motif.upper(), motif.upper()
        raise
    return name, consensus(pwm)


def shuffled_control(seq: str, seed: int = 0) -> str:
    """The same bases in a seeded random order (differs from ``seq`` unless it is one letter).

    Parameters
    ----------
    seq : str
        A motif's consensus.
    seed : int
        Seed of the permutations.

    Returns
    -------
    str
        A permutation of ``seq`` that differs from it; ``seq`` itself when 100 draws give none.
    """
    rng = np.random.default_rng(seed)
    for _ in range(100):
        out = "".join(rng.permutation(list(seq)))
        if out != seq:
            return out
    return seq


def background_windows(genome: Genome, n: int, length: int, seed: int = 0, max_n: float = 0.01) -> np.ndarray:
    """Random genome windows with few Ns, drawn in proportion to contig length (seeded).

    Parameters
    ----------
    genome : Genome
        Windows are drawn from its contigs at least ``length`` bp long, uniformly over start positions.
    n, length : int
        Number of windows and their length (bp).
    seed : int
        Seed of the draws.
    max_n : float
        Largest fraction of N per window; windows with more are drawn again (``50 n`` draws at most).

    Returns
    -------
    numpy.ndarray
        ``(n, length)`` uint8 codes, A=0, C=1, G=2, T=3, N=4.
    """
    rng = np.random.default_rng(seed)
    contigs = {c: s for c, s in genome.contigs.items() if s >= length}
    if not contigs:
        raise ZooError(f"{genome.path}: no contig is as long as the model's input ({length} bp)")
    names = list(contigs)
    w = np.array([contigs[c] - length + 1 for c in names], float)
    out = []
    for _ in range(50 * n):
        c = names[rng.choice(len(names), p=w / w.sum())]
        s = int(rng.integers(0, contigs[c] - length + 1))
        codes = genome.codes(c, s, s + length)
        if (codes > 3).mean() <= max_n:
            out.append(codes)
            if len(out) == n:
                return np.stack(out)
    raise ZooError(f"{genome.path}: found only {len(out)} of {n} windows of {length} bp with <= {max_n:.0%} N")


def shuffled_backgrounds(genome: Genome, n: int, length: int, seed: int = 0) -> torch.Tensor:
    """``(n, 4, length)`` float32 one-hot: genome windows, dinucleotide-shuffled (tangermeme).

    Parameters
    ----------
    genome, n, length, seed
        As :func:`background_windows` takes them; ``seed`` seeds the shuffles too.

    Returns
    -------
    torch.Tensor
        ``(n, 4, length)`` float32 one-hot, A,C,G,T; an N of the genome is shuffled as an A.
    """
    from tangermeme.ersatz import dinucleotide_shuffle

    from zoo_tools.data.onehot import codes_to_tensor

    x = codes_to_tensor(background_windows(genome, n, length, seed))
    x[x.sum(1, keepdim=True).expand_as(x) == 0] = 0.25  # N: uniform, then shuffled as a base would be
    x = torch.nn.functional.one_hot(x.argmax(1), 4).permute(0, 2, 1).float()
    return dinucleotide_shuffle(x, n=1, random_state=seed)[:, 0].float()


def insert(x: torch.Tensor, seqs: list[str], spacing: int = 0) -> torch.Tensor:
    """Copy of ``x`` ``(N, 4, L)`` with ``seqs[0]`` centred and each further motif ``spacing`` bp
    after the previous one's end.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, 4, L)`` float32 one-hot, A,C,G,T.
    seqs : list of str
        ACGT sequences written over ``x`` (tangermeme's ``substitute``); with the spacings they
        must fit in ``L``.
    spacing : int
        bp between one sequence's end and the next one's start.

    Returns
    -------
    torch.Tensor
        ``(N, 4, L)``; ``seqs[0]`` starts at window index ``L // 2 - len(seqs[0]) // 2`` (0-based),
        moved left where the sequences would run past the end.
    """
    from tangermeme.ersatz import substitute

    total = sum(len(s) for s in seqs) + spacing * (len(seqs) - 1)
    L = x.shape[-1]
    if total > L:
        raise ZooError(f"motifs of {total} bp do not fit the model's {L} bp input")
    start = L // 2 - len(seqs[0]) // 2
    start = min(start, L - total)
    for s in seqs:
        x = substitute(x, s, start=start)
        start += len(s) + spacing
    return x


def _predict(explained, x: torch.Tensor, batch_size: int, device) -> np.ndarray:
    with torch.no_grad():
        return torch.cat(
            [explained(x[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
        ).numpy()


def paired_ci(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, ...]:
    """Mean of ``a - b`` ``(n, T)`` per column, its ``level`` t interval and paired t-test p-value.

    Parameters
    ----------
    a, b : numpy.ndarray
        ``(n, T)`` paired values (``n`` backgrounds, ``T`` tasks).
    level : float
        Confidence level of the interval.

    Returns
    -------
    tuple of numpy.ndarray
        ``(mean, low, high, p)``, each ``(T,)``; with ``n < 2`` the interval is NaN and ``p`` 1
        (an undefined p-value is 1 too).
    """
    from scipy import stats

    d = a - b
    n = len(d)
    if n < 2:
        nan = np.full(d.shape[1], np.nan)
        return d.mean(0), nan, nan, np.ones(d.shape[1])
    half = stats.t.ppf(0.5 + level / 2, n - 1) * d.std(0, ddof=1) / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.ttest_rel(a, b, axis=0).pvalue
    return d.mean(0), d.mean(0) - half, d.mean(0) + half, np.nan_to_num(p, nan=1.0)


def effect_table(
    before: np.ndarray, after: np.ndarray, control: np.ndarray, tasks: list[str], level: float = 0.95
) -> pd.DataFrame:
    """The effects of one insertion, a row per task (:func:`paired_ci`).

    Parameters
    ----------
    before, after, control : numpy.ndarray
        ``(n, T)`` predictions on the ``n`` backgrounds: as they are, with the motif(s) and with
        the shuffled control(s) written in.
    tasks : list of str
        The ``T`` task names.
    level : float
        Confidence level of the t intervals.

    Returns
    -------
    pandas.DataFrame
        Per task: means before / after / after the shuffled control, the effect ``after - before``
        (``effect, ci_low, ci_high, p_value``) and the motif-specific effect ``after - control``
        (``specific, specific_ci_low, specific_ci_high, specific_p``), each with its ``level`` t
        interval and paired t-test p-value; ``n_backgrounds``.
    """
    eff, lo, hi, p = paired_ci(after, before, level)
    spec, slo, shi, sp = paired_ci(after, control, level)
    return pd.DataFrame(
        {
            "task": tasks,
            "before": before.mean(0),
            "after": after.mean(0),
            "control": control.mean(0),
            "effect": eff,
            "ci_low": lo,
            "ci_high": hi,
            "p_value": p,
            "specific": spec,
            "specific_ci_low": slo,
            "specific_ci_high": shi,
            "specific_p": sp,
            "n_backgrounds": len(before),
        }
    )


def marginalize(
    explained,
    genome: Genome,
    motifs: list[str],
    n_backgrounds: int = 100,
    spacings=(0,),
    db: str = "jaspar",
    seed: int = 0,
    batch_size: int = 64,
    device=None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Effect of inserting ``motifs`` (names or ACGT) into shuffled backgrounds, per task and spacing.

    Parameters
    ----------
    explained : Explained
        The reduction explained (:class:`~zoo_tools.interpret.wrappers.Explained`; not siamese).
    genome : Genome
        Backgrounds are random windows of it, dinucleotide-shuffled (:func:`shuffled_backgrounds`).
    motifs : list of str
        Motif names or ACGT sequences (:func:`motif_sequence`), written as their consensus: the
        first centred, each further one ``spacing`` bp after the previous one's end (:func:`insert`).
    n_backgrounds, seed
        Backgrounds; the seed of their draws, shuffles and shuffled controls.
    spacings : sequence of int
        bp between consecutive motifs, one block of rows each (with one motif: 0 only).
    db : str
        The MEME database motif names are resolved in.
    batch_size, device, level
        Sequences per forward batch; the device (default CUDA when available); confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``motif, spacing, task, before, after, control, effect, ci_low, ci_high,
        p_value, specific, specific_ci_low, specific_ci_high, specific_p, n_backgrounds``
        (:func:`effect_table`; ``spacing`` only matters for two or more motifs).
    """
    if not motifs:
        raise ZooError("give at least one --motif")
    if explained.siamese:
        raise ZooError("a siamese model compares alleles; marginalise motifs with a multi-task model")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    explained = explained.eval().to(device)
    resolved = [motif_sequence(m, db) for m in motifs]
    x = shuffled_backgrounds(genome, n_backgrounds, explained.seq_len, seed)
    before = _predict(explained, x, batch_size, device)
    rows = []
    controls = [shuffled_control(s, seed + k) for k, (_, s) in enumerate(resolved)]
    for sp in spacings if len(motifs) > 1 else [0]:
        after = _predict(explained, insert(x, [s for _, s in resolved], int(sp)), batch_size, device)
        control = _predict(explained, insert(x, controls, int(sp)), batch_size, device)
        t = effect_table(before, after, control, explained.output_names, level)
        t.insert(0, "spacing", int(sp))
        t.insert(0, "motif", "+".join(f"{name}({seq})" for name, seq in resolved))
        rows.append(t)
    return pd.concat(rows, ignore_index=True)
