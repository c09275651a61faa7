"""Reference genome access, one-hot encoding and reverse complement.

Conventions used everywhere in zoo_tools:

* Intervals are **0-based, half-open** ``[start, end)``, as in BED files. (VCF positions are
  1-based; :mod:`zoo_tools.data.variants` converts.)
* One-hot arrays are ``(4, L)`` (or ``(N, 4, L)``) float32 with channels in **A, C, G, T** order.
  Any other base (N, IUPAC codes, padding past a contig end) is the **all-zero** column. This is
  the convention of gReLU (``grelu.sequence.format.strings_to_one_hot``) and tangermeme
  (``tangermeme.utils.one_hot_encode``), so arrays pass between the libraries unchanged.
* Because the channel order is A, C, G, T, the complement of a one-hot column is the same column
  with its channels reversed, so the reverse complement of ``(..., 4, L)`` flips both last axes.
* Contig names are matched through aliases: ``chr1`` / ``1``, ``chrM`` / ``MT`` / ``M``
  (:mod:`zoo_tools.data.contigs`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.data.contigs import require_contig

ALPHABET = "ACGT"
N_CODE = 4  # integer code of any non-ACGT base

_ENCODE = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _ENCODE[ord(_b)] = _i
    _ENCODE[ord(_b.lower())] = _i
_DECODE = np.frombuffer(b"ACGTN", dtype=np.uint8)
_EYE = np.concatenate([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])
_COMPLEMENT = str.maketrans("ACGTRYKMBVDHNacgtrykmbvdhn", "TGCAYRMKVBHDNtgcayrmkvbhdn")


# --------------------------------------------------------------------------------------------
# Pure functions on strings and arrays
# --------------------------------------------------------------------------------------------
def encode(seq: str | bytes) -> np.ndarray:
    """Integer-encode a sequence (any case): ``(L,)`` uint8 with A=0, C=1, G=2, T=3, anything else 4.

    Parameters
    ----------
    seq : str or bytes

    Returns
    -------
    numpy.ndarray
    """
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    return _ENCODE[np.frombuffer(seq, dtype=np.uint8)]


def codes_to_one_hot(codes: np.ndarray) -> np.ndarray:
    """``(..., L)`` integer codes (0-4) -> ``(..., 4, L)`` float32 one-hot, code 4 all-zero.

    Parameters
    ----------
    codes : array-like of int
        Codes as :func:`encode` gives them.

    Returns
    -------
    numpy.ndarray
        ``(..., 4, L)`` float32, channels A, C, G, T.
    """
    return np.swapaxes(_EYE[np.asarray(codes, dtype=np.intp)], -1, -2).copy()


def one_hot(seqs: str | Sequence[str]) -> np.ndarray:
    """One-hot encode a sequence ``(4, L)`` or equal-length sequences ``(N, 4, L)``, float32.

    Channels are A, C, G, T; N (and any other symbol) is all-zero. Case is ignored.

    Parameters
    ----------
    seqs : str or sequence of str
        One sequence, or N of one length (else a :class:`ZooError`).

    Returns
    -------
    numpy.ndarray
        ``(4, L)`` or ``(N, 4, L)`` float32; ``(0, 4, 0)`` for no sequences.
    """
    if isinstance(seqs, (str, bytes)):
        return codes_to_one_hot(encode(seqs))
    lengths = {len(s) for s in seqs}
    if len(lengths) > 1:
        raise ZooError(f"sequences have different lengths {sorted(lengths)}; one-hot needs one length")
    return codes_to_one_hot(np.stack([encode(s) for s in seqs])) if seqs else np.zeros((0, 4, 0), np.float32)


def decode(x: np.ndarray) -> str | list[str]:
    """Inverse of :func:`one_hot`: ``(4, L)`` -> str, ``(N, 4, L)`` -> list of str; all-zero -> N.

    Parameters
    ----------
    x : numpy.ndarray
        ``(4, L)`` or ``(N, 4, L)`` one-hot, A, C, G, T (a column's largest channel is its base).

    Returns
    -------
    str or list of str
    """
    x = np.asarray(x)
    codes = np.where(x.sum(-2) > 0, x.argmax(-2), N_CODE)
    if codes.ndim == 1:
        return _DECODE[codes].tobytes().decode()
    return [_DECODE[c].tobytes().decode() for c in codes]


def reverse_complement(seq: str) -> str:
    """Reverse complement of a DNA string; IUPAC codes are complemented, case is kept.

    Parameters
    ----------
    seq : str
        The bases; other characters are only reversed.

    Returns
    -------
    str
    """
    return seq.translate(_COMPLEMENT)[::-1]


def rc_one_hot(x):
    """Reverse complement of ``(..., 4, L)`` one-hot (A,C,G,T): both last axes flipped, in a new array.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor

    Returns
    -------
    numpy.ndarray or torch.Tensor
    """
    if hasattr(x, "flip"):  # torch.Tensor
        return x.flip((-2, -1))
    return np.ascontiguousarray(np.asarray(x)[..., ::-1, ::-1])


def gc_fraction(codes: np.ndarray) -> np.ndarray:
    """GC fraction of integer-coded sequences ``(..., L)`` over their A/C/G/T bases (N ignored).

    Parameters
    ----------
    codes : numpy.ndarray
        ``(..., L)`` codes (0-4).

    Returns
    -------
    numpy.ndarray
        ``(...)`` float64; NaN for an all-N sequence.
    """
    codes = np.asarray(codes)
    acgt = (codes < N_CODE).sum(-1)
    gc = ((codes == 1) | (codes == 2)).sum(-1)
    return np.where(acgt > 0, gc / np.maximum(acgt, 1), np.nan)


# --------------------------------------------------------------------------------------------
# Genome
# --------------------------------------------------------------------------------------------
class Genome:
    """A FASTA reference genome: indexed by pyfaidx, read through a memory map of the file.

    Parameters
    ----------
    path : path to a FASTA file (plain or bgzip-compressed) with a ``.fai`` index beside it.
        Plain files are memory-mapped and sliced with the index's line layout (fast, no copy of
        the genome in memory); bgzip files are read through pyfaidx.

    Contig names given to any method may be aliases (``1`` for ``chr1``). Fetching a window that
    runs past either end of a contig pads the missing bases with N (all-zero one-hot); a window
    that does not overlap its contig at all is an error.
    """

    def __init__(self, path: str | os.PathLike):
        import pyfaidx

        self.path = require_file(path, "genome FASTA", "pass the path of a .fa/.fasta file")
        fai = self.path + ".fai"
        if not os.path.exists(fai):
            raise ZooError(
                f"genome FASTA {self.path} has no index ({fai} is missing); "
                f"create it with `samtools faidx {self.path}` or `faidx {self.path}` (pyfaidx)"
            )
        try:
            self._fasta = pyfaidx.Fasta(
                self.path, as_raw=True, sequence_always_upper=False, rebuild=False, build_index=False
            )
        except Exception as err:  # pyfaidx raises many types for malformed files
            raise ZooError(
                f"cannot read genome FASTA {self.path}: {str(err).splitlines()[0]} "
                f"(gzip FASTA must be bgzip-compressed; re-index with `samtools faidx`)"
            ) from None
        self.contigs: dict[str, int] = {k: len(v) for k, v in self._fasta.items()}
        self._cache: dict[str, np.ndarray] = {}
        self._mm, self._fai = self._open_raw()

    def _open_raw(self):
        """Memory-map an uncompressed FASTA and read its .fai (fast path); None for bgzip."""
        with open(self.path, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return None, None
        fai = {}
        with open(self.path + ".fai") as fh:
            for line in fh:
                f = line.split("\t")
                if len(f) >= 5:
                    fai[f[0]] = (int(f[1]), int(f[2]), int(f[3]), int(f[4]))
        if set(fai) != set(self.contigs) or any(v[2] <= 0 or v[3] < v[2] for v in fai.values()):
            return None, None
        return np.memmap(self.path, dtype=np.uint8, mode="r"), fai

    def _raw(self, name: str, lo: int, hi: int) -> np.ndarray:
        """ASCII bytes ``(hi - lo,)`` uint8 of ``[lo, hi)`` inside contig ``name`` (no padding)."""
        if self._mm is None:
            return np.frombuffer(str(self._fasta[name][lo:hi]).encode(), dtype=np.uint8)
        _, offset, line_bases, line_width = self._fai[name]
        b0 = offset + (lo // line_bases) * line_width + lo % line_bases
        b1 = offset + ((hi - 1) // line_bases) * line_width + (hi - 1) % line_bases + 1
        chunk = np.asarray(self._mm[b0:b1])
        if line_width != line_bases:
            chunk = chunk[(chunk != 10) & (chunk != 13)]
        if len(chunk) != hi - lo:
            raise ZooError(
                f"genome FASTA {self.path} does not match its index (contig {name}); "
                f"rebuild it with `samtools faidx {self.path}`"
            )
        return chunk

    def __repr__(self) -> str:
        return f"Genome({self.path!r}, {len(self.contigs)} contigs, {sum(self.contigs.values()):,} bp)"

    def resolve(self, chrom: str) -> str:
        """The genome's own name for ``chrom`` (through aliases); ZooError listing contigs if none."""
        return require_contig(str(chrom), self.contigs, f"genome {self.path}")

    def length(self, chrom: str) -> int:
        """Length in bp of a contig (name or alias)."""
        return self.contigs[self.resolve(chrom)]

    def _check(self, chrom: str, start: int, end: int) -> tuple[str, int, int]:
        name = self.resolve(chrom)
        start, end = int(start), int(end)
        n = self.contigs[name]
        if end <= start:
            raise ZooError(f"interval {chrom}:{start}-{end} is empty or reversed (need start < end)")
        if start >= n or end <= 0:
            raise ZooError(
                f"interval {chrom}:{start}-{end} lies outside {name} (length {n:,}) in genome "
                f"{self.path}; check the coordinates and the genome build"
            )
        return name, start, end

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of ``[start, end)`` (0-based, half-open), N-padded past the contig ends."""
        name, start, end = self._check(chrom, start, end)
        n = self.contigs[name]
        lo, hi = max(start, 0), min(end, n)
        seq = self._raw(name, lo, hi).tobytes().decode("ascii", errors="replace")
        return "N" * (lo - start) + seq + "N" * (end - hi)

    def contig_codes(self, chrom: str) -> np.ndarray:
        """Whole contig as ``(len,)`` uint8 codes (A=0, C=1, G=2, T=3, other=4), cached."""
        name = self.resolve(chrom)
        if name not in self._cache:
            self._cache[name] = _ENCODE[self._raw(name, 0, self.contigs[name])]
        return self._cache[name]

    def codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """``(end - start,)`` uint8 codes of the interval, code 4 (N) past the contig ends."""
        name, start, end = self._check(chrom, start, end)
        out = np.full(end - start, N_CODE, dtype=np.uint8)
        lo, hi = max(start, 0), min(end, self.contigs[name])
        out[lo - start : hi - start] = _ENCODE[self._raw(name, lo, hi)]
        return out

    def one_hot(self, chrom: str, start: int, end: int) -> np.ndarray:
        """``(4, end - start)`` float32 one-hot (A,C,G,T) of the interval, all-zero past the ends."""
        return codes_to_one_hot(self.codes(chrom, start, end))

    def batch_codes(self, chroms: Sequence[str], starts: Sequence[int], length: int) -> np.ndarray:
        """Codes of many equal-length windows ``(N, length)`` uint8, N-padded past contig ends.

        Windows covering more bp than their contigs are gathered from whole contigs (loaded once,
        cached); sparser ones are read window by window (no contig is held in memory).
        """
        chroms = np.asarray(chroms, dtype=object)
        starts = np.asarray(starts, dtype=np.int64)
        out = np.full((len(starts), length), N_CODE, dtype=np.uint8)
        offsets = np.arange(length, dtype=np.int64)
        for chrom in dict.fromkeys(chroms.tolist()):
            rows = np.flatnonzero(chroms == chrom)
            n = self.length(chrom)
            bad = rows[(starts[rows] >= n) | (starts[rows] + length <= 0)]
            if len(bad):
                self._check(chrom, starts[bad[0]], starts[bad[0]] + length)  # raises
            if len(rows) * length < n and self.resolve(chrom) not in self._cache:
                for r in rows:
                    out[r] = self.codes(chrom, starts[r], starts[r] + length)
                continue
            seq = self.contig_codes(chrom)
            pos = starts[rows, None] + offsets[None, :]
            inside = (pos >= 0) & (pos < n)
            block = np.full(pos.shape, N_CODE, dtype=np.uint8)
            block[inside] = seq[pos[inside]]
            out[rows] = block
        return out
