"""The ``zoo interpret`` commands as library functions: inputs in, files out, a summary back.

Inputs are either regions of a genome (BED; a window of the model's input length centred on each
region, N-padded past contig ends) or literal sequences (``--seq``, each exactly the model's input
length). Outputs go to one folder; every function returns a dict summary the CLI prints.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.intervals import centre_starts, read_bed

log = logging.getLogger(__name__)


def read_regions(paths: str | Sequence[str], genome: Genome) -> pd.DataFrame:
    """One or more BED / narrowPeak files, concatenated in order.

    Parameters
    ----------
    paths : str or sequence of str
        The files.
    genome : Genome
        Contig names are resolved to its spelling and checked.

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open) and the files' other columns; the same interval
        (and summit) listed in several files is kept once.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    frames = [read_bed(p, genome) for p in paths]
    bed = pd.concat(frames, ignore_index=True)
    key = ["chrom", "start", "end"] + (["summit"] if "summit" in bed.columns else [])
    return bed.drop_duplicates(key).reset_index(drop=True)


def _sequence_inputs(seq_len: int, seqs: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    bad = [i for i, s in enumerate(seqs) if len(s) != seq_len]
    if bad:
        raise ZooError(f"--seq #{bad[0] + 1} has {len(seqs[bad[0]])} bp; the model takes exactly {seq_len} bp")
    codes = np.stack([encode(s) for s in seqs])
    t = pd.DataFrame(
        {
            "name": [f"seq{i + 1}" for i in range(len(seqs))],
            "chrom": ".",
            "start": 0,
            "end": seq_len,
            "region_start": 0,
            "region_end": seq_len,
        }
    )
    return t, codes


def _region_names(bed: pd.DataFrame) -> list[str]:
    """The BED name column, ``chrom:start-end`` where there is none (or it is ``.`` or empty)."""
    names = (
        bed["name"].astype(str).tolist()
        if "name" in bed.columns
        else [f"{c}:{s}-{e}" for c, s, e in zip(bed.chrom, bed.start, bed.end)]
    )
    return [n if n not in (".", "") else f"{c}:{s}-{e}" for n, c, s, e in zip(names, bed.chrom, bed.start, bed.end)]


def _region_windows(bed: pd.DataFrame, seq_len: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Regions and the starts of their (summit-)centred windows, one region per distinct window."""
    start = centre_starts(bed.start, bed.end, seq_len, bed["summit"] if "summit" in bed.columns else None)
    first = ~pd.DataFrame({"c": bed.chrom.to_numpy(), "s": start}).duplicated().to_numpy()
    if not first.all():  # the same summit in several peak files: one window
        log.info("%d region(s) share a window with an earlier one and are explained once", int((~first).sum()))
        bed, start = bed[first].reset_index(drop=True), start[first]
    return bed, start


def _region_inputs(
    seq_len: int, genome: Genome, regions: str | Sequence[str], max_regions: int | None
) -> tuple[pd.DataFrame, np.ndarray]:
    bed = read_regions(regions, genome)
    if not len(bed):
        raise ZooError(f"{regions if isinstance(regions, str) else ', '.join(regions)}: no regions")
    if max_regions and len(bed) > max_regions:
        bed = bed.iloc[:max_regions]
    bed, start = _region_windows(bed, seq_len)
    rs = np.clip(bed.start.to_numpy() - start, 0, seq_len)
    re_ = np.clip(bed.end.to_numpy() - start, 0, seq_len)
    t = pd.DataFrame(
        {
            "name": _region_names(bed),
            "chrom": bed.chrom.to_numpy(),
            "start": start,
            "end": start + seq_len,
            "region_start": rs,
            "region_end": np.maximum(re_, rs + 1),
        }
    )
    return t, genome.batch_codes(t.chrom.tolist(), t.start.tolist(), seq_len)


def load_inputs(
    seq_len: int,
    genome: Genome | None = None,
    regions: str | Sequence[str] | None = None,
    seqs: Sequence[str] | None = None,
    max_regions: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The inputs of an interpret command: regions of a genome or literal sequences (one of them).

    Parameters
    ----------
    seq_len : int
        The model's input length (bp).
    genome : Genome, optional
        Needed with ``regions``.
    regions : str or sequence of str, optional
        BED / narrowPeak files; each region gets a window of ``seq_len`` bp centred on its summit
        or midpoint (:func:`~zoo_tools.data.intervals.centre_starts`), N-padded past contig ends.
    seqs : sequence of str, optional
        Sequences of exactly ``seq_len`` bp.
    max_regions : int, optional
        Keep the first that many regions.

    Returns
    -------
    tuple
        ``(table, codes)``: one row per input (``name, chrom, start, end`` of the window, 0-based,
        half-open, and ``region_start, region_end``: the region inside the window, window
        indices), codes ``(N, seq_len)`` uint8.
    """
    if bool(regions) == bool(seqs):
        raise ZooError("give --regions BED (with --genome) or --seq ACGT..., not both")
    if seqs:
        return _sequence_inputs(seq_len, seqs)
    if genome is None:
        raise ZooError("--regions needs --genome FASTA")
    return _region_inputs(seq_len, genome, regions, max_regions)


def _one_hot(codes: np.ndarray) -> torch.Tensor:
    from zoo_tools.data.onehot import codes_to_tensor

    return codes_to_tensor(codes)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]


def run_ism(
    model,
    out: str,
    genome: Genome | None = None,
    regions: str | None = None,
    seqs: Sequence[str] | None = None,
    tasks=None,
    window_bins: int = 0,
    start: int | None = None,
    end: int | None = None,
    batch_size: int = 256,
    fast: bool = True,
    plot: bool = True,
) -> dict:
    """ISM of each input over ``[start, end)`` of its window (default: the region itself; the
    whole window for ``--seq``). Writes ``ism.npz`` (``effects (N, 4, W, T)``, ``one_hot (N, 4, L)``,
    ``start``, ``end``, ``tasks``, ``names``), ``regions.tsv`` and ``ism_<name>.png`` per input
    (the first explained task)."""
    from zoo_tools.interpret.ism import ism
    from zoo_tools.interpret.plots import ism_png
    from zoo_tools.interpret.wrappers import explain

    e = explain(model, tasks, window_bins)
    L = e.seq_len
    table, codes = load_inputs(L, genome, regions, seqs)
    if start is None and end is None and regions:
        lo, hi = int(table.region_start.min()), int(table.region_end.max())
    else:
        lo, hi = (0 if start is None else start), (L if end is None else end)
    if not 0 <= lo < hi <= L:
        raise ZooError(f"--start/--end [{lo}, {hi}) must lie within the model's {L} bp window")
    os.makedirs(out, exist_ok=True)
    x = _one_hot(codes)
    eff = ism(e, x, lo, hi, batch_size=batch_size, fast=fast)
    np.savez_compressed(
        os.path.join(out, "ism.npz"),
        effects=eff,
        one_hot=x.numpy(),
        start=lo,
        end=hi,
        tasks=np.array(e.output_names),
        names=np.array(table.name),
    )
    table.to_csv(os.path.join(out, "regions.tsv"), sep="\t", index=False)
    pngs = []
    if plot:
        for i, name in enumerate(table.name):
            pngs.append(
                ism_png(
                    eff[i, :, :, 0],
                    codes[i, lo:hi],
                    os.path.join(out, f"ism_{_safe(name)}.png"),
                    title=f"ISM {name}: {e.output_names[0]}",
                    start=lo,
                )
            )
    return {
        "inputs": len(table),
        "mutants": int(3 * (hi - lo) * len(table)),
        "window": [lo, hi],
        "tasks": len(e.output_names),
        "out": out,
        "pngs": pngs,
        "effects": eff,
        "table": table,
    }


def run_attributions(
    model,
    out: str,
    method: str = "deepliftshap",
    genome: Genome | None = None,
    regions: str | None = None,
    seqs: Sequence[str] | None = None,
    tasks=None,
    window_bins: int = 0,
    scale: str | None = None,
    n_shuffles: int = 20,
    batch_size: int = 64,
    seed: int = 0,
    plot: bool = True,
    max_regions: int | None = None,
) -> dict:
    """Attributions of each input for the mean of the selected tasks. Writes ``attributions.npz``
    (``hypothetical``, ``contrib``, ``one_hot`` ``(N, 4, L)``, ``deltas`` ``(N,)`` for DeepLIFT/SHAP,
    ``names``), ``regions.tsv`` and a logo of the region's contributions per input."""
    from zoo_tools.interpret.attributions import attribute
    from zoo_tools.interpret.plots import logo_png
    from zoo_tools.interpret.wrappers import explain

    scale = scale or ("output" if method == "ism" else "raw")
    e = explain(model, tasks, window_bins, scale, combine=True)
    table, codes = load_inputs(e.seq_len, genome, regions, seqs, max_regions)
    os.makedirs(out, exist_ok=True)
    a = attribute(e, _one_hot(codes), method, 0, n_shuffles, batch_size, seed)
    arrays = {
        "hypothetical": a.hypothetical,
        "contrib": a.contrib,
        "one_hot": _one_hot(codes).numpy(),
        "names": np.array(table.name),
        "task": a.task,
        "method": method,
        "scale": scale,
    }
    if a.deltas is not None:
        arrays["deltas"] = a.deltas
    np.savez_compressed(os.path.join(out, "attributions.npz"), **arrays)
    table.to_csv(os.path.join(out, "regions.tsv"), sep="\t", index=False)
    pngs = []
    if plot:
        for i, r in enumerate(table.itertuples()):
            lo, hi = int(r.region_start), int(r.region_end)
            if hi - lo > 200 or not regions:  # logos of at most 200 bp around the centre
                mid = (lo + hi) // 2 if regions else e.seq_len // 2
                lo, hi = max(0, mid - 100), min(e.seq_len, mid + 100)
            pngs.append(
                logo_png(
                    a.contrib[i, :, lo:hi],
                    os.path.join(out, f"{method}_{_safe(r.name)}.png"),
                    title=f"{method} {r.name}: {a.task} ({scale})",
                    start=lo,
                )
            )
    summary = {
        "inputs": len(table),
        "method": method,
        "task": a.task,
        "scale": scale,
        "out": out,
        "pngs": pngs,
        "attribution": a,
    }
    if a.deltas is not None:
        summary["max_abs_delta"] = float(np.abs(a.deltas).max())
    return summary


def run_marginalize(
    model,
    genome: Genome,
    motifs: list[str],
    out: str,
    n_backgrounds: int = 100,
    spacings=(0,),
    db: str = "jaspar",
    tasks=None,
    window_bins: int = 0,
    seed: int = 0,
    batch_size: int = 64,
) -> dict:
    """Writes ``marginalize.tsv`` (:func:`~zoo_tools.interpret.marginalize.marginalize`) and its plot."""
    from zoo_tools.interpret.marginalize import marginalize
    from zoo_tools.interpret.plots import marginalize_png
    from zoo_tools.interpret.wrappers import explain

    e = explain(model, tasks, window_bins)
    table = marginalize(e, genome, motifs, n_backgrounds, spacings, db, seed, batch_size)
    os.makedirs(out, exist_ok=True)
    table.to_csv(os.path.join(out, "marginalize.tsv"), sep="\t", index=False, float_format="%.6g")
    png = marginalize_png(table, os.path.join(out, "marginalize.png"), title=table.motif.iat[0])
    return {"table": table, "out": out, "png": png}


def run_modisco(
    model,
    genome: Genome,
    peaks: str | Sequence[str],
    out: str,
    method: str = "deepliftshap",
    tasks=None,
    window_bins: int = 0,
    window: int = 400,
    max_peaks: int = 2000,
    n_shuffles: int = 10,
    db: str = "jaspar",
    max_seqlets: int = 2000,
    seed: int = 0,
    batch_size: int = 64,
) -> dict:
    """Attributions over peak-centred windows -> TF-MoDISco on the central ``window`` bp -> TOMTOM.
    Writes ``attributions.npz``, ``modisco.h5``, ``motifs.tsv`` and ``report.html`` (+ logos)."""
    from zoo_tools.data.motifs import load_motifs, meme_path
    from zoo_tools.interpret.modisco import match_patterns, save_h5, write_report
    from zoo_tools.interpret.modisco import run_modisco as modisco

    res = run_attributions(
        model,
        out,
        method,
        genome,
        peaks,
        None,
        tasks,
        window_bins,
        None,
        n_shuffles,
        batch_size,
        seed,
        plot=False,
        max_regions=max_peaks,
    )
    a = res["attribution"]
    L = a.hypothetical.shape[-1]
    w = min(window, L)
    lo = (L - w) // 2
    x = np.load(os.path.join(out, "attributions.npz"))["one_hot"]
    found = modisco(a.hypothetical[..., lo : lo + w], x[..., lo : lo + w], max_seqlets=max_seqlets, seed=seed)
    save_h5(found, os.path.join(out, "modisco.h5"), w)
    motifs = load_motifs(db)
    patterns = found["pos"] + found["neg"]
    table = match_patterns(patterns, motifs)
    table.to_csv(os.path.join(out, "motifs.tsv"), sep="\t", index=False, float_format="%.4g")
    report = write_report(
        out, table, patterns, f"TF-MoDISco: {model.card.name}, {res['task']} ({method}, {res['inputs']} peaks, {w} bp)"
    )
    with open(os.path.join(out, "modisco_summary.json"), "w") as fh:
        json.dump(
            {
                "peaks": res["inputs"],
                "method": method,
                "task": res["task"],
                "window": w,
                "motif_db": meme_path(db),
                "patterns": len(patterns),
            },
            fh,
            indent=1,
        )
    return {
        "table": table,
        "report": report,
        "out": out,
        "peaks": res["inputs"],
        "patterns": len(patterns),
        "max_abs_delta": res.get("max_abs_delta"),
    }
