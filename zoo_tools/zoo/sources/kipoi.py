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
    """From a schema shape (no batch axis) -> (shape, channel axis, length axis)."""
    shape = tuple(shape)
    fours = [i for i, s in enumerate(shape) if s == 4]
    big = [i for i, s in enumerate(shape) if s not in (1, 4)]
    if not fours or len(big) != 1:
        raise ZooError(f"Kipoi input shape {shape} is not a one-hot DNA sequence "
                       f"(need one axis of 4 and one of length L)")
    chan = fours[-1] if big[0] < fours[-1] else fours[0]
    return shape, chan, big[0]


class KipoiInput(nn.Module):
    """``(N, 4, L)`` -> the layout of the Kipoi schema -> the model -> its raw output."""

    def __init__(self, kmodel, shape: tuple, chan: int, length: int):
        super().__init__()
        self.kmodel = kmodel
        self.net = kmodel.model if isinstance(getattr(kmodel, "model", None), nn.Module) else None
        self.shape, self.chan, self.length = shape, chan, length

    def to_schema(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` -> ``(N, *schema shape)``: channels before or after length, singletons kept."""
        x = x if self.chan < self.length else x.transpose(1, 2)
        return x.reshape(x.shape[0], *self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = self.to_schema(x)
        if self.net is not None:
            return self.net(xs)
        y = self.kmodel.predict_on_batch(xs.detach().cpu().numpy())
        return torch.as_tensor(np.asarray(y), dtype=torch.float32, device=x.device)


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


def load(ref: str) -> ZooModel:
    """``kipoi:<dir>`` or ``kipoi:<zoo name>`` -> ZooModel."""
    import kipoi

    local = os.path.isdir(ref)
    if local and not os.path.exists(os.path.join(ref, "model.yaml")):
        raise ZooError(f"Kipoi model folder {ref} has no model.yaml")
    if not local and cache.offline():
        raise ZooError(f"Kipoi zoo model {ref} needs the network (kipoi clones its model repository); "
                       f"offline, give a local model folder: kipoi:/path/to/{ref}")
    try:
        with _cpu_torch_load():
            kmodel = kipoi.get_model(ref, source="dir" if local else "kipoi", with_dataloader=False)
    except ZooError:
        raise
    except Exception as err:  # kipoi raises bare Exceptions for bad yaml / missing files
        raise ZooError(f"cannot load Kipoi model {ref}: {str(err).splitlines()[0][:200]}") from None
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
    card = ModelCard(source="kipoi", name=ref, seq_len=seq_len, bin_size=seq_len, n_bins=1,
                     tasks=task_table(labels or None, n_tasks),
                     weights=weights, sha256=cache.sha256_file(weights) if weights and os.path.exists(weights) else "",
                     output=(targets.doc or "model output").strip(),
                     notes=(kmodel.info.doc or "").strip().splitlines()[0] if kmodel.info.doc else "")
    return ZooModel(KipoiInput(kmodel, shape, chan, length), KipoiOutput(n_tasks), card).eval()
