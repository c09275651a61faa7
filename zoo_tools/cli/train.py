"""``zoo finetune`` and ``zoo tune``: a recipe run into a loadable model, or a search over recipes."""

from __future__ import annotations

import argparse

from zoo_tools.cli._args import add_command

_SET_METAVAR = "KEY=VALUE"


def _cmd_finetune(args: argparse.Namespace) -> int:
    """fine-tune a model on your tracks with a recipe

    Run a fine-tuning recipe (recipes/*.yaml): a new head on a zoo model's trunk (multitask: every track of the
    data YAML; siamese: allelic imbalance from the two alleles; celltype: another assay from sequence + a cell
    type's ATAC), trained with chromosome splits. Writes model.ckpt (load with local:OUT), metrics.json,
    log.csv, curves.png, pred_vs_obs.png and config.yaml into OUT.
    """
    from zoo_tools.train import finetune, load_recipe

    result = finetune(load_recipe(args.recipe, args.set), args.out)
    if result.is_complete:
        print(result.summary(args.out))
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    """hyper-parameter search over a recipe (Ray Tune, ASHA)

    Sample recipe settings from a space YAML, run each trial with Ray Tune and stop the poor ones early with
    ASHA. Writes trials.tsv and best_config.yaml (run it with zoo finetune) into OUT.
    """
    from zoo_tools.train.tune import run_tune, summary

    cluster = dict(address=args.address, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial)
    table = run_tune(args.recipe, args.space, args.trials, args.out, sets=args.set, **cluster)
    print(summary(table, args.out))
    return 0


def _add_finetune(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "finetune", _cmd_finetune)
    p.add_argument("recipe", help="recipe YAML, e.g. recipes/multitask_encode.yaml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--set",
        action="extend",
        nargs="+",
        metavar=_SET_METAVAR,
        help="override recipe keys, e.g. --set data=my_data.yaml train.epochs=3 (repeatable)",
    )


def _add_tune(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "tune", _cmd_tune)
    p.add_argument("recipe", help="recipe YAML, e.g. recipes/multitask_encode.yaml")
    p.add_argument("--space", required=True, help="search space YAML, e.g. configs/tune/multitask_space.yaml")
    p.add_argument("--trials", type=int, default=8, help="number of sampled trials (default 8)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--address", help="Ray cluster address (e.g. ray://head:10001 or auto); default: a local Ray")
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs reserved per trial (default 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPUs reserved per trial (default 0)")
    p.add_argument(
        "--set",
        action="extend",
        nargs="+",
        metavar=_SET_METAVAR,
        help="recipe overrides applied to every trial, e.g. --set train.epochs=4",
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``finetune`` and ``tune`` to the subcommands ``sub`` of ``zoo``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``zoo`` parser.
    """
    _add_finetune(sub)
    _add_tune(sub)
