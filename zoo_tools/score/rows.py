"""The rows a run scores: a VCF's (record, ALT) rows streamed, in chunks, the shard of an array job,
and the :class:`Run` that writes them into one output.

A shard ``(i, n)`` takes records ``i-1, i-1+n, ...`` (by record index, so every ALT of a record
lands in the same shard).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import Variant, iter_variants
from zoo_tools.score.formats import finish, output_format
from zoo_tools.score.guards import Tally

log = logging.getLogger(__name__)


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


@dataclass
class Run:
    """One scoring run: the VCF (or a shard of it) into ``out`` through ``OUT.partial.tsv``.

    Parameters
    ----------
    vcf : str
        The VCF scored.
    genome : Genome
        Its reference.
    out : str
        The scores file (its format is checked here, :func:`~zoo_tools.score.formats.output_format`).
    shard : tuple of int or None
        ``(i, n)``: records ``i-1, i-1+n, ...`` only.
    chunk_size : int
        Rows scored and written at a time.
    resume : bool
        Continue after the rows already in the partial file(s).
    skip_malformed : bool
        Lines that are not VCF records become rows with status ``malformed`` (not with a
        ``.vcf.gz`` output, which could not hold them).
    """

    vcf: str
    genome: Genome
    out: str
    shard: tuple[int, int] | None
    chunk_size: int
    resume: bool
    skip_malformed: bool = False
    fmt: str = field(init=False)

    def __post_init__(self):
        self.fmt = output_format(self.out)
        if self.skip_malformed and self.fmt == ".vcf.gz":
            raise ZooError(
                f"--out {self.out}: a VCF output cannot hold malformed lines; with --skip-malformed write "
                f".tsv, .tsv.gz or .parquet"
            )

    @property
    def partial(self) -> str:
        return self.out + ".partial.tsv"

    def chunks(self) -> Iterator[list[Variant]]:
        """The run's rows in chunks of ``chunk_size``, streamed."""
        return chunks(shard_rows(self.vcf, self.genome, self.shard, self.skip_malformed), self.chunk_size)

    def make_folder(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.out)) or ".", exist_ok=True)

    def discard_if_empty(self, n_rows: int) -> None:
        """A VCF without records is an error (its partial file removed); an empty shard of an array
        job larger than the VCF is not: it writes an output without rows."""
        if n_rows == 0 and self.shard:
            log.warning("shard %d/%d of %s has no records: writing %s without rows", *self.shard, self.vcf, self.out)
        elif n_rows == 0:
            os.remove(self.partial)
            raise ZooError(f"{self.vcf}: the VCF has no records to score")

    def finish(self, scorer, tally: Tally, n_rows: int) -> None:
        """Warn about a build mismatch and turn the complete partial file into ``out``."""
        tally.warn_unplaced(n_rows, self.genome)
        finish(self.partial, self.out, self.fmt, self.vcf, scorer)


def base_frame(variants: list[Variant], statuses: list[str]) -> pd.DataFrame:
    """The :data:`~zoo_tools.score.formats.BASE_COLUMNS` of variants' output rows.

    Parameters
    ----------
    variants : list of Variant
        ``pos: int  # 1-based, as in VCF``.
    statuses : list of str
        Each row's status.

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame(
        {
            "record": [v.record for v in variants],
            "chrom": [v.chrom for v in variants],
            "pos": [v.pos for v in variants],
            "id": [v.id for v in variants],
            "ref": [v.ref for v in variants],
            "alt": [v.alt for v in variants],
            "status": statuses,
            "line": [v.line for v in variants],
        }
    )


def scored_frame(scorer, base: pd.DataFrame, statuses: list[str], values_of) -> pd.DataFrame:
    """Output rows: ``base`` and the scorer's numeric columns (NaN unless the status is ``ok`` or
    ``no_gene_in_window``), then the packed ``genes`` with genes.

    Parameters
    ----------
    scorer : Scorer or HaplotypeScorer
        Its ``columns`` (the numeric ones follow ``base``'s) and ``genes``.
    base : pandas.DataFrame
        The rows' leading columns.
    statuses : list of str
        Each row's status.
    values_of : callable
        Indices of the scored rows -> ``(values (k, numeric columns), gene cells or None)``.

    Returns
    -------
    pandas.DataFrame
    """
    numeric = [c for c in scorer.columns[len(base.columns) :] if c != "genes"]
    values, genes = np.full((len(base), len(numeric)), np.nan), [""] * len(base)
    ok = [i for i, s in enumerate(statuses) if s in ("ok", "no_gene_in_window")]
    if ok:
        values[ok], cells = values_of(ok)
        for i, c in zip(ok, cells or []):
            genes[i] = c
    frame = pd.concat([base, pd.DataFrame(values, columns=numeric)], axis=1)
    return frame.assign(genes=genes) if scorer.genes is not None else frame
