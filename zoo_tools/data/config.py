"""YAML configs validated into pydantic models, with one-line errors that name the bad key.

The data YAML is how a user brings their own files::

    genome: hg38.fa                       # FASTA with .fai index
    tracks:                               # one entry per bigWig
      - {name: k562_atac, path: ENCFF...bigWig, assay: ATAC, cell_type: K562}
    peaks:                                # optional: peak calls (BED/narrowPeak) per track
      - {path: ENCFF...bed.gz, track: k562_atac}
    splits: {val: [chr8, chr10], test: [chr9, chr18]}   # the rest is train
    blacklist: hg38                       # optional: BED path or a genome gReLU ships one for
    genes: gencode.v44.basic.annotation.gtf.gz   # optional: gene annotation (GTF or GFF3)

Relative paths are resolved against the YAML file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zoo_tools.core.errors import ZooError, require_file


class Strict(BaseModel):
    """Base model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class TrackSpec(Strict):
    """One ``tracks:`` entry of the data YAML: a bigWig and what it measures.

    ``name`` (unique; the task name), ``path`` (the bigWig), ``assay`` and ``cell_type`` (free text,
    default ``unknown``), ``strand`` (``+``, ``-`` or ``.``, unstranded) and ``description``.
    """

    name: str = Field(min_length=1)
    path: str
    assay: str = "unknown"
    cell_type: str = "unknown"
    strand: str = "."
    description: str = ""

    @field_validator("strand")
    @classmethod
    def _strand(cls, v: str) -> str:
        if v not in ("+", "-", "."):
            raise ValueError("strand must be '+', '-' or '.'")
        return v


class PeakSpec(Strict):
    """One ``peaks:`` entry: a BED / narrowPeak file of peak calls (``path``) for the track ``track``."""

    path: str
    track: str


class Splits(Strict):
    """The ``splits:`` block: which windows validate and test a model; the rest train.

    ``by: chromosome`` (default): the contigs listed under ``val`` and ``test`` are held out whole.
    ``by: region``: for data on one or few contigs (e.g. ENCODE pipeline test files on chr19 only),
    the last ``test_fraction`` of every contig is test and the ``val_fraction`` before it is val,
    in contiguous blocks; windows straddling a block boundary are dropped so that no held-out
    window shares sequence with a training one.
    """

    by: Literal["chromosome", "region"] = "chromosome"
    val: list[str] = Field(default_factory=list)
    test: list[str] = Field(default_factory=list)
    val_fraction: float = Field(0.1, gt=0, lt=1)
    test_fraction: float = Field(0.1, gt=0, lt=1)

    @model_validator(mode="after")
    def _region_or_contigs(self):
        if self.by == "region" and (self.val or self.test):
            raise ValueError("with by: region, give val_fraction / test_fraction instead of val / test contigs")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be below 1 (the rest trains)")
        return self


class AllelicSpec(Strict):
    """A table of allele-specific read counts at heterozygous SNVs (TSV, or CSV by extension).

    The other keys name the table's columns: ``pos`` is 1-based (as in a VCF); ``group`` (optional)
    names a column whose values (cell types, samples) become one task each; ``truth`` (optional)
    names a column with a known log ratio, reported beside the observed one.
    """

    path: str
    chrom: str = "chrom"
    pos: str = "pos"
    ref: str = "ref"
    alt: str = "alt"
    ref_count: str = "ref_count"
    alt_count: str = "alt_count"
    group: str | None = None
    truth: str | None = None


class DataConfig(Strict):
    """A data YAML (see the module docstring), validated; track names are unique, peaks name a track.

    ``genome`` (FASTA with ``.fai`` index), ``tracks`` (at least one), ``peaks``, ``splits``,
    ``blacklist`` (a BED path or a genome gReLU ships a blacklist for), ``allelic`` and ``genes``
    (a GTF or GFF3 gene annotation, gzip ok).
    """

    genome: str
    tracks: list[TrackSpec] = Field(min_length=1)
    peaks: list[PeakSpec] = Field(default_factory=list)
    splits: Splits = Field(default_factory=Splits)
    blacklist: str | None = None
    allelic: AllelicSpec | None = None
    genes: str | None = None

    @model_validator(mode="after")
    def _names(self) -> DataConfig:
        names = [t.name for t in self.tracks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"track names must be unique (repeated: {', '.join(dup)})")
        for i, p in enumerate(self.peaks):
            if p.track not in names:
                raise ValueError(f"peaks[{i}].track '{p.track}' names no track (tracks: {', '.join(names)})")
        return self

    @property
    def track_names(self) -> list[str]:
        return [t.name for t in self.tracks]

    @property
    def track_paths(self) -> list[str]:
        return [t.path for t in self.tracks]


def format_validation_error(err: ValidationError, source: str, tags: tuple[str, ...] = ()) -> str:
    """Turn a pydantic error into one line: ``file: key 'a.b[0].c': problem``.

    Parameters
    ----------
    err : pydantic.ValidationError
        The error; its first problem is described, the others counted.
    source : str
        The file (or other source) named at the start of the line.
    tags : tuple of str
        Discriminator values pydantic puts in the key path of a tagged union (left out).

    Returns
    -------
    str
    """
    first = err.errors()[0]
    key = ""
    for part in first.get("loc", ()):
        if part in tags:
            continue
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        msg = f"unknown key '{key}' (remove it or check its spelling)"
    elif kind == "missing":
        msg = f"missing key '{key}'"
    else:
        text = first.get("msg", "invalid value").removeprefix("Value error, ")
        msg = f"key '{key}': {text}" if key else text
    more = len(err.errors()) - 1
    return f"{source}: {msg}" + (f" (and {more} more problem(s))" if more else "")


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping; ZooError naming the file for a missing file or a syntax error.

    Parameters
    ----------
    path : str or os.PathLike
        The YAML file; its top level must be a mapping.

    Returns
    -------
    dict
    """
    path = require_file(path, "YAML file")
    try:
        with open(path) as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ZooError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(raw, dict):
        raise ZooError(f"{path}: expected a mapping of keys at the top level")
    return raw


def validate(model: type[BaseModel], raw: dict[str, Any], source: str, tags: tuple[str, ...] = ()) -> Any:
    """Validate ``raw`` into ``model``; one-line ZooError naming ``source`` and the bad key.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The model class.
    raw : dict
        The parsed YAML (:func:`load_yaml`).
    source, tags
        As in :func:`format_validation_error`.

    Returns
    -------
    pydantic.BaseModel
        An instance of ``model``.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ZooError(format_validation_error(err, source, tags)) from None


def _resolve(base: Path, p: str) -> str:
    p = os.path.expanduser(os.path.expandvars(p))
    return p if os.path.isabs(p) else str((base / p).resolve())


def load_data_config(path: str | os.PathLike, check_files: bool = True) -> DataConfig:
    """Load and validate a data YAML; paths become absolute (relative to the YAML's folder).

    ``~`` and ``$VARS`` are expanded; ``blacklist`` counts as a path when it has a ``/`` or a ``.``
    (else it names a genome).

    Parameters
    ----------
    path : str or os.PathLike
        The data YAML.
    check_files : bool
        Every referenced file must exist (the error names the key, e.g. ``tracks[2].path``).

    Returns
    -------
    DataConfig
    """
    raw = load_yaml(path)
    cfg = validate(DataConfig, raw, str(path))
    base = Path(path).resolve().parent
    cfg.genome = _resolve(base, cfg.genome)
    for t in cfg.tracks:
        t.path = _resolve(base, t.path)
    for p in cfg.peaks:
        p.path = _resolve(base, p.path)
    if cfg.allelic:
        cfg.allelic.path = _resolve(base, cfg.allelic.path)
    if cfg.genes:
        cfg.genes = _resolve(base, cfg.genes)
    if cfg.blacklist and (os.sep in cfg.blacklist or "." in cfg.blacklist):
        cfg.blacklist = _resolve(base, cfg.blacklist)
    if check_files:
        checks = [("genome", cfg.genome)] + [(f"tracks[{i}].path", t.path) for i, t in enumerate(cfg.tracks)]
        checks += [(f"peaks[{i}].path", p.path) for i, p in enumerate(cfg.peaks)]
        checks += [("allelic.path", cfg.allelic.path)] if cfg.allelic else []
        checks += [("genes", cfg.genes)] if cfg.genes else []
        for key, file in checks:
            if not os.path.isfile(file):
                raise ZooError(f"{path}: key '{key}': file not found: {file} (paths are relative to the YAML's folder)")
    return cfg


def dump_config(cfg: BaseModel, path: str | os.PathLike) -> None:
    """Write a (resolved) config as YAML beside a run's outputs.

    Parameters
    ----------
    cfg : pydantic.BaseModel
        The config, dumped in JSON mode with its keys in field order.
    path : str or os.PathLike
        The YAML file written.
    """
    with open(path, "w") as fh:
        yaml.safe_dump(cfg.model_dump(mode="json"), fh, sort_keys=False)
