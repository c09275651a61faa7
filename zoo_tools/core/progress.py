"""Progress for long work, on stderr: a tqdm bar on a terminal, progress lines in a log.

On a terminal a bar redraws in place. When stderr is not a terminal (a batch job, output
redirected to a file) every long step writes one plain line at least every 30 seconds
(``ZOO_PROGRESS_INTERVAL``), and one when it ends: the step, done / total, the percentage, the time
spent and left, and the rate, e.g. ``scoring my.vcf: 4096/10000 (41%) [02:10<03:08, 31.4 variant/s]``;
no carriage returns. ``ZOO_PROGRESS=1`` forces the terminal bar, ``ZOO_PROGRESS=0`` silences both.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings

from tqdm.auto import tqdm
from tqdm.std import tqdm as plain_tqdm

_LINE = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f}%) [{elapsed}<{remaining}, {rate_fmt}]{postfix}"
_LINE_OPEN = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}]{postfix}"


class LogProgress(plain_tqdm):
    """A tqdm counter that writes whole lines (no ``\\r``): one on each ``interval`` seconds (from a
    heartbeat thread, so that a long step between updates still reports) and one at the end."""

    def __init__(self, *args, interval: float = 30.0, **kwargs):
        self._interval, self._last = interval, -float("inf")
        kwargs.setdefault("bar_format", _LINE if kwargs.get("total") else _LINE_OPEN)
        super().__init__(*args, mininterval=interval, file=sys.stderr, **kwargs)
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(self._interval, 1.0)):
            self.refresh()

    def display(self, msg=None, pos=None, final: bool = False):
        """Write the progress line, whole, with a newline: at most one per interval, and the last."""
        now = time.monotonic()
        if not final and now - self._last < self._interval:
            return True
        self._last = now
        line = (msg or self.format_meter(**self.format_dict)).replace("\r", "").strip()
        if line:
            self.fp.write(line + "\n")
            self.fp.flush()
        return True

    def close(self):
        """Stop the heartbeat and write the last line."""
        if getattr(self, "_stop", None) is not None and not self._stop.is_set():
            self._stop.set()
            if not self.disable:
                self.display(final=True)
        self.disable = True
        super().close()


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
        A bar on a terminal or with ``ZOO_PROGRESS=1``; :class:`LogProgress` lines when stderr is
        not a terminal; a disabled bar (still counting) with ``ZOO_PROGRESS=0``.
    """
    env = os.environ.get("ZOO_PROGRESS", "").strip()
    if disable or env == "0":
        return tqdm(total=total, disable=True)
    if env != "1" and not sys.stderr.isatty() and "ipykernel" not in sys.modules:  # a log, not a notebook
        interval = float(os.environ.get("ZOO_PROGRESS_INTERVAL", "30") or 30)
        return LogProgress(total=total, desc=desc, unit=unit, interval=interval, **kwargs)
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
