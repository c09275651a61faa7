"""The rows a run scores: a VCF's (record, ALT) rows streamed, in chunks, and the shard of an array job.

A shard ``(i, n)`` takes records ``i-1, i-1+n, ...`` (by record index, so every ALT of a record
lands in the same shard).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import Variant, iter_variants


# --------------------------------------------------------------------------------------------
def chunks(rows: Iterator[Variant], size: int) -> Iterator[list[Variant]]:
    """Consecutive lists of ``size`` rows (the last one shorter).

    Parameters
    ----------
    rows : iterator of Variant
        The rows, consumed as they come.
    size : int
        Rows per chunk.

    Yields
    ------
    list of Variant
        The next ``size`` rows, in input order.
    """
    chunk = []
    for v in rows:
        chunk.append(v)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def shard_rows(
    vcf: str, genome: Genome, shard: tuple[int, int] | None, skip_malformed: bool = False
) -> Iterator[Variant]:
    """The VCF's (record, ALT) rows, streamed; with ``shard = (i, n)`` records ``i-1, i-1+n, ...`` only.

    Parameters
    ----------
    vcf : str
        The VCF (``POS`` 1-based); a multi-allelic record gives one row per ALT.
    genome : Genome
        The reference each row is checked against (its ``status``).
    shard : tuple of int or None
        ``(i, n)``: shard ``i`` (1-based) of ``n``, by record index (``Variant.record``, 0-based);
        None: every record.
    skip_malformed : bool
        Lines that are not VCF records become rows with status ``malformed`` (else an error).

    Returns
    -------
    iterator of Variant
        The rows in input order.
    """
    rows = iter_variants(vcf, genome, skip_malformed)
    if shard:
        i, n = shard
        rows = (v for v in rows if v.record % n == i - 1)
    return rows


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``--shard I/N`` -> ``(I, N)`` with ``1 <= I <= N``; None when not given.

    Parameters
    ----------
    text : str or None
        E.g. ``"3/10"``.

    Returns
    -------
    tuple of int or None
        ``(i, n)``: shard ``i`` (1-based) of ``n``.
    """
    if not text:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ZooError(f"--shard '{text}': expected I/N with 1 <= I <= N, e.g. --shard 3/10")
    return int(m.group(1)), int(m.group(2))
