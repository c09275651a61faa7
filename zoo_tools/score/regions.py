"""Predictions over genomic regions, written as HDF5, NPZ or one bigWig per task.

``predict_regions`` reads a BED file, centres each region in a window of the model's input length,
predicts ``(N, T, B)`` and writes:

* ``.h5`` / ``.npz``: ``predictions`` (N, T, B) float32, ``chrom``, ``start``, ``end`` (the input
  windows, 0-based), ``bin_start`` (N, B) genomic start of every output bin, ``tasks`` (names),
  ``region`` (the BED record's index), and the model card as JSON (``card``).
* ``.bw``: one bigWig per task, ``OUT.<task>.bw``, each output bin written as one entry; where
  windows overlap, the earlier window (in genome order) keeps the bases it covers.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import centre_starts, read_bed
from zoo_tools.models.tasks import select_tasks


def region_windows(regions: pd.DataFrame, seq_len: int) -> pd.DataFrame:
    """Windows of ``seq_len`` bp centred on each region's midpoint (``region`` = its row index).

    Parameters
    ----------
    regions : pandas.DataFrame
        ``chrom, start, end`` (0-based, half-open).
    seq_len : int
        Window length (bp).

    Returns
    -------
    pandas.DataFrame
        ``chrom, start, end, region``: the windows (0-based, half-open; :func:`centre_starts`).
    """
    start = centre_starts(regions["start"], regions["end"], seq_len)
    return pd.DataFrame(
        {
            "chrom": regions["chrom"].to_numpy(),
            "start": start,
            "end": start + seq_len,
            "region": np.arange(len(regions)),
        }
    )


def write_bigwigs(
    prefix: str,
    genome: Genome,
    windows: pd.DataFrame,
    bin_start: np.ndarray,
    bin_size: int,
    preds: np.ndarray,
    names: list[str],
) -> list[str]:
    """One bigWig per task from per-bin predictions; overlapping bins keep the first writer.

    Parameters
    ----------
    prefix : str
        Files are ``<prefix>.<task>.bw`` (task names made safe for a file name).
    genome : Genome
        Contig names and lengths (the header); bins are clipped to their contig.
    windows, bin_start, bin_size
        ``chrom, start`` of the ``N`` input windows, ``(N, B)`` genomic start of every output bin
        (0-based) and the bin width (bp). Windows are written in genome order (FASTA contig order,
        then start), so where they overlap the earlier one keeps the bases it covers.
    preds, names
        ``(N, T, B)`` predictions and the ``T`` task names.

    Returns
    -------
    list of str
        The bigWig paths, in task order.
    """
    import pyBigWig

    order = np.lexsort((windows["start"].to_numpy(), windows["chrom"].map(list(genome.contigs).index).to_numpy()))
    paths = []
    for t, name in enumerate(names):
        safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", name)
        path = f"{prefix}.{safe}.bw"
        bw = pyBigWig.open(path, "w")
        bw.addHeader(list(genome.contigs.items()))
        for chrom in dict.fromkeys(windows["chrom"].to_numpy()[order]):
            rows = order[windows["chrom"].to_numpy()[order] == chrom]
            starts = bin_start[rows].ravel()
            values = preds[rows, t].ravel().astype(np.float64)
            ends = starts + bin_size
            last, keep_s, keep_e, keep_v = 0, [], [], []
            n = genome.contigs[chrom]
            for s, e, v in zip(starts.tolist(), ends.tolist(), values.tolist()):
                s, e = max(s, last, 0), min(e, n)
                if e > s:
                    keep_s.append(s)
                    keep_e.append(e)
                    keep_v.append(v)
                    last = e
            if keep_s:
                bw.addEntries([chrom] * len(keep_s), keep_s, ends=keep_e, values=keep_v)
        bw.close()
        paths.append(path)
    return paths


def predict_regions(
    spec: str,
    genome: str,
    regions: str,
    out: str,
    tasks: list[str] | None = None,
    batch_size: int = 64,
    rc_average: bool = False,
    precision: str = "fp32",
    trust: bool = False,
) -> str:
    """Predict a model over a BED file's regions and write ``out``; returns a one-line summary.

    Parameters
    ----------
    spec : str
        The model (:func:`~zoo_tools.zoo.load_model`: ``SOURCE:REF``, a path or an imported name).
    genome : str
        The reference FASTA.
    regions : str
        A BED file; each region gets a window of the model's input length centred on its midpoint
        (0-based, half-open; :func:`region_windows`).
    out : str
        ``.h5``, ``.npz`` or ``.bw`` (one ``OUT.<task>.bw`` per task); contents in the module doc.
    tasks : list of str, optional
        Task names or patterns (:func:`~zoo_tools.models.tasks.select_tasks`); default all.
    batch_size, rc_average, precision
        Windows per forward batch; average with the reverse complement's prediction (strand-paired
        tasks swapped); ``"fp32"`` or ``"bf16"``.
    trust : bool
        Allow checkpoints that need arbitrary unpickling (only for files you trust).

    Returns
    -------
    str
        The predictions' shape (regions x tasks x bins), the model and the file(s) written.
    """
    from zoo_tools.zoo import load_model

    ext = next((e for e in (".h5", ".npz", ".bw") if out.endswith(e)), None)
    if ext is None:
        raise ZooError(f"--out {out}: choose a .h5, .npz or .bw file name")
    if batch_size < 1:
        raise ZooError(f"--batch-size must be >= 1, got {batch_size}")
    g = Genome(genome)
    model = load_model(spec, trust=trust)
    card = model.card
    keep = select_tasks(card.tasks, tasks)
    windows = region_windows(read_bed(regions, g), card.seq_len)
    preds = model.predict(windows, genome=g, batch_size=batch_size, rc_average=rc_average, precision=precision)[:, keep]
    names = card.tasks["name"].iloc[keep].tolist()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    written = _write_predictions(out, ext, spec, card, g, windows, preds, names)
    shape = "x".join(map(str, preds.shape))
    where = written[0] if len(written) == 1 else f"{len(written)} bigWigs {written[0]} ..."
    return f"predicted {shape} (regions x tasks x bins) with {spec}: {where}"


def _write_predictions(out: str, ext: str, spec: str, card, g: Genome, windows, preds, names) -> list[str]:
    """``out`` as ``.npz`` / ``.h5`` (the arrays of the module doc) or one bigWig per task; the files."""
    bin_start = (
        windows["start"].to_numpy()[:, None] + card.output_start + np.arange(preds.shape[-1])[None, :] * card.bin_size
    )
    arrays = dict(
        predictions=preds.astype(np.float32),
        chrom=windows["chrom"].astype(str).to_numpy(),
        start=windows["start"].to_numpy(),
        end=windows["end"].to_numpy(),
        bin_start=bin_start,
        region=windows["region"].to_numpy(),
        tasks=np.array(names),
    )
    if ext == ".npz":
        np.savez_compressed(out, card=np.array(card.to_json()), **arrays)
        written = [out]
    elif ext == ".h5":
        import h5py

        with h5py.File(out, "w") as fh:
            for k, v in arrays.items():
                fh.create_dataset(
                    k, data=v.astype("S") if v.dtype.kind == "U" else v, compression="gzip" if v.ndim > 1 else None
                )
            fh.attrs["card"] = card.to_json()
            fh.attrs["spec"] = spec
        written = [out]
    else:
        written = write_bigwigs(out[:-3], g, windows, bin_start, card.bin_size, preds, names)
    return written


__all__ = ["predict_regions", "select_tasks"]
