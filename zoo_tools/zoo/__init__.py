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

A name registered with ``zoo import PATH --name NAME`` is also a spec (``NAME``). Each source
registers itself in its module under :mod:`zoo_tools.zoo.sources` (:mod:`zoo_tools.zoo.registry`).
"""

from __future__ import annotations

from zoo_tools.core.errors import short_list
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel, rc_task_perm
from zoo_tools.zoo.catalog import fetch, import_model, list_models
from zoo_tools.zoo.registry import Source, all_sources, load_model, parse_spec, register_source

__all__ = [
    "ZooModel",
    "ModelCard",
    "Source",
    "load_model",
    "list_models",
    "fetch",
    "import_model",
    "parse_spec",
    "register_source",
    "all_sources",
    "task_table",
    "rc_task_perm",
    "short_list",
]
