"""DeepLIFT/SHAP that adds up on attention models: a rule for every layer, checked, in two passes.

For each sequence ``x`` ``(4, L)`` and each of its ``K`` references ``r_k`` (dinucleotide shuffles,
tangermeme's, seeded as tangermeme seeds them), DeepLIFT's multipliers ``m_k`` ``(4, L)`` satisfy
``sum(m_k * (x - r_k)) == f(x) - f(r_k)`` when every layer follows a rule
(:mod:`.deeplift_rules`). The hypothetical contribution of base ``b`` at position ``i`` is
``mean_k sum_c m_k[c, i] (onehot_b[c] - r_k[c, i])`` (DeepSHAP's, as tangermeme computes it).

How it runs, and why it is faster than concatenating ``x`` with each reference:

1. one forward pass of the sequences alone, without gradients, records the input and output of
   every nonlinear layer (``x`` is shared by its ``K`` references, so it runs once, not ``K``
   times);
2. one forward and backward pass of the references alone, in which each nonlinear layer's
   backward is its rule, reading the recorded ``x`` activations. The two passes also give
   ``f(x)`` and ``f(r_k)``, so the convergence deltas cost nothing more.

Before the run, an audit checks every composite module that has no rule of its own (a residual
block, a model's forward) on one sequence: if the multipliers entering and leaving it do not
account for its own output difference, it computes something nonlinear outside its children
(e.g. ``softmax`` written as a function), and it is given the ``integrated`` rule. Each such
fallback, and each leaf layer of unknown class, is named in a warning and in the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from zoo_tools.core.progress import progress_bar
from zoo_tools.interpret.deeplift_rules import (
    integrated_multiplier,
    maxpool_multiplier,
    plan_rules,
    rescale_multiplier,
)

log = logging.getLogger(__name__)


@dataclass
class DeepLiftResult:
    """DeepLIFT/SHAP of ``N`` sequences for one output.

    ``hypothetical`` ``(N, 4, L)`` float32, rows A, C, G, T; ``deltas`` ``(N,)`` the convergence
    deltas ``sum(hypothetical * x) - (f(x) - mean_k f(r_k))``; ``output`` ``(N,)`` ``f(x)`` and
    ``reference_output`` ``(N,)`` ``mean_k f(r_k)``; ``relative_delta`` the largest ``|delta|``
    over the range of the outputs (of the sequences and references); ``fallbacks`` the layers
    given the ``integrated`` rule for lack of their own.
    """

    hypothetical: np.ndarray  # (N, 4, L) float32
    deltas: np.ndarray  # (N,) float32
    output: np.ndarray  # (N,) f(x)
    reference_output: np.ndarray  # (N,) mean over references
    relative_delta: float
    fallbacks: list[str] = field(default_factory=list)


class _Rule(torch.autograd.Function):
    """A layer's forward at the references; its backward is the layer's DeepLIFT rule."""

    @staticmethod
    def forward(ctx, r, fn, rule, x, fx, k, steps):
        fr = fn(r)
        ctx.save_for_backward(r, fr)
        ctx.fn, ctx.rule, ctx.x, ctx.fx, ctx.k, ctx.steps = fn, rule, x, fx, k, steps
        return fr

    @staticmethod
    def backward(ctx, g):
        r, fr = ctx.saved_tensors
        x = ctx.x.repeat_interleave(ctx.k, 0)
        if ctx.rule == "integrated":
            m = integrated_multiplier(ctx.fn, r, x, g, ctx.steps)
        else:
            rule = rescale_multiplier if ctx.rule == "rescale" else maxpool_multiplier
            m = rule(ctx.fn, r, x, fr, ctx.fx.repeat_interleave(ctx.k, 0), g)
        return m, None, None, None, None, None, None


class _Tap(torch.autograd.Function):
    """Identity whose backward hands the gradient to ``sink`` (the audit's probe)."""

    @staticmethod
    def forward(ctx, t, sink):
        ctx.sink = sink
        return t.view_as(t)

    @staticmethod
    def backward(ctx, g):
        ctx.sink(g)
        return g, None


class Rules:
    """Patches the forward of planned layers (``{module: rule}``) for the two passes.

    ``start("record", k)`` before the pass of the sequences, ``start("attribute", k)`` before the
    pass of their ``k`` references each (rows ``b * k + j``). ``probes`` (the audit's) are
    composite modules whose inputs and outputs are recorded, with their gradients.
    """

    def __init__(self, plan: dict[nn.Module, str], steps: int = 8, probes=()):
        self.plan, self.steps, self.probes = plan, steps, list(probes)
        self.mode, self.k = "off", 1
        self.cache: dict[nn.Module, list] = {}
        self.calls: dict[nn.Module, int] = {}
        self.seen: dict[nn.Module, list] = {}
        self.used: set[int] = set()  # id() of the layers whose rule ran

    def __enter__(self) -> Rules:
        for m in [*self.plan, *self.probes]:
            m.forward = self._wrap(m, m.forward)
        return self

    def __exit__(self, *exc) -> None:
        for m in [*self.plan, *self.probes]:
            m.__dict__.pop("forward", None)
        self.mode, self.cache = "off", {}

    def start(self, mode: str, k: int) -> None:
        """Begin a pass: ``record`` (the sequences) or ``attribute`` (their references)."""
        self.mode, self.k = mode, k
        self.calls = dict.fromkeys(self.cache, 0)
        if mode == "record":
            self.cache = {m: [] for m in [*self.plan, *self.probes]}
            self.calls = dict.fromkeys(self.cache, 0)
        self.seen = {m: [] for m in self.probes}

    def _wrap(self, m: nn.Module, orig):
        def forward(*args, **kwargs):
            if self.mode == "off" or not args or not isinstance(args[0], torch.Tensor):
                return orig(*args, **kwargs)
            if self.mode == "record":
                out = orig(*args, **kwargs)
                self.cache[m].append((args[0], out))
                return out
            i = self.calls[m]
            self.calls[m] += 1
            x, fx = self.cache[m][i]
            r = args[0]
            if not (r.requires_grad and isinstance(fx, torch.Tensor) and r.shape[0] == x.shape[0] * self.k):
                return orig(*args, **kwargs)  # a constant input (e.g. positions), or not batch-first
            if m in self.probes:
                return self._probe(m, i, orig, r, args[1:], kwargs)
            rest = args[1:]
            self.used.add(id(m))
            return _Rule.apply(r, lambda z: orig(z, *rest, **kwargs), self.plan[m], x, fx, self.k, self.steps)

        return forward

    def _probe(self, m: nn.Module, i: int, orig, r, rest, kwargs):
        """Run a probed module (call ``i``) on its references, recording the gradients at its input
        and output."""
        rec = {"i": i, "r": r.detach()}
        out = orig(_Tap.apply(r, lambda g: rec.__setitem__("g_in", g)), *rest, **kwargs)
        self.seen[m].append(rec)
        if not isinstance(out, torch.Tensor):
            return out
        rec["fr"] = out.detach()
        return _Tap.apply(out, lambda g: rec.__setitem__("g_out", g))


def _passes(model: nn.Module, rules: Rules, x: torch.Tensor, refs: torch.Tensor, k: int):
    """The two passes over ``x`` ``(b, 4, L)`` and ``refs`` ``(b * k, 4, L)``: ``(m, fx, fr)``,
    the multipliers ``(b * k, 4, L)`` and the outputs ``(b,)``, ``(b * k,)``."""
    rules.start("record", k)
    with torch.no_grad():
        fx = model(x)[:, 0]
    rules.start("attribute", k)
    r = refs.detach().requires_grad_(True)
    with torch.enable_grad():
        fr = model(r)[:, 0]
        (m,) = torch.autograd.grad(fr.sum(), r)
    return m, fx.detach(), fr.detach()


def shuffles(x: torch.Tensor, n_shuffles: int, seed: int) -> torch.Tensor:
    """``(N, K, 4, L)`` dinucleotide shuffles of ``x`` ``(N, 4, L)``: shuffle ``k`` of every
    sequence with seed ``seed + k``, as tangermeme's ``deep_lift_shap`` draws them.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, 4, L)`` float32 one-hot, A,C,G,T.
    n_shuffles, seed : int
        ``K``, and the seed of the first shuffle.

    Returns
    -------
    torch.Tensor
        ``(N, K, 4, L)`` float32.
    """
    from tangermeme.ersatz import dinucleotide_shuffle

    rows = x.repeat_interleave(n_shuffles, 0)
    seeds = [seed + j for _ in range(len(x)) for j in range(n_shuffles)]
    out = dinucleotide_shuffle(rows, n=1, random_state=seeds)[:, 0]
    return out.float().reshape(len(x), n_shuffles, *x.shape[1:])


def module_paths(model: nn.Module) -> dict[int, str]:
    """``id(module) -> "<path> (<class>)"`` of every module of ``model``, e.g.
    ``"explained.model.trunk.attn (Attention)"``.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    dict
    """
    return {id(m): f"{n or '(model)'} ({type(m).__qualname__})" for n, m in model.named_modules()}


def _composites(model: nn.Module, plan: dict[nn.Module, str]) -> list[nn.Module]:
    """The modules with children, no rule and no planned ancestor (containers excepted)."""
    under = {id(d) for m in plan for d in m.modules()}
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    return [
        m
        for m in model.modules()
        if id(m) not in under and next(m.children(), None) is not None and not isinstance(m, containers)
    ]


def _unbalanced(rules: Rules, k: int, tol: float) -> list[nn.Module]:
    """The probed modules whose multipliers in and out differ by more than ``tol`` (absolute) plus
    the rounding noise of the sums."""
    bad = []
    for m in rules.probes:
        for rec in rules.seen[m]:
            if "g_in" not in rec or "g_out" not in rec:
                continue
            x, fx = rules.cache[m][rec["i"]]
            fx = fx.repeat_interleave(k, 0)
            terms = rec["g_out"] * (fx - rec["fr"])
            inp = (rec["g_in"] * (x.repeat_interleave(k, 0) - rec["r"])).sum()
            # float32 rounding: of the outputs (their differences cancel) and of the sums
            noise = 1e-5 * float((rec["g_out"].abs() * (fx.abs() + rec["fr"].abs())).sum())
            if abs(float(terms.sum() - inp)) > tol + noise:
                bad.append(m)
                break
    return bad


def audit_rules(model: nn.Module, plan: dict[nn.Module, str], x, refs, steps: int = 8, tol: float = 1e-3):
    """Composite modules whose multipliers do not add up get the ``integrated`` rule.

    Parameters
    ----------
    model : torch.nn.Module
        ``(N, 4, L) -> (N, 1)``, in eval mode, on the device of ``x``.
    plan : dict
        :func:`~zoo_tools.interpret.deeplift_rules.plan_rules`'s layers; a copy is returned.
    x, refs : torch.Tensor
        ``(1, 4, L)`` a sequence and ``(k, 4, L)`` its references.
    steps : int
        Gauss-Legendre nodes of the ``integrated`` rule.
    tol : float
        The largest imbalance allowed, relative to the largest ``|f(x) - f(r_k)|``.

    Returns
    -------
    tuple
        ``(plan, names)``: the plan with the fallbacks, and their :func:`module_paths`.
    """
    plan, names = dict(plan), []
    paths = module_paths(model)
    for _ in range(4):
        rules = Rules(plan, steps, _composites(model, plan))
        with rules:
            _, fx, fr = _passes(model, rules, x, refs, len(refs))
            scale = float((fx - fr).abs().max()) + 1e-12
            bad = _unbalanced(rules, len(refs), tol * scale)
        inner = [b for b in bad if not any(o is not b and any(d is o for d in b.modules()) for o in bad)]
        if not inner:
            break
        for b in inner:
            inside = {id(d) for d in b.modules()}
            plan = {m: r for m, r in plan.items() if id(m) not in inside}
            plan[b] = "integrated"
            names.append(paths[id(b)])
    return plan, names


def deep_lift_shap(
    model: nn.Module,
    x: torch.Tensor,
    n_shuffles: int = 20,
    seed: int = 0,
    batch_size: int = 32,
    steps: int = 8,
    device=None,
    progress: bool = True,
    tol: float = 1e-3,
    references: torch.Tensor | None = None,
) -> DeepLiftResult:
    """DeepLIFT/SHAP hypothetical attributions of ``x`` for ``model``'s first output (module doc).

    Parameters
    ----------
    model : torch.nn.Module
        ``(N, 4, L) -> (N, ≥1)``; the first output is explained.
    x : torch.Tensor
        ``(N, 4, L)`` float32 one-hot, A,C,G,T.
    n_shuffles, seed : int
        Dinucleotide-shuffled references per sequence (:func:`shuffles`) and their seed.
    batch_size : int
        Sequence-reference pairs per pass.
    steps : int
        Gauss-Legendre nodes of the ``integrated`` rule.
    device : str or torch.device, optional
        Default: CUDA when available.
    progress : bool
        Show progress (a bar on a terminal, lines in a log).
    tol : float
        A warning when the largest ``|delta|`` exceeds ``tol`` times the output range; also the
        audit's tolerance (:func:`audit_rules`).
    references : torch.Tensor, optional
        ``(N, K, 4, L)`` references to use instead of shuffles (``n_shuffles`` and ``seed`` unused).

    Returns
    -------
    DeepLiftResult
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, x = model.eval().to(device), x.float()
    plan, unknown = plan_rules(model)
    if references is not None:
        refs_of, n_shuffles = (lambda i, j: references[i:j].float()), references.shape[1]
    else:
        refs_of = lambda i, j: shuffles(x[i:j], n_shuffles, seed)  # noqa: E731
    plan, flagged = audit_rules(model, plan, x[:1].to(device), refs_of(0, 1)[0, :2].to(device), steps, tol)
    with Rules(plan, steps) as rules:
        hyp, fx, fr, span = _attribute_all(model, rules, x, refs_of, n_shuffles, batch_size, device, progress)
        used = set(rules.used)
    fallbacks = _fallbacks(model, unknown, flagged, used, steps)
    deltas = (hyp * x).sum((1, 2)) - (fx - fr)
    relative = float(deltas.abs().max()) / max(span, 1e-12)
    if relative > tol:
        log.warning(
            "DeepLIFT/SHAP: the largest convergence delta is %.2g of the output range (above %g)", relative, tol
        )
    return DeepLiftResult(hyp.numpy(), deltas.numpy(), fx.numpy(), fr.numpy(), relative, fallbacks)


def _fallbacks(model: nn.Module, unknown, flagged: list[str], used: set[int], steps: int) -> list[str]:
    """The layers explained by the ``integrated`` rule for lack of their own (those that ran), warned."""
    paths = module_paths(model)
    out = [f"{paths[id(m)]}: a layer of unknown class" for m in unknown if id(m) in used]
    out += [f"{f}: nonlinear outside its layers" for f in flagged]
    if out:
        log.warning(
            "DeepLIFT has no exact rule for %s: integrated gradients over each (%d nodes)", "; ".join(out), steps
        )
    return out


def _attribute_all(model, rules: Rules, x, refs_of, k: int, batch_size: int, device, progress: bool):
    """``(hypothetical (N, 4, L), f(x) (N,), mean f(refs) (N,), output range)`` in blocks of
    ``batch_size`` sequence-reference pairs (a sequence's references split when more);
    ``refs_of(i, j)`` the ``(j - i, k, 4, L)`` references of sequences ``i:j``."""
    n = len(x)
    hyp, fx, fr = torch.zeros_like(x), torch.zeros(n), torch.zeros(n)
    lo, hi = float("inf"), -float("inf")
    per, chunk = max(1, batch_size // k), min(k, batch_size)
    with progress_bar(total=n, desc="DeepLIFT/SHAP", unit="seq", disable=not progress) as bar:
        for i in range(0, n, per):
            xb, refs = x[i : i + per].to(device), refs_of(i, i + per).to(device)
            for j in range(0, k, chunk):
                part = refs[:, j : j + chunk]
                rb = part.reshape(-1, *x.shape[1:])
                m, out_x, out_r = _passes(model, rules, xb, rb, part.shape[1])
                h = m - (m * rb).sum(1, keepdim=True)  # DeepSHAP's hypothetical, per reference
                hyp[i : i + per] += h.reshape(part.shape).sum(1).cpu()
                fr[i : i + per] += out_r.reshape(len(xb), -1).sum(1).cpu()
                lo = min(lo, float(out_r.min()), float(out_x.min()))
                hi = max(hi, float(out_r.max()), float(out_x.max()))
            fx[i : i + per] = out_x.cpu()
            bar.update(len(xb))
    return hyp / k, fx, fr / k, hi - lo
