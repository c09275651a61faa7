"""The ``zoo`` command line: a thin layer over library functions.

Each subcommand parses its options, calls one library function and prints where the results went.
The command groups are modules of this package (:mod:`.data`, :mod:`.models`, :mod:`.score`,
:mod:`.interpret`, :mod:`.report`, :mod:`.train`); each adds its own subcommands with
``add_parsers(sub)`` and binds each to the function that runs it. Library code is imported inside
those functions, so ``zoo --help`` loads no model library.

A user mistake (:class:`~zoo_tools.core.errors.ZooError`) is printed as one line on stderr with exit
code 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from zoo_tools.cli import data, interpret, models, report, score, train
from zoo_tools.core.errors import ZooError
from zoo_tools.core.version import __version__

#: the command groups, in the order their commands are listed by ``zoo --help``
GROUPS = (data, models, score, interpret, report, train)


def build_parser() -> argparse.ArgumentParser:
    """The ``zoo`` argument parser, with the subcommands of every command group.

    Returns
    -------
    argparse.ArgumentParser
        A parser whose parsed arguments carry ``command`` and, for a complete command, ``func``:
        the function that runs it and returns the exit code.
    """
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Pretrained genomics models (gReLU zoo, Kipoi, Enformer, Borzoi, BPNet): "
        "fine-tune on your tracks, score VCFs, interpret.",
        epilog="Run `zoo COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"zoo_tools {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``zoo`` with ``argv`` (default: the process's arguments).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name.

    Returns
    -------
    int
        The exit code: 0 on success (and with no command, after printing the help), 2 on a user
        mistake (one line on stderr), 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ZooError as err:
        print(f"zoo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130
