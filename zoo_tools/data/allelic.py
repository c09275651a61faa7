"""Allele-specific read counts at heterozygous SNVs: the targets of the siamese recipe.

A user's table (TSV, or CSV by extension, gzip ok) has one row per SNV (and per group, e.g. cell
type) with the reads carrying each allele; the data YAML's ``allelic:`` block names its columns
(see :class:`zoo_tools.data.config.AllelicSpec`). :func:`read_allelic` reads it **losslessly**: every row
comes back with a ``status``; only ``ok`` rows are trained on, and the others are counted in the
run's report and listed in ``allelic_records.tsv``, never dropped silently.

The target of a pair is the allelic imbalance ``log((alt_count + 1) / (ref_count + 1))`` (natural
log; the +1 pseudocount keeps zero counts finite and shrinks low-depth rows towards 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.data.config import AllelicSpec
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import genome_status

STATUSES = ("ok", "contig_missing", "out_of_bounds", "ref_mismatch", "not_snv", "no_reads", "duplicate")


def log_ratio(alt_count: np.ndarray, ref_count: np.ndarray) -> np.ndarray:
    """Allelic imbalance ``log((alt + 1) / (ref + 1))`` (float32); 0 means balanced.

    Parameters
    ----------
    alt_count, ref_count : array-like of int
        Reads carrying the ALT and the REF allele, of one shape.

    Returns
    -------
    numpy.ndarray
        float32 natural-log ratios, the inputs' shape.
    """
    return np.log((np.asarray(alt_count, np.float64) + 1) / (np.asarray(ref_count, np.float64) + 1)).astype(np.float32)


def _read_table(path: str) -> pd.DataFrame:
    sep = "," if path.lower().removesuffix(".gz").endswith(".csv") else "\t"
    try:
        return pd.read_csv(path, sep=sep, comment=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ZooError(
            f"{path}: cannot read the allelic table ({str(err).splitlines()[0][:120]}); "
            f"expected a {'comma' if sep == ',' else 'tab'}-separated file with a header"
        ) from None


def _integers(values: pd.Series, path: str, column: str, minimum: int) -> np.ndarray:
    num = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = num.isna() | (num < minimum) | (num != np.floor(num.fillna(0)))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ZooError(
            f"{path} line {i + 2}: column '{column}' is '{values.iat[i]}'; expected an integer "
            f">= {minimum} (fix or remove the row)"
        )
    return num.to_numpy().astype(np.int64)


def read_allelic(spec: AllelicSpec, genome: Genome) -> pd.DataFrame:
    """Read an allelic-counts table; one row per input row with a ``status`` (see ``STATUSES``).

    Parameters
    ----------
    spec : AllelicSpec
        The data YAML's ``allelic:`` block: the table's path and column names.
    genome : Genome
        The reference each SNV is checked on (contig, bounds, REF base).

    Returns
    -------
    pandas.DataFrame
        ``chrom`` (the genome's name, else the file's), ``pos`` (1-based), ``ref, alt, ref_count,
        alt_count, group, truth`` (NaN without a truth column), ``log_ratio, status``. A missing column
        or a non-integer count is a one-line :class:`ZooError` naming the file, line and column.
    """
    path = require_file(spec.path, "allelic table", "check allelic.path in the data YAML")
    raw = _read_table(path)
    want = {k: getattr(spec, k) for k in ("chrom", "pos", "ref", "alt", "ref_count", "alt_count")}
    if spec.group:
        want["group"] = spec.group
    if spec.truth:
        want["truth"] = spec.truth
    for key, col in want.items():
        if col not in raw.columns:
            raise ZooError(
                f"{path}: no column '{col}' (allelic.{key} in the data YAML); the table has: {', '.join(raw.columns)}"
            )
    if raw.empty:
        raise ZooError(f"{path}: the allelic table has no rows")
    df = pd.DataFrame(
        {
            "chrom": raw[spec.chrom].str.strip(),
            "pos": _integers(raw[spec.pos], path, spec.pos, 1),
            "ref": raw[spec.ref].str.strip().str.upper(),
            "alt": raw[spec.alt].str.strip().str.upper(),
            "ref_count": _integers(raw[spec.ref_count], path, spec.ref_count, 0),
            "alt_count": _integers(raw[spec.alt_count], path, spec.alt_count, 0),
            "group": raw[spec.group].str.strip() if spec.group else "allelic",
        }
    )
    df["truth"] = pd.to_numeric(raw[spec.truth], errors="coerce") if spec.truth else np.nan
    df["log_ratio"] = log_ratio(df.alt_count, df.ref_count)
    names = {c: resolve_contig(c, genome.contigs, "") for c in df.chrom.unique()}
    status = []
    for r in df.itertuples():
        name = names[r.chrom]
        if len(r.ref) != 1 or len(r.alt) != 1 or r.ref not in "ACGT" or r.alt not in "ACGT" or r.ref == r.alt:
            status.append("not_snv")
        elif name is None:
            status.append("contig_missing")
        else:
            s = genome_status(genome, name, int(r.pos), r.ref)
            status.append("no_reads" if s == "ok" and r.ref_count + r.alt_count == 0 else s)
    df["status"] = status
    df["chrom"] = [names[c] or c for c in df.chrom]
    dup = df.duplicated(["chrom", "pos", "ref", "alt", "group"]) & (df.status == "ok")
    df.loc[dup, "status"] = "duplicate"
    return df


def status_counts(df: pd.DataFrame) -> dict[str, int]:
    """``{status: rows}`` for the statuses present (``ok`` first).

    Parameters
    ----------
    df : pandas.DataFrame
        A table with a ``status`` column (:func:`read_allelic`).

    Returns
    -------
    dict of str to int
    """
    counts = df.status.value_counts()
    return {s: int(counts[s]) for s in STATUSES if s in counts}


def pair_table(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Unique SNVs of the ``ok`` rows and their per-group targets.

    Parameters
    ----------
    df : pandas.DataFrame
        A :func:`read_allelic` table; no ``ok`` row is a :class:`ZooError`.

    Returns
    -------
    tuple
        ``(snvs, groups, target, depth, truth)``: ``snvs`` (``chrom, pos, ref, alt``, ``pos``
        1-based; N rows), ``groups`` (the T task names, in order of appearance), ``target``
        ``(N, T)`` float32 log ratios (NaN where a group has no row), ``depth`` ``(N, T)`` float32
        total reads (0 where missing) and ``truth`` ``(N, T)`` float32 (NaN where unknown).
    """
    ok = df[df.status == "ok"]
    if ok.empty:
        raise ZooError(f"no usable rows in the allelic table (statuses: {status_counts(df)})")
    groups = list(dict.fromkeys(ok.group))
    snvs = ok[["chrom", "pos", "ref", "alt"]].drop_duplicates().reset_index(drop=True)
    key = pd.MultiIndex.from_frame(snvs)
    rows = key.get_indexer(pd.MultiIndex.from_frame(ok[["chrom", "pos", "ref", "alt"]]))
    cols = pd.Index(groups).get_indexer(ok.group)
    shape = (len(snvs), len(groups))
    target, truth = np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
    depth = np.zeros(shape, np.float32)
    target[rows, cols] = ok.log_ratio.to_numpy()
    truth[rows, cols] = ok.truth.to_numpy(dtype=np.float32)
    depth[rows, cols] = (ok.ref_count + ok.alt_count).to_numpy()
    return snvs, groups, target, depth, truth
