"""``local:<path>``: a checkpoint written by ``zoo finetune`` (any format) or by gReLU, or a folder
holding one (``model.ckpt``, ``best.ckpt`` or ``last.ckpt``).

A zoo_tools checkpoint rebuilds itself: its trunk by the source that made the base model
(``rebuild_trunk``, no base files, no network), its network and model class by its kind
(:mod:`zoo_tools.models.nets`), then its own weights.
"""

from __future__ import annotations

import os

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard
from zoo_tools.models.checkpoint import is_finetuned, load_checkpoint, read_finetuned
from zoo_tools.models.model import ZooModel
from zoo_tools.models.nets import net_kind
from zoo_tools.zoo.registry import Source, load_model, rebuild_trunk, register_source
from zoo_tools.zoo.sources import grelu


def checkpoint_path(ref: str) -> str:
    """The checkpoint file of ``ref`` (a file, or a folder holding ``model.ckpt`` / ``best.ckpt`` /
    ``last.ckpt``); one-line errors for what is missing.

    Parameters
    ----------
    ref : a checkpoint file or a folder. ZooError if it does not exist or the folder holds none
        of the three.

    Returns
    -------
    str
        The file (in a folder: the first of ``model.ckpt``, ``best.ckpt``, ``last.ckpt`` found).
    """
    path = ref
    if os.path.isdir(path):
        for name in ("model.ckpt", "best.ckpt", "last.ckpt"):
            if os.path.exists(os.path.join(path, name)):
                return os.path.join(path, name)
        raise ZooError(f"local model folder {ref} holds no model.ckpt (write one with `zoo finetune` or `zoo import`)")
    if not os.path.exists(path):
        raise ZooError(f"local model not found: {path} (give a checkpoint file or a folder with model.ckpt)")
    return path


def load(ref: str, trust: bool = False, **_) -> ZooModel:
    """``local:<path>`` -> ZooModel (a fine-tuned zoo_tools model or a gReLU checkpoint).

    Parameters
    ----------
    ref : a checkpoint file or a folder holding one (:func:`checkpoint_path`).
    trust : allow arbitrary unpickling, and running a Kipoi network's stored code (only for
        files you trust).
    **_ : unused (other sources' options).

    Returns
    -------
    ZooModel
        ``(N, 4, L)`` one-hot -> ``(N, T, B)``, in eval mode: :func:`load_finetuned`'s model or
        a gReLU checkpoint's (source ``local``).
    """
    path = checkpoint_path(ref)
    ckpt = load_checkpoint(path, trust=trust)
    if is_finetuned(ckpt):
        return load_finetuned(ckpt, path, trust=trust)
    return grelu.load_grelu_checkpoint(path, name=os.path.abspath(ref), trust=trust, source="local", ckpt=ckpt)


def load_finetuned(ckpt: dict, path: str, trust: bool = False) -> ZooModel:
    """Rebuild a model saved by ``zoo finetune`` (format 1 or 2) with its own weights.

    Parameters
    ----------
    ckpt : the loaded checkpoint (``zoo_tools``, ``state_dict``, ``card``).
    path : its file (named in errors; the card's ``weights``). ZooError if its kind or trunk
        source is unknown, or the weights do not fit the rebuilt network.
    trust : passed to the trunk's rebuild (or to loading a format-1 checkpoint's base model).

    Returns
    -------
    ZooModel
        The kind's model class (:mod:`zoo_tools.models.nets`) over the rebuilt trunk and head,
        in eval mode.
    """
    meta = read_finetuned(ckpt, path)
    if meta.trunk["source"] == "spec":  # format 1 from a Borzoi / Kipoi / BPNet base: needs the base's files
        trunk = load_model(meta.trunk["spec"], trust=trust).trunk
    else:
        trunk = rebuild_trunk(meta.trunk, path, trust=trust)
    kind = net_kind(meta.kind, path)
    head = kind.head(**meta.head)
    net = kind.net(trunk, head, **meta.net)
    try:
        net.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        detail = str(err).splitlines()[0][:160]
        raise ZooError(f"{path}: weights do not fit the saved architecture ({detail})") from None
    card = ModelCard.from_dict(ckpt["card"])
    card.weights = os.path.abspath(path)
    return kind.model(trunk, head, card, arch=meta.trunk, **meta.net).eval()


register_source(Source("local", load, None, None, order=5))
