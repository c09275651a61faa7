"""The VCF file itself, read line by line: its header, its ``##contig`` lengths and its records.

Text VCFs (plain, gzip or bgzip) are read here, not through htslib: cyvcf2 crashes on a
space-separated data line, refuses records of 7 columns (bcftools reads them, INFO missing),
reads POS in 32 bits (a position above 2^32 comes back wrong) and parses genotype columns that
scoring never uses (htslib's own VCF 4.4 test file fails on them). Each data line becomes a
:class:`Record` carrying its **line number** (1-based, header lines counted, as an editor shows
it) and, when the line cannot be a VCF record, a ``problem`` in words. A truncated bgzip file
(no BGZF end-of-file block) or gzip stream is an error naming the last complete line. BCF files
(binary) are recognised by :func:`is_bcf` and read with cyvcf2 by the caller.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from zoo_tools.core.errors import ZooError
from zoo_tools.data.textfile import magic_bytes, text_lines

_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")
_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER")


class Record(NamedTuple):
    """One data line of a VCF: the fields scoring needs, and what is wrong with it (if anything).

    ``line`` is the 1-based line number in the file (header lines counted); ``pos`` is 1-based, as
    in VCF (0 when POS is not a number); ``problem`` is None for a well-formed record;
    ``samples`` the line's text from FORMAT on (``FORMAT<TAB>sample1<TAB>...``, "" without it),
    kept unparsed (:mod:`zoo_tools.data.genotypes` reads it for haplotypes).
    """

    line: int
    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]
    problem: str | None = None
    samples: str = ""


@dataclass
class Header:
    """A VCF header: its ``##`` meta lines, the ``#CHROM`` line's columns and the declared contigs.

    ``contigs`` maps each ``##contig`` ID to its ``length`` (None when the line gives none), in
    header order; ``lines`` is the number of header lines (the first record is line ``lines + 1``).
    """

    meta: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    contigs: dict[str, int | None] = field(default_factory=dict)
    lines: int = 0


def is_bcf(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a BCF file (binary VCF, plain or BGZF-compressed).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    bool
        True when its (decompressed) first bytes are ``BCF\\x02``.
    """
    head = magic_bytes(str(path))
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(4)
        except (OSError, EOFError, zlib.error):
            return False
    return head[:4] == b"BCF\x02"


def _contig(line: str) -> tuple[str, int | None] | None:
    """``(ID, length)`` of a ``##contig=<ID=...,length=...>`` line (None if it has no ID)."""
    m = _CONTIG.match(line)
    if not m:
        return None
    fields = dict(kv.split("=", 1) for kv in re.split(r",(?=[A-Za-z_]+=)", m.group(1)) if "=" in kv)
    length = fields.get("length", "")
    return (fields["ID"], int(length) if length.isdigit() else None) if fields.get("ID") else None


def _header_line(header: Header, text: str, path: str, number: int) -> None:
    """Add one ``#`` line to ``header``; the ``#CHROM`` line is checked."""
    if text.startswith("##"):
        header.meta.append(text)
        if contig := _contig(text):
            header.contigs[contig[0]] = contig[1]
        return
    columns = text.split("\t")
    if tuple(columns[:7]) != _COLUMNS:
        raise ZooError(
            f"{path}, line {number}: the '#CHROM' header line must start with the tab-separated columns "
            f"{' '.join(_COLUMNS)} INFO (it has: {' '.join(text.split()[:8])})"
        )
    header.columns = columns


def _decode(raw: str) -> str:
    return raw.rstrip("\r\n")


def problem_of(fields: list[str], text: str) -> str | None:
    """What stops a VCF data line from being a record, in words (None: it is one).

    Parameters
    ----------
    fields : list of str
        The line split at tabs (at least the first 8 fields).
    text : str
        The whole line (without its newline).

    Returns
    -------
    str or None
        E.g. ``"7 columns; ..."``, ``"POS 'x' is not a number"``; the alleles themselves are judged
        later (statuses ``invalid_allele``, ``symbolic_allele``, ``missing_alt``).
    """
    if len(fields) < 7:
        if len(fields) == 1 and len(text.split()) >= 7:
            return "its fields are separated by spaces, not tabs (a VCF needs tabs)"
        return (
            f"{len(fields)} column(s); a VCF record needs 8 (CHROM POS ID REF ALT QUAL FILTER INFO; "
            f"7 are accepted, INFO missing)"
        )
    chrom, pos, _, ref, alt = fields[:5]
    if not chrom or chrom != chrom.strip():
        return "CHROM is empty or has spaces"
    if not pos.isdigit():
        return f"POS '{pos[:20]}' is not a number"
    if not ref:
        return "REF is empty"
    if not alt:
        return "ALT is empty (write '.' for no ALT)"
    return None


def _record(text: str, number: int) -> Record:
    fields = text.split("\t", 8)
    rest = fields[8] if len(fields) > 8 else ""
    if len(fields) >= 7 and fields[1].isdigit() and fields[0] and fields[3] and fields[4] and " " not in fields[0]:
        return Record(number, fields[0], int(fields[1]), fields[2], fields[3], tuple(fields[4].split(",")), None, rest)
    problem = problem_of(fields, text)
    if problem:
        chrom = fields[0] if len(fields) > 1 else "."
        pos = fields[1] if len(fields) > 1 else ""
        return Record(number, chrom or ".", int(pos) if pos.isdigit() else 0, ".", ".", (".",), problem)
    return Record(number, fields[0], int(fields[1]), fields[2], fields[3], tuple(fields[4].split(",")), None, rest)


def read_vcf(path: str | os.PathLike) -> tuple[Header, Iterator[Record]]:
    """The header of a text VCF, and an iterator over its records (streamed, in file order).

    Blank lines are skipped (they still count in line numbers); a data line before the
    ``#CHROM`` line, or a file without one, is a :class:`ZooError` naming the file and line.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.vcf``, ``.vcf.gz`` or ``.vcf.bgz`` (gzip or bgzip; the compression is detected).

    Returns
    -------
    tuple
        ``(Header, iterator of Record)``; the iterator raises a :class:`ZooError` when the file
        turns out truncated (naming the last complete line).
    """
    path = str(path)
    lines = text_lines(path)
    header, number = Header(), 0
    for raw in lines:
        number += 1
        text = _decode(raw)
        if text.startswith("#"):
            _header_line(header, text, path, number)
            if header.columns:
                break
        elif text.strip():
            raise ZooError(
                f"{path}, line {number}: a data line before the '#CHROM' header line; a VCF starts with "
                f"'##' meta lines and a '#CHROM POS ID REF ALT QUAL FILTER INFO' line"
            )
    if not header.columns:
        raise ZooError(
            f"{path}: no '#CHROM' header line in {number} line(s); is it a VCF? (it needs a "
            f"'#CHROM POS ID REF ALT QUAL FILTER INFO' line before the records)"
        )
    header.lines = number
    return header, _records(lines, number)


def _records(lines: Iterator[str], number: int) -> Iterator[Record]:
    for raw in lines:
        number += 1
        text = _decode(raw)
        if text.strip():
            yield _record(text, number)
