"""Variant scoring on several devices (GPUs, or CPU processes) and nodes: Lightning's predict loop.

Chunks of the VCF are dealt to the ranks in turn (chunk ``k`` to rank ``k % world``); each rank
builds its own :class:`~zoo_tools.score.stream.Scorer` on its device (so the local patch is
probed and verified per device), reads the VCF streamed (cheap next to the model) and appends its
rows to its own resumable partial file ``OUT.rank{r}-of-{W}.partial.tsv``. Rank 0 then
interleaves the files back into input order, so the output equals the one-device output.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os

import pandas as pd
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import progress_bar, quiet_lightning
from zoo_tools.data.genome import Genome
from zoo_tools.score.guards import Tally, launched, launcher_lock
from zoo_tools.score.resume import PartialTable, resume_point, stopped_run
from zoo_tools.score.rows import Run
from zoo_tools.score.stream import Scorer, scorer_options


def _identity(x):
    return x


class _RankChunks(torch.utils.data.IterableDataset):
    """The run's chunks that belong to one rank: chunk ``k`` goes to rank ``k % world``."""

    def __init__(self, run: Run, rank: int, world: int):
        super().__init__()
        self.run, self.rank, self.world = run, rank, world

    def __iter__(self):
        for k, chunk in enumerate(self.run.chunks()):
            if k % self.world == self.rank:
                yield chunk


def rank_partial(out: str, rank: int, world: int) -> str:
    """The partial file of rank ``rank`` of ``world``.

    Parameters
    ----------
    out, rank, world
        The run's scores file, the rank (0-based) and the number of ranks.

    Returns
    -------
    str
        ``OUT.rank{rank}-of-{world}.partial.tsv``.
    """
    return f"{out}.rank{rank}-of-{world}.partial.tsv"


def _copy_interleaved(fhs: list, chunk_size: int, out) -> int:
    """Chunks of ``chunk_size`` lines taken from ``fhs`` in turn until one comes up short."""
    n, k = 0, 0
    while True:
        lines = list(itertools.islice(fhs[k % len(fhs)], chunk_size))
        out.writelines(lines)
        n += len(lines)
        if len(lines) < chunk_size:
            return n
        k += 1


def interleave(parts: list[str], chunk_size: int, dest: str) -> int:
    """Join per-rank partial files into one in input order, streamed line by line.

    Parameters
    ----------
    parts : list of str
        The partial files of ranks ``0 .. W-1``; chunk ``k`` is in ``parts[k % W]``.
    chunk_size : int
        Rows per chunk.
    dest : str
        The joined file (the header once, then the rows).

    Returns
    -------
    int
        Rows written.
    """
    fhs = [open(p) for p in parts]
    try:
        headers = [fh.readline() for fh in fhs]
        with open(dest, "w") as out:
            out.write(headers[0])
            n = _copy_interleaved(fhs, chunk_size, out)
        if any(fh.readline() for fh in fhs):
            raise ZooError(f"{dest}: the per-device files do not line up (rows left over); rerun without --resume")
    finally:
        for fh in fhs:
            fh.close()
    return n


class _ScoringHooks:
    """The predict-loop hooks of :func:`scoring_module` (mixed into a LightningModule there)."""

    def predict_dataloader(self):
        data = _RankChunks(self.run, self.trainer.global_rank, self.trainer.world_size)
        return torch.utils.data.DataLoader(data, batch_size=None, collate_fn=_identity)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # rows of the VCF; the Scorer moves its windows itself

    def on_predict_start(self):
        self.scorer = Scorer(self.model, self.run.genome, device=self.device, **self.options)
        rank, world = self.trainer.global_rank, self.trainer.world_size
        path = rank_partial(self.run.out, rank, world)
        self.table = PartialTable(path, self.scorer, resume_point(path, self.scorer.columns, self.run.resume))
        self.bar = progress_bar(
            desc=f"scoring {os.path.basename(self.run.vcf)} (rank 0 of {world})", unit="variant", disable=rank != 0
        )

    def predict_step(self, chunk, batch_idx):
        self.table.add(chunk)
        self.bar.update(len(chunk))
        return None

    def on_predict_end(self):
        self.table.close()
        self.bar.close()


def scoring_module(model, run: Run, options: dict):
    """A LightningModule whose predict loop scores this rank's chunks into its own partial file.

    Parameters
    ----------
    model : ZooModel or siamese model
        The model (a submodule, so the trainer moves it to the rank's device).
    run : Run
        The VCF, genome, output, shard, chunk size and ``resume``.
    options : dict
        :class:`~zoo_tools.score.stream.Scorer` keyword arguments but ``device``
        (:func:`~zoo_tools.score.stream.scorer_options`).

    Returns
    -------
    lightning.LightningModule
        After ``trainer.predict``: ``scorer`` (the rank's Scorer) and ``table.done`` (rows it resumed after).
    """
    import lightning as L

    class ScoringModule(_ScoringHooks, L.LightningModule):
        """The scoring hooks on a LightningModule (Lightning is imported only when several devices run)."""

    module = ScoringModule()
    module.model, module.run, module.options = model, run, options
    module.scorer = module.table = None
    return module


def _tally(partial: str) -> Tally:
    """Statuses and the first examples of each status but ``ok`` of a complete partial file, read in blocks."""
    tally = Tally()
    for df in pd.read_csv(
        partial,
        sep="\t",
        usecols=["chrom", "pos", "ref", "status"],
        dtype=str,
        keep_default_na=False,
        chunksize=1 << 16,
    ):
        for s, c in df.status.value_counts().items():
            tally.add(s, int(c))
        for r in df[df.status != "ok"].groupby("status").head(3).itertuples():
            tally.example(r.status, r.chrom, r.pos, r.ref)
    return tally


def _check_not_complete(run: Run) -> None:
    """With ``resume``, refuse to score again into an ``out`` that no rank files are left for."""
    folder = os.path.dirname(os.path.abspath(run.out))
    stem = os.path.basename(run.out) + ".rank"
    rank_files = os.path.isdir(folder) and any(f.startswith(stem) for f in os.listdir(folder))
    if run.resume and os.path.exists(run.out) and not rank_files:
        raise ZooError(f"{run.out} is already complete; remove it (or drop --resume) to score again")


def _gather(run: Run, world: int) -> int:
    """Rank 0: the ranks' partial files interleaved into the run's partial file (rows returned)."""
    parts = [rank_partial(run.out, r, world) for r in range(world)]
    n_rows = interleave(parts, run.chunk_size, run.partial)
    for p in parts:
        os.remove(p)
    return n_rows


def _predict(module, accelerator: str, devices: int | str, num_nodes: int, strategy: str):
    """Run the predict loop; returns the trainer after every rank has finished."""
    import lightning as L

    quiet = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    where = dict(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy)
    trainer = L.Trainer(use_distributed_sampler=False, **where, **quiet)
    trainer.predict(module, return_predictions=False)
    return trainer


def score_vcf_distributed(
    model,
    vcf: str,
    genome: Genome,
    out: str,
    tasks=None,
    kinds=("diff", "log2fc"),
    window_bins: int = 0,
    rc: bool = True,
    batch_size: int = 64,
    resume: bool = False,
    shard=None,
    chunk_size: int = 1024,
    pseudocount: float = 1.0,
    fast: bool = True,
    devices: int | str = "auto",
    accelerator: str = "auto",
    num_nodes: int = 1,
    strategy: str = "ddp",
    skip_malformed: bool = False,
    **extras,
) -> dict:
    """``score_vcf`` on several devices and nodes through Lightning's ``Trainer.predict``.

    Parameters
    ----------
    model, vcf, genome, out, tasks, kinds, window_bins, rc, batch_size, resume, shard, chunk_size
        As :func:`~zoo_tools.score.vcf.score_vcf` takes them (``POS`` 1-based, as in VCF). With
        several nodes ``out`` must be on a shared file system.
    pseudocount, fast
        As :func:`~zoo_tools.score.vcf.score_vcf` takes them.
    devices, accelerator, num_nodes, strategy
        Lightning's ``Trainer`` arguments. ``strategy="ddp"`` relaunches the running script once
        per device (the CLI); in a notebook use ``"ddp_notebook"``.
    skip_malformed, **extras
        As :func:`~zoo_tools.score.vcf.score_vcf` takes them.

    Returns
    -------
    dict
        What ``score_vcf`` returns, plus ``"world"``, on rank 0; ``{"rank": r}`` on the others.
    """
    import lightning  # noqa: F401 - importing it sets its loggers' levels; quiet_lightning comes after

    quiet_lightning()
    run = Run(vcf, genome, out, shard, chunk_size, resume, skip_malformed)
    options = scorer_options(model, tasks, kinds, window_bins, rc, batch_size, pseudocount, fast, genome, **extras)
    _check_not_complete(run)
    run.make_folder()
    module = scoring_module(model, run, options)
    child = launched()  # read now: Lightning sets LOCAL_RANK in the launching process too, once it launches
    try:
        with launcher_lock(out), _stopped(out):  # the launching process holds OUT.lock for all ranks
            return _predict_and_gather(run, module, (accelerator, devices, num_nodes, strategy))
    except ZooError:
        if child:  # every rank meets the same bad input: the launching process says it, once
            raise SystemExit(2) from None
        raise


def _predict_and_gather(run: Run, module, where: tuple) -> dict:
    """Every rank scores its chunks; rank 0 then joins the files and returns the summary."""
    trainer = _predict(module, *where)
    done = torch.tensor(float(module.table.done), device=module.device)
    resumed = int(trainer.strategy.reduce(done, reduce_op="sum"))
    trainer.strategy.barrier("zoo-score-variants")
    rank, world = trainer.global_rank, trainer.world_size
    return {"rank": rank} if rank != 0 else _finish_rank0(run, module, world, resumed)


def _stopped(out: str):
    """In the launching process, the per-device partial files of a run stopped by bad input are
    removed, or kept and named (:func:`~zoo_tools.score.resume.stopped_run`)."""
    return contextlib.nullcontext() if launched() else stopped_run(pattern=glob.escape(out) + ".rank*-of-*.partial.tsv")


def _finish_rank0(run: Run, module, world: int, resumed: int) -> dict:
    """Rank 0, after the predict loop: the ranks' files joined into ``out``, and the summary."""
    n_rows = _gather(run, world)
    run.discard_if_empty(n_rows)
    tally = _tally(run.partial)
    run.finish(module.scorer, tally, n_rows)
    return {
        "rows": n_rows,
        "statuses": tally.statuses,
        "resumed_after": resumed,
        "out": run.out,
        "world": world,
        "columns": module.scorer.columns,
    }
