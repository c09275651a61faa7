"""The `zoo` command line, run as a user would run it.

``run`` calls ``zoo_tools.cli.main`` in this process (the same entry point as the installed script,
with its own stdout, stderr, logging, warnings and environment), which spares each call the
interpreter and library start-up; commands that start processes of their own (``tune``, several
devices) and ``run(..., process=True)`` go through the installed script in a subprocess.
"""

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest
import yaml

import zoo_tools
from zoo_tools.cli import main

from .conftest import write_bigwig, write_fasta

ZOO = str(Path(sys.executable).parent / "zoo")


def _needs_process(args: list[str]) -> bool:
    """Commands that launch processes which re-run the command line (Ray, Lightning DDP)."""
    return args[:1] == ["tune"] or "--devices" in args or any(a.startswith("trainer.devices=") for a in args)


@contextlib.contextmanager
def _as_a_fresh_process(cwd):
    """Environment, working folder, root logger and warning filters as a new ``zoo`` process sees them."""
    env, here, root = dict(os.environ), os.getcwd(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    os.environ["ZOO_PROGRESS"] = "0"
    root.handlers, root.level = [], logging.WARNING
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            if cwd is not None:
                os.chdir(cwd)
            yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(env)
        root.handlers, root.level = handlers, level


def _in_process(args: list[str], cwd) -> subprocess.CompletedProcess:
    out, err = io.StringIO(), io.StringIO()
    with _as_a_fresh_process(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse: usage errors (2), --help / --version (0)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # what the installed script would print before exiting with 1
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess(["zoo", *args], code, out.getvalue(), err.getvalue())


def run(*args, cwd=None, process: bool = False) -> subprocess.CompletedProcess:
    """Run ``zoo ARGS``; returns the exit code, stdout and stderr as a subprocess would."""
    args = [str(a) for a in args]
    if not process and not _needs_process(args):
        return _in_process(args, cwd)
    return subprocess.run(
        [ZOO, *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, "ZOO_PROGRESS": "0"}
    )


def assert_user_error(res, *needles):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_version_and_help():
    res = run("--version", process=True)  # the installed script itself
    assert res.returncode == 0 and res.stdout.strip() == f"zoo_tools {zoo_tools.__version__}"
    res = run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"zoo_tools {zoo_tools.__version__}"
    res = run("--help")
    assert res.returncode == 0 and "demo-data" in res.stdout and "check-data" in res.stdout
    assert run().returncode == 0


@pytest.mark.slow
def test_demo_data_then_check_data(tmp_path):
    res = run("demo-data", tmp_path / "w", "--seed", "3")
    assert res.returncode == 0, res.stderr
    assert "demo world written to" in res.stdout and "planted" in res.stdout
    for f in (
        "genome.fa",
        "genome.fa.fai",
        "data.yaml",
        "variants.vcf",
        "truth/variants.tsv",
        "truth/motif_sites.tsv",
        "allelic/allelic_counts.tsv",
    ):
        assert (tmp_path / "w" / f).exists(), f
    peaks = tmp_path / "w" / "peaks" / "cellA_ATAC.narrowPeak"
    res = run("check-data", tmp_path / "w" / "data.yaml", "--regions", peaks)
    assert res.returncode == 0, res.stderr
    assert "OK" in res.stdout and "regions:" in res.stdout


@pytest.fixture
def user_files(tmp_path):
    """A user's data folder: FASTA (chr1-chr4, 200 bp each) and a bigWig lacking chr2; test chr1,
    val chr3, so chr2 and chr4 train."""
    seqs = {"chr1": "ACGT" * 50, "chr2": "GGCC" * 50, "chr3": "ATTA" * 50, "chr4": "CAGT" * 50}
    write_fasta(tmp_path / "g.fa", seqs)
    cover = {c: 200 for c in ("chr1", "chr3", "chr4")}
    write_bigwig(tmp_path / "a.bw", cover, [(c, 0, 200, 1.0) for c in cover])
    splits = {"val": ["chr3"], "test": ["chr1"]}
    (tmp_path / "data.yaml").write_text(
        yaml.safe_dump({"genome": "g.fa", "tracks": [{"name": "a", "path": "a.bw"}], "splits": splits})
    )
    return tmp_path


def test_check_data_ok(user_files):
    (user_files / "r.bed").write_text("1\t10\t50\n")
    args = ["check-data", user_files / "data.yaml", "--regions", user_files / "r.bed", "--bin-size", "8"]
    res = run(*args, "--seq-len", "32")
    assert res.returncode == 0, res.stderr
    assert "missing contigs: chr2" in res.stdout
    # no peaks: the genome is tiled in half-overlapping 32 bp windows (11 per 200 bp contig)
    assert "train  : 0 peak + 22 background windows on chr2, chr4" in res.stdout
    assert "val    : 0 peak + 11 background windows on chr3" in res.stdout
    assert_user_error(run(*args), "no training windows at all", "--seq-len")  # 2048 bp fits in no contig


def test_missing_file(user_files):
    assert_user_error(run("check-data", user_files / "nope.yaml"), "nope.yaml", "not found")


def test_fasta_without_index(user_files):
    os.remove(user_files / "g.fa.fai")
    assert_user_error(run("check-data", user_files / "data.yaml"), "g.fa", "has no index", "samtools faidx")


def test_bigwig_without_requested_contig(user_files):
    (user_files / "r.bed").write_text("chr2\t10\t50\n")
    assert_user_error(
        run("check-data", user_files / "data.yaml", "--regions", user_files / "r.bed"),
        "contig 'chr2' not found in bigWig",
        "a.bw",
    )


def test_unknown_key(user_files):
    data = yaml.safe_load((user_files / "data.yaml").read_text())
    data["tracks"][0]["colour"] = "red"
    (user_files / "data.yaml").write_text(yaml.safe_dump(data))
    assert_user_error(run("check-data", user_files / "data.yaml"), "data.yaml", "unknown key 'tracks[0].colour'")


def test_interval_past_contig_end(user_files):
    (user_files / "r.bed").write_text("chr1\t10\t50\nchr1\t150\t260\n")
    assert_user_error(
        run("check-data", user_files / "data.yaml", "--regions", user_files / "r.bed"),
        "r.bed record 2",
        "runs past the end of chr1",
        "genome build",
    )


def test_split_contig_not_in_genome(user_files):
    data = yaml.safe_load((user_files / "data.yaml").read_text())
    data["splits"]["val"] = ["chrX"]
    (user_files / "data.yaml").write_text(yaml.safe_dump(data))
    assert_user_error(run("check-data", user_files / "data.yaml"), "splits.val: contig 'chrX'")


def test_bad_option_exits_2(tmp_path):
    res = run("demo-data", tmp_path, "--seed", "abc")
    assert res.returncode == 2 and "invalid int value" in res.stderr


def test_console_script_installed():
    assert shutil.which("zoo", path=str(Path(sys.executable).parent))


def test_bigwig_from_another_build(user_files):
    write_bigwig(user_files / "a.bw", {"chr1": 300, "chr2": 200}, [("chr1", 0, 200, 1.0)])
    assert_user_error(
        run("check-data", user_files / "data.yaml"),
        "a.bw",
        "contig chr1 is 300 bp in the bigWig",
        "different genome builds",
    )


def test_every_command_and_option_is_documented_in_the_readme():
    import argparse

    from zoo_tools.cli import build_parser

    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"finetune", "tune", "predict", "demo-data"} <= set(sub.choices)
    commands = []
    for name, parser in sub.choices.items():
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        commands += [(f"{name} {n}", p) for a in nested for n, p in a.choices.items()] or [(name, parser)]
        if nested:
            assert f"zoo {name}" in readme, f"zoo {name} is not in the README"
    for name, parser in commands:
        first = name.split()[0]
        assert f"zoo {name}" in readme or (f"zoo {first}" in readme and f"`{name.split()[-1]}`" in readme), (
            f"zoo {name} is not in the README"
        )
        for action in parser._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in readme or f" {opt} " in readme or f" {opt}=" in readme, (
                        f"zoo {name} {opt} is not in the README"
                    )


def test_report_indexes_what_it_finds(tmp_path):
    """zoo report: a run, a scores table ranked against a demo truth (auROC by hand: 3 of the 4
    positive-negative pairs are ordered right = 0.75), links by relative path; empty folder -> one line."""
    import json

    run_dir = tmp_path / "runs" / "mt"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("name: x\n")
    (run_dir / "metrics.json").write_text(
        json.dumps(
            {
                "recipe": "multitask_encode",
                "model": "demo:base",
                "chromosomes": {"test": ["chr4"]},
                "epochs_run": 3,
                "warnings": ["tracks differ 6.0x"],
                "test": {"per_task": {"a": {"pearson": 0.5}, "b": {"pearson": 0.7}}, "mean": {"pearson": 0.6}},
            }
        )
    )
    (tmp_path / "world" / "truth").mkdir(parents=True)
    (tmp_path / "world" / "truth" / "variants.tsv").write_text(
        "chrom\tpos\tref\talt\tbreaks_motif\nchr1\t1\tA\tC\tTrue\nchr1\t2\tA\tC\tTrue\nchr1\t3\tA\tC\tFalse\n"
        "chr1\t4\tA\tC\tFalse\n"
    )
    (tmp_path / "scores.tsv").write_text(
        "record\tchrom\tpos\tid\tref\talt\tstatus\tt:diff\tmax_abs_effect\n0\tchr1\t1\t.\tA\tC\tok\t0.9\t0.9\n"
        "1\tchr1\t2\t.\tA\tC\tok\t0.2\t0.2\n2\tchr1\t3\t.\tA\tC\tok\t0.3\t0.3\n3\tchr1\t4\t.\tA\tC\tok\t0.1\t0.1\n"
    )
    res = run("report", tmp_path, "--title", "my runs")
    assert res.returncode == 0, res.stderr
    assert "runs/mt: test Pearson 0.600 over 2 tracks" in res.stdout
    assert "scores.tsv: 4 alleles scored, auROC 0.750" in res.stdout
    page = (tmp_path / "index.html").read_text()
    assert "<title>my runs</title>" in page and "tracks differ 6.0x" in page
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(run("report", empty), "no zoo_tools outputs")
