"""Validation of a user's data before any training: ``zoo check-data DATA.yaml``."""

from __future__ import annotations

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import load_data_config
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import centre_windows, read_bed
from zoo_tools.data.selection import WindowChoice, build_windows
from zoo_tools.data.tracks import open_bigwig, read_binned


def check_data(path: str, regions: str | None = None, bin_size: int = 32, seq_len: int = 2048) -> dict:
    """Validate a data YAML and everything it names; return a summary dict.

    Errors (one-line ZooError): bad keys, missing files, unindexed FASTA, unreadable bigWigs or ones of
    another build, peaks off the genome, unknown split contigs; bigWigs lacking some contigs are listed.
    The training windows are chosen as ``zoo finetune`` chooses them (:func:`~zoo_tools.data.selection.build_windows`
    with a recipe's default ``windows:``), so a split without windows, or whose contigs no bigWig
    covers, fails here as it would there.

    Parameters
    ----------
    path : str
        The data YAML.
    regions, bin_size
        Optionally a BED file also read from every track in ``bin_size`` bp bins (:func:`region_signal`).
    seq_len : int
        Window length in bp (the model's input length).

    Returns
    -------
    dict
        The results, as :func:`format_check` prints them (``genome``, ``tracks``, ``splits``,
        ``windows``, ...).
    """
    cfg = load_data_config(path)
    genome = Genome(cfg.genome)
    tracks = _check_tracks(path, cfg, genome)
    peaks = []
    for p in cfg.peaks:
        df = read_bed(p.path, genome)
        peaks.append(dict(track=p.track, path=p.path, n=len(df), median_width=int((df.end - df.start).median())))
    signal = region_signal(cfg, genome, regions, bin_size, seq_len) if regions else None
    w = build_windows(cfg, genome, seq_len, WindowChoice(peaks=bool(cfg.peaks)), seed=0)
    _check_coverage(path, cfg, tracks, w)
    parts = {s: w[w.split == s] for s in ("train", "val", "test")}
    by_split = {s: sorted(set(g.chrom)) for s, g in parts.items()}
    counts = {s: {"peak": int(g.is_peak.sum()), "background": int((~g.is_peak).sum())} for s, g in parts.items()}
    out = dict(config=path, genome=genome.path, genome_bp=sum(genome.contigs.values()), n_contigs=len(genome.contigs))
    out.update(tracks=tracks, peaks=peaks, splits=by_split, windows=counts, seq_len=seq_len, split_by=cfg.splits.by)
    if signal:
        out["regions"] = signal
    if cfg.genes:
        out["genes"] = gene_report(cfg.genes, genome)
    return out


def gene_report(path: str, genome: Genome) -> dict:
    """What a gene annotation gives on this genome: genes per contig and genes skipped, by reason.

    Parameters
    ----------
    path : str
        GTF or GFF3 (the data YAML's ``genes:``).
    genome : Genome
        Contigs resolved through aliases.

    Returns
    -------
    dict
        ``path``, ``n`` (genes kept), ``per_contig`` ``{contig: genes}`` in genome order, ``skipped``
        ``{reason: genes}``.
    """
    from zoo_tools.data.genes import read_genes

    table = read_genes(path, genome)
    per = table.genes.chrom.value_counts()
    per_contig = {c: int(per[c]) for c in genome.contigs if c in per}
    return dict(path=path, n=len(table.genes), per_contig=per_contig, skipped=table.skipped)


def _check_coverage(path: str, cfg, tracks: list[dict], w) -> None:
    """Every split's windows must lie on contigs each bigWig covers (else its targets are missing)."""
    for i, t in enumerate(tracks):
        for split, g in w.groupby("split"):
            covered = set(g.chrom) - set(t["missing_contigs"])
            if not covered:
                raise ZooError(
                    f"{path}: tracks[{i}] ({cfg.tracks[i].path}) has no data on the {split} contigs "
                    f"({', '.join(sorted(set(g.chrom))[:5])}): the {split} windows would have no targets; "
                    f"hold out contigs the bigWigs cover"
                )


def _check_tracks(path: str, cfg, genome: Genome) -> list[dict]:
    """Each bigWig shares contigs with the genome, of the same lengths; the contigs it lacks."""
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
    return tracks


def region_signal(cfg, genome: Genome, regions: str, bin_size: int, seq_len: int = 2048) -> dict:
    """Read every track over the regions of a BED file (centred to one length); mean per track.

    This proves the regions are readable from every bigWig (a contig a bigWig lacks is an error).

    Parameters
    ----------
    cfg : DataConfig
        The data config (its tracks).
    genome : Genome
        The reference the regions are checked on.
    regions : str
        BED / narrowPeak file; each region is read as a window of ``seq_len`` bp (rounded up to a
        multiple of ``bin_size``) centred on its summit or midpoint.
    bin_size : int
        Bin size (bp).
    seq_len : int
        Window length in bp (the model's input length), whatever the regions' widths.

    Returns
    -------
    dict
        ``path``, ``n`` (regions), ``window`` (bp) and ``mean_signal`` (``{track: mean bin value}``).
    """
    df = read_bed(regions, genome)
    width = -(-int(seq_len) // bin_size) * bin_size
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
        n = s["windows"][name]
        lines.append(f"  {name:<6} : {n['peak']:,} peak + {n['background']:,} background windows on {shown}")
    lines.append(f"  windows: {s['seq_len']:,} bp (--seq-len), split by {s['split_by']}, as zoo finetune chooses them")
    if "genes" in s:
        g = s["genes"]
        contigs = ", ".join(f"{c} {n}" for c, n in list(g["per_contig"].items())[:8])
        skipped = "; skipped: " + ", ".join(f"{k} {v}" for k, v in g["skipped"].items()) if g["skipped"] else ""
        lines.append(f"  genes  : {g['n']:,} from {g['path']} ({contigs}){skipped}")
    if "regions" in s:
        r = s["regions"]
        lines.append(
            f"  regions: {r['n']} from {r['path']} read as {r['window']} bp windows; mean signal "
            + ", ".join(f"{t} {v:.3g}" for t, v in r["mean_signal"].items())
        )
    return "\n".join(lines)
