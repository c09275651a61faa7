"""Hyper-parameter sweeps of a recipe with Ray Tune and the ASHA scheduler (``zoo tune``).

A *space* YAML maps recipe keys (as for ``--set``) to a distribution::

    train.lr: {loguniform: [0.001, 0.05]}
    train.batch_size: {choice: [32, 64]}
    head.hidden: {choice: [32, 64, 128]}
    head.dropout: {uniform: [0.0, 0.3]}
    head.layers: {randint: [1, 4]}         # 1, 2 or 3 (upper bound excluded)

Each trial runs the recipe (``finetune.run``) with the sampled values and reports the validation
loss after every epoch; ASHA (asynchronous successive halving: the seeds' recommendation for
neural networks) stops the worst trials early at epochs 1, 2, 4, ... so the budget goes to the
promising ones. Sampling is seeded (``train.seed``), so the same command samples the same trials.

Outputs in ``OUT``: ``trials.tsv`` (one row per trial: its values, best and last validation loss,
epochs run, whether ASHA stopped it, its validation / test Pearson when it finished),
``best_config.yaml`` (the recipe with the best trial's values: ``zoo finetune best_config.yaml
--out DIR`` runs it), ``trials/<id>/`` (each trial's run folder) and ``ray_results/`` (Ray's own
records). With ``--address`` the trials run on an existing Ray cluster (``ray start --head`` on
one machine, ``ray start --address=...`` on the others); the recipe's data and ``$ZOO_HOME`` must
then be on a shared file system.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import load_yaml

log = logging.getLogger(__name__)

DISTRIBUTIONS = {
    "choice": "list of values",
    "uniform": "[low, high]",
    "loguniform": "[low, high], low > 0",
    "randint": "[low, high), integers",
    "quniform": "[low, high, step]",
}


def parse_space(raw: dict[str, Any], source: str) -> dict[str, tuple[str, list]]:
    """``{key: {kind: args}}`` -> ``{key: (kind, args)}``, checked; errors name the key and the fix.

    Parameters
    ----------
    raw : the space YAML's mapping (recipe key -> one of :data:`DISTRIBUTIONS` with its arguments).
    source : the space file's name, for errors.

    Returns
    -------
    dict[str, tuple[str, list]]
        ``{recipe key: (distribution, arguments)}``.
    """
    if not raw:
        raise ZooError(f"{source}: the search space is empty; map recipe keys to e.g. {{choice: [a, b]}}")
    space = {}
    for key, spec in raw.items():
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
            kinds = ", ".join(f"{k}: {v}" for k, v in DISTRIBUTIONS.items())
            raise ZooError(f"{source}: key '{key}': expected one of {{{kinds}}}, got {spec!r}")
        kind, args = next(iter(spec.items()))
        if not isinstance(args, list) or not args:
            raise ZooError(f"{source}: key '{key}': {kind} takes a list ({DISTRIBUTIONS[kind]})")
        if kind != "choice":
            need = 3 if kind == "quniform" else 2
            if len(args) != need or not all(isinstance(a, (int, float)) for a in args) or args[0] >= args[1]:
                raise ZooError(f"{source}: key '{key}': {kind} takes {DISTRIBUTIONS[kind]}, got {args}")
            if kind == "loguniform" and args[0] <= 0:
                raise ZooError(f"{source}: key '{key}': loguniform needs low > 0, got {args}")
        space[key] = (kind, args)
    return space


def to_ray(space: dict[str, tuple[str, list]]) -> dict:
    """A checked space as Ray Tune's ``param_space``.

    Parameters
    ----------
    space : :func:`parse_space`'s result.

    Returns
    -------
    dict
        ``{recipe key: ray.tune sampler}`` (``tune.choice``, ``tune.uniform``, ...).
    """
    from ray import tune

    make = {
        "choice": lambda a: tune.choice(a),
        "uniform": lambda a: tune.uniform(*a),
        "loguniform": lambda a: tune.loguniform(*a),
        "randint": lambda a: tune.randint(*a),
        "quniform": lambda a: tune.quniform(*a),
    }
    return {key: make[kind](args) for key, (kind, args) in space.items()}


def overrides(config: dict[str, Any]) -> list[str]:
    """Sampled values -> ``--set`` strings (JSON is valid YAML, so types survive).

    Parameters
    ----------
    config : ``{recipe key: value}`` (NumPy scalars allowed).

    Returns
    -------
    list[str]
        ``["key.sub=value", ...]``.
    """
    return [f"{k}={json.dumps(v.item() if hasattr(v, 'item') else v)}" for k, v in config.items()]


def _report_callback():
    import lightning as L
    from ray import tune

    class ReportToTune(L.Callback):
        """Send the validation loss to Ray Tune after every epoch (ASHA decides on it)."""

        def on_train_epoch_end(self, trainer, pl_module):
            m = trainer.callback_metrics
            if "val_loss" in m:
                tune.report({"val_loss": float(m["val_loss"]), "epoch": trainer.current_epoch + 1})

    return ReportToTune()


def _trainable(recipe_path: str, sets: list[str], out: str):
    def trial(config: dict) -> None:
        import torch
        from ray import tune

        from zoo_tools.train.config import load_recipe
        from zoo_tools.train.engine import run_recipe

        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
        recipe = load_recipe(recipe_path, sets + overrides(config))
        folder = os.path.join(out, "trials", tune.get_context().get_trial_id())
        run_recipe(recipe, folder, callbacks=[_report_callback()])

    return trial


def check_space(recipe_path: str, space_path: str, sets: list[str], trials: int) -> dict[str, tuple[str, list]]:
    """The search space, each key checked against the recipe with its first values.

    Parameters
    ----------
    recipe_path, space_path : the recipe YAML; the space YAML.
    sets : ``--set`` overrides of the recipe.
    trials : the number of trials (must be >= 1).

    Returns
    -------
    dict[str, tuple[str, list]]
        :func:`parse_space`'s result; a :class:`~zoo_tools.core.errors.ZooError` when a value does not fit.
    """
    from zoo_tools.train.config import load_recipe

    space = parse_space(load_yaml(space_path), space_path)
    for key, (kind, args) in space.items():  # every key must be a valid recipe key with every value
        for value in args if kind == "choice" else args[:2]:
            try:
                load_recipe(recipe_path, sets + overrides({key: value}))
            except ZooError as err:
                raise ZooError(f"{space_path}: key '{key}' = {value!r} does not fit the recipe ({err})") from None
    if trials < 1:
        raise ZooError(f"--trials must be >= 1, got {trials}")
    return space


def run_tune(
    recipe_path: str,
    space_path: str,
    trials: int,
    out: str,
    sets: list[str] | None = None,
    address: str | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
) -> pd.DataFrame:
    """Run the sweep (``zoo tune``); writes ``trials.tsv``, ``best_config.yaml`` and ``trials/`` into ``out``.

    Parameters
    ----------
    recipe_path, space_path : the recipe YAML; the space YAML (see the module docstring).
    trials : the number of sampled trials.
    out : the output folder.
    sets : ``--set`` overrides of the recipe (every trial).
    address : a running Ray cluster's address; None: a local Ray on every CPU.
    cpus_per_trial, gpus_per_trial : Ray resources of each trial (fractions allowed).

    Returns
    -------
    pd.DataFrame
        The trials table (also ``out/trials.tsv``), best validation loss first.
    """
    from zoo_tools.data.config import dump_config
    from zoo_tools.train.config import load_recipe
    from zoo_tools.train.windows import resolve_data
    from zoo_tools.zoo import load_model

    sets = list(sets or [])
    recipe = load_recipe(recipe_path, sets)
    space = check_space(recipe_path, space_path, sets, trials)
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    # make the shared inputs once, before trials race for them (demo world, base model)
    data = resolve_data(recipe.data)
    if recipe.data == "demo":
        sets = sets + [f"data={data}"]
    load_model(recipe.model)
    trainable = tune_trainable(os.path.abspath(recipe_path), sets, out, cpus_per_trial, gpus_per_trial)
    results = fit_trials(trainable, space, trials, recipe, out, address)
    table = trials_table(results, space, out)
    ok = table[table.best_val_loss.notna()]
    if ok.empty:
        raise ZooError(f"every trial failed; see {os.path.join(out, 'trials.tsv')} (column error)")
    best = {k: ok.iloc[0][k] for k in space}
    best_recipe = load_recipe(recipe_path, sets + overrides(best))
    best_recipe.name = f"{best_recipe.name}_tuned"
    dump_config(best_recipe, os.path.join(out, "best_config.yaml"))
    return table


def tune_trainable(recipe_path: str, sets: list[str], out: str, cpus: float, gpus: float):
    """The trial function with its resources, as Ray Tune takes it.

    Parameters
    ----------
    recipe_path, sets, out : the recipe YAML (absolute), its overrides, the sweep's folder.
    cpus, gpus : Ray resources per trial.

    Returns
    -------
    Ray Tune trainable
        Runs the recipe with a trial's values into ``out/trials/<id>``, reporting each epoch's ``val_loss``.
    """
    from ray import tune

    return tune.with_resources(_trainable(recipe_path, sets, out), {"cpu": cpus, "gpu": gpus})


def fit_trials(trainable, space: dict, trials: int, recipe, out: str, address: str | None):
    """Ray Tune with ASHA over ``trials`` samples of ``space`` (seeded); the Ray result grid.

    Parameters
    ----------
    trainable : :func:`tune_trainable`'s result.
    space, trials : :func:`parse_space`'s result; the number of samples.
    recipe : the loaded recipe (``train.epochs`` bounds ASHA, ``train.seed`` seeds the sampling).
    out : the sweep's folder (Ray's records in ``out/ray_results``).
    address : a running Ray cluster's address; None: start a local Ray (shut down after).

    Returns
    -------
    ray.tune.ResultGrid
        One result per trial.
    """
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        # max_t one past the last epoch: a trial that survives every rung finishes its run (and writes
        # its model and metrics) instead of being cut at its final report
        scheduler = ASHAScheduler(
            time_attr="training_iteration", max_t=recipe.train.epochs + 1, grace_period=1, reduction_factor=2
        )
        tuner = tune.Tuner(
            trainable,
            param_space=to_ray(space),
            tune_config=tune.TuneConfig(
                metric="val_loss",
                mode="min",
                num_samples=trials,
                scheduler=scheduler,
                search_alg=BasicVariantGenerator(random_state=recipe.train.seed),
            ),
            run_config=tune.RunConfig(
                name="zoo_tune", storage_path=os.path.join(out, "ray_results"), verbose=0, progress_reporter=None
            ),
        )
        return tuner.fit()
    finally:
        ray.shutdown()


def trial_row(r, space: dict, out: str) -> dict:
    """One trials.tsv row: sampled values, losses, status and the trial's headline metrics.

    Parameters
    ----------
    r : one trial's Ray result.
    space, out : the search space; the sweep's folder (the trial's ``metrics.json`` is read there).

    Returns
    -------
    dict
        ``trial``, the sampled values, ``best_val_loss``, ``last_val_loss``, ``epochs``, ``status``
        (``finished`` / ``stopped_by_asha`` / ``error``), ``val_pearson`` / ``test_pearson`` when
        finished, ``error`` on failure.
    """
    from zoo_tools.train.results import RunResult

    hist = r.metrics_dataframe if r.metrics_dataframe is not None else pd.DataFrame()
    losses = hist["val_loss"].tolist() if "val_loss" in hist else []
    tid = r.metrics.get("trial_id", "") if r.metrics else ""
    mfile = os.path.join(out, "trials", tid, "metrics.json")
    row = {"trial": tid, **{k: r.config.get(k) for k in space}}
    row.update(
        best_val_loss=min(losses) if losses else float("nan"),
        last_val_loss=losses[-1] if losses else float("nan"),
        epochs=len(losses),
        status="error" if r.error else ("finished" if os.path.exists(mfile) else "stopped_by_asha"),
    )
    if os.path.exists(mfile):
        row.update(_headline(RunResult.from_json(mfile)))
    if r.error:
        row["error"] = str(r.error).strip().splitlines()[-1][:200]
    return row


def trials_table(results, space: dict, out: str) -> pd.DataFrame:
    """``out/trials.tsv``: one row per trial, best validation loss first.

    Parameters
    ----------
    results, space, out : the Ray result grid; the search space; the sweep's folder.

    Returns
    -------
    pd.DataFrame
        The table written (rows of :func:`trial_row`).
    """
    table = pd.DataFrame([trial_row(r, space, out) for r in results])
    table = table.sort_values("best_val_loss", kind="stable").reset_index(drop=True)
    table.to_csv(os.path.join(out, "trials.tsv"), sep="\t", index=False, float_format="%.5g")
    return table


def _headline(m) -> dict:
    """Validation / test Pearson of a finished trial (a :class:`RunResult`), whatever its recipe."""
    out = {}
    for split in ("val", "test"):
        value = m.split_pearson(split)
        if value is not None:
            out[f"{split}_pearson"] = value
    return out


def summary(table: pd.DataFrame, out: str) -> str:
    """A short report of a sweep (what ``zoo tune`` prints).

    Parameters
    ----------
    table, out : :func:`run_tune`'s trials table; the sweep's folder.

    Returns
    -------
    str
        Trial counts, the best validation loss, the table and where the outputs are.
    """
    best = table.iloc[0]
    n_stop = int((table.status == "stopped_by_asha").sum())
    lines = [
        f"{len(table)} trial(s), {n_stop} stopped early by ASHA; best validation loss "
        f"{best.best_val_loss:.4g} (trial {best.trial})",
        table.drop(columns=[c for c in ("error",) if c in table]).to_string(index=False, float_format="%.4g"),
        f"  outputs: {out}/ (trials.tsv, best_config.yaml, trials/, ray_results/)",
        f"  run the best: zoo finetune {os.path.join(out, 'best_config.yaml')} --out DIR",
    ]
    return "\n".join(lines)
