"""Background variants for calibration: random SNVs drawn from a genome, optionally GC-matched.

A background SNV sits at a position drawn uniformly over the chosen contigs' bases, never on an
``N`` base nor inside a blacklist interval; its REF is the genome's base and its ALT one of the
other three bases, uniformly. With a GC target (the GC fractions around the variants a user will
score), positions are drawn in proportion to the target's GC histogram (ten bins at the target's
deciles), so the background's local GC content matches the scored set's.

Positions are 1-based in the returned tables and VCFs, as in VCF.
"""

from __future__ import annotations

import hashlib
import logging
import os

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import ALPHABET, Genome, gc_fraction
from zoo_tools.data.intervals import overlaps

log = logging.getLogger(__name__)

GC_WINDOW = 1000  # bp around a variant over which its GC content is measured
_DRAW = 1 << 16  # candidate positions drawn per round


def variant_keys(chrom, pos, ref, alt) -> np.ndarray:
    """64-bit keys of alleles, equal for equal ``(chrom, pos, ref, alt)`` (to find a variant in a set).

    Parameters
    ----------
    chrom, pos, ref, alt : array-like
        Contig names (the genome's spelling), 1-based positions and alleles, one per variant.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` uint64 (the first 8 bytes of each allele's blake2b digest).
    """
    out = np.empty(len(chrom), dtype=np.uint64)
    for i, (c, p, r, a) in enumerate(zip(chrom, pos, ref, alt)):
        digest = hashlib.blake2b(f"{c}\t{int(p)}\t{r}\t{a}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


def gc_around(genome: Genome, chrom, pos, window: int = GC_WINDOW) -> np.ndarray:
    """GC fraction of the ``window`` bp centred on each position (N bases ignored).

    Parameters
    ----------
    genome : Genome
    chrom, pos : array-like
        Contigs (any alias) and ``pos: int  # 1-based, as in VCF``.
    window : int
        Width (bp).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 in [0, 1]; NaN where the window is all N.
    """
    names = np.array([genome.resolve(c) for c in chrom], dtype=object)
    starts = np.asarray(pos, dtype=np.int64) - 1 - window // 2
    out = np.empty(len(names))
    for i in range(0, len(names), 8192):  # memory bounded by 8192 x window bytes
        out[i : i + 8192] = gc_fraction(genome.batch_codes(names[i : i + 8192], starts[i : i + 8192], window))
    return out


def _contigs(genome: Genome, chroms: list[str] | None, min_len: int) -> dict[str, int]:
    """The contigs to draw from (genome spelling -> length): ``chroms`` or all, at least ``min_len`` bp."""
    names = [genome.resolve(c) for c in chroms] if chroms else list(genome.contigs)
    out = {c: genome.contigs[c] for c in dict.fromkeys(names) if genome.contigs[c] >= min_len}
    if not out:
        what = ", ".join(names[:5]) if chroms else f"{genome.path}'s contigs"
        raise ZooError(
            f"--chroms: none of {what} is at least {min_len:,} bp (the model's input); choose longer contigs"
        )
    return out


def _candidates(rng, genome: Genome, contigs: dict[str, int], blacklist: pd.DataFrame | None, m: int) -> pd.DataFrame:
    """``m`` uniform draws over the contigs' bases, those on N or in the blacklist removed."""
    names = list(contigs)
    ends = np.cumsum([contigs[c] for c in names])
    flat = rng.integers(0, int(ends[-1]), m)
    k = np.searchsorted(ends, flat, side="right")
    start = flat - np.concatenate([[0], ends[:-1]])[k]
    df = pd.DataFrame({"chrom": np.array(names, dtype=object)[k], "start": start, "end": start + 1})
    base = genome.batch_codes(df.chrom.to_numpy(), df.start.to_numpy(), 1)[:, 0]
    keep = base < 4
    if blacklist is not None and len(blacklist):
        keep &= ~overlaps(df, blacklist)
    return df.assign(base=base)[keep].reset_index(drop=True)


def _gc_quota(target: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges at the target GC's deciles (values outside its range get no draws) and how many
    draws each bin needs (summing to ``n``)."""
    target = target[np.isfinite(target)]
    if len(target) < 10:
        raise ZooError(f"--match-gc: {len(target)} scorable variant(s) to match; need at least 10")
    edges = np.unique(np.quantile(target, np.linspace(0, 1, 11)))
    edges[-1] += 1e-9  # the largest target value falls in the last bin
    frac = np.histogram(target, edges)[0] / len(target)
    quota = np.floor(frac * n).astype(int)
    quota[np.argsort(-(frac * n - quota))[: n - quota.sum()]] += 1
    return edges, quota


def _take(cand: pd.DataFrame, need: np.ndarray | None, edges, left: int) -> pd.DataFrame:
    """The candidates kept this round: all (up to ``left``), or those filling each GC bin's quota."""
    if need is None:
        return cand.iloc[:left]
    b = np.digitize(cand.gc.to_numpy(), edges) - 1  # -1 or len(need): outside the target's range
    rows = [np.flatnonzero(b == k)[: need[k]] for k in range(len(need))]
    idx = np.sort(np.concatenate(rows)) if rows else np.zeros(0, int)
    need -= np.bincount(b[idx], minlength=len(need))[: len(need)]
    return cand.iloc[idx]


def random_snvs(
    genome: Genome,
    n: int,
    seed: int = 0,
    chroms: list[str] | None = None,
    blacklist: pd.DataFrame | None = None,
    gc_target: np.ndarray | None = None,
    min_len: int = 1,
    exclude: np.ndarray | None = None,
) -> pd.DataFrame:
    """``n`` distinct random SNVs (see the module docstring), sorted by contig and position.

    Parameters
    ----------
    genome : Genome
        Where positions and REF bases come from.
    n : int
        How many SNVs.
    seed : int
        The random seed (the same seed gives the same SNVs).
    chroms : list of str, optional
        Contigs to draw from (any alias); default all.
    blacklist : pandas.DataFrame, optional
        ``chrom, start, end`` (0-based, half-open; the genome's contig spelling) to avoid.
    gc_target : numpy.ndarray, optional
        GC fractions (:func:`gc_around`) whose deciles' histogram the SNVs match.
    min_len : int
        Contigs shorter than this (the model's input length) are not drawn from.
    exclude : numpy.ndarray, optional
        :func:`variant_keys` of variants the draw must not contain (e.g. another background).

    Returns
    -------
    pandas.DataFrame
        ``chrom, pos`` (1-based, as in VCF), ``id`` (``bg1`` ...), ``ref, alt``, ``gc``.
    """
    if n < 1:
        raise ZooError(f"--random {n}: give a number of background SNVs >= 1")
    rng = np.random.default_rng(seed)
    contigs = _contigs(genome, chroms, min_len)
    quota = _gc_quota(np.asarray(gc_target, float), n) if gc_target is not None else None
    seen = set(np.asarray(exclude, dtype=np.uint64).tolist()) if exclude is not None else set()
    df = _draw(rng, genome, (contigs, blacklist), n, quota, seen)
    order = {c: i for i, c in enumerate(genome.contigs)}
    df = df.sort_values(["chrom", "pos"], key=lambda s: s.map(order) if s.name == "chrom" else s, kind="stable")
    df = df.reset_index(drop=True)
    ids = [f"bg{i + 1}" for i in range(len(df))]
    return pd.DataFrame({"chrom": df.chrom, "pos": df.pos, "id": ids, "ref": df.ref, "alt": df.alt, "gc": df.gc})


def _fresh(rng, genome: Genome, where: tuple, seen: set) -> pd.DataFrame:
    """One round of candidate SNVs (REF from the genome, ALT uniform among the other three), none in ``seen``."""
    cand = _candidates(rng, genome, *where, _DRAW)
    alt = (cand.base.to_numpy() + rng.integers(1, 4, len(cand))) % 4
    cand = cand.assign(pos=cand.start + 1, ref=[ALPHABET[b] for b in cand.base], alt=[ALPHABET[a] for a in alt])
    keys = variant_keys(cand.chrom, cand.pos, cand.ref, cand.alt)
    fresh = np.array([k not in seen and not seen.add(k) for k in keys.tolist()], dtype=bool)
    return cand[fresh].reset_index(drop=True)


def _draw(rng, genome: Genome, where: tuple, n: int, quota, seen: set) -> pd.DataFrame:
    """Rounds of :func:`_fresh` candidates until ``n`` are kept (filling the GC quota when given)."""
    parts, got = [], 0
    edges, need = quota if quota is not None else (None, None)
    for _ in range(2000):
        cand = _fresh(rng, genome, where, seen)
        if need is not None:  # GC of every candidate, to fill the bins; else only of those kept
            cand = cand.assign(gc=gc_around(genome, cand.chrom, cand.pos))
        part = _take(cand, need, edges, n - got)
        parts.append(part if need is not None else part.assign(gc=gc_around(genome, part.chrom, part.pos)))
        got += len(part)
        if got >= n:
            return pd.concat(parts, ignore_index=True)
    short = f" (GC bins still short: {need.tolist()})" if need is not None else ""
    raise ZooError(
        f"could draw only {got} of {n} background SNVs{short}: the chosen contigs have too few usable positions; "
        f"lower --random, add --chroms or drop --match-gc"
    )


def write_sites_vcf(path: str, genome: Genome, df: pd.DataFrame, source: str) -> None:
    """A sites-only VCF 4.2 (no samples) of ``df``'s alleles, with the genome's ``##contig`` lines.

    Parameters
    ----------
    path : str
        The VCF written (plain text).
    genome : Genome
        Its contigs and lengths head the file.
    df : pandas.DataFrame
        ``chrom, pos`` (1-based), ``id, ref, alt``, in the order to write.
    source : str
        The ``##source`` line's text (how the variants were made).
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w") as fh:
        fh.write(f"##fileformat=VCFv4.2\n##source={source}\n")
        fh.writelines(f"##contig=<ID={c},length={n}>\n" for c, n in genome.contigs.items())
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for r in df.itertuples(index=False):
            fh.write(f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}\t.\tPASS\t.\n")
