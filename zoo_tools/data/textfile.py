"""Text files as users have them: plain, gzip or bgzip (BGZF), read line by line with the
truncation of a compressed file detected (a missing BGZF end-of-file block, a gzip stream that
breaks off) and named by its last complete line.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator

from zoo_tools.core.errors import ZooError

# the 28-byte empty block that ends every complete BGZF file (SAM/BAM spec, section 4.1.2)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def magic_bytes(path: str, n: int = 18) -> bytes:
    """The first ``n`` bytes of a file (its magic number: gzip starts ``1f 8b``).

    Parameters
    ----------
    path : str
    n : int

    Returns
    -------
    bytes
        Fewer than ``n`` for a shorter file.
    """
    with open(path, "rb") as fh:
        return fh.read(n)


def _is_bgzf(head: bytes) -> bool:
    """A gzip member with the ``BC`` extra subfield (FLG.FEXTRA set) is a BGZF block."""
    return len(head) >= 18 and head[:2] == b"\x1f\x8b" and head[3] & 4 and head[12:14] == b"BC"


def _complete_lines(path: str) -> int:
    """Complete lines that can be decompressed from a damaged gzip file before it breaks off."""
    n = 0
    try:
        with gzip.open(path, "rb") as fh:
            for line in fh:
                n += line.endswith(b"\n")
    except (OSError, EOFError, zlib.error):
        pass
    return n


def _truncated(path: str, n_lines: int, why: str) -> ZooError:
    return ZooError(
        f"{path}: the file is truncated or damaged ({why}); line {n_lines} is the last complete line. "
        f"Download or compress it again (bgzip) and check its size"
    )


def text_lines(path: str) -> Iterator[str]:
    """The lines of a text file, plain, gzip or bgzip (detected from its first bytes), streamed.

    A bgzip file without its end-of-file block, or a gzip stream that breaks off, is a
    :class:`ZooError` naming the last complete line.

    Parameters
    ----------
    path : str
        The file.

    Yields
    ------
    str
        Each line with its newline, decoded as UTF-8 (undecodable bytes replaced).
    """
    head = magic_bytes(path)
    if head[:2] != b"\x1f\x8b":
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            yield from fh
        return
    if _is_bgzf(head):
        with open(path, "rb") as fh:
            fh.seek(max(os.path.getsize(path) - len(BGZF_EOF), 0))
            if fh.read() != BGZF_EOF:
                raise _truncated(path, _complete_lines(path), "no BGZF end-of-file block")
    n = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                n += 1
                yield line
    except (OSError, EOFError, zlib.error) as err:
        raise _truncated(path, n, " ".join(str(err).split()) or type(err).__name__) from None
