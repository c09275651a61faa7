"""Choosing tasks (output tracks) of a model by name or pattern."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, short_list


def select_tasks(tasks: pd.DataFrame, patterns: list[str] | None) -> np.ndarray:
    """Indices of tasks whose name equals, or matches as a regular expression, any pattern.

    Parameters
    ----------
    tasks : a task table (its ``name`` column).
    patterns : task names or regular expressions (``re.search``); None or empty: all tasks.
        ZooError for an invalid expression or a pattern that matches no task.

    Returns
    -------
    numpy.ndarray
        int64 indices, sorted and without repeats.
    """
    if not patterns:
        return np.arange(len(tasks))
    names = tasks["name"].tolist()
    keep = []
    for pat in patterns:
        if pat in names:
            keep.append(names.index(pat))
            continue
        try:
            rx = re.compile(pat)
        except re.error as err:
            raise ZooError(f"--tasks '{pat}' is not a task name or a valid regular expression ({err})") from None
        hits = [i for i, n in enumerate(names) if rx.search(n)]
        if not hits:
            raise ZooError(f"--tasks '{pat}' matches no task (tasks: {short_list(names)})")
        keep += hits
    return np.array(sorted(dict.fromkeys(keep)), dtype=np.int64)
