"""Training: recipes (YAML, validated) run by one engine into a loadable model and typed results.

``finetune(recipe, out)`` runs any registered recipe and returns its result object
(``result.summary(out)`` a short report, ``result.is_complete`` False on non-zero DDP ranks).
"""

from __future__ import annotations

from zoo_tools.train.config import Recipe, load_recipe


def finetune(recipe: Recipe | str, out: str, callbacks=(), sets: list[str] | None = None):
    """Run a recipe (a :class:`Recipe` or a recipe YAML path with ``--set`` style ``sets``) into ``out``."""
    from zoo_tools.train._provisional import run

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, sets)
    return run(recipe, out, callbacks)


__all__ = ["Recipe", "load_recipe", "finetune"]
