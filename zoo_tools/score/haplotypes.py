"""Phased haplotypes: ``zoo score-variants --haplotypes`` (one row per record, ALT, sample and haplotype).

For each ALT allele of a record and each chosen sample's haplotype that carries it (the sample's
``GT``, :mod:`zoo_tools.data.genotypes`), the haplotype window (the row's allele and every other
ALT allele that haplotype carries in the window, :mod:`~zoo_tools.score.haplotype_windows`) is
compared with the reference window with the same statistics, bins, strands and calibration as
single variants. The reference window of a record is predicted once and shared by every sample
and haplotype of it; identical haplotype windows (samples sharing a haplotype) are predicted once.

**Statuses** (never a dropped row): ``ok``; ``unphased`` (a heterozygous ``/`` call, of the row's
variant or of another variant in its window); ``missing_gt`` (``./.``, half calls, no GT);
``overlapping_alleles`` (two ALT alleles of the haplotype overlap; ``note`` names them);
``no_carrier`` (no chosen sample carries the ALT: one row, ``sample`` ``.``); and the variant's own
statuses (``ref_mismatch``, ``contig_missing``, ...). Alleles of other variants that cannot be
applied (e.g. symbolic) are left out and named in ``note``.

The VCF must be sorted by position within each contig (``bcftools sort``); rows come out in input
order: by record, ALT, sample (VCF or ``--samples`` order), haplotype.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.background import variant_keys
from zoo_tools.data.genotypes import OK, Genotyped, allele_on, carrier_rows, genotyped_records
from zoo_tools.data.variants import Variant
from zoo_tools.score.alleles import predict_windows
from zoo_tools.score.formats import BASE_COLUMNS
from zoo_tools.score.haplotype_windows import Edit, edit_of, first_overlap, haplotype_window, in_window
from zoo_tools.score.rows import Run, base_frame, chunks, scored_frame
from zoo_tools.score.stream import Scorer

log = logging.getLogger(__name__)

HAPLOTYPE_COLUMNS = ["sample", "haplotype", "n_alleles", "haplotype_alleles", "note"]
_SCORED = ("ok", "no_gene_in_window")


@dataclass(frozen=True)
class HapRow:
    """One output row before scoring: the focal variant, the sample and haplotype, the status,
    the alleles applied (with the focal first) and a note."""

    variant: Variant
    sample: str
    haplotype: str
    status: str
    edits: tuple[Edit, ...] = ()
    note: str = ""

    @property
    def chrom(self) -> str:
        return self.variant.chrom

    @property
    def pos(self) -> int:
        return self.variant.pos

    @property
    def ref(self) -> str:
        return self.variant.ref


def with_context(items: Iterator[Genotyped], reach: int, path: str) -> Iterator[tuple[Genotyped, list[Genotyped]]]:
    """Each record with the records within ``reach`` bp of it on its contig, in input order.

    Parameters
    ----------
    items : iterator of Genotyped
        The VCF's records (:func:`~zoo_tools.data.genotypes.genotyped_records`).
    reach : int
        bp on each side (at least the window length).
    path : str
        The VCF (named when it is not sorted).

    Yields
    ------
    tuple
        ``(record, context)``: the other records whose position is within ``reach``.
    """
    buffer: deque[Genotyped] = deque()
    pending: deque[Genotyped] = deque()
    done_contigs: set[str] = set()
    for x in items:
        if x.calls or x.variants[0].status != "malformed":
            _check_sorted(x, buffer, done_contigs, path)
            if buffer and buffer[-1].record.chrom != x.record.chrom:
                done_contigs.add(buffer[-1].record.chrom)
                yield from _emit(pending, buffer, None, reach)
                buffer.clear()
            buffer.append(x)
        pending.append(x)
        yield from _emit(pending, buffer, x.record.pos, reach)
        keep_from = (_first_pos(pending) if pending else x.record.pos) - reach
        while buffer and buffer[0].record.pos < keep_from:
            buffer.popleft()
    yield from _emit(pending, buffer, None, reach)


def _first_pos(pending: deque) -> int:
    """Position of the first pending record that needs context (malformed lines need none)."""
    return next((p.record.pos for p in pending if p.calls), 1 << 62)


def _check_sorted(x: Genotyped, buffer: deque, done: set, path: str) -> None:
    last = buffer[-1].record if buffer else None
    if x.record.chrom in done or (last is not None and last.chrom == x.record.chrom and x.record.pos < last.pos):
        raise ZooError(
            f"{path}, line {x.record.line}: records are not sorted by position ({x.record.chrom}:{x.record.pos} after "
            f"{last.chrom}:{last.pos}); --haplotypes needs a sorted VCF: bcftools sort"
        )


def _emit(pending: deque, buffer: deque, pos: int | None, reach: int):
    """The pending records whose context is complete (all of them when ``pos`` is None)."""
    while pending and (pos is None or not pending[0].calls or pending[0].record.pos + reach < pos):
        x = pending.popleft()
        near = [b for b in buffer if b is not x and abs(b.record.pos - x.record.pos) <= reach] if x.calls else []
        yield x, near


def _context_edits(scorer: Scorer, focal: Edit, near: list[Genotyped], s: int, hap: int) -> tuple:
    """The other alleles sample ``s``'s haplotype ``hap`` carries in the window: ``(edits, status, note)``."""
    edits, skipped = [], []
    for g in near:
        if not in_window(Edit(g.record.pos - 1, g.record.ref, ""), focal, scorer.seq_len, scorer.centre):
            continue  # a record whose REF lies outside the window: its genotype does not matter here
        a = allele_on(g.calls[s], hap)
        if isinstance(a, str):
            return (), a, f"{a} at {g.record.chrom}:{g.record.pos}"
        if a == 0:
            continue
        v = g.variants[a - 1]
        e = edit_of(v)
        if v.status != "ok":
            skipped.append(f"{e.label} ({v.status}) not applied")
            continue
        edits.append(e)
    return tuple(edits), OK, "; ".join(skipped)


def haplotype_rows(scorer: Scorer, samples: list[str], focal: Genotyped, near: list[Genotyped]) -> list[HapRow]:
    """The rows of one record (every ALT, sample and haplotype; see the module docstring).

    Parameters
    ----------
    scorer : Scorer
        Its ``status`` (contig checks), window length and centre.
    samples : list of str
        The chosen samples, in the order of ``focal.calls``.
    focal, near : Genotyped, list of Genotyped
        The record and the records near it (:func:`with_context`).

    Returns
    -------
    list of HapRow
    """
    rows = []
    for v in focal.variants:
        status = scorer.status(v)
        carriers = [(s, h, st) for s, call in enumerate(focal.calls) for h, st in carrier_rows(call, v.allele)]
        if not carriers:
            rows.append(HapRow(v, ".", ".", status if status not in _SCORED else "no_carrier"))
            continue
        for s, h, st in carriers:
            if status not in _SCORED or st != OK:
                rows.append(HapRow(v, samples[s], h, status if status not in _SCORED else st))
                continue
            rows.append(_row(scorer, v, samples[s], (s, int(h)), near, status))
    return rows


def _row(scorer: Scorer, v: Variant, sample: str, where: tuple[int, int], near: list, status: str) -> HapRow:
    """One carrying haplotype's row: its edits, or why it cannot be built."""
    focal = edit_of(v)
    others, st, note = _context_edits(scorer, focal, near, *where)
    if st != OK:
        return HapRow(v, sample, str(where[1]), st, (), note)
    clash = first_overlap([focal, *others])
    if clash:
        return HapRow(
            v, sample, str(where[1]), "overlapping_alleles", (), f"{clash[0].label} overlaps {clash[1].label}"
        )
    return HapRow(v, sample, str(where[1]), status, (focal, *others), note)


class HaplotypeScorer:
    """Scores :class:`HapRow` chunks with a :class:`~zoo_tools.score.stream.Scorer`'s settings.

    Parameters
    ----------
    scorer : Scorer
        A binned (not siamese) model's scorer: tasks, statistics, bins, strands, calibration, genes.
    share_reference : bool
        Predict each record's reference window once (default); False: once per row (the baseline
        the benchmark compares against).
    """

    def __init__(self, scorer: Scorer, share_reference: bool = True):
        if scorer.siamese:
            raise ZooError("--haplotypes needs a binned model (a siamese model scores single SNV pairs)")
        self.scorer, self.share = scorer, share_reference
        n = len(BASE_COLUMNS)
        self.columns = BASE_COLUMNS + HAPLOTYPE_COLUMNS + scorer.columns[n:]
        self.names, self.genes = scorer.names, scorer.genes
        self.calibration, self.fdr = scorer.calibration, scorer.fdr
        self.windows = {"rows": 0, "reference": 0, "haplotype": 0}

    def _windows(self, rows: list[HapRow]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Unique reference and haplotype windows of the scored rows, and each row's index into them."""
        sc, refs, haps = self.scorer, {}, {}
        ri = [
            refs.setdefault((r.variant.chrom, r.variant.pos) if self.share else k, len(refs))
            for k, r in enumerate(rows)
        ]
        hi = [haps.setdefault((r.variant.chrom, r.edits), len(haps)) for r in rows]
        first_ref = {i: rows[k].variant for k, i in reversed(list(enumerate(ri)))}
        ref_v = [first_ref[i] for i in range(len(refs))]
        ref_codes = sc.genome.batch_codes([v.chrom for v in ref_v], [v.pos - 1 - sc.centre for v in ref_v], sc.seq_len)
        first_hap = {i: rows[k] for k, i in reversed(list(enumerate(hi)))}
        hap_codes = np.stack(
            [
                haplotype_window(sc.genome, r.variant.chrom, r.edits[0], list(r.edits[1:]), sc.seq_len, sc.centre)
                for r in (first_hap[i] for i in range(len(haps)))
            ]
        )
        return ref_codes, hap_codes, np.array(ri), np.array(hi)

    def _values(self, rows: list[HapRow]) -> tuple[np.ndarray, list[str] | None]:
        """Numeric columns (and packed genes) of rows that are scored."""
        sc = self.scorer
        ref_codes, hap_codes, ri, hi = self._windows(rows)
        pred = predict_windows(sc.model, np.concatenate([ref_codes, hap_codes]), sc.rc, sc.batch_size, sc.device)
        pred = pred[:, sc.tasks]
        r, a = pred[: len(ref_codes)][ri], pred[len(ref_codes) :][hi]
        self.windows = {
            k: self.windows[k] + n for k, n in zip(self.windows, (len(rows), len(ref_codes), len(hap_codes)))
        }
        scores, summary = sc.effects(r, a)
        cells = sc.gene_cells([x.variant for x in rows], r, a, stitch=False) if sc.genes is not None else None
        keys = None
        if sc.calibration is not None:  # one key per (variant, sample, haplotype) row
            keys = variant_keys(
                *zip(*((x.chrom, x.pos, x.ref, f"{x.variant.alt}|{x.sample}|{x.haplotype}") for x in rows))
            )
        return sc.numeric_columns(scores, summary, keys), cells

    def score(self, rows: list[HapRow]) -> pd.DataFrame:
        """The output rows (:attr:`columns`), scores only for ``ok`` (and ``no_gene_in_window``) rows.

        Parameters
        ----------
        rows : list of HapRow

        Returns
        -------
        pandas.DataFrame
        """
        statuses = [r.status for r in rows]
        base = base_frame([r.variant for r in rows], statuses).assign(
            sample=[r.sample for r in rows],
            haplotype=[r.haplotype for r in rows],
            n_alleles=[len(r.edits) for r in rows],
            haplotype_alleles=[",".join(e.label for e in r.edits) for r in rows],
            note=[r.note for r in rows],
        )
        return scored_frame(self, base, statuses, lambda ok: self._values([rows[i] for i in ok]))


def haplotype_chunks(run: Run, scorer: Scorer, samples: list[str] | None) -> tuple[HaplotypeScorer, Iterator[list]]:
    """The haplotype scorer of a run and its rows in chunks of ``run.chunk_size`` (streamed).

    Parameters
    ----------
    run : Run
        The VCF (sorted, with genotype columns), its genome, the output (.tsv, .tsv.gz or
        .parquet), the shard (records ``i-1, i-1+n, ...``; their context comes from every record).
    scorer : Scorer
        The settings (tasks, statistics, bins, strands, calibration, genes).
    samples : list of str, optional
        The samples scored (default all); unknown names are an error listing close ones.

    Returns
    -------
    tuple
        ``(HaplotypeScorer, iterator of lists of HapRow)``.
    """
    if run.fmt == ".vcf.gz":
        raise ZooError(f"--out {run.out}: haplotype rows are written as .tsv, .tsv.gz or .parquet (one row per sample)")
    hs = HaplotypeScorer(scorer)
    names, items = genotyped_records(run.vcf, run.genome, samples, run.skip_malformed)

    def rows():
        for focal, near in with_context(items, 2 * scorer.seq_len, run.vcf):
            if run.shard is None or focal.index % run.shard[1] == run.shard[0] - 1:
                yield from haplotype_rows(scorer, names, focal, near)

    return hs, chunks(rows(), run.chunk_size)
