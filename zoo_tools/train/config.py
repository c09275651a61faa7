"""Fine-tuning recipes: YAML validated into pydantic models, with includes and ``--set``.

A recipe::

    include: [../configs/train/default.yaml]    # reusable blocks, merged under this file
    name: multitask_encode
    model: demo:base                           # any load_model spec
    data: demo                                 # a data YAML, or `demo` for the demo world
    head: {loss: poisson, hidden: 0}
    windows: {background_ratio: 1.0}
    train: {epochs: 6, freeze_trunk: false, head_warmup_epochs: 1}
    trainer: {accelerator: auto, devices: 1}   # passed to lightning.Trainer unchanged

Includes are merged first (in order), the recipe over them, then ``--set a.b=value`` overrides
(values parsed as YAML). Relative paths in ``include`` and ``data`` are relative to the file that
names them. Unknown keys are errors that name the key.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import Strict, load_yaml, validate


class HeadSpec(Strict):
    """``type: multitask``: every track of the data YAML, T tracks x B bins (recipes/multitask_encode.yaml)."""

    type: Literal["multitask"] = "multitask"
    loss: Literal["poisson", "mse", "bce", "multinomial"] = "poisson"
    hidden: int = Field(0, ge=0)
    layers: int = Field(1, ge=1)
    kernel_size: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    normalize: bool = True
    task_weights: dict[str, float] = Field(default_factory=dict)


class SiameseHeadSpec(Strict):
    """``type: siamese``: ref / alt twins -> allelic imbalance per group (recipes/siamese_allelic.yaml)."""

    type: Literal["siamese"]
    hidden: int = Field(64, ge=1)
    context_bins: int = Field(5, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    weight_by_depth: bool = True  # weigh each pair's squared error by its read depth (mean 1)


class CellTypeHeadSpec(Strict):
    """``type: celltype``: sequence + the cell type's input signal -> its other assays
    (recipes/novel_celltype_atac.yaml)."""

    type: Literal["celltype"]
    input_assay: str = "ATAC"  # tracks of this assay are the input (case-insensitive)
    target_assays: list[str] = Field(default_factory=list)  # default: every other assay
    holdout_cell_types: list[str] = Field(default_factory=list)  # default: the last complete cell type
    loss: Literal["poisson", "mse"] = "poisson"
    hidden: int = Field(64, ge=1)
    layers: int = Field(3, ge=1)
    kernel_size: int = Field(5, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    sequence_only_control: bool = True  # also train the same model without the input signal


Head = Annotated[HeadSpec | SiameseHeadSpec | CellTypeHeadSpec, Field(discriminator="type")]


class WindowSpec(Strict):
    """The ``windows:`` block: which windows to train on and how targets are binned.

    Attributes
    ----------
    peaks : summit-centred windows around the data YAML's peaks (else the genome tiled, half-overlapping).
    background_ratio : GC-matched background windows per peak window (0: none).
    bin_size : target bin size in bp (default the model's).
    transform : applied to the binned targets (``none``, ``arcsinh``, ``log1p``, ``softclip``).
    min_spacing : peak windows starting closer than this (bp) to a kept one are merged into it.
    """

    peaks: bool = True
    background_ratio: float = Field(1.0, ge=0)
    bin_size: int | None = Field(None, gt=0)
    transform: Literal["none", "arcsinh", "log1p", "softclip"] = "none"
    min_spacing: int = Field(64, ge=0)


class TrainSpec(Strict):
    """The ``train:`` block: optimisation, augmentation and reproducibility.

    Attributes
    ----------
    epochs, batch_size, patience : at most this many epochs; examples per batch; early-stopping
        patience in epochs (no early stop in the first half of the epochs).
    lr, trunk_lr, weight_decay : AdamW with a one-cycle schedule; the head's peak learning rate, the
        trunk's (default ``lr / 10``), the weight decay.
    freeze_trunk, head_warmup_epochs : the trunk never trains; or stays frozen for the first epochs.
    cache_budget_gb : the most disk the embedding cache of a frozen trunk may take (GB); a cache
        that would need more stops the run before writing, with the size it needs.
    rc, max_shift : reverse-complement and shift (bp) augmentation of training windows.
    grad_clip, precision : gradient-norm clipping (0: off); Lightning's ``precision``.
    seed, deterministic : seeds of everything; Lightning's deterministic algorithms.
    embedding_cache : cache trunk embeddings once per window (``auto``: when the trunk is frozen and
        there are no shifts).
    num_workers : DataLoader worker processes.
    """

    epochs: int = Field(6, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(2e-3, gt=0)
    trunk_lr: float | None = Field(None, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    freeze_trunk: bool = False
    cache_budget_gb: float = Field(50.0, gt=0)
    head_warmup_epochs: int = Field(1, ge=0)
    rc: bool = False
    max_shift: int = Field(0, ge=0)
    patience: int = Field(3, ge=1)
    grad_clip: float = Field(1.0, ge=0)
    precision: str = "32-true"
    seed: int = 0
    deterministic: bool = True
    embedding_cache: Literal["auto", "on", "off"] = "auto"
    num_workers: int = Field(0, ge=0)

    @field_validator("embedding_cache", mode="before")
    @classmethod
    def _yaml_bool(cls, v):  # YAML reads a bare on / off as a boolean
        return {True: "on", False: "off"}.get(v, v) if isinstance(v, bool) else v


class Recipe(Strict):
    """A whole recipe (see the module docstring), as :func:`load_recipe` validates it.

    Attributes
    ----------
    include : YAML files merged under this one (empty once loaded).
    name, model, data : the run's name; the base model (any ``load_model`` spec); the data YAML's
        path, or ``demo`` for the demo world.
    head : the head and its recipe, by ``type`` (``multitask`` when absent).
    windows, train : :class:`WindowSpec`, :class:`TrainSpec`.
    trainer : keyword arguments of ``lightning.Trainer`` (passed unchanged, over the engine's).
    logger : ``csv``, or ``wandb`` (offline) as well.
    """

    include: list[str] = Field(default_factory=list)
    name: str = "finetune"
    model: str
    data: str
    head: Head = Field(default_factory=HeadSpec)
    windows: WindowSpec = Field(default_factory=WindowSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    trainer: dict[str, Any] = Field(default_factory=dict)
    logger: Literal["csv", "wandb"] = "csv"

    @model_validator(mode="before")
    @classmethod
    def _default_head_type(cls, raw):
        head = raw.get("head") if isinstance(raw, dict) else None
        if isinstance(head, dict) and "type" not in head:
            raw = {**raw, "head": {**head, "type": "multitask"}}
        return raw


def deep_merge(base: dict, over: dict) -> dict:
    """Recursive dict merge: values of ``over`` win; nested dicts merge.

    Parameters
    ----------
    base, over : the dicts to merge (neither is modified).

    Returns
    -------
    dict
        A new dict (deep copies of the values).
    """
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _with_includes(path: str, seen: tuple = ()) -> dict:
    if os.path.abspath(path) in seen:
        raise ZooError(f"{path}: include cycle ({' -> '.join(seen)})")
    raw = load_yaml(path)
    base: dict = {}
    folder = Path(path).resolve().parent
    for inc in raw.get("include", []) or []:
        inc_path = str(folder / inc) if not os.path.isabs(inc) else inc
        if not os.path.exists(inc_path):
            raise ZooError(f"{path}: key 'include': file not found: {inc_path}")
        base = deep_merge(base, _with_includes(inc_path, seen + (os.path.abspath(path),)))
    merged = deep_merge(base, {k: v for k, v in raw.items() if k != "include"})
    if isinstance(merged.get("data"), str) and merged["data"] != "demo" and "data" in raw:
        d = os.path.expanduser(merged["data"])
        merged["data"] = d if os.path.isabs(d) else str(folder / d)
    return merged


def apply_sets(raw: dict, sets: list[str] | None) -> dict:
    """Apply ``key.sub=value`` overrides (value parsed as YAML).

    Parameters
    ----------
    raw : a recipe as a dict (not modified).
    sets : overrides, as ``zoo finetune --set``; missing sections are made.

    Returns
    -------
    dict
        A copy of ``raw`` with the overrides.
    """
    out = copy.deepcopy(raw)
    for item in sets or []:
        if "=" not in item:
            raise ZooError(f"--set '{item}': expected key.sub=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for p in parts[:-1]:
            if not isinstance(node.setdefault(p, {}), dict):
                raise ZooError(f"--set '{item}': '{p}' is not a section")
            node = node[p]
        node[parts[-1]] = yaml.safe_load(value) if value != "" else ""
    return out


def load_recipe(path: str, sets: list[str] | None = None) -> Recipe:
    """Read a recipe with its includes and overrides, validated (errors name the bad key).

    Parameters
    ----------
    path : the recipe YAML.
    sets : ``key.sub=value`` overrides (value parsed as YAML), applied after the includes.

    Returns
    -------
    Recipe
        The validated recipe; ``include`` emptied (already merged), a relative ``data`` path resolved
        against the file that names it (against the working directory when given by ``--set``).
    """
    raw = apply_sets(_with_includes(path), sets)
    data = raw.get("data")
    if isinstance(data, str) and data not in ("demo",) and sets and any(s.startswith("data=") for s in sets):
        raw["data"] = os.path.abspath(os.path.expanduser(data))
    recipe = validate(Recipe, raw, path, tags=("multitask", "siamese", "celltype"))
    recipe.include = []
    return recipe
