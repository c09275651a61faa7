"""The model zoo: ``load_model(spec)`` for every source, behind one contract.

Specs (``SOURCE:REF``):

==========================================  ==================================================
``grelu:<HF repo id>[:<file>]``             gReLU zoo checkpoint (default file ``model.ckpt``)
``kipoi:<model dir>`` / ``kipoi:<name>``    Kipoi model folder with ``model.yaml`` (or zoo name)
``enformer:<HF id or dir>[:head,...]``      enformer-pytorch (default head ``human``)
``borzoi:<HF id or dir>``                   borzoi-pytorch / flashzoi
``bpnet:<file>``                            bpnet-lite BPNet / ChromBPNet saved model
``local:<path>``                            a checkpoint written by zoo_tools or gReLU, or a
                                            folder holding one (``model.ckpt``)
``demo:base``                               the offline stand-in zoo model (built on first use)
==========================================  ==================================================

A name registered with ``zoo import PATH --name NAME`` is also a spec (``NAME``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import yaml

from zoo_tools.core.errors import ZooError, short_list
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel, rc_task_perm
from zoo_tools.zoo import cache


def _load_grelu(ref: str, trust: bool = False, **_) -> ZooModel:
    from zoo_tools.zoo.sources import grelu

    return grelu.load(ref, trust=trust)


def _load_local(ref: str, trust: bool = False, **_) -> ZooModel:
    from zoo_tools.zoo.sources import grelu

    path = ref
    if os.path.isdir(path):
        for name in ("model.ckpt", "best.ckpt", "last.ckpt"):
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            raise ZooError(f"local model folder {ref} holds no model.ckpt (write one with `zoo finetune` or "
                           f"`zoo import`)")
    if not os.path.exists(path):
        raise ZooError(f"local model not found: {path} (give a checkpoint file or a folder with model.ckpt)")
    from zoo_tools.models.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, trust=trust)
    if isinstance(ckpt, dict) and "zoo_tools" in ckpt:  # written by `zoo finetune`
        from zoo_tools.train.finetune import load_finetuned

        return load_finetuned(ckpt, path)
    return grelu.load_grelu_checkpoint(path, name=os.path.abspath(ref), trust=trust, source="local", ckpt=ckpt)


def _load_demo(ref: str, trust: bool = False, **_) -> ZooModel:
    from zoo_tools.zoo.demo_model import ensure_demo_model
    from zoo_tools.zoo.sources import grelu

    if ref != "base":
        raise ZooError(f"unknown demo model 'demo:{ref}'; the demo model is demo:base")
    path = ensure_demo_model()
    model = grelu.load_grelu_checkpoint(path, name="base", sha=cache.read_manifest()["demo:base"]["sha256"],
                                        source="demo")
    model.card.genome = "demo (pretraining world; use with `zoo demo-data` genomes)"
    return model


def _load_enformer(ref: str, **kwargs) -> ZooModel:
    from zoo_tools.zoo.sources import enformer

    return enformer.load(ref, use_tf_gamma=kwargs.get("use_tf_gamma"))


def _load_kipoi(ref: str, **_) -> ZooModel:
    from zoo_tools.zoo.sources import kipoi

    return kipoi.load(ref)


def _load_borzoi(ref: str, **_) -> ZooModel:
    from zoo_tools.zoo.sources import borzoi

    return borzoi.load(ref)


def _load_bpnet(ref: str, trust: bool = False, **kwargs) -> ZooModel:
    from zoo_tools.zoo.sources import bpnet

    return bpnet.load(ref, trust=trust, seq_len=kwargs.get("seq_len"))


SOURCES: dict[str, Callable[..., ZooModel]] = {
    "grelu": _load_grelu,
    "kipoi": _load_kipoi,
    "enformer": _load_enformer,
    "borzoi": _load_borzoi,
    "bpnet": _load_bpnet,
    "local": _load_local,
    "demo": _load_demo,
}


def parse_spec(spec: str) -> tuple[str, str]:
    """``"source:ref"`` -> ``(source, ref)``; a registered import name resolves to its path."""
    spec = str(spec).strip()
    source, sep, ref = spec.partition(":")
    if sep and source in SOURCES and ref:
        return source, ref
    imported = cache.read_manifest().get(f"import:{spec}")
    if imported:
        return "local", imported["path"]
    if os.path.exists(spec):
        return "local", spec
    raise ZooError(
        f"unknown model spec '{spec}'; use SOURCE:REF with SOURCE one of {', '.join(SOURCES)} "
        f"(e.g. grelu:Genentech/human-atac-catlas-model, demo:base), a path, or a name from `zoo import`"
    )


def load_model(spec: str, trust: bool = False, **kwargs) -> ZooModel:
    """Load any supported model as a :class:`ZooModel` (see the module docstring for specs).

    ``trust=True`` allows checkpoints that need arbitrary unpickling (only for sources you trust).
    Source options: ``use_tf_gamma`` (enformer), ``seq_len`` (bpnet: input length, default 2,114).
    """
    source, ref = parse_spec(spec)
    return SOURCES[source](ref, trust=trust, **kwargs)


# --------------------------------------------------------------------------------------------
# Catalog, fetch, import
# --------------------------------------------------------------------------------------------
def catalog_path() -> Path:
    """The catalog of known models (``zoo_tools/zoo/catalog.yaml``, shipped with the package)."""
    return Path(str(files("zoo_tools.zoo") / "catalog.yaml"))


def list_models(source: str | None = None) -> list[dict]:
    """Catalog entries (``spec, source, name, seq_len, bin_size, tasks, genome, notes``) plus
    ``cached`` (bool) and any imported models; optionally only one source."""
    if source and source not in SOURCES and source != "import":
        raise ZooError(f"unknown source '{source}'; choose one of {', '.join(SOURCES)}")
    with open(catalog_path()) as fh:
        entries = yaml.safe_load(fh)["models"]
    manifest = cache.read_manifest()
    out = []
    for e in entries:
        spec = e["spec"]
        src = spec.split(":", 1)[0]
        cached_keys = [k for k in manifest if k == spec or k.startswith(spec + ":")]
        out.append({"source": src, **e, "cached": bool(cached_keys)})
    for key, entry in manifest.items():
        if key.startswith("import:"):
            out.append({"spec": key.removeprefix("import:"), "source": "import", "name": key.removeprefix("import:"),
                        "notes": entry["path"], "cached": True})
    return [e for e in out if not source or e["source"] == source]


def fetch(spec: str) -> str:
    """Download a model into the cache (gReLU: HF file; demo: train it); returns its path."""
    source, ref = parse_spec(spec)
    if source == "grelu":
        from zoo_tools.zoo.sources import grelu

        repo, _, filename = ref.partition(":")
        return grelu.fetch(repo, filename or grelu.DEFAULT_FILE)
    if source == "demo":
        from zoo_tools.zoo.demo_model import ensure_demo_model

        return ensure_demo_model()
    if source in ("enformer", "borzoi"):
        return _fetch_hf_pretrained(source, ref)
    raise ZooError(f"`zoo fetch` downloads grelu, enformer, borzoi and demo models; {source}: models are "
                   f"loaded from their own files (give the path)")


def _fetch_hf_pretrained(source: str, ref: str) -> str:
    """Save an HF-hosted enformer/borzoi model into the cache as a local folder."""
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
    """Register a local checkpoint (zoo_tools or gReLU format) under ``name``; returns its card."""
    if not name or ":" in name or "/" in name:
        raise ZooError(f"import name '{name}' must be non-empty and contain no ':' or '/'")
    model = load_model(f"local:{path}", trust=trust)
    cache.register(f"import:{name}", os.path.abspath(path), "import")
    return model.card


__all__ = ["ZooModel", "ModelCard", "load_model", "list_models", "fetch", "import_model", "task_table",
           "rc_task_perm", "SOURCES", "short_list"]
