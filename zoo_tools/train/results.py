"""Typed results of a recipe run, written as ``metrics.json``.

Every recipe returns a dataclass derived from :class:`RunResult` and registers it
(:func:`register_result`) under its head type. ``to_json`` writes the keys ``metrics.json``
has always had, in the same order; ``RunResult.from_json`` reads any of them back into its
recipe's class (the ``head`` key says which; absent means ``multitask``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar

import pandas as pd

_RESULTS: dict[str, type[RunResult]] = {}


def register_result(cls: type[RunResult]) -> type[RunResult]:
    """Class decorator: register a result type under its ``HEAD``.

    Parameters
    ----------
    cls : a :class:`RunResult` subclass (``HEAD``: its recipe's ``head.type``).

    Returns
    -------
    type[RunResult]
        ``cls`` unchanged (:meth:`RunResult.from_json` now reads its ``metrics.json``).
    """
    _RESULTS[cls.HEAD] = cls
    return cls


@dataclasses.dataclass
class RunResult:
    """Fields every recipe run has (``None`` fields are left out of ``metrics.json``).

    Attributes
    ----------
    recipe, model, data : the recipe's name, the base model spec and the data YAML path.
    embedding_cache : whether only the head trained on cached trunk embeddings.
    epochs_run : epochs Lightning ran (early stopping may end a run before ``train.epochs``).
    fit_seconds, total_seconds : wall time of training and of the whole run.
    chromosomes : ``{"train": [...], "val": [...], "test": [...]}``.
    warnings : what the run warned about (leaked test chromosomes, depth spread, skipped rows).
    test : metrics of the test split (per task and mean); ``None`` on non-zero DDP ranks.
    """

    HEAD: ClassVar[str] = "multitask"
    recipe: str = ""
    model: str = ""
    data: str = ""
    embedding_cache: bool = False
    epochs_run: int = 0
    fit_seconds: float = 0.0
    chromosomes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    test: dict[str, Any] | None = None
    total_seconds: float | None = None

    #: ``metrics.json`` key order (the recipe classes set theirs)
    KEYS: ClassVar[tuple[str, ...]] = ()

    @property
    def is_complete(self) -> bool:
        """False for the partial result of a non-zero DDP rank (no evaluation there)."""
        return self.test is not None

    def test_mean(self) -> dict[str, float]:
        """The headline test metrics (mean over tasks; pooled for siamese)."""
        return dict((self.test or {}).get("mean", {}))

    def split_pearson(self, split: str) -> float | None:
        """Mean Pearson on ``split`` (``val`` / ``test``), or None if not evaluated."""
        block = getattr(self, split, None) or {}
        return block.get("mean", {}).get("pearson")

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics.json`` layout: ``KEYS`` in order, ``None`` values left out."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        order = self.KEYS or tuple(values)
        return {k: values[k] for k in order if values.get(k) is not None}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """JSON text of :meth:`to_dict` (``indent=1``); written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> RunResult:
        """The registered result class named by ``raw["head"]`` (default multitask), filled from ``raw``;
        keys a class does not know are ignored."""
        from zoo_tools.train import recipes

        recipes.recipe_kinds()  # registers every recipe's result class
        cls = _RESULTS.get(raw.get("head", "multitask"), RunResult)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})

    @staticmethod
    def from_json(source: str | os.PathLike) -> RunResult:
        """Read a ``metrics.json`` file (or its JSON text)."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            with open(source) as fh:
                text = fh.read()
        return RunResult.from_dict(json.loads(text))

    def test_table(self) -> pd.DataFrame:
        """One row per task of the test metrics (numbers only)."""
        return pd.DataFrame(
            [
                {"task": t, **{k: v for k, v in d.items() if isinstance(v, (int, float))}}
                for t, d in (self.test or {}).get("per_task", {}).items()
            ]
        )

    #: the report puts the test table in the same paragraph as :meth:`describe` (else after it)
    TABLE_INLINE: ClassVar[bool] = False

    def describe(self, name=str, text=str) -> str:
        """One sentence on what was run, for reports: ``name`` marks up the recipe's name and ``text``
        the other values (e.g. bold and HTML-escaped)."""
        test = text(", ".join(self.chromosomes.get("test", [])))
        return f"recipe {name(self.recipe)} on {text(self.model)}; test chromosomes {test}; {self.epochs_run} epochs"

    def headline(self, name: str) -> str:
        """One line with the headline test metric of run ``name``."""
        pearson = self.test_mean().get("pearson")
        n = len((self.test or {}).get("per_task", {}))
        return f"{name}: test Pearson {pearson:.3f} over {n} tracks" if pearson is not None else ""

    def summary(self, out: str) -> str:
        """A short report of the run (each recipe writes its own)."""
        return f"{self.recipe}: {self.model} -> {out}"

    def _tail(self, out: str, files: str) -> list[str]:
        """The warning, outputs and load-it lines every summary ends with."""
        lines = [f"  warning: {w}" for w in self.warnings]
        lines.append(f"  outputs: {out}/ ({files})")
        lines.append(f"  load it: zoo info local:{out}")
        return lines
