"""Sequence codes to one-hot tensors (the torch side of :mod:`zoo_tools.data.genome`)."""

from __future__ import annotations

import numpy as np
import torch

_EYE = torch.cat([torch.eye(4), torch.zeros(1, 4)])


def codes_to_tensor(codes: np.ndarray) -> torch.Tensor:
    """``(B, L)`` uint8 codes -> ``(B, 4, L)`` float32 one-hot tensor (code 4 all-zero).

    Parameters
    ----------
    codes : numpy.ndarray
        ``(B, L)`` codes, A=0, C=1, G=2, T=3, N=4.

    Returns
    -------
    torch.Tensor
        ``(B, 4, L)`` float32, channels A, C, G, T (contiguous, on the CPU).
    """
    return _EYE[torch.from_numpy(np.ascontiguousarray(codes)).long()].transpose(1, 2).contiguous()
