"""Every source loads through load_model and agrees with its native library on the same input."""

import os

import numpy as np
import pytest
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import task_table
from zoo_tools.zoo import cache, load_model, rc_task_perm

from . import zoo_fixtures as fx


def rand_one_hot(n, length, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).float().transpose(1, 2).contiguous()


def assert_rc_average(model, x):
    """predict(rc_average=True) == mean of the forward output and the bin-flipped RC output."""
    with torch.no_grad():
        fwd = model(x)
        rev = model(x.flip((-2, -1)))[:, torch.from_numpy(rc_task_perm(model.card.tasks))].flip(-1)
    expected = 0.5 * (fwd + rev)
    got = model.predict(x, rc_average=True, progress=False)
    assert np.abs(got - expected.numpy()).max() < 1e-5


# ---------------------------------------------------------------------------------------------
# gReLU
# ---------------------------------------------------------------------------------------------
def test_grelu_checkpoint_matches_grelu(tmp_path):
    from grelu.lightning import LightningModel

    path = fx.grelu_checkpoint(tmp_path / "model.ckpt")
    model = load_model(f"local:{path}")
    card = model.card
    assert (card.seq_len, card.bin_size, card.n_bins, card.n_tasks) == (256, 16, 16, 3)
    assert card.tasks.name.tolist() == ["atac_a", "atac_b", "chip_c"]
    assert card.tasks.cell_type.tolist() == ["A", "B", "C"]
    assert card.train_chroms == ["chr1", "chr2"] and card.val_chroms == ["chr3"] and card.test_chroms == ["chr4"]
    assert card.genome == "hg38" and len(card.sha256) == 64
    native = LightningModel.load_from_checkpoint(path, map_location="cpu", weights_only=False).eval()
    x = rand_one_hot(5, 256)
    with torch.no_grad():
        ours, theirs = model(x), native(x)
    assert ours.shape == (5, 3, 16)
    assert float((ours - theirs).abs().max()) < 1e-5
    assert model.embed(x).shape[:2] == (5, 8)
    assert_rc_average(model, x)


def test_grelu_spec_resolves_from_the_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))  # an empty cache, whatever ran before
    path = fx.grelu_checkpoint(tmp_path / "model.ckpt")
    with pytest.raises(ZooError, match=r"not in the cache .*zoo fetch grelu:acme/tiny-model"):
        load_model("grelu:acme/tiny-model")
    cache.register("grelu:acme/tiny-model:model.ckpt", path, "grelu")
    model = load_model("grelu:acme/tiny-model")
    assert model.card.source == "grelu" and model.card.name == "acme/tiny-model"
    with open(path, "ab") as fh:  # corrupt the cached file
        fh.write(b"junk")
    with pytest.raises(ZooError, match=r"corrupted or was modified.*zoo fetch"):
        load_model("grelu:acme/tiny-model")


def test_checkpoint_needing_pickle_requires_trust(tmp_path):
    path = fx.grelu_checkpoint(tmp_path / "m.ckpt", extra={"custom": fx.Opaque()})
    with pytest.raises(ZooError, match="pickled Python objects .*--trust-checkpoint"):
        load_model(f"local:{path}")
    assert load_model(f"local:{path}", trust=True).card.n_tasks == 3
    # numpy values in hyper-parameters (as gReLU's own checkpoints have) load without trust
    np_path = fx.grelu_checkpoint(tmp_path / "np.ckpt", extra={"weights": np.arange(3.0), "n": np.int64(3)})
    assert load_model(f"local:{np_path}").card.n_tasks == 3


def test_pretrained_enformer_type_rebuilt_without_download(tmp_path):
    """A checkpoint of gReLU's EnformerPretrainedModel is rebuilt from the plain architecture."""
    from zoo_tools.zoo.sources.grelu import build_architecture

    with torch.device("meta"):
        model = build_architecture(
            {
                "model_type": "EnformerPretrainedModel",
                "n_tasks": 7,
                "n_transformers": 2,
                "crop_len": 0,
                "final_pool_func": "avg",
            }
        )
    assert len(model.embedding.transformer_tower.blocks) == 2
    assert model.head.channel_transform.conv.layer.weight.shape == (7, 3072, 1)


# ---------------------------------------------------------------------------------------------
# enformer-pytorch, Borzoi, Kipoi, bpnet-lite
# ---------------------------------------------------------------------------------------------
def test_enformer_dir_matches_enformer_pytorch(tmp_path):
    from enformer_pytorch import Enformer

    path = fx.enformer_dir(tmp_path / "enf")
    model = load_model(f"enformer:{path}")
    assert (model.card.seq_len, model.card.bin_size, model.card.n_bins) == (64, 8, 4)
    assert model.card.tasks.name.tolist() == [f"human:{i}" for i in range(4)]
    native = Enformer.from_pretrained(str(path)).eval()
    x = rand_one_hot(3, 64)
    with torch.no_grad():
        ours = model(x)
        theirs = native(x.transpose(1, 2))["human"].transpose(1, 2)
    assert float((ours - theirs).abs().max()) < 1e-5
    both = load_model(f"enformer:{path}:human,mouse")
    assert both.card.n_tasks == 6
    with torch.no_grad():
        mouse = native(x.transpose(1, 2))["mouse"].transpose(1, 2)
        assert float((both(x)[:, 4:] - mouse).abs().max()) < 1e-5
    assert_rc_average(model, x)
    with pytest.raises(ZooError, match="has no head 'rat'"):
        load_model(f"enformer:{path}:rat")


@pytest.mark.slow
def test_borzoi_dir_matches_borzoi_pytorch(tmp_path):
    from borzoi_pytorch import Borzoi

    path = fx.borzoi_dir(tmp_path / "borzoi")
    model = load_model(f"borzoi:{path}")
    card = model.card
    assert (card.seq_len, card.bin_size, card.n_bins, card.n_tasks) == (4096, 32, 8, 7611)
    assert set(card.tasks.strand) == {"+", "-", "."}  # stranded RNA tracks from borzoi-pytorch's targets
    # native: the architecture built by borzoi-pytorch with the saved weights (its own
    # from_pretrained leaves the positional buffers on the meta device, see fix_meta_buffers)
    from safetensors.torch import load_file

    native = Borzoi(Borzoi.config_class.from_pretrained(str(path)))
    native.human_head = torch.nn.Conv1d(1920, 7611, 1)
    native.load_state_dict(load_file(os.path.join(path, "model.safetensors")))
    native.eval()
    x = rand_one_hot(1, 4096)
    with torch.no_grad():
        ours, theirs = model(x), native(x)
    assert float((ours - theirs).abs().max()) < 1e-5
    perm = rc_task_perm(card.tasks)
    assert card.tasks.strand.iloc[0] == "+" and card.tasks.strand.iloc[perm[0]] == "-"


def test_kipoi_dir_matches_kipoi(tmp_path):
    import kipoi

    path = fx.kipoi_dir(tmp_path / "kipoi_tiny")
    model = load_model(f"kipoi:{path}")
    assert (model.card.seq_len, model.card.n_bins, model.card.n_tasks) == (100, 1, 3)
    assert model.card.tasks.name.tolist() == ["cellA", "cellB", "cellC"]
    native = kipoi.get_model(str(path), source="dir", with_dataloader=False)
    x = rand_one_hot(4, 100)
    theirs = native.predict_on_batch(x.transpose(1, 2).numpy())
    with torch.no_grad():
        ours = model(x)
    assert ours.shape == (4, 3, 1)
    assert np.abs(ours[:, :, 0].numpy() - theirs).max() < 1e-5
    assert_rc_average(model, x)


def test_kipoi_layouts():
    from zoo_tools.zoo.sources.kipoi import input_layout

    assert input_layout((1000, 4))[1:] == (1, 0)
    assert input_layout((4, 1000))[1:] == (0, 1)
    assert input_layout((1, 4, 600))[1:] == (1, 2)
    with pytest.raises(ZooError, match="not a one-hot DNA"):
        input_layout((100, 20))


def test_bpnet_state_dict_and_pickled_model(tmp_path):
    from zoo_tools.zoo.sources.bpnet import expected_reads

    state, whole, native = fx.bpnet_files(tmp_path)
    model = load_model(f"bpnet:{state}", seq_len=256)
    trim = native.trimming
    assert (model.card.seq_len, model.card.bin_size, model.card.crop_bins) == (256, 1, trim)
    assert model.card.n_bins == 256 - 2 * trim and model.card.tasks.strand.tolist() == ["+", "-"]
    x = rand_one_hot(3, 256)
    with torch.no_grad():
        logits, log_counts = native(x)
        ours = model(x)
    # hand-computed: one softmax over both strands x positions, times exp(log counts) - 1
    n = logits.shape[0]
    prob = torch.softmax(logits.reshape(n, -1), -1).reshape(logits.shape)
    expected = prob * torch.clamp(torch.exp(log_counts) - 1, min=0)[:, :, None]
    assert float((ours - expected).abs().max()) < 1e-5
    assert torch.allclose(expected_reads(logits, log_counts), expected)
    assert_rc_average(model, x)  # + and - strands swap under reverse complement
    with pytest.raises(ZooError, match="--trust-checkpoint"):
        load_model(f"bpnet:{whole}", seq_len=256)
    trusted = load_model(f"bpnet:{whole}", seq_len=256, trust=True)
    with torch.no_grad():
        assert float((trusted(x) - ours).abs().max()) < 1e-6


# ---------------------------------------------------------------------------------------------
# Full-size architectures (meta device: shapes only, no memory)
# ---------------------------------------------------------------------------------------------
def count(module):
    return sum(p.numel() for p in module.parameters())


def test_full_size_enformer_matches_published_architecture():
    from enformer_pytorch import Enformer, EnformerConfig

    from zoo_tools.zoo.sources.enformer import EnformerHeads, EnformerTrunk

    with torch.device("meta"):
        native = Enformer(EnformerConfig())  # the official hyper-parameters
        heads = EnformerHeads(native.heads, ["human", "mouse"])
        ours = torch.nn.ModuleDict({"trunk": EnformerTrunk(native), "head": heads})
    shapes = {k: tuple(v.shape) for k, v in native.state_dict().items()}
    mine = {
        k.removeprefix("trunk.enformer."): tuple(v.shape)
        for k, v in ours.state_dict().items()
        if k.startswith("trunk.")
    }
    assert mine == shapes
    assert round(count(native) / 1e6, 1) == 251.2  # published: 251.2M parameters


def test_full_size_borzoi_matches_published_architecture():
    from borzoi_pytorch import Borzoi
    from borzoi_pytorch.config_borzoi import BorzoiConfig

    with torch.device("meta"):
        native = Borzoi(BorzoiConfig())
    assert round(count(native) / 1e6, 1) == 185.9  # published: 185.9M parameters (human head)


def test_grelu_full_size_rebuilds_have_published_shapes():
    from grelu.model.models import BorzoiModel, EnformerModel

    from zoo_tools.zoo.sources.grelu import build_architecture

    with torch.device("meta"):
        enf = build_architecture(
            {"model_type": "EnformerPretrainedModel", "n_tasks": 5313, "crop_len": 0, "final_pool_func": None}
        )
        ref = EnformerModel(n_tasks=5313, final_pool_func=None)
        bor = build_architecture({"model_type": "BorzoiPretrainedModel", "n_tasks": 7611, "final_pool_func": None})
        bref = BorzoiModel(n_tasks=7611, final_pool_func=None)
    for ours, theirs in ((enf, ref), (bor, bref)):
        mine = {k: v.shape for k, v in ours.state_dict().items()}
        assert mine == {k: v.shape for k, v in theirs.state_dict().items()}


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
def test_bad_specs_and_files(tmp_path):
    with pytest.raises(ZooError, match="unknown model spec 'nosuch:thing'"):
        load_model("nosuch:thing")
    with pytest.raises(ZooError, match="local model not found"):
        load_model(f"local:{tmp_path / 'missing.ckpt'}")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ZooError, match="not a readable torch file"):
        load_model(f"local:{bad}")
    with pytest.raises(ZooError, match="Kipoi zoo model Basset needs the network"):
        load_model("kipoi:Basset")
    with pytest.raises(ZooError, match="downloads are off"):
        load_model("enformer:EleutherAI/enformer-official-rough")


def test_wrong_input_length(tmp_path):
    model = load_model(f"local:{fx.grelu_checkpoint(tmp_path / 'm.ckpt')}")
    with pytest.raises(ZooError, match=r"takes 256 bp inputs; got 300 bp"):
        model(rand_one_hot(1, 300))
    with pytest.raises(ZooError, match=r"takes one-hot \(N, 4, L\)"):
        model(torch.zeros(1, 5, 256))


def test_task_table_and_rc_perm():
    t = task_table({"name": ["p", "m", "u"], "strand": ["+", "-", "."], "cell type": ["x", "x", "x"]})
    assert list(t.columns[:5]) == ["name", "assay", "cell_type", "strand", "description"]
    assert rc_task_perm(t).tolist() == [1, 0, 2]


def test_predict_batch_size_does_not_change_results(tmp_path):
    model = load_model(f"local:{fx.grelu_checkpoint(tmp_path / 'm.ckpt')}")
    x = rand_one_hot(7, 256)
    a = model.predict(x, batch_size=2, progress=False)
    b = model.predict(x, batch_size=7, progress=False)
    assert np.abs(a - b).max() < 1e-5
    bf = model.predict(x, precision="bf16", progress=False)
    assert np.median(np.abs(bf - a) / (np.abs(a) + 1e-3)) < 0.05


def test_cache_folder_is_zoo_home(zoo_home):
    assert str(cache.zoo_home()) == os.path.abspath(zoo_home)


def test_chrombpnet_pickled_model(tmp_path):
    from bpnetlite import BPNet, ChromBPNet

    from zoo_tools.zoo.sources.bpnet import expected_reads

    torch.manual_seed(0)
    bias = BPNet(n_filters=4, n_layers=1, n_outputs=1, n_control_tracks=0, verbose=False)
    accessibility = BPNet(n_filters=8, n_layers=2, n_outputs=1, n_control_tracks=0, verbose=False)
    native = ChromBPNet(bias, accessibility).eval()
    path = tmp_path / "chrombpnet.torch"
    torch.save(native, path)
    model = load_model(f"bpnet:{path}", seq_len=256, trust=True)
    assert model.card.crop_bins == accessibility.trimming and model.card.n_tasks == 1
    x = rand_one_hot(2, 256)
    with torch.no_grad():
        assert float((model(x) - expected_reads(*native(x))).abs().max()) < 1e-5
