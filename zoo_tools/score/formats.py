"""Scores files: ``.tsv``, ``.tsv.gz``, ``.parquet`` or ``.vcf.gz`` (scores as INFO fields).

Every file has one row per (record, ALT) in input order: :data:`BASE_COLUMNS`, then one column
``<task>:<score>`` per task and score, then ``max_abs_effect``. Scoring writes a partial TSV
first; :func:`finish` turns it into the requested format. Shards of one run are joined by
:func:`merge_scores`.
"""

from __future__ import annotations

import gzip
import logging
import os
import re

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.data.background import variant_keys
from zoo_tools.score.calibration import add_qvalues
from zoo_tools.score.gene_effects import GENE_KINDS, GENE_ROW_COLUMNS, explode

log = logging.getLogger(__name__)

BASE_COLUMNS = ["record", "chrom", "pos", "id", "ref", "alt", "status", "line"]
FORMATS = (".tsv", ".tsv.gz", ".parquet", ".vcf.gz")
_KIND_TEXT = {
    "diff": "alt - ref mean prediction over the scored bins",
    "log2fc": "log2((alt+pc)/(ref+pc))",
    "ref": "mean reference prediction",
    "alt": "mean alternative prediction",
    "maxdiff": "alt - ref at the bin with the largest absolute difference",
    "sad": "sum of alt - ref over the scored bins (SAD)",
    "l2": "L2 norm of alt - ref over the scored bins",
    "jsd": "Jensen-Shannon distance (base 2) of the ref and alt profiles over the scored bins",
}
_CALIBRATED = {
    "quantile": "signed quantile among the calibration background's absolute effects",
    "p": "empirical two-sided p-value (r+1)/(n+1) against the calibration background",
    "q": "Benjamini-Hochberg q-value over the file",
}
_STATUS_INFO = (
    '##INFO=<ID=ZOO_STATUS,Number=1,Type=String,Description="zoo_tools score-variants status: ok, or '
    "why the allele was not scored (contig_missing, out_of_bounds, ref_mismatch, symbolic_allele, "
    'missing_alt, invalid_allele, contig_too_short; no_gene_in_window: scored, no gene in the window)">'
)


_TEXT = {
    c: str
    for c in ("chrom", "id", "ref", "alt", "status", "gene_id", "gene_name", "gene_strand", "genes")
    + ("sample", "haplotype", "haplotype_alleles", "note")
}
_COLUMN_LINE = ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]


def output_format(path: str) -> str:
    """The format a scores file name asks for.

    Parameters
    ----------
    path : str
        File name ending in one of :data:`FORMATS`.

    Returns
    -------
    str
        That ending, e.g. ``".tsv.gz"``.
    """
    for ext in FORMATS:
        if path.endswith(ext):
            return ext
    raise ZooError(f"--out {path}: the name must end in {', '.join(FORMATS)}")


def read_scores(path: str) -> pd.DataFrame:
    """Read a scores file written by ``score_vcf`` (.tsv, .tsv.gz, .parquet).

    Parameters
    ----------
    path : str
        The file.

    Returns
    -------
    pandas.DataFrame
        One row per (record, ALT): ``record, chrom, pos (1-based, as in VCF), id, ref, alt,
        status`` and the score columns (NaN where not scored).
    """
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t", dtype=_TEXT, keep_default_na=False, na_values=[""])


def write_rows(fh, df: pd.DataFrame) -> None:
    """Append scored rows to an open partial TSV and make them durable (resume starts after them).

    Parameters
    ----------
    fh : file object
        The partial TSV, open for appending (text mode).
    df : pandas.DataFrame
        Rows in the file's column order (``Scorer.score``): written without a header, floats as
        ``%.6g``, NaN as empty; then flushed and fsynced.
    """
    df.to_csv(fh, sep="\t", header=False, index=False, float_format="%.6g", na_rep="")
    fh.flush()
    os.fsync(fh.fileno())


def _explode_tsv(partial: str, tmp: str, fmt: str, names: list[str]) -> None:
    """A partial TSV with packed genes -> one row per gene, as TSV or TSV.gz, in blocks."""
    first = True
    with gzip.open(tmp, "wt") if fmt == ".tsv.gz" else open(tmp, "w") as fh:
        for block in pd.read_csv(partial, sep="\t", dtype=str, keep_default_na=False, chunksize=1 << 14):
            explode(block, names, numeric=False).to_csv(fh, sep="\t", index=False, header=first, na_rep="")
            first = False


def calibration_pass(partial: str, scorer) -> None:
    """The file-wide steps of a calibrated run, on the complete partial TSV: warn about scored alleles
    that are in the calibration's background, and with ``scorer.fdr`` add q-values over the file.

    Parameters
    ----------
    partial : str
        The complete partial TSV (rewritten in place when q-values are added).
    scorer : Scorer
        Its ``calibration`` and ``fdr``.
    """
    cal = scorer.calibration
    if not len(cal.keys) and scorer.fdr is None:
        return
    df = read_scores(partial)
    ok = df[df.status.isin(["ok", "no_gene_in_window"])]
    if len(cal.keys) and len(ok):
        dup = np.isin(variant_keys(ok.chrom, ok.pos, ok.ref, ok.alt), cal.keys)
        if dup.any():
            log.warning(
                "%d scored allele(s) are in the calibration's background (%s), e.g. %s:%d %s>%s: their quantiles "
                "and p-values rank them against themselves; calibrate on a background without them",
                int(dup.sum()),
                cal.path,
                *ok[dup].iloc[0][["chrom", "pos", "ref", "alt"]],
            )
    if scorer.fdr is not None:
        df = add_qvalues(df)
        df.to_csv(partial, sep="\t", index=False, float_format="%.6g", na_rep="")
        called = df.filter(regex=":q$").le(scorer.fdr).any(axis=1)
        log.info("%d allele(s) have a q-value <= %g on some task and statistic", int(called.sum()), scorer.fdr)


def finish(partial: str, out: str, fmt: str, vcf: str, scorer=None) -> None:
    """Turn the partial TSV into the requested format (atomically) and remove it.

    With genes (a packed ``genes`` column), tables get one row per gene
    (:func:`~zoo_tools.score.gene_effects.explode`); a ``.vcf.gz`` keeps one line per ALT with a
    ``ZOO_GENES`` INFO field.

    Parameters
    ----------
    partial : str
        The complete partial TSV.
    out : str
        The scores file to write.
    fmt : str
        ``out``'s format (:func:`output_format`).
    vcf : str
        The scored VCF (its header heads a ``.vcf.gz`` output).
    scorer : Scorer, optional
        Its ``names`` (the scored tasks) unpack the genes.
    """
    tmp = out + ".tmp"
    if getattr(scorer, "calibration", None) is not None:
        calibration_pass(partial, scorer)
    genes = getattr(scorer, "genes", None) is not None
    if fmt == ".tsv" and not genes:
        os.replace(partial, out)
        return
    if genes and fmt == ".parquet":
        explode(read_scores(partial), scorer.names).to_parquet(tmp, index=False)
    elif genes and fmt != ".vcf.gz":
        _explode_tsv(partial, tmp, fmt, scorer.names)
    elif fmt == ".tsv.gz":
        with open(partial, "rb") as src, gzip.open(tmp, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    elif fmt == ".parquet":
        read_scores(partial).to_parquet(tmp, index=False)
    else:
        write_vcf(read_scores(partial), vcf, tmp, getattr(scorer, "names", None))
    os.replace(tmp, out)
    os.remove(partial)


def _info_id(column: str) -> str:
    return "ZOO_" + re.sub(r"[^A-Za-z0-9_.]", "_", column)


def _info_header(score_cols: list[str]) -> list[str]:
    """``##INFO`` lines: the status, then one per score column."""
    info = [_STATUS_INFO]
    for c in score_cols:
        head, last = c.rsplit(":", 1) if ":" in c else (c, "")
        if c == "max_abs_effect":
            desc = "largest absolute diff over the scored tasks"
        elif last in _CALIBRATED:
            task, kind = head.rsplit(":", 1)
            desc = f"{_CALIBRATED[last]} of {kind}, task {task}"
        else:
            desc = f"{_KIND_TEXT[last]}, task {head}"
        info.append(f'##INFO=<ID={_info_id(c)},Number=1,Type=Float,Description="zoo_tools {desc}">')
    return info


def _vcf_lines(df: pd.DataFrame, score_cols: list[str], chrom_of: dict[int, str]):
    """One VCF body line per row under the input's contig spelling: the allele, status and scores."""
    values = df[score_cols].to_numpy(dtype=np.float64)
    ids = [_info_id(c) for c in score_cols]
    genes = df["genes"].fillna("").astype(str).tolist() if "genes" in df.columns else [""] * len(df)
    for k, row in enumerate(df[BASE_COLUMNS].itertuples(index=False)):
        fields = [f"ZOO_STATUS={row.status}"]
        fields += [f"{i}={v:.6g}" for i, v in zip(ids, values[k]) if np.isfinite(v)]
        fields += [f"ZOO_GENES={genes[k]}"] if genes[k] else []
        chrom = chrom_of.get(int(row.record), str(row.chrom))
        yield "\t".join([chrom, str(row.pos), str(row.id), row.ref, row.alt, ".", ".", ";".join(fields)])


def _source_header(source_vcf: str, records: set[int]) -> tuple[list[str], dict[int, str]]:
    """The scored VCF's header lines (``##contig`` added for undeclared contigs, ``#CHROM`` cut
    after INFO) and the input's CHROM spelling of each record in ``records``."""
    from zoo_tools.data.variants import vcf_header, vcf_records

    meta = vcf_header(source_vcf)
    contigs, recs = vcf_records(source_vcf)
    chrom_of = {i: r.chrom for i, r in enumerate(recs) if i in records}
    missing = [c for c in dict.fromkeys(chrom_of.values()) if c not in contigs]
    meta = meta + [f"##contig=<ID={c}>" for c in missing]
    return meta + _COLUMN_LINE, chrom_of


def _genes_info(names: list[str]) -> str:
    """The ``##INFO`` line of the packed genes (VEP-style: a ``Format:`` of ``|``-separated fields)."""
    fields = "|".join(GENE_ROW_COLUMNS + [f"{t}:{k}" for t in names for k in GENE_KINDS])
    return (
        '##INFO=<ID=ZOO_GENES,Number=.,Type=String,Description="zoo_tools gene-level effects, one entry per '
        f'gene in the window (names percent-encoded). Format: {fields}">'
    )


def write_vcf(df: pd.DataFrame, source_vcf: str, path: str, names: list[str] | None = None) -> None:
    """Scores as INFO fields of a bgzipped VCF (one line per ALT: multi-allelic records split).

    Records keep the input VCF's contig names (the ``chrom`` column holds the genome's spelling),
    so the output's records match its ``##contig`` lines; contigs the input header does not
    declare get a ``##contig=<ID=...>`` line.

    Parameters
    ----------
    df : pandas.DataFrame
        Scores as :func:`read_scores` returns them.
    source_vcf : str
        The scored VCF, whose header (meta lines, then ``#CHROM`` to ``INFO``) is kept.
    path : str
        The ``.vcf.gz`` to write.
    names : list of str, optional
        The scored tasks, when ``df`` has a packed ``genes`` column (written as ``ZOO_GENES``).
    """
    from Bio import bgzf

    header, chrom_of = _source_header(source_vcf, set(df.record.astype(int).tolist()))
    score_cols = [c for c in df.columns if c not in BASE_COLUMNS and c != "genes"]
    info = _info_header(score_cols) + ([_genes_info(names or [])] if "genes" in df.columns else [])
    lines = header[:-1] + info + header[-1:]
    with bgzf.BgzfWriter(path, "wb") as fh:
        for line in lines:
            fh.write((line + "\n").encode())
        for line in _vcf_lines(df, score_cols, chrom_of):
            fh.write((line + "\n").encode())


def _check_columns(paths: list[str], frames: list[pd.DataFrame]) -> None:
    """All shards with the columns of the first."""
    cols = frames[0].columns.tolist()
    for p, f in zip(paths[1:], frames[1:]):
        if f.columns.tolist() != cols:
            raise ZooError(f"{p}: columns differ from {paths[0]}; merge shards of one run only")


def _check_records(df: pd.DataFrame) -> None:
    """Every record ``0 .. n-1`` in exactly one shard."""
    records = np.unique(df.record.to_numpy())
    if len(records) and (records[0] != 0 or records[-1] != len(records) - 1):
        missing = sorted(set(range(int(records[-1]) + 1)) - set(records.tolist()))
        raise ZooError(
            f"records {missing[:5]}{'...' if len(missing) > 5 else ''} are in no shard; pass every "
            f"shard's output (--shard 1/N ... N/N)"
        )
    key = ["record", "alt"] + [c for c in ("sample", "haplotype", "gene_id") if c in df.columns]
    dup = df.duplicated(key) & ~df.alt.isna()
    if dup.any():
        raise ZooError(f"record {int(df.record[dup].iloc[0])} appears in more than one shard; pass each shard once")


def _file_qvalues(df: pd.DataFrame) -> pd.DataFrame:
    """q-values over the whole table, one test per allele (or haplotype row), not one per gene row."""
    key = ["record", "alt"] + [c for c in ("sample", "haplotype") if c in df.columns]
    df = df.drop(columns=[c for c in df.columns if c.endswith(":q")])
    first = add_qvalues(df.drop_duplicates(key))
    qcols = [c for c in first.columns if c.endswith(":q")]
    return df.merge(first[key + qcols], on=key, how="left", sort=False)[list(first.columns)]


def merge_scores(paths: list[str], out: str) -> int:
    """Join shard outputs into one file in input order; every record must appear exactly once.

    Calibrated shards' q-values (``--fdr``) are recomputed over the merged file.

    Parameters
    ----------
    paths : list of str
        The scores files of ``--shard 1/N`` ... ``N/N`` of one run, in any order.
    out : str
        The merged file (.tsv, .tsv.gz or .parquet).

    Returns
    -------
    int
        Rows written.
    """
    frames = []
    for p in paths:
        require_file(p, "scores file", "give the shard outputs of zoo score-variants --shard")
        frames.append(read_scores(p))
    _check_columns(paths, frames)
    rows = [f for f in frames if len(f)] or frames[:1]  # empty shards (an array job larger than the VCF)
    df = pd.concat(rows, ignore_index=True)
    _check_records(df)
    alt_rank = df.groupby("record", sort=False).cumcount()  # ALT order within a record as written
    df = df.assign(_k=alt_rank).sort_values(["record", "_k"], kind="stable").drop(columns="_k")
    if any(c.endswith(":q") for c in df.columns):  # each shard's q-values were over the shard: redo them over all
        df = _file_qvalues(df)
    fmt = output_format(out)
    if fmt == ".vcf.gz":
        raise ZooError("merge-scores writes .tsv, .tsv.gz or .parquet (score into .vcf.gz without sharding)")
    if fmt == ".parquet":
        df.to_parquet(out, index=False)
    else:
        df.to_csv(
            out, sep="\t", index=False, float_format="%.6g", na_rep="", compression="gzip" if fmt == ".tsv.gz" else None
        )
    return len(df)
