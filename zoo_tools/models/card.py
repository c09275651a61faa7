"""The model card: where a model came from and how to use it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

TASK_COLUMNS = ["name", "assay", "cell_type", "strand", "description"]


def task_table(tasks: pd.DataFrame | dict | list | None, n_tasks: int | None = None) -> pd.DataFrame:
    """Normalise task metadata to a DataFrame with at least ``name, assay, cell_type, strand,
    description`` (missing values filled: assay/cell_type ``unknown``, strand ``.``).

    Parameters
    ----------
    tasks : a DataFrame, a dict of equal-length lists (gReLU's ``data_params["tasks"]``), a list
        of names, or None. gReLU's ``cell type`` / ``celltype`` / ``sample`` columns are mapped to
        ``cell_type``; a table without ``name`` gets ``task0``, ``task1``...
    n_tasks : the number of tasks when ``tasks`` is None (names ``task0``...).

    Returns
    -------
    pandas.DataFrame
        One row per task in the given order: ``name`` (str) and the other four columns first, then
        any extra columns; a fresh index.
    """
    if tasks is None:
        df = pd.DataFrame({"name": [f"task{i}" for i in range(n_tasks or 0)]})
    elif isinstance(tasks, pd.DataFrame):
        df = tasks.copy()
    elif isinstance(tasks, dict):
        df = pd.DataFrame({k: list(v) for k, v in tasks.items()})
    else:
        df = pd.DataFrame({"name": [str(t) for t in tasks]})
    df = df.rename(columns={"cell type": "cell_type", "celltype": "cell_type", "sample": "cell_type"})
    if "name" not in df.columns:
        df.insert(0, "name", [f"task{i}" for i in range(len(df))])
    defaults = {"assay": "unknown", "cell_type": "unknown", "strand": ".", "description": ""}
    for col, value in defaults.items():
        if col not in df.columns:
            df[col] = value
        df[col] = df[col].fillna(value)
    df["name"] = df["name"].astype(str)
    rest = [c for c in df.columns if c not in TASK_COLUMNS]
    return df[TASK_COLUMNS + rest].reset_index(drop=True)


@dataclass
class ModelCard:
    """What a :class:`~zoo_tools.zoo.ZooModel` is.

    Shapes: the model maps ``(N, 4, seq_len)`` float32 one-hot (A,C,G,T) to ``(N, T, n_bins)``
    with ``T = len(tasks)``; output bin ``b`` covers input bases
    ``[(crop_bins + b) * bin_size, (crop_bins + b + 1) * bin_size)`` (``bin_size=1`` for base
    resolution, ``n_bins=1`` for one value per sequence).
    """

    source: str
    name: str
    seq_len: int
    bin_size: int
    n_bins: int
    tasks: pd.DataFrame
    crop_bins: int = 0
    genome: str = "unknown"
    weights: str = ""
    sha256: str = ""
    train_chroms: list[str] = field(default_factory=list)
    val_chroms: list[str] = field(default_factory=list)
    test_chroms: list[str] = field(default_factory=list)
    output: str = "prediction"
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def output_start(self) -> int:
        """Offset (bp) in the input of the first output bin's start."""
        return self.crop_bins * self.bin_size

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["tasks"] = self.tasks.to_dict(orient="list")
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelCard:
        d = dict(d)
        d["tasks"] = task_table(d.get("tasks"))
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"{self.source}:{self.name}",
            f"  input    : {self.seq_len:,} bp one-hot (N, 4, {self.seq_len})",
            f"  output   : {self.n_tasks} tasks x {self.n_bins} bins of {self.bin_size} bp "
            f"(first bin starts {self.output_start} bp into the input); {self.output}",
            f"  genome   : {self.genome}",
        ]
        if self.weights:
            lines.append(f"  weights  : {self.weights}" + (f" (sha256 {self.sha256[:12]}...)" if self.sha256 else ""))
        for split in ("train", "val", "test"):
            chroms = getattr(self, f"{split}_chroms")
            if chroms:
                lines.append(f"  {split:<9}: {', '.join(chroms[:10])}" + (" ..." if len(chroms) > 10 else ""))
        for k, v in self.metrics.items():
            lines.append(f"  metric   : {k} = {v:.4g}" if isinstance(v, float) else f"  metric   : {k} = {v}")
        if self.notes:
            lines.append(f"  notes    : {self.notes}")
        return "\n".join(lines)


__all__ = ["ModelCard", "task_table"]
