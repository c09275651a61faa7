"""In-silico saturation mutagenesis (ISM): every single-base substitution, its effect per task.

``ism(explained, x)`` returns ``(N, 4, L, T)`` float32: ``f(mutant) - f(x)`` for the mutant that
puts base ``b`` (A,C,G,T) at position ``i`` (0 for the reference base), ``f`` being the
:class:`~zoo_tools.interpret.wrappers.Explained` reduction (tasks, bins, scale). All ``3 L``
mutants of a sequence are batched.

**Fast path (exact).** In a convolutional trunk a substitution at ``i`` changes each layer's
activations only within that layer's receptive field of ``i``. :class:`IncrementalTrunk` splits
the trunk into a chain of stages (containers whose children run one after another, checked
numerically; anything else, e.g. a residual block, is one stage), measures each stage's input
radius and down-sampling factor by perturbing its input, and then, for a batch of mutants,
recomputes each stage only on a crop around the changed region, filling the rest from the
reference sequence's cached activations. The first stage that mixes the whole window (attention)
ends the incremental part; the stages after it run on the full, patched activation. The head's
layers count as stages too (a 1x1 convolution is local), so a global pooling head costs little.
Before use on a model the fast path is checked against plain forward passes on mutants across
the window (edges included) and dropped if they differ by more than 1e-4 relative; the plain path
(all mutants in batches of full forward passes) is always available (``fast=False``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from zoo_tools.core.progress import progress_bar
from zoo_tools.models.receptive import downsampling, input_radius, random_one_hot

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------------
def _children(module: nn.Module) -> list[nn.Module]:
    out = []
    for child in module.children():
        if isinstance(child, (nn.ModuleList, nn.Sequential)):
            out.extend(_children(child) if isinstance(child, nn.ModuleList) else [child])
        else:
            out.append(child)
    return out


def chain_stages(module: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """``module`` as a list of stages whose composition equals it on ``x`` (checked numerically).

    A module whose children, run one after another, give its output (``rtol=1e-5, atol=1e-6``)
    is split into them, recursively (a ``ModuleList``'s members count as children); anything else,
    e.g. a residual block, is one stage.

    Parameters
    ----------
    module : torch.nn.Module
        The module split (e.g. an explained model's ``body``).
    x : torch.Tensor
        ``(1, C, L)`` an input of ``module`` (a one-hot sequence, or activations).

    Returns
    -------
    list of torch.nn.Module
        The stages in order; applied one after another to ``x`` they give ``module(x)``.
    """
    kids = _children(module)
    if not kids:
        return [module]
    try:
        with torch.no_grad():
            want = module(x)
            y = x
            for k in kids:
                y = k(y)
    except Exception:  # noqa: BLE001 - children that cannot run alone: the module is one stage
        return [module]
    if not (
        isinstance(want, torch.Tensor)
        and isinstance(y, torch.Tensor)
        and want.shape == y.shape
        and torch.allclose(want, y, rtol=1e-5, atol=1e-6)
    ):
        return [module]
    stages, y = [], x
    with torch.no_grad():
        for k in kids:
            stages.extend(chain_stages(k, y))
            y = k(y)
    return stages


@dataclass
class Stage:
    """One stage of an :class:`IncrementalTrunk`, as measured by :func:`probe_stage`.

    ``module`` maps ``(B, C, l_in)`` to ``(B, C', l_out)``; ``f = l_in / l_out`` is its
    down-sampling factor and ``r`` its input radius in input positions (a margin of ``f - 1``
    included).
    """

    module: nn.Module
    l_in: int
    l_out: int
    f: int  # down-sampling factor l_in / l_out
    r: int  # input radius (input positions), margin included


def _stage_sites(l_in: int, f: int) -> list[tuple[int, int]]:
    """Input positions a stage is probed at: ``f`` consecutive ones from a third in, the middle, two thirds."""
    return [(0, i) for i in sorted({min(l_in // 3 + k, l_in - 1) for k in range(f)} | {l_in // 2, (2 * l_in) // 3})]


def probe_stage(module: nn.Module, a: torch.Tensor, seed: int = 0) -> Stage | None:
    """Radius and factor of one stage from perturbations of its input.

    Parameters
    ----------
    module : torch.nn.Module
        The stage, ``(1, C, L)`` -> ``(1, C', L // f)``.
    a : torch.Tensor
        ``(1, C, L)`` the stage's input (activations of a random one-hot sequence).
    seed : int
        Seed of the random perturbations.

    Returns
    -------
    Stage or None
        With ``r`` the input radius (:func:`~zoo_tools.models.receptive.input_radius`) plus a
        margin of ``f - 1``; None when the output is not a regular (integer) down-sampling of the
        input length, or pools (nearly) globally (``f > L // 4``).
    """
    with torch.no_grad():
        y = module(a)
    f = downsampling(a, y)
    if f is None or f > a.shape[-1] // 4:  # (near-)global pooling: not a local stage
        return None
    g = torch.Generator().manual_seed(seed)
    scale = float(a.std()) or 1.0

    def perturb(b: torch.Tensor, i: int) -> None:
        b[0, :, i] += scale * (1 + torch.rand(a.shape[1], generator=g))

    r = input_radius(module, a, y, _stage_sites(a.shape[-1], f), perturb, f, 1e-7)
    return Stage(module, a.shape[-1], y.shape[-1], f, r + f - 1)


class IncrementalTrunk:
    """Exact ISM of one sequence at a time, recomputing only what a substitution changes.

    Parameters
    ----------
    explained : Explained
        The explained model; its ``body`` is split into stages (:func:`chain_stages`), each
        probed on a random one-hot sequence (:func:`probe_stage`).
    seq_len : int
        Input length (bp).
    seed : int
        Seed of the random probe sequence.
    """

    def __init__(self, explained, seq_len: int, seed: int = 0):
        self.explained = explained
        x = random_one_hot(1, seq_len, torch.Generator().manual_seed(seed))
        mods = chain_stages(explained.body, x)
        self.stages: list[Stage] = []
        self.widths: list[int] = []  # width of the changed region after each stage (its output positions)
        self.suffix: list[nn.Module] = []
        a, w = x, 1
        for m in mods:
            st = None if self.suffix else probe_stage(m, a)
            if st is not None:
                w_new = math.ceil((w + 2 * st.r) / st.f) + 1
                if (w_new + 2 * math.ceil(st.r / st.f)) * st.f > 0.75 * st.l_in:
                    st = None  # the crop would be most of the window: no saving from here on
            if st is None:
                self.suffix.append(m)
            elif st.r == 0 and st.f == 1 and self.stages:  # pointwise (activation, identity): fold it in
                prev = self.stages[-1]
                prev.module = nn.Sequential(prev.module, m)
            else:
                self.stages.append(st)
                self.widths.append(w_new)
                w = w_new
            with torch.no_grad():
                a = m(a)

    @property
    def useful(self) -> bool:
        return bool(self.stages)

    def reference(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Cached activations of the reference ``(1, 4, L)``: input, then each incremental stage."""
        acts = [x]
        with torch.no_grad():
            for st in self.stages:
                acts.append(st.module(acts[-1]))
        return acts

    def mutants(self, acts: list[torch.Tensor], pos: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """``f`` of the mutants putting ``base[b]`` at ``pos[b]`` of the cached reference -> ``(B, T)``."""
        dev = acts[0].device
        n = len(pos)
        rows = torch.arange(n, device=dev)[:, None]
        prev = nn.functional.one_hot(base, 4).float()[:, :, None]  # (B, 4, 1)
        prev_start, w_prev = pos, 1
        for st, ref, w in zip(self.stages, acts, self.widths):
            k = math.ceil(st.r / st.f)
            w_in = (w + 2 * k) * st.f
            start = torch.clamp(torch.div(prev_start - st.r, st.f, rounding_mode="floor"), 0, st.l_out - w)
            cs = torch.clamp((start - k) * st.f, 0, st.l_in - w_in)
            cols = cs[:, None] + torch.arange(w_in, device=dev)[None]
            crop = ref[0][:, cols].permute(1, 0, 2).contiguous()  # (B, C, w_in)
            rel = (prev_start - cs)[:, None] + torch.arange(w_prev, device=dev)[None]
            crop.permute(0, 2, 1)[rows, rel] = prev.permute(0, 2, 1)
            out = st.module(crop)
            o = (start - torch.div(cs, st.f, rounding_mode="floor"))[:, None] + torch.arange(w, device=dev)[None]
            prev = out.permute(0, 2, 1)[rows, o].permute(0, 2, 1)
            prev_start, w_prev = start, w
        full = acts[-1].expand(n, *acts[-1].shape[1:]).clone()
        cols = prev_start[:, None] + torch.arange(w_prev, device=dev)[None]
        full.permute(0, 2, 1)[rows, cols] = prev.permute(0, 2, 1)
        for m in self.suffix:
            full = m(full)
        return self.explained.finish(full)


# --------------------------------------------------------------------------------------------
# ISM
# --------------------------------------------------------------------------------------------
def _mutant_list(codes: np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and bases of the ``3 (end - start)`` substitutions (N positions get 4)."""
    pos, base = [], []
    for i in range(start, end):
        for b in range(4):
            if b != codes[i]:
                pos.append(i)
                base.append(b)
    return np.asarray(pos, np.int64), np.asarray(base, np.int64)


def _plain(explained, x: torch.Tensor, pos: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    m = x.expand(len(pos), *x.shape[1:]).clone()
    rows = torch.arange(len(pos), device=x.device)
    m[rows, :, pos] = 0
    m[rows, base, pos] = 1
    return explained(m)


def fast_path(explained, seq_len: int) -> IncrementalTrunk | None:
    """The verified :class:`IncrementalTrunk` of an explained model (kept on it), or None.

    Built once per input length and cached on ``explained``. None when the trunk cannot be split
    into incremental stages or when the fast path differs from plain forward passes on mutants
    across the window (edges included) by more than 1e-4 relative.

    Parameters
    ----------
    explained : Explained
        The explained model (:class:`~zoo_tools.interpret.wrappers.Explained`).
    seq_len : int
        Input length (bp).

    Returns
    -------
    IncrementalTrunk or None
        The exact fast path, or None: use plain forward passes.
    """
    cache = explained.__dict__.setdefault("_ism_fast", {})
    if seq_len not in cache:
        inc = None
        try:
            inc = IncrementalTrunk(explained, seq_len)
            if not inc.useful:
                inc = None
        except Exception as err:  # noqa: BLE001 - an unusual trunk: the plain path is exact
            log.info("ISM fast path unavailable (%s): plain forward passes", err)
        if inc is not None:
            inc = inc if _verify(explained, inc, seq_len) else None
        cache[seq_len] = inc
    return cache[seq_len]


def _verify(explained, inc: IncrementalTrunk, seq_len: int, seed: int = 1) -> bool:
    g = torch.Generator().manual_seed(seed)
    x = random_one_hot(1, seq_len, g)
    pos = torch.tensor(
        [0, 1, seq_len // 3, seq_len // 2, seq_len // 2 + 1, seq_len - 2, seq_len - 1]
        + torch.randint(0, seq_len, (9,), generator=g).tolist()
    )
    base = (x[0].argmax(0)[pos] + 1) % 4
    with torch.no_grad():
        explained.set_reference(x)
        want = _plain(explained, x, pos, base)
        got = inc.mutants(inc.reference(x), pos, base)
    err = float((want - got).abs().max())
    ok = err <= 1e-4 * (1 + float(want.abs().max()))
    if not ok:
        log.info("ISM fast path disagrees with full passes (max diff %.2e): plain forward passes", err)
    return ok


def ism(
    explained,
    x: torch.Tensor | np.ndarray,
    start: int = 0,
    end: int | None = None,
    batch_size: int = 256,
    fast: bool = True,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Saturation mutagenesis of ``x`` ``(N, 4, L)`` one-hot over positions ``[start, end)``.

    Parameters
    ----------
    explained : Explained
        The reduction ``f`` (:class:`~zoo_tools.interpret.wrappers.Explained`). For a siamese
        model ``f(x) = compare(reference, x)`` with each sequence its own reference.
    x : torch.Tensor or numpy.ndarray
        ``(N, 4, L)`` float32 one-hot, A,C,G,T; an all-zero (N) position gets all 4 bases.
    start, end : int
        Window positions mutated, 0-based, half-open; ``end`` defaults to ``L``.
    batch_size, fast
        Mutants per forward batch; use the exact fast path where it verifies (:func:`fast_path`).
    device, progress
        The device (default CUDA when available); show a progress bar.

    Returns
    -------
    numpy.ndarray
        ``(N, 4, end - start, T)`` float32 effects ``f(mutant) - f(x)`` (0 at the reference
        base); ``T`` = the explained tasks (``explained.output_names``).
    """
    x = torch.as_tensor(np.asarray(x, np.float32) if isinstance(x, np.ndarray) else x).float()
    n, _, L = x.shape
    end = L if end is None else end
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    explained = explained.eval().to(device)
    inc = fast_path(explained, L) if fast else None
    n_t = len(explained.output_names)
    out = np.zeros((n, 4, end - start, n_t), np.float32)
    codes = x.argmax(1).numpy()
    codes[x.sum(1).numpy() == 0] = 4
    total = sum(len(_mutant_list(c, start, end)[0]) for c in codes)
    with torch.no_grad(), progress_bar(total=total, desc="ISM", unit="mutant", disable=not progress) as bar:
        for s in range(n):
            xs = x[s : s + 1].to(device)
            explained.set_reference(xs)
            y0 = explained(xs)[0]
            acts = inc.reference(xs) if inc is not None else None
            pos, base = _mutant_list(codes[s], start, end)
            for i in range(0, len(pos), batch_size):
                p = torch.from_numpy(pos[i : i + batch_size]).to(device)
                b = torch.from_numpy(base[i : i + batch_size]).to(device)
                y = inc.mutants(acts, p, b) if inc is not None else _plain(explained, xs, p, b)
                out[s, base[i : i + batch_size], pos[i : i + batch_size] - start] = (y - y0).float().cpu().numpy()
                bar.update(len(p))
    explained.set_reference(None)
    return out
