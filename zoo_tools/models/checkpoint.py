"""Checkpoints: safe loading shared by the adapters, and the zoo_tools checkpoint format.

A fine-tuned model's ``model.ckpt`` (format 2) holds ``zoo_tools`` (kind, the trunk's complete
description, the head's arguments, the base spec and its sha256), ``state_dict`` (trunk and head
weights) and ``card``. The ``local:`` source (:mod:`zoo_tools.zoo.sources.local`) rebuilds it
without the base model's files or the network.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass

import torch

from zoo_tools.core.errors import ZooError, require_file


def _numpy_safe_globals() -> list:
    """numpy objects that gReLU's hyper-parameters contain; safe to unpickle (data, no code)."""
    import numpy as np

    out = [np.ndarray, np.dtype]
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    out += [_reconstruct, scalar]
    out += [type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "bool", "uint8", "<U1", "O")]
    return out


def load_checkpoint(path: str | os.PathLike, trust: bool = False) -> dict:
    """``torch.load`` a checkpoint on CPU with ``weights_only=True`` (numpy data allowed).

    If the file needs arbitrary pickled objects, it loads only with ``trust=True`` (CLI:
    ``--trust-checkpoint``): unpickling can run code, so do it only for files from a source you
    trust.

    Parameters
    ----------
    path : the checkpoint file (ZooError if it is missing, a folder, or not a readable torch file).
    trust : fall back to full unpickling (``weights_only=False``) when the safe load refuses;
        without it that refusal is a ZooError naming ``--trust-checkpoint``.

    Returns
    -------
    object
        What was saved, tensors on CPU: usually a dict (a Lightning or zoo_tools checkpoint, a
        ``state_dict``); a whole pickled module with ``trust``.
    """
    path = require_file(path, "checkpoint")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if "Unsupported global" not in text and "Unsupported class" not in text:
            raise ZooError(
                f"checkpoint {path} is not a readable torch file ({text.splitlines()[0][:120]}); "
                f"re-download or re-export it"
            ) from None
        if not trust:
            first = next((line.strip() for line in text.splitlines() if "Unsupported" in line), text)[:160]
            raise ZooError(
                f"checkpoint {path} contains pickled Python objects that torch will not load safely ({first}); "
                f"if you trust where it came from, pass --trust-checkpoint (trust=True in Python)"
            ) from None
    except Exception as err:  # truncated / foreign files fail in many ways inside torch
        detail = str(err).splitlines()[0][:120] if str(err) else "corrupt"
        raise ZooError(
            f"checkpoint {path} is not a readable torch file ({type(err).__name__}: {detail}); "
            f"re-download or re-export it"
        ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise ZooError(
            f"checkpoint {path} cannot be unpickled ({type(err).__name__}: {str(err)[:120]}); "
            f"the code that defined its objects may be missing"
        ) from None


# --------------------------------------------------------------------------------------------
# The zoo_tools checkpoint format (``model.ckpt`` of a fine-tuned model)
# --------------------------------------------------------------------------------------------
FORMAT = 2


@dataclass(frozen=True)
class FinetunedMeta:
    """What a zoo_tools checkpoint says about its model (any format, read as format 2).

    Attributes
    ----------
    format : the file's format number (1: zoo_tools 0.1; 2: 0.2 and later).
    kind : the network kind (:mod:`zoo_tools.models.nets`).
    trunk : the trunk's complete description: ``{"source": ..., ...}``, rebuilt without its
        weights by that source's ``rebuild_trunk`` (format 1 from a Borzoi, Kipoi or BPNet base:
        ``{"source": "spec", "spec": base spec}``, which needs the base model's files).
    head : the head's constructor arguments.
    base_spec, base_sha256 : the base model it was fine-tuned from.
    net : extra constructor arguments of the network.
    """

    format: int
    kind: str
    trunk: dict
    head: dict
    base_spec: str
    base_sha256: str
    net: dict


def finetuned_checkpoint(
    kind: str, trunk: dict, head: dict, base_spec: str, base_sha256: str, net_args: dict, state_dict: dict, card
) -> dict:
    """The dict ``torch.save`` writes for a fine-tuned model (format 2; tensors moved to CPU).

    Parameters
    ----------
    kind : the network kind (:mod:`zoo_tools.models.nets`).
    trunk : the base trunk's complete description (``ZooModel.arch``).
    head : the head's constructor arguments.
    base_spec, base_sha256 : the base model's spec and the sha256 of its weights ("" if unknown).
    net_args : extra constructor arguments of the network.
    state_dict : the network's weights (trunk and head).
    card : the fine-tuned model's :class:`~zoo_tools.models.card.ModelCard`.

    Returns
    -------
    dict
        ``{"zoo_tools": meta, "state_dict": ..., "card": ...}`` (the card as JSON-safe data).
    """
    meta = {
        "format": FORMAT,
        "kind": kind,
        "trunk": dict(trunk),
        "head": dict(head),
        "base_spec": base_spec,
        "base_sha256": base_sha256 or "",
        "net": dict(net_args),
    }
    return {
        "zoo_tools": meta,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "card": json.loads(card.to_json()),
    }


def is_finetuned(ckpt) -> bool:
    """Whether a loaded checkpoint was written by zoo_tools (else: gReLU / Lightning).

    Parameters
    ----------
    ckpt : what :func:`load_checkpoint` returned (zoo_tools': a dict with a ``zoo_tools`` entry).

    Returns
    -------
    bool
    """
    return isinstance(ckpt, dict) and "zoo_tools" in ckpt


def read_finetuned(ckpt: dict, path: str) -> FinetunedMeta:
    """The checkpoint's description, format 1 upgraded to format 2 (``arch.kind`` -> ``trunk.source``).

    Parameters
    ----------
    ckpt : a loaded zoo_tools checkpoint (:func:`is_finetuned`).
    path : its file, named in the ZooError for a format newer than this zoo_tools reads.

    Returns
    -------
    FinetunedMeta
        Kind (default ``multitask``), trunk, head, base spec and sha256, network arguments.
    """
    meta = ckpt["zoo_tools"]
    fmt = int(meta.get("format", 1))
    if fmt > FORMAT:
        raise ZooError(
            f"{path}: checkpoint format {fmt} was written by a newer zoo_tools (this one reads "
            f"formats 1-{FORMAT}); upgrade zoo_tools"
        )
    if fmt == 1:
        arch = dict(meta["arch"])
        trunk = {"source": arch.pop("kind"), **arch}
    else:
        trunk = dict(meta["trunk"])
    return FinetunedMeta(
        format=fmt,
        kind=meta.get("kind", "multitask"),
        trunk=trunk,
        head=dict(meta["head"]),
        base_spec=meta.get("base_spec", ""),
        base_sha256=meta.get("base_sha256", ""),
        net=dict(meta.get("net", {})),
    )
