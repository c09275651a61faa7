"""The registry of model sources: each source module registers its ``load``, ``fetch`` and
``rebuild_trunk`` where it is defined ((:func:`register_source`); nothing else dispatches on a
source's name. The modules of :mod:`zoo_tools.zoo.sources` are imported on first use, so a new
source is a new module there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.registry import Registry
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import cache


@dataclass(frozen=True)
class Source:
    """One model source.

    Attributes
    ----------
    name : the spec prefix (``grelu`` in ``grelu:REPO``).
    load : ``load(ref, trust=False, **options) -> ZooModel``.
    fetch : ``fetch(ref) -> path``: put the model into the cache (None: loaded from its own files).
    rebuild_trunk : ``rebuild_trunk(arch, trust=False) -> nn.Module``: the trunk with random weights
        from the description its models carry in ``ZooModel.arch`` (checkpoint format 2).
    order : position in listings and messages.
    """

    name: str
    load: Callable[..., ZooModel]
    fetch: Callable[[str], str] | None = None
    rebuild_trunk: Callable[..., nn.Module] | None = None
    order: int = 100


_SOURCES: Registry[Source] = Registry("zoo_tools.zoo.sources", order=lambda s: (s.order, s.name))
register_source = _SOURCES.add  # register_x(entry): called where each entry is defined
all_sources = _SOURCES.all  # every entry by name (the package's modules imported on first use)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"source:ref"`` -> ``(source, ref)``; a registered import name or a path resolves to ``local``.

    Parameters
    ----------
    spec : ``SOURCE:REF`` with a registered SOURCE and a non-empty REF (e.g.
        ``grelu:REPO[:FILE]``, ``demo:base``), a name from ``zoo import``, or an existing path.

    Returns
    -------
    tuple of str
        ``(source, ref)``: the REF after the first ``:``; for an imported name or a path,
        ``("local", path)``. ZooError for anything else, listing the sources.
    """
    spec = str(spec).strip()
    known = all_sources()
    source, sep, ref = spec.partition(":")
    if sep and source in known and ref:
        return source, ref
    imported = cache.read_manifest().get(f"import:{spec}")
    if imported:
        return "local", imported["path"]
    if os.path.exists(spec):
        return "local", spec
    raise ZooError(
        f"unknown model spec '{spec}'; use SOURCE:REF with SOURCE one of {', '.join(known)} "
        f"(e.g. grelu:Genentech/human-atac-catlas-model, demo:base), a path, or a name from `zoo import`"
    )


def load_model(spec: str, trust: bool = False, **kwargs) -> ZooModel:
    """Load any supported model as a :class:`ZooModel`.

    Parameters
    ----------
    spec : ``SOURCE:REF`` (see :mod:`zoo_tools.zoo`), a path, or a name from ``zoo import``.
    trust : allow checkpoints that need arbitrary unpickling (only for files you trust).
    **kwargs : source options: ``use_tf_gamma`` (enformer), ``seq_len`` (bpnet input length,
        default 2,114).

    Returns
    -------
    ZooModel
        ``(N, 4, L)`` float32 one-hot (A,C,G,T) -> ``(N, T, B)``, with its card.
    """
    source, ref = parse_spec(spec)
    return all_sources()[source].load(ref, trust=trust, **kwargs)


def rebuild_trunk(arch: dict, path: str, trust: bool = False) -> nn.Module:
    """The trunk a fine-tuned checkpoint at ``path`` describes (``{"source": ..., ...}``), rebuilt
    by its source with random weights (the checkpoint's own weights are loaded over them).

    Parameters
    ----------
    arch : the trunk's description (``ZooModel.arch``; the checkpoint's ``zoo_tools.trunk``).
    path : the checkpoint, named in the ZooError raised when no registered source rebuilds
        ``arch["source"]``.
    trust : passed to the source (e.g. Kipoi runs network code stored in the checkpoint only then).

    Returns
    -------
    torch.nn.Module
        The trunk: ``(N, 4, L)`` one-hot -> embedding ``(N, C, B')``.
    """
    source = all_sources().get(arch.get("source", ""))
    if source is None or source.rebuild_trunk is None:
        raise ZooError(
            f"{path}: its trunk comes from source '{arch.get('source')}', which this zoo_tools cannot "
            f"rebuild (known: {', '.join(k for k, s in all_sources().items() if s.rebuild_trunk)})"
        )
    return source.rebuild_trunk(arch, trust=trust)
