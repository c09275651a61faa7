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
    """A tqdm bar honouring ``ZOO_PROGRESS``; use as a context manager and call ``update(n)``."""
    env = os.environ.get("ZOO_PROGRESS", "").strip()
    if disable or env == "0":
        return tqdm(total=total, disable=True)
    return tqdm(total=total, desc=desc, unit=unit, disable=None if env != "1" else False, dynamic_ncols=True, **kwargs)


def quiet_lightning() -> None:
    """Keep Lightning's start-up banners and known-harmless warnings out of the output unless
    ``zoo -v`` (root logger at INFO or lower)."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")  # frozen trunks, by design
    warnings.filterwarnings("ignore", message=r".*predict returned None.*")  # scoring writes its rows itself
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
