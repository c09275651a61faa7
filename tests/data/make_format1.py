"""How tests/data/format1_*.ckpt were made: with zoo_tools 0.1.0 (checkpoint format 1), kept so
that format-1 files written by that release are tested to load. Run from a 0.1.0 checkout:
``PYTHONPATH=<0.1.0 checkout>:tests python tests/data/make_format1.py tests/data``."""

import sys

import numpy as np
import pandas as pd
import torch
from zoo_fixtures import grelu_checkpoint
from zoo_tools.celltype import CellTypeNet
from zoo_tools.finetune import FineTuner, embedding_shape, save_model
from zoo_tools.heads import MultiTaskHead, SiameseHead
from zoo_tools.siamese import SiameseNet
from zoo_tools.zoo.card import ModelCard, task_table

from zoo_tools.zoo import load_model


class _Recipe:
    model = "grelu:acme/tiny"


def main(folder: str) -> None:
    torch.manual_seed(0)
    base = load_model(f"local:{grelu_checkpoint(f'{folder}/_base.ckpt')}")
    c, b_in = embedding_shape(base.trunk, 256)
    x = torch.from_numpy(np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 256))]).transpose(1, 2)
    tasks = task_table(pd.DataFrame({"name": ["t0", "t1"], "assay": ["ATAC", "ChIP"], "cell_type": ["A", "A"]}))
    card = dict(source="local", name="format1", seq_len=256, tasks=tasks, genome="test")
    head = MultiTaskHead(c, 2, b_in, 8, loss="poisson")
    net = FineTuner(base.trunk, head)
    save_model(f"{folder}/format1_multitask.ckpt", base, head, net, ModelCard(bin_size=32, n_bins=8, **card), _Recipe)
    expected = {"multitask": net.eval()(x).detach().numpy()}
    shead = SiameseHead(c, b_in, 2, context_bins=3, hidden=8)
    snet = SiameseNet(base.trunk, shead)
    save_model(
        f"{folder}/format1_siamese.ckpt",
        base,
        shead,
        snet,
        ModelCard(bin_size=256, n_bins=1, **card),
        _Recipe,
        kind="siamese",
    )
    expected["siamese"] = snet.eval()(x, x.flip(-1)).detach().numpy()
    chead = MultiTaskHead(c + 1, 2, 8, 8, loss="poisson", hidden=8, layers=2, kernel_size=3)
    cnet = CellTypeNet(base.trunk, chead, 1, b_in, 8)
    save_model(
        f"{folder}/format1_celltype.ckpt",
        base,
        chead,
        cnet,
        ModelCard(bin_size=32, n_bins=8, **card),
        _Recipe,
        kind="celltype",
        net_args={"n_signals": 1, "in_bins": b_in, "n_bins": 8},
    )
    signal = torch.linspace(0, 1, 24).reshape(3, 1, 8)
    expected["celltype"] = cnet.eval()(x, signal).detach().numpy()
    np.savez(f"{folder}/format1_expected.npz", x=x.numpy(), signal=signal.numpy(), **expected)


if __name__ == "__main__":
    main(sys.argv[1])
