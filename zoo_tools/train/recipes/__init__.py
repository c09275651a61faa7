"""Recipes, registered by head type where each is defined.

A recipe module builds a :class:`RecipeKind` (its ``prepare``, ``evaluate`` and ``card`` steps
and its result class) and calls :func:`register_recipe`; :func:`recipe_kinds` imports every
module of this package on first use, so a new recipe is a new module here (plus its head spec in
:mod:`zoo_tools.train.config`) and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zoo_tools.core.errors import ZooError
from zoo_tools.core.registry import Registry


@dataclass(frozen=True)
class RecipeKind:
    """One recipe's parts; the engine (:func:`zoo_tools.train.engine.run_recipe`) runs them.

    Attributes
    ----------
    name : the recipe's ``head.type``.
    prepare : ``prepare(ctx) -> Prepared``: data, network, datasets.
    evaluate : ``evaluate(ctx, prep, fitted) -> dict``: result fields after training (metrics
        per split, baselines); writes the recipe's predictions and plots.
    card : ``card(ctx, prep, result) -> ModelCard`` of the saved model.
    result : the recipe's :class:`~zoo_tools.train.results.RunResult` class.
    net_kind : the network kind saved in the checkpoint (default ``name``).
    """

    name: str
    prepare: Callable
    evaluate: Callable
    card: Callable
    result: type
    net_kind: str = ""

    def __post_init__(self):
        if not self.net_kind:
            object.__setattr__(self, "net_kind", self.name)


_KINDS: Registry[RecipeKind] = Registry(__name__)
register_recipe = _KINDS.add  # register_x(entry): called where each entry is defined
recipe_kinds = _KINDS.all  # every entry by name (the package's modules imported on first use)


def recipe_kind(name: str) -> RecipeKind:
    """The recipe registered for ``head.type`` ``name``.

    Parameters
    ----------
    name : a ``head.type`` (``multitask``, ``siamese``, ``celltype``, ...).

    Returns
    -------
    RecipeKind
        Its steps; a :class:`~zoo_tools.core.errors.ZooError` naming the known types if none.
    """
    kinds = recipe_kinds()
    if name not in kinds:
        raise ZooError(f"key 'head.type': no recipe for '{name}' (known: {', '.join(kinds)})")
    return kinds[name]
