"""What keeps a scoring run honest: the build check, one run per output, the status summary.

- :func:`check_build` compares the VCF header's ``##contig`` lengths with the FASTA before any
  scoring: when most shared contigs differ in length the two files are of different builds, and
  the run stops (``allow_build_mismatch`` makes it a warning).
- :func:`run_lock` lets one run at a time write an output (``OUT.lock``, an ``flock``); a second
  run on the same ``--out`` stops in one line naming the first one's PID and start time.
- :class:`Tally` counts the rows of every status and keeps distinct example records, for the
  summary and the warning when many rows could not be scored.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass, field

from zoo_tools.core.errors import ZooError
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome

log = logging.getLogger(__name__)

# statuses that say the VCF and the FASTA may not belong together (others are about the alleles)
GENOME_STATUSES = ("ref_mismatch", "out_of_bounds", "contig_missing")


def length_mismatches(declared: dict[str, int | None], genome: Genome) -> tuple[list[str], int]:
    """Contigs whose ``##contig`` length differs from the FASTA's, and how many were compared.

    Parameters
    ----------
    declared : dict
        ``{ID: length or None}`` from the VCF header (IDs in the VCF's spelling).
    genome : Genome
        The FASTA; a contig is compared when it resolves there (``chr1`` / ``1`` aliases) and the
        header gives its length.

    Returns
    -------
    tuple
        ``(mismatches, compared)``: ``"chr1: 248,956,422 bp in the VCF, 249,250,621 in the FASTA"``
        lines, and the number of contigs compared.
    """
    bad, compared = [], 0
    for name, length in declared.items():
        hit = resolve_contig(name, genome.contigs, f"genome {genome.path}") if length else None
        if hit is None:
            continue
        compared += 1
        if genome.contigs[hit] != length:
            bad.append(f"{name}: {length:,} bp in the VCF, {genome.contigs[hit]:,} in the FASTA")
    return bad, compared


def check_build(vcf: str, declared: dict[str, int | None], genome: Genome, allow: bool = False) -> None:
    """Stop (or warn) when the VCF header's contig lengths say it is of another build than the FASTA.

    Parameters
    ----------
    vcf : str
        The VCF (named in the message).
    declared : dict
        Its ``##contig`` lengths (:func:`zoo_tools.data.variants.vcf_records`).
    genome : Genome
        The FASTA.
    allow : bool
        ``--allow-build-mismatch``: a warning instead of the error.
    """
    bad, compared = length_mismatches(declared, genome)
    if not bad:
        return
    what = f"{len(bad)} of {compared} contigs shared by {vcf} and {genome.path} differ in length ({'; '.join(bad[:2])})"
    if 2 * len(bad) > compared and not allow:
        raise ZooError(
            f"{what}: the VCF and the FASTA are of different genome builds; give the FASTA the VCF was "
            f"called against (or pass --allow-build-mismatch to score anyway)"
        )
    log.warning("%s; rows on those contigs may be scored against the wrong sequence", what)


def _holder(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip() or "a run that has not written its PID yet"
    except OSError:
        return "another run"


@contextlib.contextmanager
def run_lock(out: str):
    """Hold ``OUT.lock`` for the ``with`` block: one scoring run per output at a time.

    Parameters
    ----------
    out : str
        The output file; the lock file next to it says ``PID <pid>, started <time>`` and is removed
        at the end (a killed run's lock is released by the system, its file reused).
    """
    path = out + ".lock"
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    while True:
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ZooError(
                f"{out} is being written by another zoo run ({_holder(path)}); wait for it to finish, or "
                f"choose another --out"
            ) from None
        if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino:
            break
        fh.close()  # the previous holder removed the file between our open and our lock
    try:
        fh.truncate(0)
        fh.write(f"PID {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        yield
    finally:
        os.remove(path)
        fh.close()


def launcher_lock(out: str):
    """:func:`run_lock` in the process that starts a multi-device run; a no-op in the processes a
    launcher started (``LOCAL_RANK`` or ``SLURM_PROCID`` set: Lightning's ranks, torchrun, srun).

    Parameters
    ----------
    out : str
        The output file.

    Returns
    -------
    contextlib.AbstractContextManager
        Use in a ``with`` statement.
    """
    return contextlib.nullcontext() if launched() else run_lock(out)


def launched() -> bool:
    """Whether this process was started by a launcher (a rank of Lightning, torchrun or srun).

    Returns
    -------
    bool
        True when ``LOCAL_RANK`` or ``SLURM_PROCID`` is set.
    """
    return "LOCAL_RANK" in os.environ or "SLURM_PROCID" in os.environ


@dataclass
class Tally:
    """Rows per status over a run (resumed rows included) and up to three distinct example records
    per status that is not ``ok`` (``chrom:pos REF``, ``pos`` 1-based as in VCF)."""

    statuses: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, status: str, n: int = 1) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + n

    def add_rows(self, rows: list, status_of) -> None:
        """Count rows (:class:`~zoo_tools.data.variants.Variant`) by ``status_of(row)``."""
        for v in rows:
            s = status_of(v)
            self.add(s)
            if s != "ok":
                self.example(s, v.chrom, v.pos, v.ref)

    def example(self, status: str, chrom: str, pos: int, ref: str) -> None:
        """Note a row that was not scored; three distinct records per status are kept."""
        seen = self.examples.setdefault(status, [])
        text = f"{chrom}:{pos} {ref}"
        if len(seen) < 3 and text not in seen:
            seen.append(text)

    def warn_unplaced(self, n_rows: int, genome: Genome) -> None:
        """Warn when many rows could not be placed on the genome (REF mismatches, positions past a
        contig's end, contigs it lacks): the VCF and the FASTA may be of different builds."""
        bad = {s: self.statuses.get(s, 0) for s in GENOME_STATUSES if self.statuses.get(s, 0)}
        total = sum(bad.values())
        if total and total >= max(3, 0.05 * n_rows):
            counts = ", ".join(f"{s} {n}" for s, n in bad.items())
            eg = "; ".join(f"{s}: {', '.join(self.examples.get(s, []))}" for s in bad)
            log.warning(
                "%d of %d variants could not be scored against %s (%s; e.g. %s): are the VCF and the FASTA "
                "of the same build?",
                total,
                n_rows,
                genome.path,
                counts,
                eg,
            )
