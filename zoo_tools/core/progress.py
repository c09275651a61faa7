"""Progress bars for long work (tqdm on stderr).

Bars are shown when stderr is a terminal; set ``ZOO_PROGRESS=1`` to force them (e.g. in a batch
job log) or ``ZOO_PROGRESS=0`` to silence them.
"""

from __future__ import annotations

import logging
import os
import warnings

from tqdm.auto import tqdm


def progress_bar(
    *, total: int | None = None, desc: str = "", unit: str = "it", disable: bool = False, **kwargs
) -> tqdm:
    """A tqdm bar honouring ``ZOO_PROGRESS``; use as a context manager and call ``update(n)``.

    Parameters
    ----------
    total : int, optional
        The number of units expected.
    desc, unit : str
        The bar's label and unit name.
    disable : bool
        No bar, whatever ``ZOO_PROGRESS`` says (so does ``ZOO_PROGRESS=0``).
    **kwargs
        Passed on to ``tqdm``.

    Returns
    -------
    tqdm.auto.tqdm
        Shown on a terminal or with ``ZOO_PROGRESS=1``; a disabled bar still counts.
    """
    env = os.environ.get("ZOO_PROGRESS", "").strip()
    if disable or env == "0":
        return tqdm(total=total, disable=True)
    return tqdm(total=total, desc=desc, unit=unit, disable=None if env != "1" else False, dynamic_ncols=True, **kwargs)


def quiet_lightning() -> None:
    """Keep Lightning's start-up banners and known-harmless warnings out of the output.

    Unless ``zoo -v`` (root logger at INFO or lower), Lightning's loggers are set to WARNING.
    """
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")  # frozen trunks, by design
    warnings.filterwarnings("ignore", message=r".*predict returned None.*")  # scoring writes its rows itself
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
