"""Borzoi adapter: borzoi-pytorch / flashzoi (``borzoi:<HF id or local dir>[:mouse]``).

borzoi-pytorch's ``Borzoi`` takes ``(N, 4, L)`` one-hot (the official input is 524,288 bp) and
returns ``(N, tracks, bins)`` at 32 bp after a Softplus, the central ``bins_to_return`` bins
(6,144 = 196,608 bp). The adapter's trunk runs the model up to ``final_joined_convs``
(embedding ``(N, 1920, bins)``); its head is the human (default) or mouse head + Softplus. Task
names, strands and descriptions come from borzoi-pytorch's bundled ``targets.txt`` for the human
head (7,611 tracks, stranded RNA tracks paired for reverse-complement averaging).
Flashzoi checkpoints (``config.flashed``) use FlashAttention and need the ``flash-attn`` package
and a GPU. borzoi-pytorch's ``from_pretrained`` leaves the attention layers' positional buffers on
the meta device under current transformers; the adapter recomputes them (:func:`fix_meta_buffers`).
"""

from __future__ import annotations

import os

import pandas as pd
import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import Source, register_source

OFFICIAL_SEQ_LEN = 524_288


class BorzoiTrunk(nn.Module):
    """``(N, 4, L)`` -> Borzoi up to its final joined convs -> ``(N, 1920, bins)``."""

    def __init__(self, borzoi: nn.Module):
        super().__init__()
        self.borzoi = borzoi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.borzoi.final_joined_convs(self.borzoi.get_embs_after_crop(x))


class BorzoiHead(nn.Module):
    """Embedding -> one Borzoi head (1x1 conv) + Softplus -> ``(N, T, bins)``."""

    def __init__(self, conv: nn.Module):
        super().__init__()
        self.conv = conv
        self.softplus = nn.Softplus()

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.softplus(self.conv(emb.float()))


def fix_meta_buffers(model: nn.Module) -> int:
    """Recompute Borzoi attention's non-persistent ``positions`` buffers left on the meta device.

    borzoi-pytorch 0.4 computes them in ``__init__``; ``from_pretrained`` under transformers 4.5x
    builds the model on the meta device and never materialises non-persistent buffers, so the
    first forward fails ("Tensor on device meta").

    Parameters
    ----------
    model : a borzoi-pytorch ``Borzoi``, fixed in place (buffers rebuilt on CPU).

    Returns
    -------
    int
        The number of buffers fixed (0 when none was on the meta device).
    """
    from borzoi_pytorch.pytorch_borzoi_transformer import get_positional_embed

    fixed = 0
    for module in model.modules():
        buf = module._buffers.get("positions") if hasattr(module, "_buffers") else None
        if isinstance(buf, torch.Tensor) and buf.is_meta:
            module._buffers["positions"] = get_positional_embed(
                buf.shape[0] // 2 + 1 if buf.ndim else 4096, module.num_rel_pos_features, torch.device("cpu")
            )
            fixed += 1
    return fixed


def human_tasks(n: int) -> pd.DataFrame:
    """Borzoi's human targets (name, assay, strand, description) when the head has 7,611 tracks.

    Parameters
    ----------
    n : the head's number of tracks.

    Returns
    -------
    pandas.DataFrame
        A task table (:func:`~zoo_tools.models.card.task_table`) from borzoi-pytorch's
        ``targets.txt``: ``name`` its identifier, strand its last character (``+``, ``-``, else
        ``.``), assay and cell type split from the description; ``task0``... if ``n`` differs.
    """
    from borzoi_pytorch.pytorch_borzoi_model import TRACKS_DF

    if len(TRACKS_DF) != n:
        return task_table(None, n)
    ident = TRACKS_DF["identifier"].astype(str)
    strand = ident.str[-1].where(ident.str[-1].isin(["+", "-"]), ".")
    desc = TRACKS_DF["description"].astype(str)
    return task_table(
        pd.DataFrame(
            {
                "name": ident,
                "assay": desc.str.split(":").str[0],
                "cell_type": desc.str.split(":", n=1).str[-1],
                "strand": strand,
                "description": desc,
            }
        )
    )


def load(ref: str) -> ZooModel:
    """``borzoi:<HF id or dir>[:mouse]`` -> ZooModel.

    Parameters
    ----------
    ref : an HF model id (downloaded unless downloads are off: ZooError) or a local folder, with
        ``:human`` (default) or ``:mouse`` for the head. ZooError if it cannot be loaded or lacks
        the head.

    Returns
    -------
    ZooModel
        ``(N, 4, seq_len)`` one-hot (524,288 bp officially) -> ``(N, T, bins)`` Softplus coverage
        per 32 bp bin (6,144 central bins officially; 7,611 human tracks); embedding
        ``(N, 1920, bins)``.
    """
    from borzoi_pytorch import Borzoi

    name, _, head = ref.rpartition(":") if ref.endswith((":mouse", ":human")) else (ref, "", "human")
    local = os.path.isdir(name)
    if not local and cache.offline():
        raise ZooError(
            f"borzoi model {name} is not a local folder and downloads are off (HF_HUB_OFFLINE); "
            f"on a networked machine run `zoo fetch borzoi:{name}` and copy {cache.zoo_home()} here"
        )
    try:
        model = Borzoi.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise ZooError(f"cannot load borzoi model {name}: {str(err).splitlines()[0][:160]}") from None
    fix_meta_buffers(model)
    config = model.config
    conv = getattr(model, f"{head}_head", None)
    if conv is None:
        raise ZooError(f"borzoi model {name} has no {head} head (set enable_{head}_head in its config)")
    seq_len = int(getattr(config, "seq_len", 0) or OFFICIAL_SEQ_LEN)
    n_bins = int(config.bins_to_return) if config.return_center_bins_only else 16384 - 32
    tasks = human_tasks(conv.out_channels) if head == "human" else task_table(None, conv.out_channels)
    weights = ""
    if local:
        found = [f for f in os.listdir(name) if f.endswith((".bin", ".safetensors", ".pt"))]
        weights = os.path.join(name, found[0]) if found else ""
    card = ModelCard(
        source="borzoi",
        name=name,
        seq_len=seq_len,
        bin_size=32,
        n_bins=n_bins,
        crop_bins=(seq_len // 32 - n_bins) // 2,
        tasks=tasks,
        genome="hg38" if head == "human" else "mm10",
        weights=weights,
        sha256=cache.sha256_file(weights) if weights else "",
        output="Softplus: squashed-scale coverage per 32 bp bin (see Borzoi's targets clip/scale)",
        notes=f"{head} head; flashed={getattr(model, 'flashed', False)}",
    )
    arch = {"source": "borzoi", "config": _config_dict(config), "head": head}
    return ZooModel(BorzoiTrunk(model), BorzoiHead(conv), card, arch=arch).eval()


def _config_dict(config) -> dict:
    """The model's ``BorzoiConfig`` as a plain dict (what ``save_pretrained`` writes)."""
    return {k: v for k, v in config.to_dict().items() if k not in ("architectures", "transformers_version")}


def rebuild_trunk(arch: dict, trust: bool = False) -> nn.Module:
    """A BorzoiTrunk with random weights from the saved config (no download).

    Parameters
    ----------
    arch : ``{"source": "borzoi", "config": BorzoiConfig as a dict, "head": ...}`` (``ZooModel.arch``).
    trust : unused (the config is plain data).

    Returns
    -------
    BorzoiTrunk
        ``(N, 4, L)`` -> ``(N, 1920, bins)``.
    """
    from borzoi_pytorch import Borzoi
    from borzoi_pytorch.config_borzoi import BorzoiConfig

    config = BorzoiConfig(**arch["config"])
    for key, value in arch["config"].items():  # keys BorzoiConfig does not take (e.g. seq_len) stay attributes
        setattr(config, key, value)
    return BorzoiTrunk(Borzoi(config))


def _fetch(ref: str) -> str:
    from zoo_tools.zoo.catalog import fetch_hf_pretrained

    return fetch_hf_pretrained("borzoi", ref)


register_source(Source("borzoi", lambda ref, trust=False, **_: load(ref), _fetch, rebuild_trunk, order=3))
