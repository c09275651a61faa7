"""``zoo report``: one index.html over a folder of zoo outputs."""

from __future__ import annotations

import argparse

from zoo_tools.cli._args import add_command


def _cmd_report(args: argparse.Namespace) -> int:
    """one index.html over a folder of zoo outputs

    Find fine-tuning runs, variant scores, ISM, marginalisation and TF-MoDISco outputs under FOLDER and
    write FOLDER/index.html linking their metrics, plots and tables; print a summary.
    """
    from zoo_tools.report import build_index

    path, summary = build_index(args.folder, args.title)
    print(summary + f"\n  -> {path}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` to the subcommands ``sub`` of ``zoo``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``zoo`` parser.
    """
    p = add_command(sub, "report", _cmd_report)
    p.add_argument("folder", help="folder the zoo commands wrote into (e.g. demo_out)")
    p.add_argument("--title", default="zoo_tools report", help="page title")
