"""DeepLIFT's rules, one per kind of layer, and which layer gets which.

DeepLIFT replaces each layer's gradient by a *multiplier* ``m`` such that ``sum(m * (x - r)) ==
sum(g * (f(x) - f(r)))`` for the layer's input ``x``, its reference input ``r`` and the multiplier
``g`` arriving from above; chained through the network, the input multipliers then account for the
whole output difference ``f(x) - f(r)`` (the convergence delta is 0). The rules:

``linear``      convolutions, dense layers, batch norm in eval mode, dropout, average pooling,
                cropping, reshaping: the gradient is already exact; nothing changes.
``rescale``     elementwise nonlinearities (ReLU, GELU, Softplus, ELU, sigmoid, exp, ...):
                ``m = g * (f(x) - f(r)) / (x - r)``, the gradient where ``x == r``.
``maxpool``     max pooling: each output's difference is routed to the input that holds the max of
                ``x`` or of ``r`` (DeepLIFT's rule for max pooling, as captum writes it).
``integrated``  any other layer (softmax attention, attention pooling, layer norm, a layer this
                table does not know): the layer's gradient averaged along the straight path from
                ``r`` to ``x`` (integrated gradients over that one layer, Gauss-Legendre nodes).
                Exact up to the quadrature, which is checked: the convergence delta says how close.

A layer is matched by its class or by a base class, first in :data:`RULES` (torch's classes), then
in :data:`NAMED_RULES` by qualified class name (the model libraries', without importing them). A
container with no rule of its own (``Sequential``, a residual block, a model) is not a layer: its
children are. :func:`register_rule` adds a class.
"""

from __future__ import annotations

import torch
from torch import nn

RULE_NAMES = ("linear", "rescale", "maxpool", "integrated")

RULES: dict[type, str] = {
    **dict.fromkeys(
        (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.CELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish),
        "rescale",
    ),
    **dict.fromkeys((nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardsigmoid), "rescale"),
    **dict.fromkeys((nn.Hardswish, nn.LogSigmoid, nn.Tanhshrink, nn.Threshold), "rescale"),
    **dict.fromkeys((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d), "maxpool"),
    **dict.fromkeys((nn.LayerNorm, nn.GroupNorm, nn.Softmax, nn.LogSoftmax, nn.MultiheadAttention), "integrated"),
    **dict.fromkeys((nn.GLU, nn.RMSNorm, nn.LocalResponseNorm), "integrated"),
    **dict.fromkeys(
        (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear, nn.Bilinear, nn.Identity),
        "linear",
    ),
    **dict.fromkeys(
        (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout),
        "linear",
    ),
    **dict.fromkeys(
        (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Unflatten),
        "linear",
    ),
    **dict.fromkeys((nn.Upsample, nn.ConstantPad1d, nn.ZeroPad1d, nn.ReflectionPad1d, nn.ReplicationPad1d), "linear"),
    **dict.fromkeys((nn.Embedding, nn.PixelShuffle), "linear"),
}
# nn.Bilinear is bilinear in its two inputs but linear in each; it only ever sees one input here

NAMED_RULES: dict[str, str] = {
    # enformer-pytorch
    "enformer_pytorch.modeling_enformer.GELU": "rescale",
    "enformer_pytorch.modeling_enformer.AttentionPool": "integrated",
    "enformer_pytorch.modeling_enformer.Attention": "integrated",
    "enformer_pytorch.modeling_enformer.TargetLengthCrop": "linear",
    # borzoi-pytorch
    "borzoi_pytorch.pytorch_borzoi_transformer.Attention": "integrated",
    "borzoi_pytorch.pytorch_borzoi_transformer.FlashAttention": "integrated",
    "borzoi_pytorch.pytorch_borzoi_utils.TargetLengthCrop": "linear",
    # gReLU: Activation wraps an elementwise function (exp as a function, the rest as modules)
    "grelu.model.layers.Activation": "rescale",
    "grelu.model.layers.Attention": "integrated",
    "grelu.model.layers.FlashAttention": "integrated",
    "grelu.model.layers.Crop": "linear",
    "grelu.model.layers.Dropout": "linear",
    "grelu.model.layers.ChannelTransform": "linear",
    # einops layers: reshapes (Reduce with max is not linear: it falls to `integrated`)
    "einops.layers.torch.Rearrange": "linear",
}


def register_rule(cls: type, rule: str) -> None:
    """Give a layer class a DeepLIFT rule (see the module doc), e.g. a custom activation.

    Parameters
    ----------
    cls : type
        A ``torch.nn.Module`` subclass; its subclasses get the rule too.
    rule : str
        One of ``linear``, ``rescale`` (elementwise only), ``maxpool``, ``integrated``.
    """
    if rule not in RULE_NAMES:
        raise ValueError(f"rule {rule!r}: choose one of {', '.join(RULE_NAMES)}")
    RULES[cls] = rule


def rule_of(module: nn.Module) -> str | None:
    """The rule of a module by its class (or a base class): a :data:`RULE_NAMES` entry, or None.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    str or None
        None for a class the tables do not name (a container, or an unknown layer).
    """
    for cls in type(module).__mro__:
        if cls in RULES:
            return RULES[cls]
        named = NAMED_RULES.get(f"{cls.__module__}.{cls.__qualname__}")
        if named:
            return named
    return None


def plan_rules(model: nn.Module) -> tuple[dict[nn.Module, str], list[str]]:
    """The nonlinear layers of ``model`` and their rule; the unknown leaf layers among them.

    Walks from the top: a module with a rule is a layer (its children are not visited); a module
    without one is visited if it has children, and is an unknown layer (``integrated``) if not.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    tuple
        ``({module: rule}, unknown)``: only the ``rescale``, ``maxpool`` and ``integrated``
        layers; ``unknown`` the leaf layers of unknown class among them (given ``integrated``).
    """
    plan: dict[nn.Module, str] = {}
    unknown: list[nn.Module] = []

    def visit(m: nn.Module) -> None:
        rule = rule_of(m)
        children = list(m.children())
        if rule == "rescale" and children:  # an elementwise wrapper (gReLU's Activation): its child
            rule = None
        if rule is None and not children:
            rule = "integrated"
            unknown.append(m)
        if rule is not None:
            if rule != "linear":
                plan[m] = rule
            return
        for child in children:
            visit(child)

    visit(model)
    return plan, unknown


# --------------------------------------------------------------------------------------------
# The rules' backward: each returns the multiplier of the layer's reference input
# --------------------------------------------------------------------------------------------
def _grad(fn, z: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``g``'s vector-Jacobian product through ``fn`` at ``z``."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        (out,) = torch.autograd.grad(fn(z), z, g)
    return out


def rescale_multiplier(fn, r, x, fr, fx, g, eps: float = 1e-6) -> torch.Tensor:
    """``g * (f(x) - f(r)) / (x - r)``; the gradient ``g * f'(x)`` where ``|x - r| < eps`` (as
    tangermeme and captum fall back).

    Parameters
    ----------
    fn : callable
        The elementwise layer.
    r, x, fr, fx, g : torch.Tensor
        Its reference and actual inputs and outputs, and the output multiplier; one shape.
    eps : float
        Below it the difference quotient is replaced by the derivative.

    Returns
    -------
    torch.Tensor
        The input multiplier, the shape of ``r``.
    """
    dx = x - r
    small = dx.abs() < eps
    m = g * (fx - fr) / torch.where(small, torch.ones_like(dx), dx)
    if bool(small.any()):
        m = torch.where(small, _grad(fn, x, g), m)
    return m


def maxpool_multiplier(fn, r, x, fr, fx, g, eps: float = 1e-6) -> torch.Tensor:
    """DeepLIFT's max-pooling rule: ``max(f(x), f(r)) - f(r)`` goes to ``x``'s max, the rest
    (``f(x) - max``, at most 0) to ``r``'s, both divided by the input difference.

    Parameters
    ----------
    fn, r, x, fr, fx, g, eps
        As :func:`rescale_multiplier` takes them; ``fn`` a max pooling.

    Returns
    -------
    torch.Tensor
        The input multiplier, the shape of ``r``.
    """
    top = torch.maximum(fx, fr)
    routed = _grad(fn, x, g * (top - fr)) + _grad(fn, r, g * (fx - top))
    dx = x - r
    small = dx.abs() < eps
    m = routed / torch.where(small, torch.ones_like(dx), dx)
    if bool(small.any()):
        m = torch.where(small, _grad(fn, x, g), m)
    return m


def gauss_legendre(steps: int) -> tuple[list[float], list[float]]:
    """Nodes and weights of ``steps``-point Gauss-Legendre quadrature on ``[0, 1]``.

    Parameters
    ----------
    steps : int

    Returns
    -------
    tuple of list of float
        ``(nodes, weights)``; the weights sum to 1.
    """
    import numpy as np

    t, w = np.polynomial.legendre.leggauss(steps)
    return ((t + 1) / 2).tolist(), (w / 2).tolist()


def integrated_multiplier(fn, r, x, g, steps: int = 8) -> torch.Tensor:
    """The layer's gradient averaged over the path ``r + t (x - r)``, ``t`` in ``[0, 1]``.

    ``sum(m * (x - r)) == sum(g * (f(x) - f(r)))`` up to the quadrature's error (``g`` is constant
    along the path, so this is the fundamental theorem of calculus for ``g . f``).

    Parameters
    ----------
    fn : callable
        The layer (any shapes).
    r, x : torch.Tensor
        Its reference and actual inputs, one shape.
    g : torch.Tensor
        The multiplier of its output.
    steps : int
        Gauss-Legendre nodes, one forward and backward pass of the layer each.

    Returns
    -------
    torch.Tensor
        The input multiplier, the shape of ``r``.
    """
    nodes, weights = gauss_legendre(steps)
    dx = x - r
    total = torch.zeros_like(r)
    for t, w in zip(nodes, weights):
        total += w * _grad(fn, r + t * dx, g)
    return total
