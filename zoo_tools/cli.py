"""The ``zoo`` command line: a thin layer over library functions.

Each subcommand parses its options, calls one library function and prints where the results went.
A user mistake (:class:`~zoo_tools.errors.ZooError`) is printed as one line on stderr with exit
code 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from zoo_tools import __version__
from zoo_tools.errors import ZooError


def cmd_demo_data(args: argparse.Namespace) -> int:
    from zoo_tools.demo import DemoSpec, format_summary, make_demo_world

    summary = make_demo_world(args.out, DemoSpec(seed=args.seed))
    print(format_summary(summary))
    return 0


def cmd_check_data(args: argparse.Namespace) -> int:
    from zoo_tools.checks import check_data, format_check

    print(format_check(check_data(args.data, regions=args.regions, bin_size=args.bin_size)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Pretrained genomics models (gReLU zoo, Kipoi, Enformer, Borzoi, BPNet): "
                    "fine-tune on your tracks, score VCFs, interpret.",
        epilog="Run `zoo COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"zoo_tools {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo-data", help="write the planted-truth demo world (genome, tracks, peaks, VCF)",
                       description="Write the demo world: a ~1 Mb genome with planted TF motifs, "
                                   "ATAC/H3K27ac bigWigs of 3 cell types, narrowPeaks, data.yaml, a VCF "
                                   "and the ground truth (truth/, allelic/). Deterministic for a seed.")
    p.add_argument("out", help="output folder (created)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("check-data", help="validate a data YAML and the files it names",
                       description="Validate a data YAML: keys, files, genome index, bigWig contigs "
                                   "(through chr1/1 aliases), peak files and chromosome splits; print a "
                                   "summary of tracks and contigs per split.")
    p.add_argument("data", help="data YAML (see README: 'Bring your own ENCODE files')")
    p.add_argument("--regions", metavar="BED", help="also read every track over these regions (BED/narrowPeak)")
    p.add_argument("--bin-size", type=int, default=32, help="bin size for --regions (default 32)")
    p.set_defaults(func=cmd_check_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ZooError as err:
        print(f"zoo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
