"""Attribution maps: how much each base of a sequence contributes to one explained output.

All methods take an :class:`~zoo_tools.interpret.wrappers.Explained` model, ``x`` ``(N, 4, L)``
float32 one-hot (A,C,G,T) and the index of one of its tasks, and return an :class:`Attribution`:

* ``hypothetical`` ``(N, 4, L)``: the contribution each base *would* make at each position (what
  TF-MoDISco needs);
* ``contrib`` ``(N, 4, L)``: ``hypothetical * x``, the contribution of the bases present (logos);
* ``deltas`` ``(N,)`` (DeepLIFT/SHAP only): the convergence delta, ``sum(contrib) - (f(x) -
  mean f(references))``; near 0 when the attribution is complete.

Methods:

``saliency``          the gradient ``df/dx``, mean-centred over the 4 bases at each position (the
                      component off the one-hot simplex carries no information).
``input_x_gradient``  the same gradient; ``contrib`` is its value at the observed bases.
``deepliftshap``      DeepLIFT/SHAP (:mod:`.deeplift`): DeepLIFT's rules, attention included,
                      averaged over ``n_shuffles`` dinucleotide-shuffled references of each
                      sequence (tangermeme's shuffles; its attributions on convolutional models).
``ism``               :func:`~zoo_tools.interpret.mutagenesis.ism` effects, centred per position:
                      ``h[b, i] = effect(b at i) - mean_b effect(., i)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.core.progress import progress_bar
from zoo_tools.interpret.methods import METHODS

log = logging.getLogger(__name__)


@dataclass
class Attribution:
    """An attribution map of ``N`` sequences for one explained output (see the module doc).

    ``method`` and ``task`` (the explained output's name) say what was computed; ``hypothetical``
    and ``contrib`` are ``(N, 4, L)`` float32 (rows A, C, G, T); ``deltas`` ``(N,)`` are the
    DeepLIFT/SHAP convergence deltas (None for the other methods), ``relative_delta`` the largest
    over the output range and ``fallbacks`` the layers explained by integrated gradients for lack
    of an exact rule (:mod:`.deeplift`).
    """

    method: str
    task: str
    hypothetical: np.ndarray  # (N, 4, L) float32
    contrib: np.ndarray  # (N, 4, L) float32
    deltas: np.ndarray | None = None  # (N,) DeepLIFT/SHAP convergence deltas
    relative_delta: float | None = None  # DeepLIFT/SHAP: max |delta| / output range
    fallbacks: list[str] = field(default_factory=list)  # DeepLIFT/SHAP layers without an exact rule


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, np.float32)) if isinstance(x, np.ndarray) else x.float()


def gradient(explained, x, task: int = 0, batch_size: int = 64, device=None, progress: bool = True) -> np.ndarray:
    """``(N, 4, L)`` float32 ``d f_task / d x`` at ``x`` (siamese: each sequence its own reference).

    Parameters
    ----------
    explained : Explained
        The reduction ``f`` (:class:`~zoo_tools.interpret.wrappers.Explained`).
    x : numpy.ndarray or torch.Tensor
        ``(N, 4, L)`` float32 one-hot, A,C,G,T.
    task : int
        Index of the explained output (``explained.output_names``).
    batch_size : int
        Sequences per backward pass.
    device : str or torch.device, optional
        Default: CUDA when available.
    progress : bool
        Show a progress bar.

    Returns
    -------
    numpy.ndarray
        ``(N, 4, L)`` float32 gradient of output ``task`` with respect to ``x``.
    """
    x = _as_tensor(x)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    explained = explained.eval().to(device)
    out = []
    with progress_bar(total=len(x), desc="gradients", unit="seq", disable=not progress) as bar:
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device).requires_grad_(True)
            if explained.siamese:
                grads = []
                for k in range(len(xb)):  # the reference differs per sequence
                    explained.set_reference(xb[k : k + 1].detach())
                    xk = xb[k : k + 1].detach().requires_grad_(True)
                    explained(xk)[:, task].sum().backward()
                    grads.append(xk.grad)
                g = torch.cat(grads)
            else:
                explained(xb)[:, task].sum().backward()
                g = xb.grad
            out.append(g.detach().float().cpu())
            bar.update(len(xb))
    explained.set_reference(None)
    return torch.cat(out).numpy()


def deepliftshap(explained, x, task: int = 0, n_shuffles: int = 20, batch_size: int = 32, seed: int = 0, device=None):
    """DeepLIFT/SHAP of output ``task`` (:func:`~zoo_tools.interpret.deeplift.deep_lift_shap`).

    Parameters
    ----------
    explained, x, task, batch_size, device
        As :func:`gradient` takes them; a siamese model is refused. ``batch_size`` counts
        sequence-reference pairs.
    n_shuffles, seed
        Dinucleotide-shuffled references per sequence and their seed.

    Returns
    -------
    DeepLiftResult
        ``hypothetical`` ``(N, 4, L)``, ``deltas`` ``(N,)``, ``relative_delta``, ``fallbacks``.
    """
    from zoo_tools.interpret.deeplift import deep_lift_shap

    if explained.siamese:
        raise ZooError(
            "deepliftshap needs one input per output; explain a siamese model with ism, saliency or input_x_gradient"
        )
    return deep_lift_shap(explained.single(task), _as_tensor(x), n_shuffles, seed, batch_size, device=device)


def attribute(
    explained,
    x,
    method: str = "deepliftshap",
    task: int = 0,
    n_shuffles: int = 20,
    batch_size: int = 64,
    seed: int = 0,
    device=None,
    progress: bool = True,
) -> Attribution:
    """Attributions of ``x`` ``(N, 4, L)`` for explained task ``task`` by ``method`` (see module doc).

    Parameters
    ----------
    explained : Explained
        The reduction explained (:class:`~zoo_tools.interpret.wrappers.Explained`).
    x : numpy.ndarray or torch.Tensor
        ``(N, 4, L)`` float32 one-hot, A,C,G,T.
    method : str
        ``ism``, ``saliency``, ``input_x_gradient`` or ``deepliftshap``.
    task : int
        Index of the explained output (``explained.output_names``).
    n_shuffles, seed
        DeepLIFT/SHAP references per sequence; the seed of torch and of the references.
    batch_size : int
        Sequences per batch (ISM: mutants, at least 256; DeepLIFT/SHAP: sequence-reference pairs).
    device, progress
        The device (default CUDA when available); show a progress bar (ISM and gradients).

    Returns
    -------
    Attribution
        ``hypothetical`` and ``contrib = hypothetical * x``, ``(N, 4, L)`` float32; ``deltas``
        ``(N,)`` for DeepLIFT/SHAP.
    """
    if method not in METHODS:
        raise ZooError(f"--method {method}: choose one of {', '.join(METHODS)}")
    if not 0 <= task < len(explained.output_names):
        raise ZooError(f"output index {task} outside the {len(explained.output_names)} explained output(s)")
    x = _as_tensor(x)
    xn = x.numpy()
    deltas = None
    torch.manual_seed(seed)
    if method == "ism":
        from zoo_tools.interpret.mutagenesis import ism

        eff = ism(explained, x, batch_size=max(batch_size, 256), device=device, progress=progress)[..., task]
        hyp = eff - eff.mean(1, keepdims=True)
    elif method in ("saliency", "input_x_gradient"):
        g = gradient(explained, x, task, batch_size, device, progress)
        hyp = g - g.mean(1, keepdims=True) if method == "saliency" else g
    else:
        d = deepliftshap(explained, x, task, n_shuffles, batch_size, seed, device)
        hyp = np.asarray(d.hypothetical, np.float32)
        name = explained.output_names[task]
        return Attribution(method, name, hyp, (hyp * xn).astype(np.float32), d.deltas, d.relative_delta, d.fallbacks)
    hyp = np.asarray(hyp, np.float32)
    return Attribution(method, explained.output_names[task], hyp, (hyp * xn).astype(np.float32), deltas)
