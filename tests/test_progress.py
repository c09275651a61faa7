"""Progress where there is no terminal: stderr captured (a pipe, as in a batch job's log) gets
whole progress lines at the interval and at the end, never carriage returns; ZOO_PROGRESS=0
silences them."""

import os
import re
import subprocess
import sys

from .test_cli import ZOO

SCRIPT = """
import time
from zoo_tools.core.progress import progress_bar
with progress_bar(total=10, desc="step", unit="win") as bar:
    for i in range(10):
        time.sleep(0.05)
        bar.update(1)
        if i == 4:
            time.sleep(1.6)  # a long stretch without updates: the heartbeat still reports
"""
LINE = re.compile(r"^step: (\d+)/10 \((\d+)%\) \[\d\d:\d\d<(\?|\d\d:\d\d), +(\?|[\d.]+)win/s\]$")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "ZOO_PROGRESS"}
    return {**env, **extra}


def test_progress_lines_in_a_log():
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=_env(ZOO_PROGRESS_INTERVAL="0.4"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "\r" not in res.stderr
    lines = res.stderr.strip().splitlines()
    parsed = [LINE.match(x) for x in lines]
    assert all(parsed), lines
    done = [int(m.group(1)) for m in parsed]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 10 and parsed[-1].group(2) == "100"
    assert done.count(5) >= 3  # at 5/10 for 1.6 s: a line each 0.4 s from the heartbeat
    assert len(lines) <= 14  # at most one line per interval (plus the first and the last)


def test_zoo_progress_0_silences_them():
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=_env(ZOO_PROGRESS="0", ZOO_PROGRESS_INTERVAL="0.4"))  # fmt: skip
    assert res.returncode == 0 and res.stderr == ""


def test_a_real_command_logs_its_long_step(tmp_path):
    res = subprocess.run([ZOO, "demo-data", str(tmp_path / "w")], capture_output=True, text=True,
                         env=_env(ZOO_PROGRESS_INTERVAL="0"))  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    tracks = [x for x in res.stderr.splitlines() if x.startswith("demo tracks: ")]
    assert tracks and tracks[-1].startswith("demo tracks: 6/6 (100%)") and "\r" not in res.stderr
