"""User-facing errors.

A :class:`ZooError` is raised for a user mistake (a missing file, an unknown contig, a bad key in
a YAML file, ...). Its message is one line that names the file / record / key and says how to fix
it. The CLI prints it without a traceback and exits with code 2; library callers can catch it.
"""

from __future__ import annotations

import os


class ZooError(ValueError):
    """A user mistake, reported as one line naming the file, record or key and the fix."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def require_file(path: str | os.PathLike, what: str = "file", fix: str = "check the path") -> str:
    """Return ``str(path)`` if it is an existing file, else raise a one-line :class:`ZooError`.

    Parameters
    ----------
    path : str or os.PathLike
        The file to check.
    what, fix : str
        What the file is and how to fix a bad path, both put in the error message.

    Returns
    -------
    str
        ``os.fspath(path)``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ZooError(f"{what} not found: {path} ({fix})")
    if os.path.isdir(path):
        raise ZooError(f"{what} is a directory, not a file: {path} ({fix})")
    return path


def short_list(items, limit: int = 12) -> str:
    """Format a list of names for an error message, eliding all but the first ``limit``.

    Parameters
    ----------
    items : iterable
        The names (any objects; ``str`` is applied).
    limit : int
        How many names to show before ``..., (n in all)``.

    Returns
    -------
    str
    """
    items = [str(x) for x in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"
