"""Validation of a user's data before any training: ``zoo check-data DATA.yaml``."""

from __future__ import annotations

import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import load_data_config
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import centre_windows, read_bed
from zoo_tools.data.splits import assign_splits
from zoo_tools.data.tracks import open_bigwig, read_binned


def check_data(path: str, regions: str | None = None, bin_size: int = 32) -> dict:
    """Validate a data YAML and everything it names; return a summary dict.

    Errors (one-line ZooError): bad keys, missing files, unindexed FASTA, unreadable bigWigs or ones of
    another build, peaks off the genome, unknown split contigs; bigWigs lacking some contigs are listed.

    Parameters
    ----------
    path : str
        The data YAML.
    regions, bin_size
        Optionally a BED file also read from every track in ``bin_size`` bp bins (:func:`region_signal`).

    Returns
    -------
    dict
        The results, as :func:`format_check` prints them (``genome``, ``tracks``, ``splits``, ...).
    """
    cfg = load_data_config(path)
    genome = Genome(cfg.genome)
    tracks = []
    for i, t in enumerate(cfg.tracks):
        bw = open_bigwig(t.path)
        sizes = bw.chroms()
        bw.close()
        missing = [c for c in genome.contigs if resolve_contig(c, sizes, t.path) is None]
        if len(missing) == len(genome.contigs):
            raise ZooError(
                f"{path}: tracks[{i}] ({t.path}) shares no contig with genome {genome.path} "
                f"(bigWig has {', '.join(list(sizes)[:5])}...); use files of the same genome build"
            )
        for c, n in genome.contigs.items():
            hit = resolve_contig(c, sizes, t.path)
            if hit is not None and sizes[hit] != n:
                raise ZooError(
                    f"{path}: tracks[{i}] ({t.path}): contig {hit} is {sizes[hit]:,} bp in the bigWig but "
                    f"{n:,} bp in genome {genome.path}; the files come from different genome builds"
                )
        tracks.append(dict(name=t.name, assay=t.assay, cell_type=t.cell_type, missing_contigs=missing))
    peaks = []
    for p in cfg.peaks:
        df = read_bed(p.path, genome)
        peaks.append(dict(track=p.track, path=p.path, n=len(df), median_width=int((df.end - df.start).median())))
    contigs = pd.DataFrame({"chrom": list(genome.contigs), "start": 0, "end": list(genome.contigs.values())})
    split = assign_splits(contigs, cfg.splits.val, cfg.splits.test, genome.contigs)
    by_split = {s: [c for c, sp in zip(split.chrom, split.split) if sp == s] for s in ("train", "val", "test")}
    if not by_split["train"]:
        raise ZooError(f"{path}: splits leave no contig for training; name fewer contigs under splits")
    out = dict(
        config=path,
        genome=genome.path,
        genome_bp=sum(genome.contigs.values()),
        n_contigs=len(genome.contigs),
        tracks=tracks,
        peaks=peaks,
        splits=by_split,
    )
    if regions:
        out["regions"] = region_signal(cfg, genome, regions, bin_size)
    return out


def region_signal(cfg, genome: Genome, regions: str, bin_size: int) -> dict:
    """Read every track over the regions of a BED file (centred to one length); mean per track.

    This proves the regions are readable from every bigWig (a contig a bigWig lacks is an error).

    Parameters
    ----------
    cfg : DataConfig
        The data config (its tracks).
    genome : Genome
        The reference the regions are checked on.
    regions : str
        BED / narrowPeak file; each region is read as a window of the longest region's width
        (rounded up to a multiple of ``bin_size``) centred on its summit or midpoint.
    bin_size : int
        Bin size (bp).

    Returns
    -------
    dict
        ``path``, ``n`` (regions), ``window`` (bp) and ``mean_signal`` (``{track: mean bin value}``).
    """
    df = read_bed(regions, genome)
    width = int((df.end - df.start).max())
    width = -(-width // bin_size) * bin_size
    windows = centre_windows(df, width)
    y = read_binned(cfg.track_paths, windows, bin_size)
    return dict(
        path=regions,
        n=len(df),
        window=width,
        mean_signal={t: float(y[:, i].mean()) for i, t in enumerate(cfg.track_names)},
    )


def format_check(s: dict) -> str:
    """Human-readable report of :func:`check_data`.

    Parameters
    ----------
    s : dict
        The summary :func:`check_data` returns.

    Returns
    -------
    str
        Several lines, no trailing newline.
    """
    lines = [f"{s['config']}: OK", f"  genome : {s['genome']} ({s['n_contigs']} contigs, {s['genome_bp']:,} bp)"]
    for t in s["tracks"]:
        miss = f"; missing contigs: {', '.join(t['missing_contigs'][:6])}" if t["missing_contigs"] else ""
        lines.append(f"  track  : {t['name']} ({t['assay']}, {t['cell_type']}){miss}")
    for p in s["peaks"]:
        lines.append(f"  peaks  : {p['track']}: {p['n']} peaks, median width {p['median_width']} bp")
    for name, contigs in s["splits"].items():
        shown = ", ".join(contigs[:8]) + (f", ... ({len(contigs)})" if len(contigs) > 8 else "")
        lines.append(f"  {name:<6} : {shown}")
    if "regions" in s:
        r = s["regions"]
        lines.append(
            f"  regions: {r['n']} from {r['path']} read as {r['window']} bp windows; mean signal "
            + ", ".join(f"{t} {v:.3g}" for t, v in r["mean_signal"].items())
        )
    return "\n".join(lines)
