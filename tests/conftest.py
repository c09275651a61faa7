"""Shared fixtures: tiny hand-made files with known contents, and the demo world (built once)."""

from __future__ import annotations

import os

import numpy as np
import pyBigWig
import pyfaidx
import pytest

os.environ.setdefault("ZOO_PROGRESS", "0")
# No network in the test session: hub libraries are told so, and any socket to a non-local address
# fails (models and data come from files the tests write).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _no_network():
    import socket

    original = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise OSError(f"network disabled in tests (tried {address})")
        return original(self, address)

    socket.socket.connect = connect


_no_network()

TINY = {
    # 0-based:   0         1         2
    #            0123456789012345678901234567
    "chr1": "ACGTACGTNNacgtGGGGCCCCAATTAA",
    "chrM": "GATTACAGATTACA",
}


def write_fasta(path, seqs: dict[str, str], index: bool = True) -> str:
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(seq), 10):
                fh.write(seq[i : i + 10] + "\n")
    if index:
        pyfaidx.Faidx(str(path)).close()
    return str(path)


def write_bigwig(path, sizes: dict[str, int], entries: list[tuple[str, int, int, float]]) -> str:
    """entries: (chrom, start, end, value) runs, sorted; bases outside any run are uncovered."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, start, end, value in entries:
        bw.addEntries([chrom], [start], ends=[end], values=[float(value)])
    bw.close()
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def zoo_home(tmp_path_factory):
    """A model cache for the session (ZOO_TEST_HOME reuses one across runs, e.g. the demo model)."""
    home = os.environ.get("ZOO_TEST_HOME") or str(tmp_path_factory.mktemp("zoo_home"))
    os.environ["ZOO_HOME"] = home
    return home


@pytest.fixture
def tiny_fasta(tmp_path):
    return write_fasta(tmp_path / "tiny.fa", TINY)


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The demo world (seed 0), generated once per test session."""
    from zoo_tools.data.demo import make_demo_world

    out = tmp_path_factory.mktemp("world")
    make_demo_world(str(out))
    return str(out)


@pytest.fixture(scope="session")
def world_windows(world):
    """300 random 2,048 bp windows on the demo genome (some running past contig ends)."""
    import pandas as pd

    from zoo_tools.data.genome import Genome

    g = Genome(os.path.join(world, "genome.fa"))
    rng = np.random.default_rng(1)
    chroms = rng.choice(list(g.contigs), 300)
    starts = np.array([rng.integers(-500, g.contigs[c] - 1500) for c in chroms])
    return pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + 2048})


@pytest.fixture(scope="session")
def tuned(tmp_path_factory, world, zoo_home):
    """The demo recipe fine-tuned with a frozen trunk (fast) on the demo world; shared by the
    scoring and interpretation tests."""
    from .test_cli import run

    recipe = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")
    out = tmp_path_factory.mktemp("ft_frozen")
    res = run("finetune", recipe, "--out", out, "--set", f"data={world}/data.yaml", "train.freeze_trunk=true")
    assert res.returncode == 0, res.stderr[-2000:]
    return str(out)
