"""Tiny models saved in each source's real on-disk format (random weights, seeded)."""

from __future__ import annotations

import os
import textwrap

import torch


class Opaque:
    """An arbitrary object: a checkpoint holding one needs full unpickling."""


def grelu_checkpoint(path, seed: int = 0, extra: dict | None = None) -> str:
    """A gReLU LightningModel checkpoint as Lightning writes it (state_dict, hyper_parameters,
    data_params, performance): ConvModel, 3 tasks, 256 bp in, 16 bins of 16 bp, Poisson."""
    import lightning
    from grelu.lightning import LightningModel

    torch.manual_seed(seed)
    mp = dict(
        model_type="ConvModel",
        n_tasks=3,
        stem_channels=8,
        stem_kernel_size=5,
        n_conv=2,
        channel_init=8,
        kernel_size=3,
        pool_func="avg",
        pool_size=16,
        final_pool_func=None,
    )
    lm = LightningModel(model_params=mp, train_params={"task": "regression", "loss": "poisson"})

    def split(chroms):
        return {
            "seq_len": 256,
            "bin_size": 16,
            "label_len": 256,
            "genome": "hg38",
            "intervals": {"chrom": chroms, "start": [0] * len(chroms), "end": [256] * len(chroms)},
        }

    lm.data_params = {
        "tasks": {
            "name": ["atac_a", "atac_b", "chip_c"],
            "assay": ["ATAC", "ATAC", "ChIP"],
            "cell type": ["A", "B", "C"],
        },
        "train": split(["chr1", "chr2", "chr1"]),
        "val": split(["chr3"]),
        "test": split(["chr4"]),
    }
    lm.performance = {"test": {"pearson": 0.5}}
    ckpt = {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": lightning.__version__,
        "state_dict": lm.state_dict(),
        "hyper_parameters": dict(lm.hparams),
    }
    if extra:
        ckpt["hyper_parameters"].update(extra)
    lm.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return str(path)


def enformer_dir(path, seed: int = 0) -> str:
    """enformer-pytorch ``save_pretrained`` folder: dim 48, 1 layer, heads human 4 / mouse 2."""
    from enformer_pytorch import Enformer

    torch.manual_seed(seed)
    model = Enformer.from_hparams(
        dim=48,
        depth=1,
        heads=2,
        attn_dim_key=8,
        dropout_rate=0.0,
        attn_dropout=0.0,
        pos_dropout=0.0,
        output_heads=dict(human=4, mouse=2),
        target_length=4,
        num_downsamples=3,
        dim_divisible_by=8,
    )
    model.config.seq_len = 64  # 8 bins of 8 bp, central 4 kept
    model.save_pretrained(str(path), safe_serialization=False)  # enformer-pytorch shares trunk tensors
    return str(path)


def borzoi_dir(path, seed: int = 0) -> str:
    """borzoi-pytorch ``save_pretrained`` folder: small transformer, 4,096 bp in, 8 central bins."""
    from borzoi_pytorch import Borzoi
    from borzoi_pytorch.config_borzoi import BorzoiConfig

    torch.manual_seed(seed)
    config = BorzoiConfig(
        dim=32,
        depth=1,
        heads=2,
        attn_dim_key=8,
        attn_dim_value=8,
        dropout_rate=0.0,
        attn_dropout=0.0,
        pos_dropout=0.0,
        bins_to_return=8,
        enable_mouse_head=False,
    )
    config.seq_len = 4096
    model = Borzoi(config)
    model.human_head = torch.nn.Conv1d(1920, 7611, 1)
    model.save_pretrained(str(path))
    return str(path)


KIPOI_MODEL_PY = '''
import torch


class TinyNet(torch.nn.Module):
    """Input (N, 100, 4) like many Kipoi DNA models; output (N, 3)."""

    def __init__(self, n_tasks=3):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 6, 5)
        self.fc = torch.nn.Linear(6, n_tasks)

    def forward(self, x):
        h = torch.relu(self.conv(x.transpose(1, 2))).max(dim=-1).values
        return torch.sigmoid(self.fc(h))
'''

KIPOI_MODEL_YAML = """
defined_as: kipoi.model.PyTorchModel
args:
  module_file: model.py
  module_class: TinyNet
  module_kwargs:
    n_tasks: 3
  weights: weights.pth
info:
  authors:
    - name: zoo_tools tests
  doc: A tiny test model in Kipoi format.
  version: "0.1"
  license: MIT
  tags:
    - DNA accessibility
dependencies:
  pip:
    - torch
schema:
  inputs:
    name: seq
    shape: (100, 4)
    doc: one-hot DNA, channels last
  targets:
    name: accessibility
    shape: (3, )
    doc: probability of accessibility
    column_labels:
      - cellA
      - cellB
      - cellC
"""


def kipoi_dir(path, seed: int = 0) -> str:
    """A Kipoi model folder: model.yaml + model.py + weights.pth (PyTorchModel)."""
    import importlib.util

    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "model.py"), "w") as fh:
        fh.write(textwrap.dedent(KIPOI_MODEL_PY))
    with open(os.path.join(path, "model.yaml"), "w") as fh:
        fh.write(textwrap.dedent(KIPOI_MODEL_YAML))
    spec = importlib.util.spec_from_file_location("tiny_kipoi_model", os.path.join(path, "model.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(seed)
    torch.save(mod.TinyNet(3).state_dict(), os.path.join(path, "weights.pth"))
    return str(path)


def bpnet_files(folder, seed: int = 0) -> tuple[str, str, object]:
    """bpnet-lite BPNet (8 filters, 2 layers, 2 strands): a state_dict file and a pickled model."""
    from bpnetlite import BPNet

    torch.manual_seed(seed)
    model = BPNet(n_filters=8, n_layers=2, n_outputs=2, n_control_tracks=0, verbose=False).eval()
    state = os.path.join(folder, "bpnet.state.pt")
    whole = os.path.join(folder, "bpnet.torch")
    torch.save(model.state_dict(), state)
    torch.save(model, whole)
    return state, whole, model
