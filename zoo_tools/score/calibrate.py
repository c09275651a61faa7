"""``zoo calibrate``: score a background set of variants and store its effect distribution.

The background is a VCF the user gives (e.g. common variants) or ``n`` random SNVs
(:func:`~zoo_tools.data.background.random_snvs`: uniform positions off N runs and blacklists,
REF from the genome, ALT uniform among the other three bases, optionally GC-matched to the VCF
that will be scored). It is scored by :func:`~zoo_tools.score.vcf.score_vcf` itself (the same
batches, local patch, strands, bins and statistics as a scoring run), and its ``|effect|``
distribution per task and statistic is written as a :class:`~zoo_tools.score.calibration.Calibration`.
"""

from __future__ import annotations

import datetime
import logging
import os
import time

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.core.version import __version__
from zoo_tools.data.background import gc_around, random_snvs, variant_keys, write_sites_vcf
from zoo_tools.data.contigs import resolve_contig
from zoo_tools.data.genome import Genome
from zoo_tools.data.intervals import load_blacklist
from zoo_tools.data.variants import read_variants
from zoo_tools.score.calibration import Calibration, model_identity
from zoo_tools.score.formats import read_scores
from zoo_tools.score.vcf import score_vcf
from zoo_tools.score.windows import centre_index

log = logging.getLogger(__name__)


def _blacklist(path: str | None, genome: Genome) -> pd.DataFrame | None:
    """A blacklist BED in the genome's contig spelling (lines on contigs the genome lacks are counted)."""
    if not path:
        return None
    bl = load_blacklist(path)
    names = {c: resolve_contig(c, genome.contigs, path) for c in bl.chrom.unique()}
    missing = bl.chrom.map(names).isna()
    if missing.any():
        log.warning("%s: %d interval(s) on contigs the genome lacks are ignored", path, int(missing.sum()))
    return bl[~missing].assign(chrom=bl.chrom[~missing].map(names))


def _gc_target(match_gc: str | None, genome: Genome) -> np.ndarray | None:
    """GC fractions around the scorable alleles of the VCF to match (``--match-gc``)."""
    if not match_gc:
        return None
    v = read_variants(match_gc, genome)
    v = v[v.status == "ok"]
    return gc_around(genome, v.chrom, v.pos)


def random_background(
    genome: Genome, path: str, n: int, seed: int, seq_len: int, chroms=None, blacklist=None, match_gc=None
) -> dict:
    """Draw ``n`` random SNVs into the sites-only VCF ``path``; returns the background's description.

    Parameters
    ----------
    genome : Genome
    path : str
        The VCF written.
    n, seed : int
        How many SNVs, and the random seed.
    seq_len : int
        The model's input length (shorter contigs are not drawn from).
    chroms : list of str, optional
        Contigs to draw from; default all.
    blacklist : str, optional
        A BED of regions to avoid.
    match_gc : str, optional
        A VCF whose GC content around its variants the SNVs match.

    Returns
    -------
    dict
        ``kind, vcf, n, seed, chroms, blacklist, match_gc, gc_mean``.
    """
    target = _gc_target(match_gc, genome)
    df = random_snvs(genome, n, seed, chroms, _blacklist(blacklist, genome), target, min_len=seq_len)
    write_sites_vcf(path, genome, df, f"zoo_tools calibrate --random {n} --seed {seed}")
    return dict(
        kind="random", vcf=os.path.abspath(path), n=n, seed=seed, chroms=list(chroms or []), blacklist=blacklist or "",
        match_gc=os.path.abspath(match_gc) if match_gc else "", gc_mean=round(float(np.nanmean(df.gc)), 4),
    )  # fmt: skip


def _background_table(scores: pd.DataFrame, columns: list[str], path: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The scored background's effects (rows with a status other than ok, or a NaN, left out) and keys."""
    ok = scores[scores.status.isin(["ok", "no_gene_in_window"])]
    finite = np.isfinite(ok[columns].to_numpy(np.float64)).all(1)
    if (~finite).any():
        log.warning("%s: %d background allele(s) with a non-finite score are left out", path, int((~finite).sum()))
    ok = ok[finite]
    if len(ok) < 20:
        raise ZooError(
            f"{path}: only {len(ok)} background allele(s) could be scored; a calibration needs hundreds "
            f"(check the VCF's build and contigs against the genome, or use --random N)"
        )
    return ok[columns].reset_index(drop=True), variant_keys(ok.chrom, ok.pos, ok.ref, ok.alt)


def _background_path(out: str) -> str:
    return (out[: -len(".parquet")] if out.endswith(".parquet") else out) + ".background.vcf"


def calibrate(
    model,
    genome: Genome,
    out: str,
    vcf: str | None = None,
    n_random: int | None = None,
    seed: int = 0,
    chroms: list[str] | None = None,
    blacklist: str | None = None,
    match_gc: str | None = None,
    spec: str | None = None,
    **scoring,
) -> dict:
    """Score a background and write its calibration to ``out`` (``zoo calibrate``).

    Parameters
    ----------
    model, genome
        The model whose scores are calibrated (its sha256 is stored), and the reference.
    out : str
        The calibration, ``.parquet``; a random background is kept beside it as
        ``OUT.background.vcf`` (``OUT`` without ``.parquet``).
    vcf, n_random : str or int
        The background: a VCF, or that many random SNVs (exactly one of the two).
    seed, chroms, blacklist, match_gc
        The random background's seed, contigs, regions to avoid and GC-matching VCF
        (:func:`random_background`).
    spec : str, optional
        The model spec as the user gave it (stored).
    **scoring
        :func:`~zoo_tools.score.vcf.score_vcf` options: ``tasks, kinds, window_bins, rc,
        batch_size, pseudocount, fast, device, chunk_size``.

    Returns
    -------
    dict
        ``out, n`` (background effects per column), ``background`` (its description), ``statuses``,
        ``seconds`` (scoring) and ``variants_per_s``.
    """
    if (vcf is None) == (n_random is None):
        raise ZooError("zoo calibrate needs exactly one background: --vcf BACKGROUND.vcf.gz or --random N")
    if not out.endswith(".parquet"):
        raise ZooError(f"--out {out}: a calibration is written as Parquet; name it CAL.parquet")
    card = model.card
    if vcf is None:
        vcf = _background_path(out)
        background = random_background(genome, vcf, n_random, seed, card.seq_len, chroms, blacklist, match_gc)
    else:
        background = dict(kind="vcf", vcf=os.path.abspath(vcf))
    res, effects, keys = _score_background(model, vcf, genome, out, scoring)
    kinds, columns = res["kinds"], list(effects.columns)
    meta = dict(
        model=dict(model_identity(model), given=spec or ""), settings=_settings(model, scoring), stats=kinds,
        tasks=list(dict.fromkeys(c.rsplit(":", 1)[0] for c in columns)),
        background=dict(background, scored=len(effects), statuses=res["statuses"]), genome=os.path.abspath(genome.path),
        created=datetime.datetime.now().isoformat(timespec="seconds"), zoo_tools=__version__,
    )  # fmt: skip
    Calibration.from_effects(effects, meta, keys).write(out)
    summary = dict(out=out, n=len(effects), background=meta["background"], statuses=res["statuses"])
    return dict(summary, seconds=res["seconds"], variants_per_s=res["rows"] / max(res["seconds"], 1e-9))


def _score_background(
    model, vcf: str, genome: Genome, out: str, scoring: dict
) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """The background scored by ``score_vcf`` into a temporary file: ``(result + seconds and kinds, effects, keys)``."""
    t0 = time.perf_counter()
    res = score_vcf(model, vcf, genome, out + ".background_scores.tsv", **scoring)
    res = dict(res, seconds=time.perf_counter() - t0, kinds=_kinds(res, scoring))
    scores = read_scores(res["out"])
    os.remove(res["out"])
    columns = [c for c in res["columns"] if ":" in c and c.rsplit(":", 1)[-1] in res["kinds"]]
    return (res, *_background_table(scores, columns, vcf))


def _settings(model, scoring: dict) -> dict:
    """The window settings a calibration is valid for (:data:`~zoo_tools.score.calibration.SETTINGS`)."""
    card, siamese = model.card, bool(getattr(model, "is_siamese", False))
    return dict(
        seq_len=int(card.seq_len), centre=int(centre_index(card.seq_len, siamese)),
        window_bins=int(scoring.get("window_bins", 0)), rc=bool(scoring.get("rc", True)),
        pseudocount=float(scoring.get("pseudocount", 1.0)),
    )  # fmt: skip


def _kinds(res: dict, scoring: dict) -> list[str]:
    """The statistics the background was scored with (a siamese model writes ``diff`` only)."""
    kinds = list(scoring.get("kinds", ("diff", "log2fc")))
    written = {c.rsplit(":", 1)[-1] for c in res["columns"] if ":" in c}
    return [k for k in kinds if k in written]
