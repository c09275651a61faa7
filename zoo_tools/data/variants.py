"""VCF reading (cyvcf2): one row per (record, ALT allele), each with a status, none dropped.

Coordinates: ``pos`` is **1-based** as in the VCF; ``start = pos - 1`` is the 0-based offset of the
first REF base. Multi-allelic records are split into one row per ALT (``record`` keeps the record's
0-based index in the file and ``allele`` the ALT's 1-based index). Rows are checked against the
genome and get a ``status``:

``ok``               scorable
``contig_missing``   the contig is not in the genome (after trying aliases such as chr1 / 1)
``out_of_bounds``    REF runs past the contig end
``ref_mismatch``     REF differs from the genome at that position (wrong build, or a left-shift error)
``symbolic_allele``  ALT is symbolic (``<DEL>``, ``<CN0>``), a breakend (``A[chr2:10[``) or ``*``
``missing_alt``      ALT is ``.`` (a reference-only record)
``invalid_allele``   REF or ALT contains characters other than A, C, G, T, N
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import pandas as pd

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome

_BASES = re.compile(r"^[ACGTNacgtn]+$")
STATUSES = ("ok", "contig_missing", "out_of_bounds", "ref_mismatch", "symbolic_allele", "missing_alt", "invalid_allele")


@dataclass(frozen=True)
class Variant:
    """One ALT allele of one VCF record. ``pos`` is 1-based; ``chrom`` is the genome's spelling
    when the contig resolved, else the VCF's."""

    record: int
    allele: int
    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    status: str

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
    """Open a VCF / VCF.gz / BCF with cyvcf2; ZooError naming the file if it cannot be read.

    htslib's own messages are silenced unless ``zoo -v`` (root logger at INFO or lower).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    cyvcf2.VCF
        Open for reading (lazy, one thread); the caller closes it.
    """
    import logging

    from cyvcf2 import VCF
    from cyvcf2.cyvcf2 import set_htslib_log_level

    # htslib's own stderr chatter ("contig not defined in the header", parse errors) is replaced by
    # our one-line errors and statuses; `zoo -v` shows it again
    set_htslib_log_level(3 if logging.getLogger().getEffectiveLevel() <= logging.INFO else 0)
    path = require_file(path, "VCF", "give a .vcf, .vcf.gz or .bcf file")
    try:
        return VCF(path, lazy=True, threads=1)
    except (OSError, Exception) as err:  # cyvcf2 raises bare Exception for unreadable headers
        raise ZooError(
            f"cannot read VCF {path}: {str(err).splitlines()[0] if str(err) else 'bad header'} "
            f"(check it is a VCF with a '#CHROM' header line)"
        ) from None


def _records(vcf, path: str):
    """Iterate cyvcf2 records, turning a parse failure into a ZooError naming the record."""
    it = iter(vcf)
    n = 0
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception as err:  # htslib parse errors surface as bare Exception
            msg = " ".join(str(err).split())[:160]
            raise ZooError(f"{path}: data record {n + 1} cannot be parsed ({msg}); fix or remove that line") from None
        n += 1
        yield rec


def iter_variants(path: str | os.PathLike, genome: Genome | None = None) -> Iterator[Variant]:
    """Stream one :class:`Variant` per (record, ALT) in file order (memory flat in file size).

    Without a genome only the allele checks are made (status ``ok`` otherwise, contig unchanged).
    A record that cannot be parsed is a :class:`ZooError` naming it.

    Parameters
    ----------
    path : str or os.PathLike
        A VCF / VCF.gz / BCF.
    genome : Genome, optional
        The reference the contigs are resolved in and REF is checked against.

    Yields
    ------
    Variant
        ``pos`` 1-based; a record without ALT gives one row with ``alt`` ``.``.
    """
    vcf = open_vcf(path)
    aliases: dict[str, str | None] = {}
    try:
        for i, rec in enumerate(_records(vcf, str(path))):
            chrom_in = rec.CHROM
            if genome is not None and chrom_in not in aliases:
                aliases[chrom_in] = resolve_contig(chrom_in, genome.contigs, f"genome {genome.path}")
            chrom = aliases.get(chrom_in, chrom_in) if genome is not None else chrom_in
            alts = rec.ALT or [None]
            for k, alt in enumerate(alts, 1):
                status = allele_status(rec.REF, alt)
                if status is None and genome is not None:
                    status = genome_status(genome, chrom, rec.POS, rec.REF)
                yield Variant(
                    record=i,
                    allele=k,
                    chrom=chrom if chrom is not None else chrom_in,
                    pos=int(rec.POS),
                    id=rec.ID or ".",
                    ref=rec.REF,
                    alt=alt or ".",
                    status=status or "ok",
                )
    finally:
        vcf.close()


def read_variants(path: str | os.PathLike, genome: Genome | None = None) -> pd.DataFrame:
    """All rows of :func:`iter_variants` as a DataFrame (for small VCFs; stream large ones).

    Parameters
    ----------
    path, genome
        As in :func:`iter_variants`; a VCF without records is a :class:`ZooError`.

    Returns
    -------
    pandas.DataFrame
        The :class:`Variant` fields as columns (``pos`` 1-based), one row per (record, ALT).
    """
    rows = [asdict(v) for v in iter_variants(path, genome)]
    if not rows:
        raise ZooError(f"{path}: the VCF has no records")
    return pd.DataFrame(rows)
