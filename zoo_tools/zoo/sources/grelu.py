"""gReLU model zoo adapter: Lightning checkpoints (``model.ckpt``) from HuggingFace or disk.

A gReLU checkpoint is a PyTorch Lightning checkpoint whose ``hyper_parameters`` hold
``model_params`` (``model_type`` + constructor arguments of a ``grelu.model.models`` class) and
``train_params`` (task, loss -> output activation), with ``data_params`` (tasks, and per split
``seq_len``, ``bin_size``, ``intervals``, ``genome``) beside them. The adapter rebuilds the
architecture, loads ``state_dict`` (keys ``model.*``), and splits it into ``embedding`` (trunk)
and ``head``. ``EnformerPretrainedModel`` / ``BorzoiPretrainedModel`` download base weights when
constructed, so their fine-tuned checkpoints are rebuilt here from the plain Enformer / Borzoi
architecture instead (no network needed).
"""

from __future__ import annotations

import contextlib
import os

from torch import nn

from zoo_tools.core.errors import ZooError
from zoo_tools.models.card import ModelCard, task_table
from zoo_tools.models.checkpoint import load_checkpoint
from zoo_tools.models.model import Exp, ZooModel
from zoo_tools.zoo import cache
from zoo_tools.zoo.registry import Source, register_source

DEFAULT_FILE = "model.ckpt"


def _pretrained_base(model_type: str, params: dict) -> nn.Module:
    """Rebuild Enformer/BorzoiPretrainedModel as gReLU does, minus the weight download."""
    from grelu.model.heads import ConvHead
    from grelu.model.models import BaseModel, BorzoiModel, EnformerModel

    p = dict(params)
    n_tasks = p.pop("n_tasks")
    n_transformers = p.pop("n_transformers", 11 if model_type.startswith("Enformer") else 8)
    final_pool = p.pop("final_pool_func", "avg")
    crop = p.pop("crop_len", 0)
    if model_type == "EnformerPretrainedModel":
        base = EnformerModel(
            n_tasks=5313,
            crop_len=crop,
            channels=1536,
            n_transformers=11,
            n_heads=8,
            key_len=64,
            final_act_func=None,
            final_pool_func=None,
        )
        in_channels = 3072
    else:
        base = BorzoiModel(
            n_tasks=7611,
            crop_len=crop,
            n_transformers=8,
            final_act_func=None,
            final_pool_func=None,
            act_func=p.pop("act_func", "gelu_borzoi"),
            norm_kwargs=p.pop("norm_kwargs", None),
        )
        in_channels = 1920
    base.embedding.transformer_tower.blocks = base.embedding.transformer_tower.blocks[:n_transformers]
    head = ConvHead(n_tasks=n_tasks, in_channels=in_channels, pool_func=final_pool)
    return BaseModel(embedding=base.embedding, head=head)


def build_architecture(model_params: dict) -> nn.Module:
    """The ``grelu.model.models`` module described by ``model_params`` (random weights).

    Parameters
    ----------
    model_params : ``model_type`` (a ``grelu.model.models`` class; ZooError for an unknown one)
        and its constructor arguments, as in a checkpoint's ``hyper_parameters``.
        ``Enformer/BorzoiPretrainedModel`` are rebuilt without their weight download.

    Returns
    -------
    torch.nn.Module
        A gReLU model: ``embedding`` (``(N, 4, L)`` -> ``(N, C, B')``) then ``head``.
    """
    import grelu.model.models as models

    params = {k: v for k, v in model_params.items() if k != "model_type"}
    model_type = model_params.get("model_type")
    if model_type in ("EnformerPretrainedModel", "BorzoiPretrainedModel"):
        return _pretrained_base(model_type, params)
    if not model_type or not hasattr(models, model_type):
        raise ZooError(f"unknown gReLU model_type '{model_type}' in checkpoint hyper-parameters")
    return getattr(models, model_type)(**params)


def activation_for(train_params: dict) -> tuple[nn.Module, str]:
    """Output activation as gReLU applies it in ``LightningModel.forward``.

    Parameters
    ----------
    train_params : a checkpoint's ``train_params``: ``task`` (regression, binary, multiclass;
        ZooError for others) and ``loss`` (Poisson losses: exp).

    Returns
    -------
    tuple
        ``(activation, description)``: ``Exp``, ``Identity``, ``Sigmoid`` or ``Softmax(dim=1)``
        (over tasks), and what the outputs are (the card's ``output``).
    """
    task = str(train_params.get("task", "regression")).lower()
    loss = str(train_params.get("loss", "poisson")).lower()
    if task == "regression":
        if loss in ("poisson", "poisson_multinomial"):
            return Exp(), "exp(logits): expected signal (Poisson-trained)"
        return nn.Identity(), "signal (MSE-trained)"
    if task == "binary":
        return nn.Sigmoid(), "probability (sigmoid)"
    if task == "multiclass":
        return nn.Softmax(dim=1), "class probabilities (softmax over tasks)"
    raise ZooError(f"unknown gReLU task '{task}' in checkpoint train_params")


def _chroms(split: dict) -> list[str]:
    iv = (split or {}).get("intervals") or {}
    chroms = iv.get("chrom") if isinstance(iv, dict) else None
    if chroms is None:
        chroms = (split or {}).get("chroms") or []
    if isinstance(chroms, str):
        chroms = [chroms]
    return list(dict.fromkeys(str(c) for c in chroms))


def card_from_checkpoint(ckpt: dict, name: str, weights: str, sha: str) -> ModelCard:
    """Model card from a gReLU checkpoint's hyper-parameters and data_params.

    Parameters
    ----------
    ckpt : the loaded Lightning checkpoint (``hyper_parameters``, ``data_params``, ``performance``).
    name, weights, sha : the card's name, weights path and their sha256.

    Returns
    -------
    ModelCard
        ``seq_len`` and ``bin_size`` (bp) from the train split, ``n_bins`` from its ``label_len``
        (1 after a final pooling), tasks (``task0``... if they do not match ``n_tasks``; per-task
        performance as extra columns), chromosomes per split, numeric metrics as ``SPLIT_METRIC``.
    """
    hp = ckpt.get("hyper_parameters", {})
    mp, dp = hp.get("model_params", {}), ckpt.get("data_params", {}) or {}
    train = dp.get("train", {}) or {}
    seq_len = int(train.get("seq_len") or mp.get("seq_len") or 0)
    bin_size = int(train.get("bin_size") or 1)
    crop = int(mp.get("crop_len", 0) or 0)
    label_len = train.get("label_len")
    n_bins = int(label_len) // bin_size if label_len else max(seq_len // bin_size - 2 * crop, 1)
    if mp.get("final_pool_func"):
        n_bins, crop = 1, 0
    n_tasks = int(mp.get("n_tasks", 0))
    tasks = task_table(dp.get("tasks"), n_tasks)
    if len(tasks) != n_tasks:
        tasks = task_table(None, n_tasks)
    _, output = activation_for(hp.get("train_params", {}))
    perf = ckpt.get("performance", {}) or {}
    metrics = {}
    for split, vals in perf.items():
        if not isinstance(vals, dict):
            continue
        if split.endswith("_per_task"):  # {task: value}: a column of the task table
            tasks[split.removesuffix("_per_task")] = tasks["name"].map(vals)
            continue
        for k, v in vals.items():
            if isinstance(v, (int, float)):
                metrics[f"{split}_{k}"] = float(v)
    return ModelCard(
        source="grelu",
        name=name,
        seq_len=seq_len,
        bin_size=bin_size,
        n_bins=n_bins,
        crop_bins=crop,
        tasks=tasks,
        genome=str(train.get("genome") or "unknown"),
        weights=weights,
        sha256=sha,
        train_chroms=_chroms(train),
        val_chroms=_chroms(dp.get("val")),
        test_chroms=_chroms(dp.get("test")),
        output=output,
        metrics=metrics,
    )


def load_grelu_checkpoint(
    path: str,
    name: str | None = None,
    trust: bool = False,
    sha: str = "",
    source: str = "grelu",
    ckpt: dict | None = None,
) -> ZooModel:
    """A gReLU Lightning checkpoint file -> :class:`ZooModel` (no gReLU Trainer, no network).

    Parameters
    ----------
    path : the ``.ckpt`` file. ZooError if it is not a gReLU checkpoint or its weights do not
        fit its architecture.
    name : the card's name (default the file name).
    trust : allow arbitrary unpickling (only for files you trust).
    sha : the file's sha256 if known (else computed).
    source : the card's source (``grelu``, ``local``, ``demo``).
    ckpt : the checkpoint already loaded from ``path`` (not read again).

    Returns
    -------
    ZooModel
        ``(N, 4, L)`` one-hot -> ``(N, T, B)`` after gReLU's output activation; trunk the gReLU
        ``embedding``, head its ``head``; in eval mode.
    """
    ckpt = ckpt if ckpt is not None else load_checkpoint(path, trust=trust)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "hyper_parameters" not in ckpt:
        raise ZooError(f"{path} is not a gReLU/Lightning checkpoint (no state_dict / hyper_parameters)")
    mp = ckpt["hyper_parameters"].get("model_params")
    if not isinstance(mp, dict):
        raise ZooError(f"{path}: hyper_parameters has no model_params; not a gReLU checkpoint")
    model = build_architecture(mp)
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ZooError(
            f"{path}: weights do not fit the architecture in its hyper-parameters ({str(err).splitlines()[0][:160]})"
        ) from None
    activation, _ = activation_for(ckpt["hyper_parameters"].get("train_params", {}))
    card = card_from_checkpoint(
        ckpt, name or os.path.basename(path), os.path.abspath(path), sha or cache.sha256_file(path)
    )
    card.source = source
    arch = {"source": "grelu", "model_params": dict(mp)}
    return ZooModel(model.embedding, model.head, card, activation, arch=arch).eval()


def fetch(repo_id: str, filename: str = DEFAULT_FILE) -> str:
    """Download ``repo_id/filename`` from HuggingFace into the cache (registered as
    ``grelu:REPO:FILE``).

    Parameters
    ----------
    repo_id : an HF repo id, e.g. ``Genentech/human-atac-catlas-model``.
    filename : the checkpoint in the repo (default ``model.ckpt``).

    Returns
    -------
    str
        The cached file (verified; no download when already cached). ZooError when downloads are
        off or the download fails.
    """
    spec = f"grelu:{repo_id}:{filename}"
    hit = cache.lookup(spec)
    if hit:
        return hit
    if cache.offline():
        raise ZooError(
            f"gReLU model {repo_id} ({filename}) is not in the cache {cache.zoo_home()} and downloads are off "
            f"(HF_HUB_OFFLINE); on a networked machine run `zoo fetch grelu:{repo_id}` and copy "
            f"{cache.zoo_home()} here, or load the file directly with `local:/path/to/{filename}`"
        )
    from huggingface_hub import hf_hub_download

    target = cache.model_dir("grelu", repo_id)
    try:
        path = hf_hub_download(repo_id=repo_id, filename=filename, local_dir=str(target))
    except Exception as err:  # network errors, 404s, auth: all mean "not available here"
        raise ZooError(
            f"cannot download gReLU model {repo_id}/{filename} ({type(err).__name__}); check the repo id "
            f"(`zoo models --source grelu`), or on a networked machine run `zoo fetch grelu:{repo_id}` and copy "
            f"{cache.zoo_home()} here"
        ) from None
    cache.register(spec, path, "grelu", repo_id=repo_id, filename=filename)
    return path


def load(ref: str, trust: bool = False) -> ZooModel:
    """``grelu:<HF repo id>[:<file>]`` -> ZooModel (cache first, download if allowed).

    Parameters
    ----------
    ref : ``REPO[:FILE]`` (default file ``model.ckpt``).
    trust : allow arbitrary unpickling (only for files you trust).

    Returns
    -------
    ZooModel
        As :func:`load_grelu_checkpoint`, named after the repo.
    """
    repo_id, _, filename = ref.partition(":")
    filename = filename or DEFAULT_FILE
    path = fetch(repo_id, filename)
    return load_grelu_checkpoint(
        path,
        name=repo_id,
        trust=trust,
        sha=cache.read_manifest().get(f"grelu:{repo_id}:{filename}", {}).get("sha256", ""),
    )


@contextlib.contextmanager
def grelu_side_effects_contained():
    """Call gReLU's Lightning predict / train functions inside this block.

    gReLU sets ``torch.set_float32_matmul_precision("medium")`` in its predict and train calls, which
    on a CPU makes every later fp32 matmul / convolution of the process run in bf16 (slower on most
    CPUs, and about 1e-3 less precise), and it writes ``lightning_logs/`` into the working folder.
    The block restores the precision afterwards and runs in a temporary working folder (pass
    absolute paths to gReLU inside it).
    """
    import tempfile

    import torch

    precision = torch.get_float32_matmul_precision()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="grelu_") as tmp:
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(cwd)
            torch.set_float32_matmul_precision(precision)


def rebuild_trunk(arch: dict, trust: bool = False) -> nn.Module:
    """The gReLU model's embedding (trunk) from its saved ``model_params`` (random weights).

    Parameters
    ----------
    arch : ``{"source": "grelu", "model_params": ...}`` (``ZooModel.arch``).
    trust : unused (the parameters are plain data).

    Returns
    -------
    torch.nn.Module
        ``(N, 4, L)`` -> embedding ``(N, C, B')``.
    """
    return build_architecture(arch["model_params"]).embedding


def _fetch(ref: str) -> str:
    repo, _, filename = ref.partition(":")
    return fetch(repo, filename or DEFAULT_FILE)


register_source(Source("grelu", lambda ref, trust=False, **_: load(ref, trust=trust), _fetch, rebuild_trunk, order=0))
