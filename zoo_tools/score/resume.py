"""Resumable partial files: the TSV a run scores into, chunk by chunk, and where to continue it.

Each chunk's rows are appended to ``OUT.partial.tsv`` (one per rank on several devices) and
flushed to disk (:func:`~zoo_tools.score.formats.write_rows`), so after an interruption
``resume`` finds the complete rows (:func:`resume_point`) and continues after them without
rescoring; an incomplete last line is cut off.
"""

from __future__ import annotations

import contextlib
import glob
import os

from zoo_tools.core.errors import ZooError
from zoo_tools.data.variants import Variant
from zoo_tools.score.formats import write_rows
from zoo_tools.score.stream import Scorer


def complete_rows(path: str, columns: list[str]) -> int:
    """Rows already written to a partial file; an incomplete last line is cut off.

    The file is read line by line (memory flat in its size) and truncated in place after its last
    complete row; a file whose header is incomplete is emptied.

    Parameters
    ----------
    path : str
        The partial TSV (``OUT.partial.tsv``).
    columns : list of str
        The columns the run writes; a header that differs is a ``ZooError`` (other options).

    Returns
    -------
    int
        Complete rows after the header; -1 when not even the header is complete.
    """
    with open(path, "rb+") as fh:
        header = fh.readline()
        if not header.endswith(b"\n"):
            fh.truncate(0)
            return -1
        if header.decode().rstrip("\n").split("\t") != columns:
            raise ZooError(f"{path}: written with other options (columns differ); rerun without --resume to start over")
        n, end = 0, len(header)
        for line in fh:
            if not line.endswith(b"\n"):
                break
            n, end = n + 1, end + len(line)
        fh.truncate(end)
    return n


def resume_point(path: str, columns: list[str], resume: bool) -> int:
    """Complete rows of the partial file ``path`` to continue after; -1: start it afresh.

    Parameters
    ----------
    path : str
        The partial TSV.
    columns : list of str
        The run's output columns, checked against the file's header (:func:`complete_rows`).
    resume : bool
        Continue an interrupted run; False: start afresh whatever is there.

    Returns
    -------
    int
        Rows to skip (:func:`complete_rows`); -1 when not resuming, when there is no file or when
        its header is incomplete.
    """
    return complete_rows(path, columns) if resume and os.path.exists(path) else -1


class PartialTable:
    """A partial TSV that chunks of rows are scored into, continuing after ``done`` complete rows.

    Parameters
    ----------
    path : str
        The partial TSV: appended to when ``done >= 0``, else written afresh with its header.
    scorer : Scorer
        Scores the chunks; its ``columns`` head the file.
    done : int
        Rows already in the file (:func:`resume_point`); they are skipped, not rescored.
    """

    def __init__(self, path: str, scorer: Scorer, done: int):
        self.scorer = scorer
        self.fh = open(path, "a" if done >= 0 else "w")
        if done < 0:
            self.fh.write("\t".join(scorer.columns) + "\n")
        self.done = max(done, 0)
        self.seen = 0

    def add(self, chunk: list[Variant]) -> None:
        """Score and append the chunk's rows that are not in the file yet."""
        first, self.seen = self.seen, self.seen + len(chunk)
        if self.seen > self.done:  # rows before `done` were written before an interruption
            write_rows(self.fh, self.scorer.score(chunk[max(self.done - first, 0) :]))

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> PartialTable:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _rows_in(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(line.endswith(b"\n") for line in fh) - 1  # after the header


@contextlib.contextmanager
def stopped_run(*partials: str, pattern: str | None = None):
    """When the ``with`` block stops on a :class:`ZooError` (bad input found mid-file), keep the
    partial files only if they hold rows, and say so in the error; else remove them.

    Parameters
    ----------
    *partials : str
        The run's partial TSVs.
    pattern : str, optional
        A glob of more partial files, found when the error comes (per-device files).
    """
    try:
        yield
    except ZooError as err:
        paths = [p for p in (*partials, *(sorted(glob.glob(pattern)) if pattern else [])) if os.path.exists(p)]
        rows = {p: _rows_in(p) for p in paths}
        if sum(max(n, 0) for n in rows.values()) > 0:
            kept = [p for p, n in rows.items() if n > 0]
            one = len(kept) == 1
            raise ZooError(
                f"{err}. {', '.join(kept)} keep{'s' if one else ''} the {sum(max(n, 0) for n in rows.values())} rows "
                f"scored before it: fix the input and rerun with --resume to continue after them (or delete "
                f"{'it' if one else 'them'})"
            ) from None
        for p in paths:
            os.remove(p)
        raise
