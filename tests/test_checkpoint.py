"""Checkpoint format 2: a model fine-tuned from any base rebuilds itself with the network disabled
(conftest) and the base model's files deleted; format-1 files of zoo_tools 0.1.0 still load."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.checkpoint import FORMAT, finetuned_checkpoint
from zoo_tools.models.heads import MultiTaskHead
from zoo_tools.models.nets.multitask import FineTuner
from zoo_tools.train.embeddings import embedding_shape
from zoo_tools.zoo import load_model

from . import zoo_fixtures as fx

DATA = os.path.join(os.path.dirname(__file__), "data")


def _base(source: str, folder) -> tuple[str, str, dict]:
    """(spec, path to delete, load options) of a tiny base model in each source's own format."""
    if source == "grelu":
        path = fx.grelu_checkpoint(folder / "grelu.ckpt")
        return f"local:{path}", path, {}
    if source == "enformer":
        path = fx.enformer_dir(folder / "enformer")
        return f"enformer:{path}", path, {}
    if source == "borzoi":
        path = fx.borzoi_dir(folder / "borzoi")
        return f"borzoi:{path}", path, {}
    if source == "kipoi":
        path = fx.kipoi_dir(folder / "kipoi")
        return f"kipoi:{path}", path, {}
    os.makedirs(folder / "bpnet")
    state, _, _ = fx.bpnet_files(folder / "bpnet")
    return f"bpnet:{state}", str(folder / "bpnet"), {"seq_len": 400}


def _finetune_by_hand(base, path: str, seed: int = 0) -> FineTuner:
    """A multi-task head on the base trunk, its weights perturbed (so trunk weights must come from
    the checkpoint), saved in format 2 as the engine saves it."""
    torch.manual_seed(seed)
    c, b_in = embedding_shape(base.trunk, base.card.seq_len)
    head = MultiTaskHead(c, 2, b_in, b_in, loss="mse")
    net = FineTuner(base.trunk, head).eval()
    with torch.no_grad():
        for p in net.trunk.parameters():
            p.add_(0.01 * torch.randn_like(p))
    card = ModelCard(
        source="local",
        name=path,
        seq_len=base.card.seq_len,
        bin_size=base.card.bin_size,
        n_bins=b_in,
        tasks=task_table(["t0", "t1"]),
    )
    torch.save(
        finetuned_checkpoint(
            kind="multitask",
            trunk=base.arch,
            head=head.config,
            base_spec=base.card.name,
            base_sha256=base.card.sha256,
            net_args={},
            state_dict=net.state_dict(),
            card=card,
        ),
        path,
    )
    return net


def _one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    codes = np.random.default_rng(seed).integers(0, 4, (n, length))
    return torch.from_numpy(np.eye(4, dtype=np.float32)[codes]).transpose(1, 2).contiguous()


@pytest.mark.parametrize("source", ["grelu", "enformer", "borzoi", "kipoi", "bpnet"])
def test_finetuned_model_loads_without_its_base(source, tmp_path):
    spec, base_files, options = _base(source, tmp_path)
    base = load_model(spec, **options)
    assert base.arch["source"] == ("grelu" if source == "grelu" else source)
    ckpt = str(tmp_path / "tuned.ckpt")
    net = _finetune_by_hand(base, ckpt)
    x = _one_hot(3, base.card.seq_len)
    with torch.no_grad():
        expected = net(x).numpy()
    shutil.rmtree(base_files) if os.path.isdir(base_files) else os.remove(base_files)
    assert torch.load(ckpt, weights_only=True)["zoo_tools"]["format"] == FORMAT == 2
    if source == "kipoi":  # its network code lived in the deleted folder: refused without trust, in one line
        with pytest.raises(ZooError, match="lives in that folder") as err:
            load_model(f"local:{ckpt}")
        assert base_files in str(err.value) and "\n" not in str(err.value) and "--trust-checkpoint" in str(err.value)
        model = load_model(f"local:{ckpt}", trust=True)  # runs the copy of model.py stored in the checkpoint
    else:
        model = load_model(f"local:{ckpt}")
    with torch.no_grad():
        got = model(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_finetuned_kipoi_model_uses_its_folder_when_present(tmp_path):
    spec, _, _ = _base("kipoi", tmp_path)
    base = load_model(spec)
    ckpt = str(tmp_path / "tuned.ckpt")
    net = _finetune_by_hand(base, ckpt)
    x = _one_hot(2, base.card.seq_len, seed=3)
    with torch.no_grad():
        np.testing.assert_allclose(load_model(f"local:{ckpt}")(x).numpy(), net(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["multitask", "siamese", "celltype"])
def test_format1_checkpoints_still_load(kind):
    """tests/data/format1_*.ckpt were written by zoo_tools 0.1.0 (tests/data/make_format1.py) with the
    outputs it computed; this release loads them and gives the same outputs."""
    expected = np.load(os.path.join(DATA, "format1_expected.npz"))
    model = load_model(f"local:{os.path.join(DATA, f'format1_{kind}.ckpt')}")
    x = torch.from_numpy(expected["x"])
    with torch.no_grad():
        if kind == "siamese":
            got = model.compare(x, x.flip(-1))
        elif kind == "celltype":
            got = model(x, torch.from_numpy(expected["signal"]))
        else:
            got = model(x)
    assert (
        type(model).__name__
        == {"multitask": "ZooModel", "siamese": "SiameseZooModel", "celltype": "CellTypeZooModel"}[kind]
    )
    np.testing.assert_allclose(got.numpy(), expected[kind], rtol=1e-6, atol=1e-7)


def test_newer_format_and_unknown_kind_are_one_line_errors(tmp_path):
    ckpt = torch.load(os.path.join(DATA, "format1_multitask.ckpt"), weights_only=True)
    ckpt["zoo_tools"]["format"] = FORMAT + 1
    torch.save(ckpt, tmp_path / "newer.ckpt")
    with pytest.raises(ZooError, match="newer zoo_tools"):
        load_model(f"local:{tmp_path / 'newer.ckpt'}")
    ckpt["zoo_tools"].update(format=1, kind="quantum")
    torch.save(ckpt, tmp_path / "kind.ckpt")
    with pytest.raises(ZooError, match="unknown model kind 'quantum'"):
        load_model(f"local:{tmp_path / 'kind.ckpt'}")


def test_model_finetuned_from_the_demo_model_loads_without_the_cache(tmp_path, monkeypatch):
    """demo:base lives in $ZOO_HOME; a model fine-tuned from it loads from an empty cache."""
    base = load_model("demo:base")
    ckpt = str(tmp_path / "tuned.ckpt")
    net = _finetune_by_hand(base, ckpt, seed=1)
    x = _one_hot(2, base.card.seq_len, seed=2)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "empty_cache"))
    from zoo_tools.zoo import cache

    assert cache.lookup("demo:base") is None  # the base model is not there
    with torch.no_grad():
        np.testing.assert_allclose(load_model(f"local:{ckpt}")(x).numpy(), net(x).numpy(), rtol=1e-5, atol=1e-6)
