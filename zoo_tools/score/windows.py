"""Reference and alternative windows around a variant, as uint8 codes (A,C,G,T = 0..3, N = 4).

Each ALT allele gets a reference and an alternative window of the model's input length ``L``. The
first REF base sits at index ``c = ceil(L / 2) - 1`` (gReLU's ``variants_to_intervals``
convention, so predictions agree with gReLU's ``predict_variant_effects`` base for base; a
siamese model uses the index it was trained with, ``L // 2``). The alternative window keeps the
left flank ``[start, c)`` unchanged, puts the ALT allele at ``c`` and fills the rest from the
reference after the REF allele, trimmed to ``L`` on the right (tangermeme's ``deletion_effect`` /
``insertion_effect`` rule with ``left=False``). Windows past a contig end are padded with N.
"""

from __future__ import annotations

import math

import numpy as np

from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.variants import Variant


def centre_index(seq_len: int, siamese: bool = False) -> int:
    """Index of the first REF base in a window.

    Parameters
    ----------
    seq_len : int
        Window length (bp).
    siamese : bool
        A siamese model's convention (``seq_len // 2``) instead of gReLU's (``ceil(L / 2) - 1``).

    Returns
    -------
    int
        0-based index into the window.
    """
    return seq_len // 2 if siamese else math.ceil(seq_len / 2) - 1


def _alt_row(ext: np.ndarray, v: Variant, seq_len: int, centre: int) -> np.ndarray:
    """Alternative window of an MNV or indel from its reference window extended on the right."""
    a = encode(v.alt)
    if len(v.alt) == len(v.ref):
        row = ext[:seq_len].copy()
        row[centre : centre + len(a)] = a[: seq_len - centre]
        return row
    return np.concatenate([ext[:centre], a, ext[centre + len(v.ref) :]])[:seq_len]


def allele_windows(genome: Genome, variants: list[Variant], seq_len: int, centre: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternative windows of variants (see the module docstring).

    Parameters
    ----------
    genome : Genome
        The reference the windows are read from.
    variants : list of Variant
        ``pos: int  # 1-based, as in VCF``; ``ref`` / ``alt`` plain ACGTN alleles.
    seq_len : int
        Window length ``L`` (bp).
    centre : int
        Window index of the first REF base (:func:`centre_index`).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ref, alt)``, each ``(n, seq_len)`` uint8 codes.
    """
    n = len(variants)
    extra = max([max(len(v.ref) - len(v.alt), 0) for v in variants] + [0])
    starts = np.array([v.pos - 1 - centre for v in variants], dtype=np.int64)
    ext = genome.batch_codes(np.array([v.chrom for v in variants], dtype=object), starts, seq_len + extra)
    ref = np.ascontiguousarray(ext[:, :seq_len])
    alt = ref.copy()
    snv = np.array([len(v.ref) == 1 and len(v.alt) == 1 for v in variants])
    if snv.any():
        alt[snv, centre] = encode("".join(v.alt for v, s in zip(variants, snv) if s))
    for i in np.flatnonzero(~snv):
        alt[i] = _alt_row(ext[i], variants[i], seq_len, centre)
    assert alt.shape == (n, seq_len)
    return ref, alt


def rc_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of ``(n, L)`` uint8 codes (A<->T, C<->G, N stays N).

    Parameters
    ----------
    codes : numpy.ndarray
        ``(n, L)`` uint8, A=0, C=1, G=2, T=3, N=4.

    Returns
    -------
    numpy.ndarray
        ``(n, L)`` uint8 (C-contiguous): each row complemented and reversed.
    """
    return np.ascontiguousarray(np.where(codes < 4, 3 - codes, codes)[:, ::-1])


def change_spans(variants: list[Variant], centre: int) -> list[tuple[int, int] | None]:
    """Window positions that equal-length alleles change.

    Parameters
    ----------
    variants : list of Variant
        The variants of a batch of windows.
    centre : int
        Window index of the first REF base (:func:`centre_index`).

    Returns
    -------
    list
        Per variant the changed window positions ``(start, end)``, 0-based, half-open; None for
        indels (the whole right flank shifts).
    """
    return [(centre, centre + len(v.ref)) if len(v.ref) == len(v.alt) else None for v in variants]


def rc_spans(spans: list[tuple[int, int] | None], seq_len: int) -> list[tuple[int, int] | None]:
    """:func:`change_spans` of the reverse-complemented windows (``seq_len`` bp).

    Parameters
    ----------
    spans, seq_len
        Per window the changed positions ``(start, end)`` (0-based, half-open) or None; window length (bp).

    Returns
    -------
    list
        The same spans on the reverse strand, ``(seq_len - end, seq_len - start)``; None stays None.
    """
    return [None if s is None else (seq_len - s[1], seq_len - s[0]) for s in spans]


def aligned_alt_windows(genome: Genome, variants: list[Variant], seq_len: int, centre: int) -> np.ndarray:
    """Alternative windows of indels shifted so that the sequence after the ALT allele sits where it
    sits in the reference window (the compensating shift of baskerville's indel stitching).

    The reference window covers ``[s, s + L)`` with the first REF base at ``s + centre``; this
    window holds the alternative haplotype's bases that end at reference position ``s + L``: the
    left flank starts ``len(REF) - len(ALT)`` bases earlier (a deletion) or later (an insertion).
    Window positions ``>= centre + len(REF)`` equal the reference window's.

    Parameters
    ----------
    genome : Genome
        The reference.
    variants : list of Variant
        ``pos: int  # 1-based, as in VCF``; plain ACGTN alleles (any lengths).
    seq_len : int
        Window length ``L`` (bp).
    centre : int
        Window index of the first REF base (:func:`centre_index`).

    Returns
    -------
    numpy.ndarray
        ``(n, seq_len)`` uint8 codes.
    """
    if not variants:
        return np.zeros((0, seq_len), np.uint8)
    shift = max(max(len(v.ref) - len(v.alt) for v in variants), 0)
    starts = np.array([v.pos - 1 - centre - shift for v in variants], dtype=np.int64)
    ext = genome.batch_codes(np.array([v.chrom for v in variants], dtype=object), starts, seq_len + shift)
    rows = [
        np.concatenate([e[: shift + centre], encode(v.alt), e[shift + centre + len(v.ref) :]])[-seq_len:]
        for e, v in zip(ext, variants)
    ]
    return np.stack(rows).astype(np.uint8)
