"""Variants of a VCF: one row per (record, ALT allele), each with a status, none dropped.

Text VCFs are read by :mod:`zoo_tools.data.vcf` (line numbers, malformed lines in words, 64-bit
positions, no genotype parsing), BCF with cyvcf2. Coordinates: ``pos`` is **1-based** as in the
VCF; ``start = pos - 1`` is the 0-based offset of the first REF base. Multi-allelic records are
split into one row per ALT (``record`` keeps the record's 0-based index among the file's data
lines, ``allele`` the ALT's 1-based index and ``line`` the 1-based line number, header lines
counted; 0 for BCF). Rows are checked against the genome and get a ``status``:

``ok``               scorable
``contig_missing``   the contig is not in the genome (after trying aliases such as chr1 / 1)
``out_of_bounds``    REF runs past the contig end
``ref_mismatch``     REF differs from the genome at that position (wrong build, or a left-shift error)
``symbolic_allele``  ALT is symbolic (``<DEL>``, ``<CN0>``), a breakend (``A[chr2:10[``) or ``*``
``missing_alt``      ALT is ``.`` (a reference-only record)
``invalid_allele``   REF or ALT contains characters other than A, C, G, T, N
``malformed``        the line is not a VCF record (kept as a row only with ``skip_malformed``)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

import pandas as pd

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.vcf import Record, is_bcf, read_vcf

_BASES = re.compile(r"^[ACGTNacgtn]+$")
STATUSES = (
    "ok",
    "contig_missing",
    "out_of_bounds",
    "ref_mismatch",
    "symbolic_allele",
    "missing_alt",
    "invalid_allele",
    "malformed",
)


class Variant(NamedTuple):
    """One ALT allele of one VCF record. ``pos`` is 1-based; ``chrom`` is the genome's spelling
    when the contig resolved, else the VCF's (a named tuple: light enough for millions of rows)."""

    record: int
    allele: int
    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    status: str
    line: int = 0  # 1-based line number in the VCF (header lines counted); 0 for BCF

    @property
    def start(self) -> int:
        """0-based offset of the first REF base."""
        return self.pos - 1

    @property
    def kind(self) -> str:
        """``snv``, ``mnv``, ``insertion``, ``deletion`` or ``complex`` (by allele lengths)."""
        if len(self.ref) == len(self.alt):
            return "snv" if len(self.ref) == 1 else "mnv"
        if len(self.ref) == 1 and self.alt[0] == self.ref[0]:
            return "insertion"
        if len(self.alt) == 1 and self.ref[0] == self.alt[0]:
            return "deletion"
        return "complex"


@lru_cache(maxsize=65536)  # SNVs repeat a handful of (REF, ALT) pairs
def allele_status(ref: str, alt: str | None) -> str | None:
    """Status from the alleles alone, or None if they look scorable.

    Parameters
    ----------
    ref : str
        The REF allele.
    alt : str or None
        One ALT allele (None or ``.``: missing).

    Returns
    -------
    str or None
        ``missing_alt``, ``symbolic_allele`` or ``invalid_allele`` (see the module docstring).
    """
    if alt is None or alt in (".", ""):
        return "missing_alt"
    if alt.startswith("<") or "[" in alt or "]" in alt or alt == "*":
        return "symbolic_allele"
    if not _BASES.match(ref) or not _BASES.match(alt):
        return "invalid_allele"
    return None


def genome_status(genome: Genome, chrom: str | None, pos: int, ref: str) -> str:
    """``ok``, ``contig_missing``, ``out_of_bounds`` or ``ref_mismatch`` (N in REF matches anything).

    Parameters
    ----------
    genome : Genome
    chrom : str or None
        The genome's name for the contig (None: not in the genome).
    pos : int
        1-based, as in VCF.
    ref : str
        The REF allele, compared case-insensitively.

    Returns
    -------
    str
    """
    if chrom is None:
        return "contig_missing"
    if pos < 1 or pos - 1 + len(ref) > genome.contigs[chrom]:
        return "out_of_bounds"
    seq = genome.fetch(chrom, pos - 1, pos - 1 + len(ref)).upper()
    if any(r != "N" and r != g for r, g in zip(ref.upper(), seq)):
        return "ref_mismatch"
    return "ok"


def open_vcf(path: str | os.PathLike):
    """Open a BCF with cyvcf2 (text VCFs are read by :func:`zoo_tools.data.vcf.read_vcf`).

    htslib's own messages are silenced unless ``zoo -v`` (root logger at INFO or lower).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    cyvcf2.VCF
        Open for reading (lazy, one thread, samples not parsed); the caller closes it.
    """
    import logging

    from cyvcf2 import VCF
    from cyvcf2.cyvcf2 import set_htslib_log_level

    set_htslib_log_level(3 if logging.getLogger().getEffectiveLevel() <= logging.INFO else 0)
    try:
        return VCF(str(path), lazy=True, threads=1, samples=[])
    except (OSError, Exception) as err:  # cyvcf2 raises bare Exception for unreadable headers
        first = str(err).splitlines()[0] if str(err) else "bad header"
        raise ZooError(
            f"cannot read BCF {path}: {first} (check it is a BCF file, e.g. with bcftools view -h)"
        ) from None


def _bcf_records(path: str) -> Iterator[Record]:
    """A BCF's records as :class:`~zoo_tools.data.vcf.Record` (line 0: a binary file has no lines)."""
    vcf = open_vcf(path)
    try:
        it, n = iter(vcf), 0
        while True:
            try:
                rec = next(it)
            except StopIteration:
                return
            except Exception as err:  # htslib parse errors surface as bare Exception
                msg = " ".join(str(err).split())[:120]
                raise ZooError(
                    f"{path}: BCF record {n + 1} cannot be read ({msg}); check the file with bcftools"
                ) from None
            n += 1
            yield Record(0, rec.CHROM, int(rec.POS), rec.ID or ".", rec.REF, tuple(rec.ALT) or (".",))
    finally:
        vcf.close()


def vcf_records(path: str | os.PathLike) -> tuple[dict[str, int | None], Iterator[Record]]:
    """The ``##contig`` lengths and the records of a VCF, VCF.gz or BCF, streamed in file order.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    tuple
        ``(contigs, records)``: ``{ID: length or None}`` from the header, and an iterator of
        :class:`~zoo_tools.data.vcf.Record` (``problem`` set on a line that is not a record).
    """
    path = require_file(path, "VCF", "give a .vcf, .vcf.gz or .bcf file")
    if is_bcf(path):
        vcf = open_vcf(path)
        contigs = dict(zip(vcf.seqnames, vcf.seqlens)) if _has_lengths(vcf) else dict.fromkeys(vcf.seqnames)
        vcf.close()
        return contigs, _bcf_records(path)
    header, records = read_vcf(path)
    return header.contigs, records


def vcf_header(path: str | os.PathLike) -> list[str]:
    """The ``##`` meta lines of a VCF, VCF.gz or BCF header (without the ``#CHROM`` line).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of str
        The lines, in file order, without newlines.
    """
    path = require_file(path, "VCF", "give a .vcf, .vcf.gz or .bcf file")
    if is_bcf(path):
        vcf = open_vcf(path)
        lines = [x for x in vcf.raw_header.strip().splitlines() if x.startswith("##")]
        vcf.close()
        return lines
    header, records = read_vcf(path)
    records.close()
    return header.meta


def _has_lengths(vcf) -> bool:
    try:
        return len(vcf.seqlens) == len(vcf.seqnames)
    except Exception:  # cyvcf2 raises when a contig line has no length
        return False


def _malformed_error(path: str, rec: Record) -> ZooError:
    """The one-line error for a line that is not a VCF record (file, line, what is wrong, the fix)."""
    return ZooError(
        f"{path}, line {rec.line}: {rec.problem}; fix or remove that line, or pass --skip-malformed to "
        f"report such lines as rows with status 'malformed' and go on"
    )


def _rows(rec: Record, index: int, chrom: str | None, genome: Genome | None) -> Iterator[Variant]:
    """The :class:`Variant` rows of one record (one per ALT), each with its status."""
    for k, alt in enumerate(rec.alts, 1):
        status = allele_status(rec.ref, None if alt == "." else alt)
        if status is None and genome is not None:
            status = genome_status(genome, chrom, rec.pos, rec.ref)
        name = chrom if chrom is not None else rec.chrom
        yield Variant(index, k, name, rec.pos, rec.id or ".", rec.ref, alt or ".", status or "ok", rec.line)


def iter_variants(
    path: str | os.PathLike, genome: Genome | None = None, skip_malformed: bool = False
) -> Iterator[Variant]:
    """Stream one :class:`Variant` per (record, ALT) in file order (memory flat in file size).

    Without a genome only the allele checks are made (status ``ok`` otherwise, contig unchanged).

    Parameters
    ----------
    path : str or os.PathLike
        A VCF / VCF.gz / BCF.
    genome : Genome, optional
        The reference the contigs are resolved in and REF is checked against.
    skip_malformed : bool
        A line that is not a VCF record gives one row with status ``malformed`` (and its line
        number); default: a :class:`ZooError` naming the line and what is wrong.

    Yields
    ------
    Variant
        ``pos`` 1-based; a record without ALT gives one row with ``alt`` ``.``.
    """
    path = str(path)
    _, records = vcf_records(path)
    aliases: dict[str, str | None] = {}
    for i, rec in enumerate(records):
        if rec.problem:
            if not skip_malformed:
                raise _malformed_error(path, rec)
            yield Variant(i, 1, rec.chrom, rec.pos, ".", ".", ".", "malformed", rec.line)
            continue
        if genome is not None and rec.chrom not in aliases:
            aliases[rec.chrom] = resolve_contig(rec.chrom, genome.contigs, f"genome {genome.path}")
        chrom = aliases.get(rec.chrom) if genome is not None else rec.chrom
        yield from _rows(rec, i, chrom, genome)


def read_variants(path: str | os.PathLike, genome: Genome | None = None, skip_malformed: bool = False) -> pd.DataFrame:
    """All rows of :func:`iter_variants` as a DataFrame (for small VCFs; stream large ones).

    Parameters
    ----------
    path, genome, skip_malformed
        As in :func:`iter_variants`; a VCF without records is a :class:`ZooError`.

    Returns
    -------
    pandas.DataFrame
        The :class:`Variant` fields as columns (``pos`` 1-based), one row per (record, ALT).
    """
    rows = [v._asdict() for v in iter_variants(path, genome, skip_malformed)]
    if not rows:
        raise ZooError(f"{path}: the VCF has no records")
    return pd.DataFrame(rows)
