"""Fine-tuned networks (a base trunk plus a new head) and the models that serve them.

Each kind registers itself where it is defined (:func:`register_net`); a checkpoint's ``kind``
names its entry. A new kind is a new module in this package: it is found by :func:`net_kinds`
without editing anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.core.registry import Registry


@dataclass(frozen=True)
class NetKind:
    """How to rebuild a fine-tuned model of one kind.

    Attributes
    ----------
    name : the checkpoint's ``kind`` (``multitask``, ``siamese``, ``celltype``).
    net : ``net(trunk, head, **net_args)``, the module whose ``state_dict`` is saved.
    model : ``model(trunk, head, card, arch=..., **net_args)``, the :class:`ZooModel` users get.
    head : ``head(**head_config)``.
    """

    name: str
    net: type[nn.Module]
    model: type[nn.Module]
    head: type[nn.Module]


_KINDS: Registry[NetKind] = Registry(__name__)
register_net = _KINDS.add  # register_x(entry): called where each entry is defined
net_kinds = _KINDS.all  # every entry by name (the package's modules imported on first use)


def net_kind(name: str, source: str = "checkpoint") -> NetKind:
    """The registered kind ``name``; a one-line error names the known kinds.

    Parameters
    ----------
    name : a checkpoint's ``kind`` (``multitask``, ``siamese``, ``celltype``).
    source : what to name in the ZooError for an unknown kind (e.g. the checkpoint's path).

    Returns
    -------
    NetKind
        How to rebuild its network, head and model.
    """
    kinds = net_kinds()
    if name not in kinds:
        raise ZooError(
            f"{source}: unknown model kind '{name}' (known: {', '.join(kinds)}); it was written by a newer zoo_tools"
        )
    return kinds[name]
