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
``deepliftshap``      tangermeme's ``deep_lift_shap``: DeepLIFT's rescale rule averaged over
                      ``n_shuffles`` dinucleotide-shuffled references of each sequence.
``ism``               :func:`~zoo_tools.interpret.mutagenesis.ism` effects, centred per position:
                      ``h[b, i] = effect(b at i) - mean_b effect(., i)``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

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
    DeepLIFT/SHAP convergence deltas (None for the other methods).
    """

    method: str
    task: str
    hypothetical: np.ndarray  # (N, 4, L) float32
    contrib: np.ndarray  # (N, 4, L) float32
    deltas: np.ndarray | None = None  # (N,) DeepLIFT/SHAP convergence deltas


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


def deepliftshap(
    explained,
    x,
    task: int = 0,
    n_shuffles: int = 20,
    batch_size: int = 32,
    seed: int = 0,
    device=None,
    warn_delta: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """tangermeme DeepLIFT/SHAP hypothetical attributions ``(N, 4, L)`` and convergence deltas ``(N,)``.

    A warning names the sequences whose ``|delta|`` exceeds ``warn_delta`` times ``|f(x) - mean
    f(refs)|`` (plus 1e-3): their attributions do not add up to the output difference, usually a
    layer DeepLIFT does not handle (e.g. a nonlinearity written as a function, not a module).

    Parameters
    ----------
    explained, x, task, batch_size, device
        As :func:`gradient` takes them; a siamese model is refused.
    n_shuffles, seed, warn_delta
        Dinucleotide-shuffled references per sequence, their seed, the tolerance of the warning.

    Returns
    -------
    tuple of numpy.ndarray
        ``(hypothetical, deltas)``: ``(N, 4, L)`` float32 and ``(N,)`` float32 convergence deltas,
        ``sum(contrib) - (f(x) - mean f(references))``.
    """
    if explained.siamese:
        raise ZooError(
            "deepliftshap needs one input per output; explain a siamese model with ism, saliency or input_x_gradient"
        )
    x = _as_tensor(x)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    single = explained.single(task).eval().to(device)
    hyp, refs = _tangermeme_deep_lift_shap(single, x, batch_size, n_shuffles, seed, device)
    contrib = (hyp * x).sum((1, 2))
    with torch.no_grad():
        fx = _predict_first(single, x, batch_size, device)
        fr = _predict_first(single, refs.reshape(-1, *refs.shape[2:]).float(), batch_size, device)
    fr = fr.reshape(len(x), -1).mean(1)
    # hypothetical[b, i] = mean over references of sum_c m[c, i] (onehot_b[c] - ref[c, i]), so the
    # contributions of the bases present add up to f(x) - mean f(references) when DeepLIFT is complete
    deltas = contrib - (fx - fr)
    bad = (deltas.abs() > warn_delta * (fx - fr).abs() + 1e-3).nonzero().flatten().tolist()
    if bad:
        i = bad[0]
        log.warning(
            "DeepLIFT/SHAP did not converge for %d of %d sequence(s) (e.g. #%d: delta %.3g vs output difference "
            "%.3g): read their attributions with care",
            len(bad),
            len(x),
            i,
            float(deltas[i]),
            float((fx - fr)[i]),
        )
    return hyp.numpy(), deltas.numpy()


def _predict_first(single, x: torch.Tensor, batch_size: int, device) -> torch.Tensor:
    """``(N,)`` the first output of ``single`` over ``x`` in batches, on the CPU."""
    return torch.cat([single(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])[:, 0]


def _tangermeme_deep_lift_shap(single, x, batch_size: int, n_shuffles: int, seed: int, device):
    """tangermeme's ``deep_lift_shap`` (hypothetical, with its references); its own convergence
    warnings are replaced by ours, and deterministic mode is relaxed for the call: max-unpooling
    (DeepLIFT's rule for max-pooling) has no deterministic kernel, and it is exact and order-free here."""
    from tangermeme.deep_lift_shap import deep_lift_shap

    was = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.use_deterministic_algorithms(was[0], warn_only=True)
        try:
            hyp, refs = deep_lift_shap(
                single,
                x,
                target=0,
                batch_size=batch_size,
                n_shuffles=n_shuffles,
                hypothetical=True,
                return_references=True,
                random_state=seed,
                device=device,
                warning_threshold=float("inf"),
                verbose=False,
            )
        finally:
            torch.use_deterministic_algorithms(was[0], warn_only=was[1])
    for w in caught:
        if "delta" not in str(w.message).lower():
            log.debug("tangermeme: %s", w.message)
    return hyp.float(), refs


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
        Sequences per batch (ISM: mutants, at least 256; DeepLIFT/SHAP: at most 32).
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
        hyp, deltas = deepliftshap(explained, x, task, n_shuffles, min(batch_size, 32), seed, device)
    hyp = np.asarray(hyp, np.float32)
    return Attribution(method, explained.output_names[task], hyp, (hyp * xn).astype(np.float32), deltas)
