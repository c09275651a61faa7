"""Inter-process locks for work that several processes may start at once (parallel test workers,
DDP ranks, array jobs sharing one ``$ZOO_HOME``): the first builds, the others wait and reuse."""

from __future__ import annotations

import contextlib
import fcntl
import os


@contextlib.contextmanager
def file_lock(path: str | os.PathLike):
    """Hold an exclusive ``flock`` on ``path`` (created, with its folder, if missing) for the ``with`` block.

    Parameters
    ----------
    path : str or os.PathLike
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
