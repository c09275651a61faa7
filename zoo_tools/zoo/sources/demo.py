"""``demo:base``: the offline stand-in zoo model (a gReLU ConvModel trained on the pretraining
world, built into the cache on first use; :mod:`zoo_tools.zoo.demo_model`)."""

from __future__ import annotations

from zoo_tools.core.errors import ZooError
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import Source, register_source
from zoo_tools.zoo.sources import grelu


def load(ref: str, trust: bool = False, **_) -> ZooModel:
    """``demo:base`` -> ZooModel (trained once into ``$ZOO_HOME``).

    Parameters
    ----------
    ref : ``base`` (ZooError for anything else).
    trust, **_ : unused (the checkpoint is zoo_tools' own).

    Returns
    -------
    ZooModel
        ``(N, 4, 1024)`` one-hot -> ``(N, 182, 32)`` expected reads per 32 bp bin, one task per
        JASPAR motif.
    """
    from zoo_tools.zoo.demo_model import ensure_demo_model

    if ref != "base":
        raise ZooError(f"unknown demo model 'demo:{ref}'; the demo model is demo:base")
    path = ensure_demo_model()
    model = grelu.load_grelu_checkpoint(
        path, name="base", sha=cache.read_manifest()["demo:base"]["sha256"], source="demo"
    )
    model.card.genome = "demo (pretraining world; use with `zoo demo-data` genomes)"
    return model


def fetch(ref: str) -> str:
    """Train ``demo:base`` into the cache (if missing); return its checkpoint file.

    Parameters
    ----------
    ref : unused (the one demo model is ``base``).

    Returns
    -------
    str
    """
    from zoo_tools.zoo.demo_model import ensure_demo_model

    return ensure_demo_model()


register_source(Source("demo", load, fetch, None, order=6))
