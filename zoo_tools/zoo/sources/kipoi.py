"""Kipoi adapter (``kipoi:<model dir>`` or ``kipoi:<zoo model name>``).

Loaded with kipoi's Python API (``kipoi.get_model``; its CLI is broken under current setuptools),
without its dataloader: zoo_tools feeds one-hot directly. The input layout comes from the
model.yaml schema: a single input array whose shape holds one 4 (the channels) and the sequence
length, e.g. ``(1000, 4)`` (channels last, transposed from our ``(N, 4, L)``) or ``(4, 1000)``;
extra singleton axes (``(1, 4, 1000)``) are kept as the schema says. The output ``(T,)`` becomes
``(N, T, 1)``; ``(T, B)`` / ``(B, T)`` are matched to the ``column_labels`` count. Task names come
from ``column_labels``.

PyTorch models run as their own ``nn.Module`` (differentiable, on any device); other model types
go through ``predict_on_batch`` on NumPy arrays. Kipoi models are not split into trunk and head:
``trunk`` is the whole model and ``head`` reshapes its output. kipoi's ``PyTorchModel`` calls
``torch.load(weights)`` without ``map_location`` (GPU-saved weights fail on a CPU machine); the
adapter loads with ``map_location="cpu"``.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import Source, register_source


@contextlib.contextmanager
def _cpu_torch_load():
    """Make ``torch.load`` default to ``map_location='cpu'`` while kipoi builds the model."""
    original = torch.load

    def load(*args, **kwargs):
        kwargs.setdefault("map_location", "cpu")
        return original(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


def input_layout(shape: tuple) -> tuple[tuple, int, int]:
    """From a schema shape (no batch axis) -> (shape, channel axis, length axis).

    Parameters
    ----------
    shape : the input's shape in ``model.yaml``: one axis of 4 (channels), one of length L, any
        others 1, e.g. ``(1000, 4)``, ``(4, 1000)``, ``(1, 4, 1000)``. ZooError otherwise.

    Returns
    -------
    tuple
        ``(shape, chan, length)``: the shape as a tuple and the indices of its channel and length
        axes.
    """
    shape = tuple(shape)
    fours = [i for i, s in enumerate(shape) if s == 4]
    big = [i for i, s in enumerate(shape) if s not in (1, 4)]
    if not fours or len(big) != 1:
        raise ZooError(
            f"Kipoi input shape {shape} is not a one-hot DNA sequence (need one axis of 4 and one of length L)"
        )
    chan = fours[-1] if big[0] < fours[-1] else fours[0]
    return shape, chan, big[0]


class KipoiInput(nn.Module):
    """``(N, 4, L)`` -> the layout of the Kipoi schema -> the model -> its raw output."""

    def __init__(self, kmodel, shape: tuple, chan: int, length: int, net: nn.Module | None = None):
        super().__init__()
        self.kmodel = kmodel
        if net is None and isinstance(getattr(kmodel, "model", None), nn.Module):
            net = kmodel.model
        self.net = net
        self.shape, self.chan, self.length = tuple(shape), chan, length

    def to_schema(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` -> ``(N, *schema shape)``: channels before or after length, singletons kept."""
        x = x if self.chan < self.length else x.transpose(1, 2)
        return x.reshape(x.shape[0], *self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` -> the model's raw output, ``(N, T)`` outputs as ``(N, T, 1)`` (an embedding
        of T channels and one bin, so a new head can be fine-tuned on it)."""
        xs = self.to_schema(x)
        if self.net is not None:
            y = self.net(xs)
        else:
            y = self.kmodel.predict_on_batch(xs.detach().cpu().numpy())
            y = torch.as_tensor(np.asarray(y), dtype=torch.float32, device=x.device)
        return y[:, :, None] if y.ndim == 2 else y


class KipoiOutput(nn.Module):
    """Raw output -> ``(N, T, B)`` given the number of tasks."""

    def __init__(self, n_tasks: int):
        super().__init__()
        self.n_tasks = n_tasks

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.ndim == 2:
            return y[:, :, None]
        if y.ndim == 3 and y.shape[1] != self.n_tasks and y.shape[2] == self.n_tasks:
            return y.transpose(1, 2)
        return y.reshape(y.shape[0], self.n_tasks, -1)


def _kipoi_model(ref: str) -> tuple[object, bool]:
    """kipoi's model ``ref`` (a folder or a zoo name), without its dataloader -> ``(model, local)``."""
    import kipoi

    local = os.path.isdir(ref)
    if local and not os.path.exists(os.path.join(ref, "model.yaml")):
        raise ZooError(f"Kipoi model folder {ref} has no model.yaml")
    if not local and cache.offline():
        raise ZooError(
            f"Kipoi zoo model {ref} needs the network (kipoi clones its model repository); "
            f"offline, give a local model folder: kipoi:/path/to/{ref}"
        )
    try:
        with _cpu_torch_load():
            kmodel = kipoi.get_model(ref, source="dir" if local else "kipoi", with_dataloader=False)
    except ZooError:
        raise
    except Exception as err:  # kipoi raises bare Exceptions for bad yaml / missing files
        raise ZooError(f"cannot load Kipoi model {ref}: {str(err).splitlines()[0][:200]}") from None
    return kmodel, local


def load(ref: str) -> ZooModel:
    """``kipoi:<dir>`` or ``kipoi:<zoo name>`` -> ZooModel.

    Parameters
    ----------
    ref : a model folder with ``model.yaml``, or a Kipoi zoo name (needs the network: kipoi clones
        its repository). ZooError if it cannot be loaded or has other than one one-hot input.

    Returns
    -------
    ZooModel
        ``(N, 4, L)`` one-hot (L from the schema) -> ``(N, T, B)``, usually ``(N, T, 1)``; tasks
        from ``column_labels``; trunk the whole model, head a reshape.
    """
    kmodel, local = _kipoi_model(ref)
    inputs = kmodel.schema.inputs
    if isinstance(inputs, (list, dict)):
        items = list(inputs.values()) if isinstance(inputs, dict) else inputs
        if len(items) != 1:
            raise ZooError(f"Kipoi model {ref} has {len(items)} inputs; zoo_tools wraps single-sequence models")
        inputs = items[0]
    shape, chan, length = input_layout(inputs.shape)
    targets = kmodel.schema.targets
    if isinstance(targets, (list, dict)):
        targets = (list(targets.values()) if isinstance(targets, dict) else targets)[0]
    labels = list(targets.column_labels or [])
    n_tasks = len(labels) or int(targets.shape[0])
    seq_len = int(shape[length])
    weights = str(kmodel.args.get("weights", "")) if isinstance(getattr(kmodel, "args", None), dict) else ""
    if weights and not os.path.isabs(weights):
        weights = os.path.join(kmodel.source_dir, weights)
    card = ModelCard(
        source="kipoi",
        name=ref,
        seq_len=seq_len,
        bin_size=seq_len,
        n_bins=1,
        tasks=task_table(labels or None, n_tasks),
        weights=weights,
        sha256=cache.sha256_file(weights) if weights and os.path.exists(weights) else "",
        output=(targets.doc or "model output").strip(),
        notes=(kmodel.info.doc or "").strip().splitlines()[0] if kmodel.info.doc else "",
    )
    arch = {
        "source": "kipoi",
        "folder": os.path.abspath(ref) if local else ref,
        "shape": list(shape),
        "chan": chan,
        "length": length,
        **network_code(kmodel),
    }
    return ZooModel(KipoiInput(kmodel, shape, chan, length), KipoiOutput(n_tasks), card, arch=arch).eval()


def network_code(kmodel) -> dict:
    """How to rebuild a Kipoi PyTorch model's network without its folder: the ``module_file``'s
    source text, the class (or object) it defines and the class's keyword arguments.

    Parameters
    ----------
    kmodel : a loaded kipoi model.

    Returns
    -------
    dict
        ``module_file, module_code, module_name, is_class, module_kwargs`` (saved in
        ``ZooModel.arch``); empty for models whose network is not a torch module (Keras, sklearn,
        ...) or whose module file is not found.
    """
    args = getattr(kmodel, "args", None)
    if not isinstance(getattr(kmodel, "model", None), nn.Module) or not isinstance(args, dict):
        return {}
    name = args.get("module_class") or args.get("module_obj") or ""
    file = args.get("module_file") or (name.rsplit(".", 1)[0] + ".py" if "." in name else "")
    path = file if os.path.isabs(file) else os.path.join(getattr(kmodel, "source_dir", ""), file)
    if not file or not os.path.exists(path):
        return {}
    with open(path) as fh:
        code = fh.read()
    return {
        "module_file": os.path.basename(path),
        "module_code": code,
        "module_name": name.rsplit(".", 1)[-1],
        "is_class": bool(args.get("module_class")),
        "module_kwargs": dict(args.get("module_kwargs") or {}),
    }


def rebuild_trunk(arch: dict, trust: bool = False) -> nn.Module:
    """The Kipoi network with random weights. Its code lives in the model folder: import it from
    there when the folder is still present; otherwise run the copy stored in the checkpoint, which
    needs ``trust`` (running stored code is as risky as unpickling).

    Parameters
    ----------
    arch : ``{"source": "kipoi", "folder", "shape", "chan", "length"}`` and :func:`network_code`'s
        entries (``ZooModel.arch``). ZooError if the network is not a torch module, or if the
        folder is gone and ``trust`` is off.
    trust : run the stored copy of the network's code.

    Returns
    -------
    KipoiInput
        ``(N, 4, L)`` -> the network's raw output (``(N, T)`` as ``(N, T, 1)``).
    """
    import importlib.util

    folder, file = arch.get("folder", ""), arch.get("module_file", "")
    if not arch.get("module_code"):
        raise ZooError(
            f"this model was fine-tuned from the Kipoi model {folder}, whose network is not a PyTorch "
            f"module zoo_tools can rebuild; load it with kipoi:{folder}"
        )
    path = os.path.join(folder, file)
    if not os.path.exists(path):
        if not trust:
            raise ZooError(
                f"this model was fine-tuned from the Kipoi model in {folder}, whose network code ({file}) "
                f"lives in that folder, which is gone: restore the folder, or pass --trust-checkpoint "
                f"(trust=True) to run the copy of {file} stored in the checkpoint"
            )
        module = _module_from_code(arch["module_code"], file)
    else:
        spec = importlib.util.spec_from_file_location(f"zoo_kipoi_{abs(hash(path))}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    obj = getattr(module, arch["module_name"])
    net = obj(**arch.get("module_kwargs", {})) if arch.get("is_class") else obj
    return KipoiInput(None, tuple(arch["shape"]), arch["chan"], arch["length"], net=net)


def _module_from_code(code: str, file: str):
    """A fresh module made by running ``code`` (the stored copy of a Kipoi ``module_file``)."""
    import types

    module = types.ModuleType(f"zoo_kipoi_{os.path.splitext(file)[0]}")
    exec(compile(code, f"<checkpoint copy of {file}>", "exec"), module.__dict__)  # noqa: S102 (trusted by the user)
    return module


register_source(Source("kipoi", lambda ref, trust=False, **_: load(ref), None, rebuild_trunk, order=1))
