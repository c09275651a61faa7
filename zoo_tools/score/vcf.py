"""``score_vcf``: every (record, ALT) of a VCF scored into one file (``zoo score-variants``).

See :mod:`zoo_tools.score.windows` for the windows, :mod:`zoo_tools.score.stats` for the scores,
:mod:`zoo_tools.score.stream` for statuses, chunks and shards, :mod:`zoo_tools.score.resume` for
resuming, and :mod:`zoo_tools.score.formats` for the output files.

**Speed.** Reference and alternative windows share forward batches. For SNVs and MNVs a
convolutional trunk's embedding changes only near the variant, so
(:class:`~zoo_tools.score.patch.LocalPatch`) the alternative embedding is the reference one with
the bins near the variant recomputed from a short crop: about one full trunk pass per variant and
strand instead of two. The shortcut is probed on random sequences and verified against full
passes on the first real windows; models that mix the whole window (attention) use full passes.

**Scale.** One device streams the VCF into ``OUT.partial.tsv``; several devices
(:func:`~zoo_tools.score.distributed.score_vcf_distributed`) run Lightning's predict loop, chunks
dealt to the ranks in turn and interleaved back, so the output equals the one-device output.
"""

from __future__ import annotations

import os

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import progress_bar
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import vcf_records
from zoo_tools.score.distributed import score_vcf_distributed
from zoo_tools.score.guards import Tally, check_build, run_lock
from zoo_tools.score.haplotypes import haplotype_chunks
from zoo_tools.score.resume import PartialTable, resume_point, stopped_run
from zoo_tools.score.rows import Run
from zoo_tools.score.stream import Scorer, scorer_options


def _stream(run: Run, scorer: Scorer, rows=None, status_of=None) -> tuple[Tally, int, int]:
    """Score the run's chunks (or ``rows``, chunks of haplotype rows) into its partial file on this process's device.

    Returns
    -------
    tuple
        ``(tally, rows, resumed_after)``: statuses of all rows, their number, and how many were
        already in the partial file.
    """
    done = resume_point(run.partial, scorer.columns, run.resume)
    if run.resume and done < 0 and os.path.exists(run.out):
        raise ZooError(f"{run.out} is already complete; remove it (or drop --resume) to score again")
    run.make_folder()
    rows = run.chunks() if rows is None else rows
    status_of = status_of or scorer.status
    tally, n_rows = Tally(), 0
    with (
        PartialTable(run.partial, scorer, done) as table,
        progress_bar(desc=f"scoring {os.path.basename(run.vcf)}", unit="variant") as bar,
        stopped_run(run.partial),
    ):
        for chunk in rows:
            tally.add_rows(chunk, status_of)
            n_rows += len(chunk)
            table.add(chunk)
            bar.update(len(chunk))
    return tally, n_rows, table.done


def score_vcf(
    model,
    vcf: str,
    genome: Genome,
    out: str,
    tasks: list[str] | None = None,
    kinds=("diff", "log2fc"),
    window_bins: int = 0,
    rc: bool = True,
    batch_size: int = 64,
    resume: bool = False,
    shard: tuple[int, int] | None = None,
    chunk_size: int = 1024,
    pseudocount: float = 1.0,
    device=None,
    fast: bool = True,
    devices: int | str = 1,
    accelerator: str = "auto",
    num_nodes: int = 1,
    strategy: str = "ddp",
    skip_malformed: bool = False,
    allow_build_mismatch: bool = False,
    **extras,
) -> dict:
    """Score every (record, ALT) of ``vcf`` into ``out`` (.tsv, .tsv.gz, .parquet or .vcf.gz).

    Parameters
    ----------
    model, vcf, genome, out
        A sequence-only model with a fixed input length; the variants (``POS`` 1-based, as in VCF;
        multi-allelic records split), their reference; the scores file (its ending picks the format).
    tasks, kinds, window_bins, rc, batch_size, pseudocount, fast
        What is scored and how: task names or patterns (default all), then as
        :class:`~zoo_tools.score.stream.Scorer` takes them.
    resume, shard, chunk_size
        Continue a run; records ``i-1, i-1+n, ...`` of ``shard = (i, n)``; rows per chunk (:class:`Run`).
    device, devices, accelerator, num_nodes, strategy
        One device (default CUDA when available), or Lightning's predict loop on ``devices`` x
        ``num_nodes`` processes (:func:`~zoo_tools.score.distributed.score_vcf_distributed`), same output.
    skip_malformed, allow_build_mismatch : bool
        Rows with status ``malformed`` for lines that are not VCF records (default: stop at the
        first); score a VCF of another build (:func:`~zoo_tools.score.guards.check_build`).
    **extras
        ``genes``, ``calibration``, ``fdr`` (:func:`~zoo_tools.score.stream.scorer_options`);
        ``haplotypes=True``, ``samples``: rows per sample haplotype (:mod:`~zoo_tools.score.haplotypes`).

    Returns
    -------
    dict
        ``rows`` (n), ``statuses`` ({status: n}), ``resumed_after`` (n), ``out`` (path), ``columns``.
    """
    run = Run(vcf, genome, out, shard, chunk_size, resume, skip_malformed)
    check_build(vcf, vcf_records(vcf)[0], genome, allow_build_mismatch)
    haplotypes = _haplotype_options(extras, str(devices) not in ("1",) or int(num_nodes) != 1)
    if str(devices) not in ("1",) or int(num_nodes) != 1:
        opts = (tasks, kinds, window_bins, rc, batch_size, resume, shard, chunk_size, pseudocount, fast, devices)
        where = (accelerator, num_nodes, strategy, skip_malformed)
        return score_vcf_distributed(model, vcf, genome, out, *opts, *where, **extras)
    options = scorer_options(model, tasks, kinds, window_bins, rc, batch_size, pseudocount, fast, genome, **extras)
    return _one_device(run, Scorer(model, genome, device=device, **options), haplotypes)


def _one_device(run: Run, scorer: Scorer, haplotypes: list[str] | None) -> dict:
    """The run on this process's device: its alleles, or with ``haplotypes`` (samples; [] all) its haplotype rows."""
    if haplotypes is None:
        return _score_here(run, scorer)
    hap_scorer, rows = haplotype_chunks(run, scorer, haplotypes)
    return dict(_score_here(run, hap_scorer, rows, lambda r: r.status), haplotypes=hap_scorer.windows)


def _haplotype_options(extras: dict, several_devices: bool) -> list[str] | None:
    """Pop ``haplotypes`` and ``samples`` from ``extras``: None without haplotypes, else the samples
    (an empty list: all)."""
    haplotypes, samples = extras.pop("haplotypes", False), extras.pop("samples", None)
    if samples and not haplotypes:
        raise ZooError("--samples chooses whose haplotypes are scored: add --haplotypes")
    if haplotypes and several_devices:
        raise ZooError("--haplotypes runs on one device; split the work with --shard I/N instead of --devices")
    return list(samples or []) if haplotypes else None


def _score_here(run: Run, scorer: Scorer, rows=None, status_of=None) -> dict:
    """One process, one device: the run scored into its output under the output's lock."""
    with run_lock(run.out):
        tally, n_rows, done = _stream(run, scorer, rows, status_of)
        run.discard_if_empty(n_rows)
        run.finish(scorer, tally, n_rows)
    return {
        "rows": n_rows,
        "statuses": tally.statuses,
        "resumed_after": done,
        "out": run.out,
        "columns": scorer.columns,
    }
