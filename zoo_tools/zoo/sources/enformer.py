"""enformer-pytorch adapter (``enformer:<HF id or local dir>[:head[,head]]``).

enformer-pytorch's ``Enformer`` takes ``(N, L, 4)`` one-hot and returns a dict of heads, each
``(N, target_length, tracks)`` after a Softplus. The adapter's trunk transposes the input, runs
``Enformer._trunk`` and returns the embedding as ``(N, 2*dim, target_length)``; its head applies the
selected heads (default ``human``, or every head if there is no ``human``) and concatenates their
tracks: output ``(N, T, target_length)``, ``T`` = the selected heads' tracks in order.

Inputs: the official model takes 196,608 bp and predicts the central 896 bins of 128 bp
(320 bins cropped each side). Only for the HF id ``EleutherAI/enformer-official-rough`` does
enformer-pytorch turn on ``use_tf_gamma`` (the TF positional features the weights were trained
with); a local copy of those weights needs it too, so the adapter turns it on when the folder's
config names that checkpoint (or when asked with ``use_tf_gamma=True``), and the input length is
then fixed at 196,608 bp.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import Source, register_source

OFFICIAL = "EleutherAI/enformer-official-rough"


class EnformerTrunk(nn.Module):
    """``(N, 4, L)`` -> enformer-pytorch trunk -> ``(N, 2*dim, target_length)``."""

    def __init__(self, enformer: nn.Module):
        super().__init__()
        self.enformer = enformer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enformer._trunk(x.transpose(1, 2)).transpose(1, 2)


class EnformerHeads(nn.Module):
    """Embedding ``(N, C, B)`` -> selected heads (Linear + Softplus) -> ``(N, T, B)``."""

    def __init__(self, heads: nn.ModuleDict, names: list[str]):
        super().__init__()
        self.heads = nn.ModuleDict({n: heads[n] for n in names})

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        e = emb.transpose(1, 2)
        return torch.cat([head(e) for head in self.heads.values()], dim=-1).transpose(1, 2)


def seq_len_for(config) -> int:
    """Input length: ``config.seq_len`` if saved, else the official 196,608 bp scaled to the
    config's downsampling and target length (1,536 bins before the crop to 896).

    Parameters
    ----------
    config : an ``EnformerConfig`` (``num_downsamples``, ``target_length``, maybe ``seq_len``).

    Returns
    -------
    int
        bp: ``2**num_downsamples * round(target_length * 1536 / 896)``.
    """
    if getattr(config, "seq_len", None):
        return int(config.seq_len)
    pool = 2 ** int(config.num_downsamples)
    bins = round(config.target_length * 1536 / 896)
    return pool * bins


def _read_targets(folder: str, head: str, n: int):
    """Task table from a Basenji-style ``targets_<head>.txt`` in the folder, if present."""
    import pandas as pd

    path = os.path.join(folder, f"targets_{head}.txt")
    if os.path.isdir(folder) and os.path.exists(path):
        t = pd.read_csv(path, sep="\t")
        if len(t) == n and "description" in t.columns:
            assay = t["description"].str.split(":").str[0]
            return pd.DataFrame(
                {
                    "name": f"{head}:" + t.get("identifier", t.index.astype(str)).astype(str),
                    "assay": assay,
                    "cell_type": t["description"].str.split(":").str[-1],
                    "strand": ".",
                    "description": t["description"],
                }
            )
    return pd.DataFrame(
        {
            "name": [f"{head}:{i}" for i in range(n)],
            "assay": "unknown",
            "cell_type": "unknown",
            "strand": ".",
            "description": f"enformer {head} head track",
        }
    )


def trunk_from_config(config: dict, use_tf_gamma: bool = False) -> nn.Module:
    """An EnformerTrunk with random weights from a saved config (no download).

    Parameters
    ----------
    config : ``EnformerConfig.to_dict()`` (``architectures``, ``transformers_version`` ignored).
    use_tf_gamma : TF positional features, as the weights to be loaded were trained with.

    Returns
    -------
    EnformerTrunk
        ``(N, 4, L)`` -> ``(N, 2*dim, target_length)``.
    """
    from enformer_pytorch import Enformer, EnformerConfig

    cfg = {k: v for k, v in config.items() if k not in ("architectures", "transformers_version")}
    model = Enformer(EnformerConfig(**cfg))
    for module in model.modules():
        if hasattr(module, "use_tf_gamma"):
            module.use_tf_gamma = use_tf_gamma
    return EnformerTrunk(model)


def _pretrained(name: str, use_tf_gamma: bool | None) -> tuple[nn.Module, bool, bool]:
    """enformer-pytorch's ``Enformer`` from an HF id or a local folder -> ``(model, local, use_tf)``."""
    from enformer_pytorch import Enformer, from_pretrained

    local = os.path.isdir(name)
    if not local and cache.offline():
        raise ZooError(
            f"enformer model {name} is not a local folder and downloads are off (HF_HUB_OFFLINE); "
            f"on a networked machine save it with Enformer.from_pretrained('{name}')."
            f"save_pretrained(DIR) and use enformer:DIR"
        )
    try:
        if local:
            config = Enformer.config_class.from_pretrained(name)
            official = OFFICIAL in str(getattr(config, "_name_or_path", "")) or getattr(config, "official", False)
            model = Enformer.from_pretrained(name)
            use_tf = official if use_tf_gamma is None else use_tf_gamma
            for module in model.modules():
                if hasattr(module, "use_tf_gamma"):
                    module.use_tf_gamma = use_tf
        else:
            model = from_pretrained(name, use_tf_gamma=use_tf_gamma)
            use_tf = name == OFFICIAL if use_tf_gamma is None else use_tf_gamma
    except (OSError, ValueError) as err:
        raise ZooError(f"cannot load enformer model {name}: {str(err).splitlines()[0][:160]}") from None
    return model, local, use_tf


def load(ref: str, use_tf_gamma: bool | None = None) -> ZooModel:
    """``<HF id or dir>[:head,...]`` -> ZooModel.

    Parameters
    ----------
    ref : an HF model id with optional ``:head[,head]`` (downloaded unless downloads are off:
        ZooError), or a local folder; heads default to ``human`` if the model has one, else all.
        ZooError if it cannot be loaded or lacks a head.
    use_tf_gamma : TF positional features; default on for ``EleutherAI/enformer-official-rough``
        (or a folder whose config names it), which fixes the input at 196,608 bp.

    Returns
    -------
    ZooModel
        ``(N, 4, seq_len)`` one-hot -> ``(N, T, target_length)`` Softplus signal per bin
        (officially 896 bins of 128 bp, 5,313 human tracks), T the selected heads' tracks in
        order; embedding ``(N, 2*dim, target_length)``.
    """
    import pandas as pd

    name, _, heads_arg = ref.partition(":") if not os.path.isdir(ref) else (ref, "", "")
    model, local, use_tf = _pretrained(name, use_tf_gamma)
    config = model.config
    available = list(model.heads.keys())
    heads = heads_arg.split(",") if heads_arg else (["human"] if "human" in available else available)
    missing = [h for h in heads if h not in available]
    if missing:
        raise ZooError(f"enformer model {name} has no head {missing[0]!r} (heads: {', '.join(available)})")
    seq_len = 196_608 if use_tf else seq_len_for(config)
    pool = 2 ** int(config.num_downsamples)
    tasks = task_table(pd.concat([_read_targets(name, h, config.output_heads[h]) for h in heads], ignore_index=True))
    weights = ""
    if local:
        files = [f for f in os.listdir(name) if f.endswith((".bin", ".safetensors", ".pt"))]
        weights = os.path.join(name, files[0]) if files else name
    card = ModelCard(
        source="enformer",
        name=name,
        seq_len=seq_len,
        bin_size=pool,
        n_bins=int(config.target_length),
        crop_bins=(seq_len // pool - int(config.target_length)) // 2,
        tasks=tasks,
        genome="hg38 (human head) / mm10 (mouse head)" if name == OFFICIAL or use_tf else "unknown",
        weights=weights,
        sha256=cache.sha256_file(weights) if weights else "",
        output="Softplus: expected signal per 128 bp bin" if pool == 128 else "Softplus output",
        notes=f"heads {','.join(heads)}; use_tf_gamma={use_tf}",
    )
    arch = {"source": "enformer", "config": config.to_dict(), "use_tf_gamma": bool(use_tf)}
    return ZooModel(EnformerTrunk(model), EnformerHeads(model.heads, heads), card, arch=arch).eval()


def rebuild_trunk(arch: dict, trust: bool = False) -> nn.Module:
    """An EnformerTrunk with random weights from the saved config.

    Parameters
    ----------
    arch : ``{"source": "enformer", "config": ..., "use_tf_gamma": bool}`` (``ZooModel.arch``).
    trust : unused (the config is plain data).

    Returns
    -------
    EnformerTrunk
        ``(N, 4, L)`` -> ``(N, 2*dim, target_length)``.
    """
    return trunk_from_config(arch["config"], arch.get("use_tf_gamma", False))


def _fetch(ref: str) -> str:
    from zoo_tools.zoo.catalog import fetch_hf_pretrained

    return fetch_hf_pretrained("enformer", ref)


register_source(
    Source(
        "enformer",
        lambda ref, trust=False, **kw: load(ref, use_tf_gamma=kw.get("use_tf_gamma")),
        _fetch,
        rebuild_trunk,
        order=2,
    )
)
