"""Safe checkpoint loading shared by the adapters."""

from __future__ import annotations

import os
import pickle

import torch

from zoo_tools.core.errors import ZooError, require_file


def _numpy_safe_globals() -> list:
    """numpy objects that gReLU's hyper-parameters contain; safe to unpickle (data, no code)."""
    import numpy as np

    out = [np.ndarray, np.dtype]
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    out += [_reconstruct, scalar]
    out += [type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "bool", "uint8", "<U1", "O")]
    return out


def load_checkpoint(path: str | os.PathLike, trust: bool = False) -> dict:
    """``torch.load`` a checkpoint on CPU with ``weights_only=True`` (numpy data allowed).

    If the file needs arbitrary pickled objects, it loads only with ``trust=True`` (CLI:
    ``--trust-checkpoint``): unpickling can run code, so do it only for files from a source you
    trust.
    """
    path = require_file(path, "checkpoint")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if "Unsupported global" not in text and "Unsupported class" not in text:
            raise ZooError(f"checkpoint {path} is not a readable torch file ({text.splitlines()[0][:120]}); "
                           f"re-download or re-export it") from None
        if not trust:
            first = next((line.strip() for line in text.splitlines() if "Unsupported" in line), text)[:160]
            raise ZooError(
                f"checkpoint {path} contains pickled Python objects that torch will not load safely ({first}); "
                f"if you trust where it came from, pass --trust-checkpoint (trust=True in Python)"
            ) from None
    except Exception as err:  # truncated / foreign files fail in many ways inside torch
        detail = str(err).splitlines()[0][:120] if str(err) else "corrupt"
        raise ZooError(f"checkpoint {path} is not a readable torch file ({type(err).__name__}: {detail}); "
                       f"re-download or re-export it") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise ZooError(f"checkpoint {path} cannot be unpickled ({type(err).__name__}: {str(err)[:120]}); "
                       f"the code that defined its objects may be missing") from None
