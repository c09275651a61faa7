"""Training: recipes (YAML, validated) run by one engine into a loadable model and typed results.

``finetune(recipe, out)`` runs any registered recipe (:mod:`zoo_tools.train.recipes`) and
returns its :class:`~zoo_tools.train.results.RunResult` (``result.summary(out)`` is a short
report; ``result.is_complete`` is False on non-zero DDP ranks).
"""

from __future__ import annotations

from zoo_tools.train.config import Recipe, load_recipe
from zoo_tools.train.results import RunResult


def finetune(
    recipe: Recipe | str, out: str, callbacks=(), sets: list[str] | None = None, reuse: bool = False
) -> RunResult:
    """Fine-tune with a recipe into folder ``out``.

    Parameters
    ----------
    recipe : a :class:`Recipe`, or the path of a recipe YAML.
    out : output folder (``model.ckpt``, ``metrics.json``, ``config.yaml``, logs and plots).
    callbacks : extra Lightning callbacks.
    sets : ``key.sub=value`` overrides when ``recipe`` is a path (as ``zoo finetune --set``).
    reuse : if ``out`` already holds a finished run of the same resolved recipe, return its result
        instead of training again (notebooks and tests that share a model use it).

    Returns
    -------
    RunResult
        The recipe's typed result (also written as ``out/metrics.json``).
    """
    from zoo_tools.train.engine import reuse_or_run, run_recipe

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, sets)
    return (reuse_or_run if reuse else run_recipe)(recipe, out, callbacks)


__all__ = ["Recipe", "RunResult", "load_recipe", "finetune"]
