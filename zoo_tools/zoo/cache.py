"""The zoo_tools model cache: ``$ZOO_HOME`` (default ``~/.cache/zoo_tools``).

Layout::

    $ZOO_HOME/manifest.json            spec -> {path, sha256, source, size, added}
    $ZOO_HOME/models/<source>/<name>/  downloaded or imported files

Every file registered in the manifest is verified (sha256) before it is loaded; a mismatch is a
one-line error naming the file and the fix (re-fetch or re-import). To use models on a machine
without network, fetch them on a networked machine (``zoo fetch SPEC``) and copy the whole
``$ZOO_HOME`` folder across.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

from zoo_tools.core.errors import ZooError
from zoo_tools.core.locks import file_lock


def zoo_home() -> Path:
    """The cache folder (``$ZOO_HOME`` or ``~/.cache/zoo_tools``, ``~`` expanded), created if missing.

    Returns
    -------
    pathlib.Path
    """
    home = Path(os.environ.get("ZOO_HOME") or Path.home() / ".cache" / "zoo_tools").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def model_dir(source: str, name: str) -> Path:
    """Folder for one model's files: ``$ZOO_HOME/models/<source>/<name with / as __>``.

    Parameters
    ----------
    source : the source's name (``grelu``, ``enformer``, ...).
    name : the model's name, e.g. an HF repo id; runs of characters other than ``A-Za-z0-9._-``
        become ``__``.

    Returns
    -------
    pathlib.Path
        The folder, created if missing.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "__", name)
    d = zoo_home() / "models" / source / safe
    d.mkdir(parents=True, exist_ok=True)
    return d


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file (or of every file in a folder, in sorted order).

    Parameters
    ----------
    path : a file, or a folder (each file's relative path is hashed before its bytes).
    chunk : bytes read at a time (default 4 MiB).

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    return h.hexdigest()


def _manifest_path() -> Path:
    return zoo_home() / "manifest.json"


def read_manifest() -> dict[str, dict]:
    """The manifest: ``spec -> {path, sha256, source, size, added, ...}``; {} if none, ZooError if not JSON.

    Returns
    -------
    dict
    """
    p = _manifest_path()
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError:
        raise ZooError(f"cache manifest {p} is corrupted; delete it and re-fetch your models") from None


def register(spec: str, path: str | os.PathLike, source: str, **extra) -> dict:
    """Record ``spec -> path`` with its sha256 in the manifest (locked: safe across processes).

    Parameters
    ----------
    spec : the key, e.g. ``grelu:REPO:FILE``, ``enformer:ID`` or ``import:NAME``.
    path : the model's file or folder (stored resolved).
    source : the source's name.
    **extra : more fields for the entry (e.g. ``repo_id``, ``filename``).

    Returns
    -------
    dict
        The entry: ``path, sha256, source, size`` (bytes), ``added`` (local time) and ``extra``.
    """
    path = Path(path).resolve()
    entry = dict(
        path=str(path),
        sha256=sha256_file(path),
        source=source,
        size=sum(f.stat().st_size for f in ([path] if path.is_file() else path.rglob("*")) if f.is_file()),
        added=time.strftime("%Y-%m-%d %H:%M:%S"),
        **extra,
    )
    with file_lock(zoo_home() / "manifest.lock"):  # read-modify-write, safe across processes
        manifest = read_manifest()
        manifest[spec] = entry
        tmp = _manifest_path().with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        tmp.replace(_manifest_path())
    return entry


def lookup(spec: str, verify: bool = True) -> str | None:
    """Path of a cached model, verified against its recorded sha256.

    Parameters
    ----------
    spec : the manifest key (as given to :func:`register`).
    verify : re-hash the file and compare (ZooError naming the fix if it differs).

    Returns
    -------
    str or None
        The file or folder; None if ``spec`` is not in the manifest or its path is gone.
    """
    entry = read_manifest().get(spec)
    if not entry:
        return None
    path = entry["path"]
    if not os.path.exists(path):
        return None
    if verify and sha256_file(path) != entry["sha256"]:
        raise ZooError(
            f"cached file for {spec} is corrupted or was modified: {path} (sha256 differs from the manifest); "
            f"delete it and run `zoo fetch {spec}` again"
        )
    return path


def offline() -> bool:
    """Whether the user asked for no network (``HF_HUB_OFFLINE``, ``ZOO_OFFLINE`` or
    ``TRANSFORMERS_OFFLINE`` set to ``1``, ``true`` or ``yes``).

    Returns
    -------
    bool
    """
    return any(
        os.environ.get(k, "").strip().lower() in ("1", "true", "yes")
        for k in ("HF_HUB_OFFLINE", "ZOO_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
