"""Receptive fields measured by perturbation: how far a change to one input position reaches.

A module mapping ``(N, C, L)`` to ``(N, C', L // f)`` down-samples by ``f``; a local one (a
convolution, a pooling, a chain of them) changes only the output positions near a perturbed input
position. Perturbing a few positions and seeing which outputs change gives the input radius
``r`` (bp for a one-hot input): output position ``j`` depends only on inputs within ``r`` of the
positions ``[j f, (j + 1) f)`` it covers. Used by the variant scorer's local patch
(:mod:`zoo_tools.score.patch`) and by incremental ISM (:mod:`zoo_tools.interpret.mutagenesis`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


def random_one_hot(n: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
    """Random sequences as one-hot.

    Parameters
    ----------
    n, seq_len : int
        How many sequences, and their length (bp).
    generator : torch.Generator
        Source of the random bases (seeded by the caller).

    Returns
    -------
    torch.Tensor
        ``(n, 4, seq_len)`` float32 one-hot, A,C,G,T.
    """
    return (
        torch.nn.functional.one_hot(torch.randint(0, 4, (n, seq_len), generator=generator), 4).permute(0, 2, 1).float()
    )


def downsampling(x: torch.Tensor, y: torch.Tensor) -> int | None:
    """Down-sampling factor of a module that maps ``x`` to ``y``.

    Parameters
    ----------
    x : torch.Tensor
        ``(N, C, L)`` input.
    y : torch.Tensor
        ``(N, C', L_out)`` output.

    Returns
    -------
    int or None
        ``f = L // L_out`` (input positions per output position); None when either tensor is not
        3-D or ``L_out`` does not divide ``L`` (no regular down-sampling).
    """
    if x.ndim != 3 or y.ndim != 3:
        return None
    l_in, l_out = x.shape[-1], y.shape[-1]
    if l_out < 1 or l_in % l_out:
        return None
    return l_in // l_out


def changed_span(ref: torch.Tensor, mut: torch.Tensor, rtol: float) -> tuple[int, int] | None:
    """The output positions a perturbation changed.

    Parameters
    ----------
    ref, mut : torch.Tensor
        ``(C, L_out)`` outputs for the unperturbed and the perturbed input.
    rtol : float
        A position changed when some channel moved by more than ``rtol * (1 + max |ref|)``.

    Returns
    -------
    tuple of int or None
        ``(lo, hi)``: the first and last changed output position (inclusive, 0-based); None when
        nothing changed.
    """
    d = (mut - ref).abs().amax(0)
    changed = torch.nonzero(d > rtol * (1 + float(ref.abs().max()))).flatten()
    if not len(changed):
        return None
    return int(changed.min()), int(changed.max())


def span_radius(pos: int, span: tuple[int, int], factor: int) -> int:
    """Input radius that explains a perturbation at ``pos`` reaching output positions ``span``.

    Parameters
    ----------
    pos : int
        The perturbed input position (0-based).
    span : tuple of int
        ``(lo, hi)`` changed output positions, inclusive (:func:`changed_span`).
    factor : int
        Input positions per output position (:func:`downsampling`).

    Returns
    -------
    int
        How far (input positions) the change reached beyond ``pos``, on the farther side: from
        ``pos`` to the first input of output ``lo`` or to the last input of output ``hi``.
    """
    lo, hi = span
    return max(pos - lo * factor, (hi + 1) * factor - 1 - pos)


def input_radius(
    module: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    sites: Iterable[tuple[int, int]],
    perturb: Callable[[torch.Tensor, int], None],
    factor: int,
    rtol: float,
    max_span: int | None = None,
) -> int | None:
    """Input radius of a local module, from perturbing single positions of its input.

    Parameters
    ----------
    module : callable
        ``(N, C, L)`` -> ``(N, C', L // factor)``; run without gradients.
    x : torch.Tensor
        ``(N, C, L)`` unperturbed input.
    y : torch.Tensor
        ``module(x)``, ``(N, C', L // factor)``.
    sites : iterable of (int, int)
        ``(row, pos)``: perturb input ``pos`` (0-based) of sequence ``row`` of ``x``, one at a time.
    perturb : callable
        ``perturb(xr, pos)`` changes ``xr`` ``(1, C, L)`` (a copy of one row) in place at ``pos``.
    factor : int
        Down-sampling factor (:func:`downsampling`).
    rtol : float
        Change threshold relative to the row's largest output (:func:`changed_span`).
    max_span : int, optional
        A perturbation that changes more output positions than this means the module mixes the
        whole input (attention): the answer is None.

    Returns
    -------
    int or None
        The largest reach (input positions) over the sites (:func:`span_radius`; 0 when no site
        changed anything), or None (see ``max_span``). No margin is added.
    """
    radius = 0
    for row, pos in sites:
        xm = x[row : row + 1].clone()
        perturb(xm, pos)
        with torch.no_grad():
            span = changed_span(y[row], module(xm)[0], rtol)
        if span is None:
            continue
        if max_span is not None and span[1] - span[0] + 1 > max_span:
            return None
        radius = max(radius, span_radius(pos, span, factor))
    return radius
