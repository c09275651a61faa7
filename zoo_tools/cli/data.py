"""``zoo demo-data`` and ``zoo check-data``: the demo world and checks of a user's data YAML."""

from __future__ import annotations

import argparse

from zoo_tools.cli._args import add_command


def _cmd_demo_data(args: argparse.Namespace) -> int:
    """write the planted-truth demo world (genome, tracks, peaks, VCF)

    Write the demo world: a ~1 Mb genome with planted TF motifs, ATAC/H3K27ac bigWigs of 3 cell types,
    narrowPeaks, data.yaml, a VCF and the ground truth (truth/, allelic/). Deterministic for a seed.
    """
    from zoo_tools.data.demo import DemoSpec, format_summary, make_demo_world

    summary = make_demo_world(args.out, DemoSpec(seed=args.seed))
    print(format_summary(summary))
    return 0


def _cmd_check_data(args: argparse.Namespace) -> int:
    """validate a data YAML and the files it names

    Validate a data YAML: keys, files, genome index, bigWig contigs (through chr1/1 aliases), peak files and
    chromosome splits; print a summary of tracks and contigs per split.
    """
    from zoo_tools.data.checks import check_data, format_check

    print(format_check(check_data(args.data, regions=args.regions, bin_size=args.bin_size, seq_len=args.seq_len)))
    return 0


def _add_demo_data(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo-data", _cmd_demo_data)
    p.add_argument("out", help="output folder (created)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _add_check_data(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "check-data", _cmd_check_data)
    p.add_argument("data", help="data YAML (see README: 'Bring your own ENCODE files')")
    p.add_argument("--regions", metavar="BED", help="also read every track over these regions (BED/narrowPeak)")
    p.add_argument("--bin-size", type=int, default=32, help="bin size for --regions (default 32)")
    p.add_argument(
        "--seq-len",
        type=int,
        default=2048,
        help="window length in bp, the model's input length: training windows and --regions windows (default 2048)",
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``demo-data`` and ``check-data`` to the subcommands ``sub`` of ``zoo``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``zoo`` parser.
    """
    _add_demo_data(sub)
    _add_check_data(sub)
