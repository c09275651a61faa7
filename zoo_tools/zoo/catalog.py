"""The catalog of known models (``catalog.yaml``), downloads into the cache, and imports."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import yaml

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import all_sources, load_model, parse_spec


def catalog_path() -> Path:
    """The catalog of known models (``zoo_tools/zoo/catalog.yaml``, shipped with the package).

    Returns
    -------
    pathlib.Path
        The YAML file (its ``models`` list: one mapping per model).
    """
    return Path(str(files("zoo_tools.zoo") / "catalog.yaml"))


def list_models(source: str | None = None) -> list[dict]:
    """Catalog entries plus the models registered with ``zoo import``.

    Parameters
    ----------
    source : only this source's entries (a registered source name, or ``import``); default all.
        ZooError for an unknown one.

    Returns
    -------
    list of dict
        Catalog entries (``spec, source, name, seq_len, bin_size, tasks, genome, notes``; seq_len in
        bp, bin_size in bp per output bin, tasks a count) with ``cached`` (bool: the spec, or a
        ``spec:FILE`` of it, is in the manifest), then imported models (``spec, source="import",
        name, notes`` = the path, ``cached=True``).
    """
    if source and source not in all_sources() and source != "import":
        raise ZooError(f"unknown source '{source}'; choose one of {', '.join(all_sources())}")
    with open(catalog_path()) as fh:
        entries = yaml.safe_load(fh)["models"]
    manifest = cache.read_manifest()
    out = []
    for e in entries:
        spec = e["spec"]
        cached_keys = [k for k in manifest if k == spec or k.startswith(spec + ":")]
        out.append({"source": spec.split(":", 1)[0], **e, "cached": bool(cached_keys)})
    for key, entry in manifest.items():
        if key.startswith("import:"):
            out.append(
                {
                    "spec": key.removeprefix("import:"),
                    "source": "import",
                    "name": key.removeprefix("import:"),
                    "notes": entry["path"],
                    "cached": True,
                }
            )
    return [e for e in out if not source or e["source"] == source]


def fetch(spec: str) -> str:
    """Download a model into the cache (gReLU: HF file; enformer / borzoi: HF folder; demo: train
    it).

    Parameters
    ----------
    spec : ``SOURCE:REF``, e.g. ``grelu:REPO[:FILE]``, ``enformer:ID``, ``borzoi:ID``, ``demo:base``.
        ZooError for a source whose models are loaded from their own files (kipoi, bpnet, local),
        or when the download fails or downloads are off.

    Returns
    -------
    str
        The cached file or folder (already cached: no download).
    """
    source, ref = parse_spec(spec)
    fetcher = all_sources()[source].fetch
    if fetcher is None:
        able = [name for name, s in all_sources().items() if s.fetch]
        able = ", ".join(able[:-1]) + " and " + able[-1]
        raise ZooError(
            f"`zoo fetch` downloads {able} models; {source}: models are loaded from their own files (give the path)"
        )
    return fetcher(ref)


def fetch_hf_pretrained(source: str, ref: str) -> str:
    """Save an HF-hosted enformer / borzoi model into the cache as a local folder.

    Parameters
    ----------
    source : ``enformer`` or ``borzoi``.
    ref : an HF model id (downloaded, saved with ``save_pretrained`` and registered as
        ``SOURCE:REF``; ZooError if downloads are off), or a local folder (returned as is).

    Returns
    -------
    str
        The folder, loadable as ``SOURCE:FOLDER``.
    """
    if os.path.isdir(ref):
        return ref
    if cache.offline():
        raise ZooError(f"{source}:{ref} cannot be downloaded: downloads are off (HF_HUB_OFFLINE)")
    model = load_model(f"{source}:{ref}")
    target = cache.model_dir(source, ref)
    inner = getattr(model.trunk, source)  # EnformerTrunk.enformer / BorzoiTrunk.borzoi
    inner.save_pretrained(str(target))
    cache.register(f"{source}:{ref}", target, source)
    return str(target)


def import_model(path: str, name: str, trust: bool = False) -> ModelCard:
    """Register a local checkpoint (zoo_tools or gReLU format) under ``name``.

    The checkpoint is loaded once (checked), then recorded as ``import:NAME`` in the manifest, so
    ``NAME`` becomes a model spec.

    Parameters
    ----------
    path : the checkpoint file, or a folder holding ``model.ckpt`` (``best.ckpt``, ``last.ckpt``).
    name : the new spec; ZooError if it is empty or contains ``:`` or ``/``.
    trust : allow checkpoints that need arbitrary unpickling (only for files you trust).

    Returns
    -------
    ModelCard
        The loaded model's card.
    """
    if not name or ":" in name or "/" in name:
        raise ZooError(f"import name '{name}' must be non-empty and contain no ':' or '/'")
    model = load_model(f"local:{path}", trust=trust)
    cache.register(f"import:{name}", os.path.abspath(path), "import")
    return model.card
