"""Per-base attribution and ISM values as bigWig tracks, with the text a genome browser needs.

Each explained region gives one value per base of the region (attributions: the contribution of
the base present; ISM: the mean effect of the three substitutions, or the effect of the
substitution with the largest ``|effect|``, signed). Where regions overlap, a base keeps the value
from the window whose centre is nearest to it (the one that saw it with the most context on both
sides); bases outside the genome (N padding past a contig end) are left out.

``tracks.txt`` holds UCSC custom-track lines (paste them into *My Data > Custom Tracks* once the
files are on a web server) and ``trackDb.txt`` the same tracks as a track hub's stanzas.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

PLACEHOLDER_URL = "https://YOUR.SERVER/PATH"


def region_values(table: pd.DataFrame, values: np.ndarray, lo: int, sizes: dict[str, int]) -> dict:
    """One value per genome base covered by the regions, overlaps resolved (module doc).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~zoo_tools.interpret.inputs.load_inputs`'s table: ``chrom``, ``start`` (the window's
        first base, 0-based; negative when padded), ``region_start``, ``region_end`` (window indices).
    values : numpy.ndarray
        ``(N, W)`` float: the value at window indices ``lo .. lo + W``.
    lo : int
        The window index of ``values[:, 0]``.
    sizes : dict
        Contig -> length (bp); bases past an end are dropped.

    Returns
    -------
    dict
        ``chrom -> (positions, values)``: sorted, unique 0-based positions (int64) and float32 values.
    """
    width = values.shape[1]
    centre = (int(table.end.iat[0] - table.start.iat[0]) - 1) / 2 if len(table) else 0  # window index
    parts: dict[str, list] = {}
    for i, r in enumerate(table.itertuples(index=False)):
        k = np.arange(max(int(r.region_start), lo), min(int(r.region_end), lo + width))
        pos = int(r.start) + k
        keep = (pos >= 0) & (pos < sizes[r.chrom])
        parts.setdefault(r.chrom, []).append((pos[keep], values[i, k[keep] - lo], np.abs(k[keep] - centre)))
    out = {}
    for chrom, chunks in parts.items():
        pos, val, dist = (np.concatenate(c) for c in zip(*chunks))
        order = np.lexsort((dist, pos))  # by position, nearest window centre first
        pos, val = pos[order], val[order]
        first = np.r_[True, pos[1:] != pos[:-1]]
        out[chrom] = (pos[first].astype(np.int64), val[first].astype(np.float32))
    return out


def write_bigwig(path: str, tracks: dict, sizes: dict[str, int]) -> str:
    """A bigWig of :func:`region_values`'s bases (runs of consecutive bases as fixed steps).

    Parameters
    ----------
    path : str
        The ``.bw`` written.
    tracks : dict
        ``chrom -> (positions, values)``.
    sizes : dict
        Contig -> length, in the genome's order (the header).

    Returns
    -------
    str
        ``path``.
    """
    import pyBigWig

    bw = pyBigWig.open(path, "w")
    bw.addHeader(list(sizes.items()))
    for chrom in sizes:
        if chrom not in tracks or not len(tracks[chrom][0]):
            continue
        pos, val = tracks[chrom]
        breaks = np.flatnonzero(np.diff(pos) != 1) + 1
        for p, v in zip(np.split(pos, breaks), np.split(val, breaks)):
            bw.addEntries(chrom, int(p[0]), values=v.astype(float).tolist(), span=1, step=1)
    bw.close()
    return path


def write_track_text(out: str, tracks: list[tuple[str, str, str]], url: str | None = None) -> list[str]:
    """``tracks.txt`` (UCSC custom-track lines) and ``trackDb.txt`` (track hub stanzas).

    Parameters
    ----------
    out : str
        The folder of the bigWigs.
    tracks : list of tuple
        ``(file name, short label, long label)`` per bigWig.
    url : str, optional
        Where the folder will be served (default a placeholder to replace).

    Returns
    -------
    list of str
        The two paths.
    """
    base = (url or PLACEHOLDER_URL).rstrip("/")
    head = [
        "# Put the .bw files on a web server the browser can reach, replace "
        f"{PLACEHOLDER_URL} with their folder's URL if it is still there,",
        "# then paste the track lines into UCSC's My Data > Custom Tracks. Contig names are the FASTA's.",
    ]
    lines, stanzas = [], []
    for name, short, long in tracks:
        key = os.path.splitext(name)[0].replace(".", "_")
        lines.append(
            f'track type=bigWig name="{short}" description="{long}" bigDataUrl={base}/{name} '
            "visibility=full autoScale=on alwaysZero=on color=31,119,180 altColor=214,39,40"
        )
        stanzas.append(
            f"track {key}\nbigDataUrl {name}\nshortLabel {short[:17]}\nlongLabel {long[:76]}\ntype bigWig\n"
            "visibility full\nautoScale on\nalwaysZero on\ncolor 31,119,180\naltColor 214,39,40\n"
        )
    paths = [os.path.join(out, "tracks.txt"), os.path.join(out, "trackDb.txt")]
    with open(paths[0], "w") as fh:
        fh.write("\n".join(head + lines) + "\n")
    with open(paths[1], "w") as fh:
        fh.write("\n".join(stanzas))
    return paths


def ism_summaries(effects: np.ndarray) -> dict[str, np.ndarray]:
    """Per-position ISM summaries of ``(N, 4, W)`` effects (0 at the reference base).

    Parameters
    ----------
    effects : numpy.ndarray
        ``(N, 4, W)`` effect of each base at each position, for one task.

    Returns
    -------
    dict
        ``{"mean": (N, W) mean of the three substitutions, "worst": (N, W) the substitution of
        largest |effect|, signed}``.
    """
    worst = np.take_along_axis(effects, np.abs(effects).argmax(1)[:, None], 1)[:, 0]
    return {"mean": effects.sum(1) / 3, "worst": worst}


def attribution_tracks(out: str, table, contrib, sizes, label: str, url: str | None = None) -> list[str]:
    """``attributions.bw`` (the contribution of each base present) and the track texts.

    Parameters
    ----------
    out : str
        The folder.
    table : pandas.DataFrame
        The inputs' table (:func:`region_values`).
    contrib : numpy.ndarray
        ``(N, 4, L)`` contributions of the bases present (0 elsewhere).
    sizes : dict
        Contig -> length, in the genome's order.
    label : str
        What was explained (the track's description).
    url : str, optional
        The folder's URL (:func:`write_track_text`).

    Returns
    -------
    list of str
        The bigWig, ``tracks.txt`` and ``trackDb.txt``.
    """
    bw = write_bigwig(os.path.join(out, "attributions.bw"), region_values(table, contrib.sum(1), 0, sizes), sizes)
    return [bw, *write_track_text(out, [("attributions.bw", "zoo attributions", label)], url)]


def ism_tracks(out: str, table, effects, lo: int, tasks, sizes, url: str | None = None) -> list[str]:
    """``ism_mean.<task>.bw`` and ``ism_worst.<task>.bw`` per task, and the track texts.

    Parameters
    ----------
    out : str
        The folder.
    table : pandas.DataFrame
        The inputs' table (:func:`region_values`).
    effects : numpy.ndarray
        ``(N, 4, W, T)`` ISM effects over window indices ``lo .. lo + W``.
    lo : int
        The first mutated window index.
    tasks : list of str
        The ``T`` task names.
    sizes : dict
        Contig -> length, in the genome's order.
    url : str, optional
        The folder's URL (:func:`write_track_text`).

    Returns
    -------
    list of str
        The bigWigs, ``tracks.txt`` and ``trackDb.txt``.
    """
    from zoo_tools.interpret.inputs import safe_name

    paths, entries = [], []
    for t, task in enumerate(tasks):
        for kind, values in ism_summaries(effects[..., t]).items():
            name = f"ism_{kind}.{safe_name(task)}.bw"
            paths.append(write_bigwig(os.path.join(out, name), region_values(table, values, lo, sizes), sizes))
            what = "mean effect of the 3 substitutions" if kind == "mean" else "effect of the worst substitution"
            entries.append((name, f"ISM {kind} {task}"[:17], f"ISM {task}: {what}"))
    return paths + write_track_text(out, entries, url)
