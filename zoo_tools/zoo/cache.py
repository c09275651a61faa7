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
    """The cache folder (``$ZOO_HOME`` or ``~/.cache/zoo_tools``), created if missing."""
    home = Path(os.environ.get("ZOO_HOME") or Path.home() / ".cache" / "zoo_tools").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def model_dir(source: str, name: str) -> Path:
    """Folder for one model's files: ``$ZOO_HOME/models/<source>/<name with / as __>``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "__", name)
    d = zoo_home() / "models" / source / safe
    d.mkdir(parents=True, exist_ok=True)
    return d


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file (or of every file in a folder, in sorted order)."""
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
    p = _manifest_path()
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError:
        raise ZooError(f"cache manifest {p} is corrupted; delete it and re-fetch your models") from None


def register(spec: str, path: str | os.PathLike, source: str, **extra) -> dict:
    """Record ``spec -> path`` with its sha256 in the manifest; returns the entry."""
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
    """Path of a cached model, verified against its recorded sha256; None if not cached."""
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
    """True when the user asked for no network (``HF_HUB_OFFLINE`` / ``ZOO_OFFLINE`` set to 1)."""
    return any(
        os.environ.get(k, "").strip().lower() in ("1", "true", "yes")
        for k in ("HF_HUB_OFFLINE", "ZOO_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
