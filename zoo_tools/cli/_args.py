"""Pieces shared by the command-group modules: adding a command, common options, common checks."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable

from zoo_tools.core.errors import ZooError

TRUST_HELP = "allow checkpoints that need full unpickling (can run code: only for files you trust)"
TASKS_HELP = "task names or regular expressions (default: all)"

Command = Callable[[argparse.Namespace], int]


def add_command(sub: argparse._SubParsersAction, name: str, func: Command) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` and make ``func`` the function that runs it.

    The help texts are ``func``'s docstring: its first line is the command's line in the parent's
    help, the paragraph after it the description of the command's own ``--help``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of ``zoo`` (or of a command group such as ``zoo interpret``).
    name : str
        The command's name.
    func : callable
        Called with the parsed arguments; returns the exit code.

    Returns
    -------
    argparse.ArgumentParser
        The new subcommand's parser, for its options.
    """
    short, _, about = inspect.cleandoc(func.__doc__ or "").partition("\n\n")
    parser = sub.add_parser(name, help=short.strip(), description=" ".join(about.split()) or None)
    parser.set_defaults(func=func)
    return parser


def add_trust(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust-checkpoint`` (full unpickling of checkpoints) to ``parser``."""
    parser.add_argument("--trust-checkpoint", action="store_true", help=TRUST_HELP)


def add_tasks(parser: argparse.ArgumentParser) -> None:
    """Add ``--tasks`` (task names or regular expressions, default all) to ``parser``."""
    parser.add_argument("--tasks", nargs="+", help=TASKS_HELP)


def check_batching(args: argparse.Namespace) -> None:
    """Refuse ``--batch-size`` under 1 or ``--window-bins`` under 0.

    Raises
    ------
    ZooError
        When either is out of range.
    """
    if args.batch_size < 1 or args.window_bins < 0:
        raise ZooError("--batch-size must be >= 1 and --window-bins >= 0")
