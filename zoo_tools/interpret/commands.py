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

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.interpret.inputs import load_inputs, safe_name

log = logging.getLogger(__name__)


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
    bigwig: bool | str = False,
) -> dict:
    """ISM of each input over ``[start, end)`` of its window; files in ``out``, a summary back.

    Parameters
    ----------
    model, tasks, window_bins
        The model, the tasks explained (names or patterns; default all) and the centre output bins
        averaged (0: all), :func:`~zoo_tools.interpret.wrappers.explain`.
    out : str
        Folder (created) for ``ism.npz`` (``effects (N, 4, W, T)``, ``one_hot (N, 4, L)``, ``start``,
        ``end``, ``tasks``, ``names``), ``regions.tsv`` and ``ism_<name>.png`` (first task) per input.
    genome, regions, seqs
        The inputs: BED regions of the genome or sequences (:func:`~zoo_tools.interpret.inputs.load_inputs`).
    start, end : int, optional
        Window indices mutated, 0-based, half-open; default: all regions' span, for ``seqs`` the window.
    batch_size, fast, plot
        Mutants per batch; use the exact fast path (:func:`~zoo_tools.interpret.mutagenesis.ism`); write the PNGs.
    bigwig : bool or str
        Regions only: ``ism_mean|worst.<task>.bw`` and track texts (:mod:`.browser_tracks`); a str
        is the URL the folder will be served at.

    Returns
    -------
    dict
        ``inputs``, ``mutants``, ``window`` (``[start, end]``), ``tasks`` (their number), ``out``,
        ``pngs``, ``effects`` ``(N, 4, W, T)`` float32, ``table`` (:func:`~zoo_tools.interpret.inputs.load_inputs`)
        and ``tracks`` (the bigWig and text files).
    """
    from zoo_tools.interpret.mutagenesis import ism
    from zoo_tools.interpret.wrappers import explain

    _need_regions(bigwig, regions, genome)
    e = explain(model, tasks, window_bins)
    table, codes = load_inputs(e.seq_len, genome, regions, seqs)
    lo, hi = _ism_span(table, e.seq_len, start, end, bool(regions))
    os.makedirs(out, exist_ok=True)
    x = codes_to_tensor(codes)
    eff = ism(e, x, lo, hi, batch_size=batch_size, fast=fast)
    _save_ism(out, eff, x, lo, hi, e.output_names, table)
    pngs = _ism_pngs(out, table, eff, codes, lo, hi, e.output_names[0]) if plot else []
    tracks = _ism_tracks(bigwig, out, table, eff, lo, e.output_names, genome)
    n = len(table)
    about = dict(inputs=n, mutants=int(3 * (hi - lo) * n), window=[lo, hi], tasks=len(e.output_names), out=out)
    return about | dict(pngs=pngs, effects=eff, table=table, tracks=tracks)


def _ism_tracks(bigwig, out: str, table: pd.DataFrame, eff, lo: int, tasks, genome) -> list[str]:
    """``--bigwig`` of :func:`run_ism`: the files written, or none."""
    from zoo_tools.interpret.browser_tracks import ism_tracks

    if not bigwig:
        return []
    return ism_tracks(out, table, eff, lo, tasks, genome.contigs, bigwig if isinstance(bigwig, str) else None)


def _ism_pngs(out: str, table: pd.DataFrame, eff, codes, lo: int, hi: int, task: str) -> list[str]:
    """A heatmap and logo of the first task's ISM effects per input."""
    from zoo_tools.interpret.plots import ism_png

    pngs = []
    for i, name in enumerate(table.name):
        path, title = os.path.join(out, f"ism_{safe_name(name)}.png"), f"ISM {name}: {task}"
        pngs.append(ism_png(eff[i, :, :, 0], codes[i, lo:hi], path, title=title, start=lo))
    return pngs


def _save_ism(out: str, eff, x, lo: int, hi: int, tasks, table: pd.DataFrame) -> None:
    """``ism.npz`` and ``regions.tsv`` of :func:`run_ism`."""
    arrays = dict(effects=eff, one_hot=x.numpy(), start=lo, end=hi, tasks=np.array(tasks), names=np.array(table.name))
    np.savez_compressed(os.path.join(out, "ism.npz"), **arrays)
    table.to_csv(os.path.join(out, "regions.tsv"), sep="\t", index=False)


def _need_regions(bigwig: bool, regions, genome) -> None:
    """``--bigwig`` needs inputs with coordinates: regions of a genome."""
    if bigwig and (not regions or genome is None):
        raise ZooError("--bigwig needs --regions BED and --genome FASTA (literal --seq inputs have no coordinates)")


def _ism_span(table: pd.DataFrame, seq_len: int, start: int | None, end: int | None, regions: bool) -> tuple:
    """``[lo, hi)`` window indices to mutate: the regions by default, else ``start`` / ``end``."""
    if start is None and end is None and regions:
        lo, hi = int(table.region_start.min()), int(table.region_end.max())
    else:
        lo, hi = (0 if start is None else start), (seq_len if end is None else end)
    if not 0 <= lo < hi <= seq_len:
        raise ZooError(f"--start/--end [{lo}, {hi}) must lie within the model's {seq_len} bp window")
    return lo, hi


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
    bigwig: bool | str = False,
) -> dict:
    """Attributions of each input for the mean of the selected tasks; files in ``out``, a summary back.

    Parameters
    ----------
    model, tasks, window_bins
        The model, the tasks whose mean is explained (names or patterns; default all) and the
        centre output bins averaged (0: all), :func:`~zoo_tools.interpret.wrappers.explain`.
    out : str
        Folder (created) for ``attributions.npz`` (``hypothetical``, ``contrib``, ``one_hot``
        ``(N, 4, L)`` float32, ``deltas`` ``(N,)`` for DeepLIFT/SHAP, ``names``, ``task``,
        ``method``, ``scale``), ``regions.tsv`` and a logo of the region's contributions per input.
    method, n_shuffles, batch_size, seed
        As :func:`~zoo_tools.interpret.attributions.attribute` takes them.
    genome, regions, seqs, max_regions
        The inputs, BED regions (the first ``max_regions``) or sequences (:mod:`.inputs`).
    scale : str, optional
        ``"output"`` or ``"raw"`` (default: ``output`` for ISM, else ``raw``).
    plot : bool
        Write the logos (of the region, or of 200 bp around its centre when longer or for ``seqs``).
    bigwig : bool or str
        Regions only: ``attributions.bw`` and track texts (:mod:`.browser_tracks`); a str is the
        URL the folder will be served at.

    Returns
    -------
    dict
        ``inputs``, ``method``, ``task`` (the explained output's name), ``scale``, ``out``,
        ``pngs``, ``attribution`` (:class:`~zoo_tools.interpret.attributions.Attribution`), ``tracks``; for
        DeepLIFT/SHAP ``max_abs_delta``, ``relative_delta`` (of the output range), ``fallbacks``.
    """
    from zoo_tools.interpret.attributions import attribute
    from zoo_tools.interpret.wrappers import explain

    _need_regions(bigwig, regions, genome)
    scale = scale or ("output" if method == "ism" else "raw")
    e = explain(model, tasks, window_bins, scale, combine=True)
    table, codes = load_inputs(e.seq_len, genome, regions, seqs, max_regions)
    os.makedirs(out, exist_ok=True)
    a = attribute(e, codes_to_tensor(codes), method, 0, n_shuffles, batch_size, seed)
    _save_attributions(out, a, codes, table, method, scale)
    pngs = _logos(a, table, out, method, scale, bool(regions), e.seq_len) if plot else []
    summary = dict(inputs=len(table), method=method, task=a.task, scale=scale, out=out, pngs=pngs, attribution=a)
    return summary | _delta_summary(a) | _attribution_tracks(bigwig, out, table, a, genome, f"{method}, {scale} scale")


def _attribution_tracks(bigwig, out: str, table: pd.DataFrame, a, genome: Genome, how: str) -> dict:
    """``--bigwig`` of :func:`run_attributions`: ``{"tracks": files}``, or nothing."""
    from zoo_tools.interpret.browser_tracks import attribution_tracks

    if not bigwig:
        return {}
    url = bigwig if isinstance(bigwig, str) else None
    return {
        "tracks": attribution_tracks(out, table, a.contrib, genome.contigs, f"contributions to {a.task} ({how})", url)
    }


def _delta_summary(a) -> dict:
    """DeepLIFT/SHAP's convergence figures for the summary (nothing for the other methods)."""
    if a.deltas is None:
        return {}
    return dict(max_abs_delta=float(np.abs(a.deltas).max()), relative_delta=a.relative_delta, fallbacks=a.fallbacks)


def _save_attributions(out: str, a, codes: np.ndarray, table: pd.DataFrame, method: str, scale: str) -> None:
    """``attributions.npz`` of :func:`run_attributions`."""
    arrays = dict(
        hypothetical=a.hypothetical,
        contrib=a.contrib,
        one_hot=codes_to_tensor(codes).numpy(),
        names=np.array(table.name),
        task=a.task,
        method=method,
        scale=scale,
    )
    table.to_csv(os.path.join(out, "regions.tsv"), sep="\t", index=False)
    if a.deltas is not None:
        arrays.update(deltas=a.deltas, relative_delta=a.relative_delta, fallbacks=np.array(a.fallbacks, dtype=str))
    np.savez_compressed(os.path.join(out, "attributions.npz"), **arrays)


def _logos(a, table: pd.DataFrame, out: str, method: str, scale: str, regions: bool, seq_len: int) -> list[str]:
    """A contribution logo per input: its region, or at most 200 bp around the centre."""
    from zoo_tools.interpret.plots import logo_png

    pngs = []
    for i, r in enumerate(table.itertuples()):
        lo, hi = int(r.region_start), int(r.region_end)
        if hi - lo > 200 or not regions:  # logos of at most 200 bp around the centre
            mid = (lo + hi) // 2 if regions else seq_len // 2
            lo, hi = max(0, mid - 100), min(seq_len, mid + 100)
        path, title = os.path.join(out, f"{method}_{safe_name(r.name)}.png"), f"{method} {r.name}: {a.task} ({scale})"
        pngs.append(logo_png(a.contrib[i, :, lo:hi], path, title=title, start=lo))
    return pngs


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
    """Writes ``marginalize.tsv`` (:func:`~zoo_tools.interpret.marginalize.marginalize`) and its plot.

    Parameters
    ----------
    model, tasks, window_bins
        The model, the tasks explained (names or patterns; default all) and the centre output bins
        averaged (0: all), :func:`~zoo_tools.interpret.wrappers.explain`.
    genome, motifs, n_backgrounds, spacings, db, seed, batch_size
        As :func:`~zoo_tools.interpret.marginalize.marginalize` takes them.
    out : str
        Folder (created) for ``marginalize.tsv`` and ``marginalize.png``.

    Returns
    -------
    dict
        ``table`` (the effects, :func:`~zoo_tools.interpret.marginalize.marginalize`), ``out`` and
        ``png`` (the plot's path).
    """
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
    naming=None,
) -> dict:
    """Attributions over peak-centred windows -> TF-MoDISco on the central ``window`` bp -> TOMTOM.

    Parameters
    ----------
    model, tasks, window_bins, method, n_shuffles, seed, batch_size
        The attributions, for the mean of the tasks (:func:`run_attributions`).
    genome, peaks, max_peaks
        BED / narrowPeak files of the genome; the first ``max_peaks`` peaks, each in a window of
        the model's input length centred on its summit.
    out : str
        Folder (created) for ``attributions.npz``, ``regions.tsv``, ``modisco.h5``, ``motifs.tsv``,
        ``report.html`` (+ logos) and ``modisco_summary.json``.
    window, max_seqlets, db
        Central bp modisco runs on; seqlets per metacluster; the MEME motif database matched.
    naming : NamingRules, optional
        When a pattern is named (:class:`~zoo_tools.interpret.motif_naming.NamingRules`).

    Returns
    -------
    dict
        ``table`` (:func:`~zoo_tools.interpret.motif_naming.name_patterns`), ``report`` (its path),
        ``out``, ``peaks``, ``patterns`` (their number) and ``max_abs_delta`` (DeepLIFT/SHAP, else
        None).
    """
    from zoo_tools.data.motifs import load_motifs
    from zoo_tools.interpret.modisco import write_report
    from zoo_tools.interpret.motif_naming import name_patterns

    opts = dict(tasks=tasks, window_bins=window_bins, n_shuffles=n_shuffles, batch_size=batch_size, seed=seed)
    res = run_attributions(model, out, method, genome, peaks, plot=False, max_regions=max_peaks, **opts)
    found, w = _central_modisco(res["attribution"], out, window, max_seqlets, seed)
    patterns = found["pos"] + found["neg"]
    table = name_patterns(patterns, load_motifs(db), naming)
    table.to_csv(os.path.join(out, "motifs.tsv"), sep="\t", index=False, float_format="%.4g")
    title = f"TF-MoDISco: {model.card.name}, {res['task']} ({method}, {res['inputs']} peaks, {w} bp)"
    report = write_report(out, table, patterns, title)
    _write_summary(out, res, method, w, db, table, naming)
    found = dict(table=table, report=report, out=out, peaks=res["inputs"], patterns=len(patterns))
    return found | dict(max_abs_delta=res.get("max_abs_delta"))


def _central_modisco(a, out: str, window: int, max_seqlets: int, seed: int) -> tuple[dict, int]:
    """TF-MoDISco on the central ``window`` bp of the attributions, saved as ``modisco.h5``; its width."""
    from zoo_tools.interpret.modisco import run_modisco as modisco
    from zoo_tools.interpret.modisco import save_h5

    L = a.hypothetical.shape[-1]
    w = min(window, L)
    lo = (L - w) // 2
    x = np.load(os.path.join(out, "attributions.npz"))["one_hot"]
    found = modisco(a.hypothetical[..., lo : lo + w], x[..., lo : lo + w], max_seqlets=max_seqlets, seed=seed)
    save_h5(found, os.path.join(out, "modisco.h5"), w)
    return found, w


def _write_summary(out: str, res: dict, method: str, w: int, db: str, table: pd.DataFrame, naming) -> None:
    """``modisco_summary.json``: peaks, method, task, window, motif database, patterns, the motifs
    named and the naming thresholds."""
    from dataclasses import asdict

    from zoo_tools.data.motifs import meme_path
    from zoo_tools.interpret.motif_naming import NamingRules

    about = dict(
        peaks=res["inputs"],
        method=method,
        task=res["task"],
        window=w,
        motif_db=meme_path(db),
        patterns=len(table),
        named=sorted(set(table.name[table.status == "named"])),
        unnamed=int((table.status != "named").sum()),
        naming=asdict(naming or NamingRules()),
    )
    with open(os.path.join(out, "modisco_summary.json"), "w") as fh:
        json.dump(about, fh, indent=1)
