"""Haplotype windows: all ALT alleles of one haplotype near a variant applied to the reference.

The window of a haplotype row is centred as a single variant's alternative window is
(:mod:`~zoo_tools.score.windows`): the row's own ALT allele (the *focal* allele) starts at index
``c`` of the ``L`` bp window. The other ALT alleles the haplotype carries whose REF overlaps the
focal variant's reference window ``[s, s + L)`` are applied too, in position order (SNVs, MNVs and
indels alike); the window is then cut from the edited sequence so that the focal allele stays at
``c``: bases left of it are the haplotype's (shifted by upstream indels), bases right of it
follow the focal ALT, trimmed to ``L``. With no other allele this is exactly the single
variant's alternative window. Two alleles of one haplotype whose REF spans overlap cannot both be
applied: :func:`first_overlap` names them.

Coordinates: ``Edit.start`` is 0-based (``pos - 1``); labels are ``pos:REF>ALT`` with ``pos``
1-based, as in VCF.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.variants import Variant


class Edit(NamedTuple):
    """One allele applied to the reference: ``start`` 0-based, REF and ALT as in the VCF."""

    start: int
    ref: str
    alt: str

    @property
    def end(self) -> int:
        """0-based end (exclusive) of the REF bases."""
        return self.start + len(self.ref)

    @property
    def label(self) -> str:
        """``pos:REF>ALT`` (``pos`` 1-based)."""
        return f"{self.start + 1}:{self.ref}>{self.alt}"


def edit_of(v: Variant) -> Edit:
    """The :class:`Edit` of a variant row.

    Parameters
    ----------
    v : Variant
        ``pos: int  # 1-based, as in VCF``.

    Returns
    -------
    Edit
    """
    return Edit(v.pos - 1, v.ref, v.alt)


def in_window(e: Edit, focal: Edit, seq_len: int, centre: int) -> bool:
    """Does ``e``'s REF overlap the focal variant's reference window ``[s, s + L)``?

    Parameters
    ----------
    e, focal : Edit
    seq_len, centre : int
        Window length ``L`` and the focal allele's index ``c`` (``s = focal.start - c``).

    Returns
    -------
    bool
    """
    s = focal.start - centre
    return e.end > s and e.start < s + seq_len


def first_overlap(edits: list[Edit]) -> tuple[Edit, Edit] | None:
    """The first two edits (in position order) whose REF spans overlap, or None.

    Parameters
    ----------
    edits : list of Edit

    Returns
    -------
    tuple of Edit or None
    """
    ordered = sorted(edits)
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            return a, b
    return None


def haplotype_window(
    genome: Genome, chrom: str, focal: Edit, others: list[Edit], seq_len: int, centre: int
) -> np.ndarray:
    """The ``L`` bp window of a haplotype (see the module docstring).

    Parameters
    ----------
    genome : Genome
        The reference (windows past a contig end are padded with N).
    chrom : str
        The contig (the genome's spelling).
    focal : Edit
        The row's own allele, placed at index ``centre``.
    others : list of Edit
        The haplotype's other alleles in the window, none overlapping each other or ``focal``.
    seq_len, centre : int
        Window length ``L`` and the focal allele's index.

    Returns
    -------
    numpy.ndarray
        ``(L,)`` uint8 codes (A,C,G,T = 0..3, N = 4).
    """
    edits = sorted([focal, *others])
    extra = sum(max(len(e.ref) - len(e.alt), 0) for e in edits) + max(len(e.ref) for e in edits)
    lo = focal.start - centre - extra
    ext = genome.batch_codes([chrom], [lo], seq_len + 2 * extra)[0]
    parts, cursor, at = [], lo, 0
    for e in edits:
        if e.start < lo:  # an allele starting left of the extended reference (not in reach)
            continue
        parts.append(ext[cursor - lo : e.start - lo])
        if e == focal:
            at = sum(len(p) for p in parts)
        parts.append(encode(e.alt))
        cursor = e.end
    parts.append(ext[cursor - lo :])
    seq = np.concatenate(parts).astype(np.uint8)
    start = at - centre
    out = np.full(seq_len, 4, dtype=np.uint8)
    piece = seq[max(start, 0) : start + seq_len]
    out[max(-start, 0) : max(-start, 0) + len(piece)] = piece
    return out
