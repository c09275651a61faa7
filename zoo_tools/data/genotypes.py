"""Genotypes of a VCF's samples, read for haplotype scoring: which haplotype carries which allele.

A sample's ``GT`` (VCF 4.x) lists one allele index per haplotype: ``0`` REF, ``k`` the record's
k-th ALT, ``.`` missing; ``|`` separates phased haplotypes, ``/`` unphased ones. A haploid call
(``1``) has one haplotype. From a call and one ALT allele, :func:`carrier_rows` gives the rows a
haplotype scorer writes:

- every haplotype whose allele is that ALT, status ``ok`` (haplotypes numbered from 1, as in ``GT``);
- ``unphased``: a heterozygous call with ``/`` that holds the ALT (which haplotype is unknown);
- ``missing_gt``: a call with a ``.`` (``./.``, half calls such as ``.|1``, a FORMAT without GT);
- nothing when no haplotype carries the ALT.

A homozygous call needs no phase (``1/1`` gives both haplotypes). Positions are 1-based, as in VCF.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from zoo_tools.core.errors import ZooError
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import Variant, _malformed_error, _rows
from zoo_tools.data.vcf import Record, is_bcf, read_vcf

OK, UNPHASED, MISSING = "ok", "unphased", "missing_gt"


class Call(NamedTuple):
    """One sample's genotype at one record: an allele index per haplotype (None: missing), and
    whether the haplotypes are phased (``|``; a haploid call counts as phased)."""

    alleles: tuple[int | None, ...]
    phased: bool

    @property
    def missing(self) -> bool:
        """Any haplotype without an allele (``.``)."""
        return None in self.alleles

    @property
    def known(self) -> bool:
        """Which haplotype holds which allele is known: no missing allele, and phased or homozygous."""
        return not self.missing and (self.phased or len(set(self.alleles)) == 1)


MISSING_CALL = Call((None,), True)


def select_samples(columns: list[str], requested: list[str] | None, path: str) -> tuple[list[str], list[int]]:
    """The samples scored: names and their indices among the VCF's sample columns.

    Parameters
    ----------
    columns : list of str
        The ``#CHROM`` line's columns (samples from the 10th on).
    requested : list of str, optional
        ``--samples``; default all.
    path : str
        The VCF (named in errors).

    Returns
    -------
    tuple
        ``(names, indices)`` in the order requested (VCF order by default).
    """
    names = columns[9:]
    if not names:
        raise ZooError(
            f"{path}: the VCF has no genotype columns (no FORMAT and sample columns after INFO); --haplotypes "
            f"needs a phased VCF with samples (e.g. from SHAPEIT, Beagle or Eagle)"
        )
    if not requested:
        return list(names), list(range(len(names)))
    where = {n: i for i, n in enumerate(names)}
    unknown = [s for s in dict.fromkeys(requested) if s not in where]
    if unknown:
        close = sorted({c for s in unknown for c in difflib.get_close_matches(s, names, n=5, cutoff=0.6)})
        hint = f"; close names in the VCF: {', '.join(close)}" if close else f"; the VCF has {len(names)} samples"
        raise ZooError(f"--samples: {', '.join(unknown[:5])} not in {path}{hint}")
    chosen = list(dict.fromkeys(requested))
    return chosen, [where[s] for s in chosen]


def parse_gt(text: str, n_alts: int, where: str) -> Call:
    """A ``GT`` value as a :class:`Call`.

    Parameters
    ----------
    text : str
        E.g. ``0|1``, ``1/1``, ``./.``, ``.|1``, ``1``, ``0|2`` (VCF 4.4's leading ``|`` of a
        phased haploid call is accepted).
    n_alts : int
        ALT alleles of the record (an index above it is an error).
    where : str
        File, line and sample, for the error.

    Returns
    -------
    Call
    """
    if text in ("", "."):
        return MISSING_CALL
    body = text[1:] if text[0] in "|/" else text
    alleles = body.replace("|", "/").split("/")
    phased = "/" not in body
    try:
        idx = tuple(None if a == "." else int(a) for a in alleles)
    except ValueError:
        raise ZooError(f"{where}: GT '{text}' is not a genotype (allele indices separated by | or /)") from None
    bad = [i for i in idx if i is not None and not 0 <= i <= n_alts]
    if bad:
        raise ZooError(
            f"{where}: GT '{text}' names allele {bad[0]} but the record has {n_alts} ALT allele(s); fix the genotype"
        )
    return Call(idx, phased)


def record_calls(rec: Record, indices: list[int], names: list[str], path: str) -> list[Call]:
    """The calls of the chosen samples at one record.

    Parameters
    ----------
    rec : Record
        Its ``samples`` text (``FORMAT<TAB>sample1...``).
    indices, names : list
        The chosen samples' column indices and names (:func:`select_samples`).
    path : str
        The VCF (named in errors).

    Returns
    -------
    list of Call
        One per chosen sample; :data:`MISSING_CALL` where FORMAT has no GT or the field is ``.``.
    """
    fields = rec.samples.split("\t")
    keys = fields[0].split(":") if fields and fields[0] else []
    if len(fields) - 1 < (max(indices) + 1 if indices else 0):
        raise ZooError(
            f"{path}, line {rec.line}: {len(fields) - 1} sample column(s) but the header names more; every record "
            f"needs one column per sample (write '.' for a missing genotype)"
        )
    if "GT" not in keys:
        return [MISSING_CALL] * len(indices)
    k = keys.index("GT")
    calls = []
    for i, name in zip(indices, names):
        parts = fields[1 + i].split(":")
        gt = parts[k] if k < len(parts) else "."
        calls.append(parse_gt(gt, len(rec.alts), f"{path}, line {rec.line}, sample {name}"))
    return calls


def carrier_rows(call: Call, allele: int) -> list[tuple[str, str]]:
    """The ``(haplotype, status)`` rows of one sample for one ALT allele (see the module docstring).

    Parameters
    ----------
    call : Call
    allele : int
        The ALT's index in the record (1-based, as in ``GT``).

    Returns
    -------
    list of (str, str)
        Haplotype ``"1"``, ``"2"``, ... with status ``ok``, or ``"."`` with ``unphased`` /
        ``missing_gt``; empty when no haplotype carries the ALT.
    """
    if call.missing:
        return [(".", MISSING)]
    if allele not in call.alleles:
        return []
    if not call.known:
        return [(".", UNPHASED)]
    return [(str(h), OK) for h, a in enumerate(call.alleles, 1) if a == allele]


def allele_on(call: Call, haplotype: int) -> int | str:
    """The allele index one haplotype holds at a record, or why it is not known.

    Parameters
    ----------
    call : Call
    haplotype : int
        1-based; a haplotype beyond the call's ploidy (a haploid call) holds REF (0).

    Returns
    -------
    int or str
        The allele index, or ``missing_gt`` / ``unphased``.
    """
    if call.missing:
        return MISSING
    if not call.known:
        return UNPHASED
    return call.alleles[haplotype - 1] if haplotype <= len(call.alleles) else 0


@dataclass(frozen=True, eq=False)
class Genotyped:
    """One record of a genotyped VCF: its index, its ALT rows (:class:`~zoo_tools.data.variants.Variant`,
    with statuses) and the chosen samples' calls (empty for a malformed line)."""

    index: int
    record: Record
    variants: list[Variant]
    calls: list[Call]


def genotyped_records(
    path: str, genome: Genome, samples: list[str] | None = None, skip_malformed: bool = False
) -> tuple[list[str], Iterator[Genotyped]]:
    """The chosen samples and the VCF's records with their calls, streamed in file order.

    Parameters
    ----------
    path : str
        A text VCF (plain, gzip or bgzip) with genotype columns.
    genome : Genome
        Contigs are resolved in it and REF checked against it.
    samples : list of str, optional
        Sample names (default all).
    skip_malformed : bool
        A line that is not a record becomes a row with status ``malformed``; default: an error.

    Returns
    -------
    tuple
        ``(names, iterator of Genotyped)``.
    """
    path = str(path)
    if is_bcf(path):
        raise ZooError(f"{path}: --haplotypes reads text VCFs (plain or bgzipped); convert with bcftools view -Oz")
    header, records = read_vcf(path)
    names, indices = select_samples(header.columns, samples, os.path.basename(path) and path)
    return names, _genotyped(path, records, genome, (names, indices), skip_malformed)


def _genotyped(path: str, records, genome: Genome, chosen: tuple, skip_malformed: bool) -> Iterator[Genotyped]:
    aliases: dict[str, str | None] = {}
    names, indices = chosen
    for i, rec in enumerate(records):
        if rec.problem:
            if not skip_malformed:
                raise _malformed_error(path, rec)
            yield Genotyped(i, rec, [Variant(i, 1, rec.chrom, rec.pos, ".", ".", ".", "malformed", rec.line)], [])
            continue
        if rec.chrom not in aliases:
            aliases[rec.chrom] = resolve_contig(rec.chrom, genome.contigs, f"genome {genome.path}")
        variants = list(_rows(rec, i, aliases[rec.chrom], genome))
        yield Genotyped(i, rec, variants, record_calls(rec, indices, names, path))
