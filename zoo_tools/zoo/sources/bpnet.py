"""bpnet-lite adapter (``bpnet:<file>``): BPNet and ChromBPNet.

bpnet-lite models return ``(profile logits (N, S, L_out), log counts (N, 1))``: one multinomial
over all S strands x L_out positions and one total count (trained against ``log(1 + reads)``).
zoo_tools maps them to tracks x bins at base resolution: **expected reads per bp**
``softmax(logits over S*L_out) * max(exp(log counts) - 1, 0)``, shape ``(N, S, L_out)``, one task
per strand (``bin_size = 1``, ``crop_bins = trimming``). The input length is free (default
2,114 bp, bpnet-lite's; ``load_model(spec, seq_len=N)``).

Files: a ``state_dict`` saved with ``torch.save(model.state_dict(), f)`` loads safely
(``weights_only``), its architecture read from the tensor shapes (filters, layers, strands, control
tracks); a whole pickled model (``torch.save(model)``, what bpnet-lite's ``fit`` writes) needs
``--trust-checkpoint``. Models with control tracks are run with zero controls. A ``BPNet``'s
trunk is its stem and dilated residual convolutions (embedding ``(N, F, L)``), its head the profile
and count layers; other models (ChromBPNet) are one module. bpnet-lite is
installed without its dependencies (its ``modisco`` would replace modisco-lite): the Makefile does
``pip install --no-deps bpnet-lite``.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.checkpoint import load_checkpoint
from zoo_tools.models.model import ZooModel
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import Source, register_source

DEFAULT_INPUT = 2114


def expected_reads(logits: torch.Tensor, log_counts: torch.Tensor) -> torch.Tensor:
    """``(N, S, L)`` logits + ``(N, 1)`` log counts -> expected reads per strand and bp.

    Parameters
    ----------
    logits : ``(N, S, L)`` profile logits, one multinomial over all ``S * L`` positions.
    log_counts : ``(N, 1)`` predicted ``log(1 + total reads)``.

    Returns
    -------
    torch.Tensor
        ``(N, S, L)``: ``softmax(logits over S*L) * max(exp(log_counts) - 1, 0)``; sums to the
        total per sequence.
    """
    n, s, length = logits.shape
    prob = torch.softmax(logits.reshape(n, s * length), dim=-1).reshape(n, s, length)
    total = torch.clamp(torch.expm1(log_counts.reshape(n, 1, 1)), min=0)
    return prob * total


class BPNetOutputs(nn.Module):
    """``(N, 4, L)`` -> the bpnet-lite model -> packed ``(N, S + 1, L_out)``: logits, then log counts."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_ctl = getattr(self.model, "n_control_tracks", 0) or 0
        ctl = torch.zeros(x.shape[0], n_ctl, x.shape[-1], device=x.device, dtype=x.dtype) if n_ctl else None
        logits, log_counts = self.model(x, ctl) if ctl is not None else self.model(x)
        return torch.cat([logits, log_counts.reshape(-1, 1, 1).expand(-1, 1, logits.shape[-1])], dim=1)


class ExpectedReads(nn.Module):
    """Packed ``(N, S + 1, L)`` -> expected reads ``(N, S, L)``."""

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        return expected_reads(packed[:, :-1], packed[:, -1, :1])


class BPNetTrunk(nn.Module):
    """A bpnet-lite ``BPNet``'s convolutions as a chain: ``(N, 4, L)`` -> ``(N, F, L)``, the
    embedding its profile and count heads read (the same weights, the same arithmetic)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.stem = nn.Sequential(model.iconv, model.irelu)
        self.layers = nn.ModuleList(_Residual(c, r) for c, r in zip(model.rconvs, model.rrelus))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return x


class _Residual(nn.Module):
    def __init__(self, conv: nn.Module, act: nn.Module):
        super().__init__()
        self.conv, self.act = conv, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.act(self.conv(x)))


class BPNetHead(nn.Module):
    """Embedding ``(N, F, L)`` -> packed ``(N, S + 1, L_out)`` as :class:`BPNetOutputs` (zero controls)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.fconv, self.linear = model.fconv, model.linear
        self.trimming = int(model.trimming)
        self.n_ctl = int(getattr(model, "n_control_tracks", 0) or 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        start, end = self.trimming, x.shape[-1] - self.trimming
        xc = torch.cat([x, x.new_zeros(x.shape[0], self.n_ctl, x.shape[-1])], dim=1) if self.n_ctl else x
        logits = self.fconv(xc)[:, :, start:end]
        pooled = torch.mean(x[:, :, max(start - 37, 0) : end + 37], dim=2)
        if self.n_ctl:  # log(sum of zero controls + 1) = 0
            pooled = torch.cat([pooled, pooled.new_zeros(pooled.shape[0], 1)], dim=-1)
        counts = self.linear(pooled).reshape(-1, 1, 1)
        return torch.cat([logits, counts.expand(-1, 1, logits.shape[-1])], dim=1)


def bpnet_from_state_dict(state: dict) -> nn.Module:
    """Rebuild a bpnet-lite BPNet from its state_dict shapes.

    Parameters
    ----------
    state : a BPNet ``state_dict`` (filters, layers, outputs and control tracks read from the
        ``iconv``, ``rconvs.*`` and ``fconv`` weights); ZooError if those keys are missing.

    Returns
    -------
    bpnetlite.BPNet
        The network with these weights.
    """
    from bpnetlite import BPNet

    try:
        n_filters = state["iconv.weight"].shape[0]
        n_layers = len([k for k in state if k.startswith("rconvs.") and k.endswith(".weight")])
        n_outputs, fin = state["fconv.weight"].shape[:2]
    except KeyError as err:
        raise ZooError(f"state_dict is not a bpnet-lite BPNet (missing {err})") from None
    model = BPNet(
        n_filters=n_filters, n_layers=n_layers, n_outputs=n_outputs, n_control_tracks=fin - n_filters, verbose=False
    )
    model.load_state_dict(state)
    return model


def load(ref: str, trust: bool = False, seq_len: int | None = None) -> ZooModel:
    """``bpnet:<file>`` -> ZooModel predicting expected reads per strand and bp.

    Parameters
    ----------
    ref : a BPNet ``state_dict`` file, or a whole pickled model (BPNet, ChromBPNet; needs
        ``trust``). ZooError if missing, or if bpnet-lite is not installed.
    trust : allow arbitrary unpickling (only for files you trust).
    seq_len : input length in bp (default 2,114); must exceed twice the model's trimming.

    Returns
    -------
    ZooModel
        ``(N, 4, seq_len)`` one-hot -> ``(N, S, seq_len - 2 * trimming)`` expected reads per bp
        (S strands: ``+`` / ``-`` for two outputs); a BPNet splits into trunk (embedding
        ``(N, F, seq_len)``) and head, other models are one trunk.
    """
    if not os.path.exists(ref):
        raise ZooError(f"bpnet model file not found: {ref}")
    try:
        import bpnetlite  # noqa: F401  (needed to rebuild or unpickle the model)
    except ImportError:
        raise ZooError(
            "bpnet models need bpnet-lite: `pip install --no-deps bpnet-lite==1.1.0` "
            "(without deps: its `modisco` dependency would replace modisco-lite)"
        ) from None
    obj = load_checkpoint(ref, trust=trust)
    model = obj if isinstance(obj, nn.Module) else bpnet_from_state_dict(obj)
    model.eval()
    bpnet = getattr(model, "accessibility", model)
    trimming = int(getattr(bpnet, "trimming", 0))
    n_out = int(bpnet.fconv.out_channels)
    seq_len = int(seq_len or DEFAULT_INPUT)
    if seq_len <= 2 * trimming:
        raise ZooError(f"bpnet input length {seq_len} must exceed twice the model's trimming ({trimming})")
    strands = ["+", "-"] if n_out == 2 else ["."] * n_out
    tasks = task_table([f"{os.path.basename(ref)}:{i}{s if s != '.' else ''}" for i, s in enumerate(strands)])
    tasks["strand"] = strands
    kind = type(model).__name__
    card = ModelCard(
        source="bpnet",
        name=ref,
        seq_len=seq_len,
        bin_size=1,
        n_bins=seq_len - 2 * trimming,
        crop_bins=trimming,
        tasks=tasks,
        weights=os.path.abspath(ref),
        sha256=cache.sha256_file(ref),
        output="expected reads per bp: softmax(profile logits) x (exp(log counts) - 1)",
        notes=f"{kind}; input {seq_len} bp (load_model(..., seq_len=N) to change); zero control tracks",
    )
    from bpnetlite import BPNet

    arch = {"source": "bpnet", "split": type(model) is BPNet, "model": describe(model)}
    if type(model) is BPNet:  # split into the convolutional trunk and the two output heads
        return ZooModel(BPNetTrunk(model), nn.Sequential(BPNetHead(model), ExpectedReads()), card, arch=arch).eval()
    return ZooModel(BPNetOutputs(model), ExpectedReads(), card, arch=arch).eval()


def _bpnet_args(model: nn.Module) -> dict:
    """Constructor arguments of a bpnet-lite BPNet (read from the model and its layers)."""
    return {
        "n_filters": int(model.n_filters),
        "n_layers": int(model.n_layers),
        "n_outputs": int(model.n_outputs),
        "n_control_tracks": int(model.n_control_tracks),
        "trimming": int(model.trimming),
        "profile_output_bias": model.fconv.bias is not None,
        "count_output_bias": model.linear.bias is not None,
        "name": str(model.name),
    }


def describe(model: nn.Module) -> dict:
    """``{"class": "BPNet", "args": ...}`` or ``{"class": "ChromBPNet", "bias": ..., "accessibility": ...}``:
    enough to rebuild the network without its file; ``{"class": NAME}`` for other classes.

    Parameters
    ----------
    model : a bpnet-lite network.

    Returns
    -------
    dict
        Plain data (saved in ``ZooModel.arch["model"]``); ``args`` are the BPNet's constructor
        arguments.
    """
    kind = type(model).__name__
    if kind == "BPNet":
        return {"class": kind, "args": _bpnet_args(model)}
    if kind == "ChromBPNet" and type(model.bias).__name__ == type(model.accessibility).__name__ == "BPNet":
        return {
            "class": kind,
            "bias": describe(model.bias),
            "accessibility": describe(model.accessibility),
            "name": str(model.name),
        }
    return {"class": kind}


def build(desc: dict) -> nn.Module:
    """A bpnet-lite network with random weights from :func:`describe`'s description.

    Parameters
    ----------
    desc : a BPNet's, or a ChromBPNet's of two BPNets; ZooError for any other class.

    Returns
    -------
    torch.nn.Module
        The bpnet-lite ``BPNet`` or ``ChromBPNet``.
    """
    from bpnetlite import BPNet
    from bpnetlite.chrombpnet import ChromBPNet

    if desc["class"] == "BPNet":
        return BPNet(**desc["args"], verbose=False)
    if desc["class"] == "ChromBPNet" and "bias" in desc:
        return ChromBPNet(build(desc["bias"]), build(desc["accessibility"]), name=desc["name"])
    raise ZooError(
        f"a bpnet-lite {desc['class']} cannot be rebuilt from its description (only BPNet and "
        f"ChromBPNet of two BPNets); load the fine-tuned model beside its base file"
    )


def rebuild_trunk(arch: dict, trust: bool = False) -> nn.Module:
    """The BPNet trunk (or the whole wrapped model) with random weights.

    Parameters
    ----------
    arch, trust : ``ZooModel.arch`` (``{"source": "bpnet", "split": bool, "model": ...}``); unused.

    Returns
    -------
    torch.nn.Module
        :class:`BPNetTrunk` (``(N, 4, L)`` -> ``(N, F, L)``) if ``split``, else :class:`BPNetOutputs`.
    """
    model = build(arch["model"]).eval()
    return BPNetTrunk(model) if arch.get("split") else BPNetOutputs(model)


def _load(ref: str, trust: bool = False, **kwargs) -> ZooModel:
    return load(ref, trust=trust, seq_len=kwargs.get("seq_len"))


register_source(Source("bpnet", _load, None, rebuild_trunk, order=4))
