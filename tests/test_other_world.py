"""The same commands on a world of another shape: Ensembl contig names in the FASTA, UCSC names in
some bigWigs and peak files, other motifs, two cell types, hostile peak records."""

import json
import os

import numpy as np
import pyBigWig
import pytest
import yaml

from zoo_tools.demo import DemoSpec, make_demo_world

from .test_cli import run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


def rename_bigwig(path: str, prefix: str) -> None:
    """Rewrite a bigWig with every contig renamed ``prefix + name``."""
    with pyBigWig.open(path) as bw:
        sizes = bw.chroms()
        values = {c: np.nan_to_num(bw.values(c, 0, n, numpy=True)) for c, n in sizes.items()}
    out = pyBigWig.open(path, "w")
    out.addHeader([(prefix + c, n) for c, n in sizes.items()])
    for c, v in values.items():
        nz = np.flatnonzero(v)
        if len(nz):
            out.addEntries([prefix + c] * len(nz), nz.tolist(), ends=(nz + 1).tolist(),
                           values=v[nz].astype(float).tolist())
    out.close()


@pytest.fixture(scope="module")
def other_world(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("other_world"))
    spec = DemoSpec(
        seed=11,
        contigs={"1": 300_000, "2": 220_000, "X": 200_000},
        val=["chr2"], test=["chrX"],  # split names spelled differently from the FASTA
        motif_names={"REST": "C130:REST:C2H2_ZF", "TP53": "C091:TP:p53", "SRF": "C134:SRF:MADS_box",
                     "SOX": "C064:SOX_SRY:Sox"},
        drivers=["REST", "TP53", "SRF"], decoy="SOX",
        cell_types={"liver": {"TP53": 1.0, "SRF": 0.5}, "brain": {"REST": 1.0, "SRF": 0.5}},
        inactive_for_chip=[], depths={"liver_ATAC": 2.0, "brain_ATAC": 0.6},
    )
    make_demo_world(out, spec)
    rename_bigwig(os.path.join(out, "tracks", "liver_ATAC.bw"), "chr")  # UCSC names in one track
    peaks = os.path.join(out, "peaks", "brain_ATAC.narrowPeak")
    lines = open(peaks).read().splitlines()
    hostile = ["track name=brain_atac", "# a comment"] + [f"chr{line}" for line in lines[:-1]]
    last = lines[-1].split("\t")
    last[9] = "-1"  # summit unknown: centre on the midpoint
    hostile.append("\t".join(last))
    with open(peaks, "w", newline="") as fh:
        fh.write("\r\n".join(hostile) + "\r\n")  # CRLF line ends
    return out


def test_check_data_on_other_world(other_world):
    res = run("check-data", os.path.join(other_world, "data.yaml"), "--regions",
              os.path.join(other_world, "peaks", "brain_ATAC.narrowPeak"))
    assert res.returncode == 0, res.stderr
    assert "val    : 2" in res.stdout and "test   : X" in res.stdout


@pytest.mark.slow
def test_finetune_on_other_world(other_world, tmp_path, zoo_home):
    out = tmp_path / "ft"
    res = run("finetune", RECIPE, "--out", out, "--set", f"data={os.path.join(other_world, 'data.yaml')}",
              "--set", "train.freeze_trunk=true", "--set", "train.epochs=4")
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["chromosomes"] == {"train": ["1"], "val": ["2"], "test": ["X"]}
    assert set(m["test"]["per_task"]) == {"liver_ATAC", "liver_H3K27ac", "brain_ATAC", "brain_H3K27ac"}
    assert m["test"]["mean"]["pearson"] > 0.3  # the pretrained vocabulary covers these motifs too
    data = yaml.safe_load(open(os.path.join(other_world, "data.yaml")))
    assert data["splits"] == {"val": ["chr2"], "test": ["chrX"]}
