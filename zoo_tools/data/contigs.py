"""Contig names across files: ``chr1`` / ``1``, ``chrM`` / ``MT`` / ``M``.

A FASTA, a bigWig, a BED file and a VCF of one genome build may spell a contig differently;
:func:`resolve_contig` finds a name among another file's names through these aliases (and a
unique case-insensitive match), and :func:`require_contig` makes a miss a one-line error.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoo_tools.core.errors import ZooError, short_list

_MITO = ("chrM", "chrMT", "MT", "M")


def contig_aliases(name: str) -> list[str]:
    """Names under which a contig may appear in another file: ``chr1`` <-> ``1``, chrM <-> MT.

    Parameters
    ----------
    name : str

    Returns
    -------
    list of str
        ``name`` first, then its aliases (``chrM``, ``chrMT``, ``MT`` and ``M`` alias each other).
    """
    out = [name]
    if name in _MITO:
        out += [m for m in _MITO if m != name]
    elif name.lower().startswith("chr"):
        out.append(name[3:])
    else:
        out.append("chr" + name)
    return out


def resolve_contig(name: str, contigs: Iterable[str], source: str) -> str | None:
    """Return the name that ``name`` has among ``contigs`` (directly or through an alias), or None.

    A case-insensitive match of the aliases is accepted when it is unique (``CHR1`` vs ``chr1``).

    Parameters
    ----------
    name : str
        A contig name, as some file spells it.
    contigs : iterable of str
        The names to look among (e.g. ``Genome.contigs``).
    source : str
        Unused here but keeps the signature parallel to :func:`require_contig`.

    Returns
    -------
    str or None
    """
    contigs = list(contigs)
    names = set(contigs)
    for alias in contig_aliases(name):
        if alias in names:
            return alias
    lowered = {}
    for c in contigs:
        lowered.setdefault(c.lower(), []).append(c)
    for alias in contig_aliases(name):
        hits = lowered.get(alias.lower(), [])
        if len(hits) == 1:
            return hits[0]
    return None


def require_contig(name: str, contigs: Iterable[str], source: str, fix: str = "") -> str:
    """Like :func:`resolve_contig` but raise a :class:`ZooError` listing the available contigs.

    Parameters
    ----------
    name, contigs
        As in :func:`resolve_contig`.
    source, fix : str
        What ``contigs`` are of (named in the error, e.g. ``genome hg38.fa``) and how to fix a miss
        (default: use files of one genome build).

    Returns
    -------
    str
        The name ``name`` has among ``contigs``.
    """
    contigs = list(contigs)
    hit = resolve_contig(name, contigs, source)
    if hit is None:
        fix = fix or "check that the files use the same genome build"
        raise ZooError(f"contig '{name}' not found in {source} (it has: {short_list(contigs)}); {fix}")
    return hit
