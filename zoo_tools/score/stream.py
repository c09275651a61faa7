"""Streaming a VCF through one model: the :class:`Scorer` of chunks of rows (the run: :mod:`~zoo_tools.score.rows`).

**Nothing is lost.** Every (record, ALT) is one output row in input order with a ``status``
(:mod:`zoo_tools.data.variants`: ``ok``, ``contig_missing``, ``out_of_bounds``, ``ref_mismatch``,
``symbolic_allele``, ``missing_alt``, ``invalid_allele``; here also ``contig_too_short`` when
the contig is shorter than the model's input); rows that are not ``ok`` have empty scores.
``max_abs_effect`` is the largest ``|diff|`` over the selected tasks (``|value|`` of a siamese
model).

**Scale.** The VCF is streamed in chunks; each chunk's rows are appended to a partial TSV and
flushed, so ``resume`` continues after the last complete row without rescoring
(:mod:`zoo_tools.score.resume`); a shard ``(i, n)`` takes records ``i-1, i-1+n, ...``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError
from zoo_tools.data.background import variant_keys
from zoo_tools.data.genome import Genome
from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.data.variants import Variant
from zoo_tools.models.tasks import select_tasks
from zoo_tools.score.alleles import predict_alleles, predict_siamese
from zoo_tools.score.calibration import (
    Calibration,
    annotate,
    calibrated_columns,
    check_calibration,
    model_identity,
    read_calibration,
)
from zoo_tools.score.formats import BASE_COLUMNS
from zoo_tools.score.gene_effects import GeneRequest, GeneScoring, gene_scoring, pack
from zoo_tools.score.patch import LocalPatch
from zoo_tools.score.rows import base_frame, scored_frame
from zoo_tools.score.stats import effect_scores, score_bins
from zoo_tools.score.windows import aligned_alt_windows, allele_windows, centre_index, change_spans

log = logging.getLogger(__name__)


def _scorable_card(model):
    """The model's card, after checking that the model can score windows of the genome alone."""
    if getattr(model, "net", None) is not None and getattr(model.net, "n_signals", 0):
        raise ZooError(
            f"{model.card.name} needs a cell type's input signal besides the sequence; "
            f"it cannot score a VCF alone (use a sequence-only or siamese model)"
        )
    card = model.card
    if not card.seq_len:
        raise ZooError(f"{card.source}:{card.name} has no fixed input length; cannot build variant windows")
    return card


class Scorer:
    """Scores chunks of :class:`Variant` rows with one model; ``columns`` are the output columns.

    Parameters
    ----------
    model : ZooModel or siamese model
        A sequence-only model with a fixed input length.
    genome : Genome
        The reference the windows are read from.
    tasks : numpy.ndarray
        Indices of the scored tasks (``select_tasks``).
    kinds : list of str
        Scores per task (:data:`~zoo_tools.score.stats.SCORES`; a siamese model writes ``diff``).
    window_bins : int
        Output bins scored around the variant's bin; 0: all.
    rc : bool
        Average both strands.
    batch_size : int
        Windows per forward batch.
    pseudocount : float
        ``pc`` of ``log2fc``.
    device : str or torch.device, optional
        Default: CUDA when available.
    fast : bool
        Use the :class:`~zoo_tools.score.patch.LocalPatch` shortcut where the trunk allows it.
    genes : GeneScoring, optional
        Also score the genes in each window (:mod:`~zoo_tools.score.gene_effects`): a packed
        ``genes`` column, status ``no_gene_in_window`` for variants without one.
    calibration : Calibration, optional
        Add each score's signed quantile and p-value against this background
        (:mod:`~zoo_tools.score.calibration`); it must match the model and the window settings.
    fdr : float, optional
        With ``calibration``: Benjamini-Hochberg q-values over the whole file (added when it is finished).
    """

    def __init__(
        self,
        model,
        genome: Genome,
        tasks: np.ndarray,
        kinds: list[str],
        window_bins: int = 0,
        rc: bool = True,
        batch_size: int = 64,
        pseudocount: float = 1.0,
        device=None,
        fast: bool = True,
        genes: GeneScoring | None = None,
        calibration: Calibration | None = None,
        fdr: float | None = None,
    ):
        self.model, self.genome, self.rc, self.batch_size, self.device = model, genome, rc, batch_size, device
        self.siamese = bool(getattr(model, "is_siamese", False))
        card = _scorable_card(model)
        self.seq_len = card.seq_len
        self.centre = centre_index(self.seq_len, self.siamese)
        self.kinds = ["diff"] if self.siamese else kinds
        if self.siamese and kinds != ["diff"]:
            log.warning("a siamese model predicts the imbalance of the pair: only the diff score is written")
        self.tasks = tasks
        self.names = card.tasks["name"].astype(str).to_numpy()[tasks].tolist()
        vbin = (self.centre - card.crop_bins * card.bin_size) // max(card.bin_size, 1)
        self.vbin = int(vbin)
        self.bins = score_bins(card.n_bins, self.vbin, window_bins)
        self.pseudocount = pseudocount
        self.patch = None if self.siamese or not fast else LocalPatch.probe(model, self.seq_len, device=device)
        self.verified = False
        self.columns = BASE_COLUMNS + [f"{t}:{k}" for t in self.names for k in self.kinds] + ["max_abs_effect"]
        self.calibration, self.fdr = calibration, fdr
        if calibration is not None:
            settings = dict(
                seq_len=int(self.seq_len),
                centre=int(self.centre),
                window_bins=int(window_bins),
                rc=bool(rc),
                pseudocount=float(pseudocount),
            )
            check_calibration(calibration, model_identity(model), settings, self.names, self.kinds)
            self.columns += calibrated_columns(self.names, self.kinds)
        self.genes = genes
        if genes is not None:
            if self.siamese:
                raise ZooError(f"{card.name} is a siamese model (no output bins): --genes needs a binned model")
            self.columns.append("genes")

    def status(self, v: Variant) -> str:
        """The row's status: the variant's own, or ``contig_too_short`` for a contig under the input length."""
        if v.status == "ok" and self.genome.contigs.get(v.chrom, 0) < self.seq_len:
            return "contig_too_short"
        if v.status == "ok" and self.genes is not None and not self.genes.genes_of(v.chrom, v.pos - 1 - self.centre):
            return "no_gene_in_window"
        return v.status

    def verify(self, ref_c: np.ndarray, alt_c: np.ndarray, spans: list) -> None:
        """Patched vs full predictions on up to 16 of the first windows; drop the patch on a mismatch."""
        k = [i for i, sp in enumerate(spans) if sp is not None][:16]
        if not k:
            return
        full = predict_alleles(self.model, ref_c[k], alt_c[k], self.rc, self.batch_size, self.device)
        fast = predict_alleles(
            self.model, ref_c[k], alt_c[k], self.rc, self.batch_size, self.device, [spans[i] for i in k], self.patch
        )
        scale = 1e-4 * (1 + max(float(np.abs(full[1]).max()), float(np.abs(full[0]).max())))
        err = max(float(np.abs(fast[1] - full[1]).max()), float(np.abs(fast[0] - full[0]).max()))
        if err > scale:
            log.info("local patch disagrees with the full pass (max diff %.2e): using full passes", err)
            self.patch = None
        self.verified = True

    def _siamese_scores(self, ref_c: np.ndarray, alt_c: np.ndarray) -> tuple[dict, np.ndarray]:
        y = predict_siamese(self.model, ref_c, alt_c, self.rc, self.batch_size, self.device)[:, self.tasks]
        return {"diff": y}, np.abs(y).max(1)

    def _effect_scores(self, chosen: list[Variant], ref_c: np.ndarray, alt_c: np.ndarray) -> tuple:
        """``(scores, max |diff|, (ref, alt) predictions of the scored tasks))``."""
        spans = change_spans(chosen, self.centre)
        if self.patch is not None and not self.verified:
            self.verify(ref_c, alt_c, spans)
        r, a = predict_alleles(self.model, ref_c, alt_c, self.rc, self.batch_size, self.device, spans, self.patch)
        r, a = r[:, self.tasks], a[:, self.tasks]
        return (*self.effects(r, a), (r, a))

    def effects(self, r: np.ndarray, a: np.ndarray) -> tuple[dict, np.ndarray]:
        """The scores of ``(n, T, B)`` predictions of the scored tasks, and ``max |diff|`` per row.

        Parameters
        ----------
        r, a : numpy.ndarray
            Reference and alternative predictions.

        Returns
        -------
        tuple
            ``({kind: (n, T)}, (n,) max_abs_effect)``.
        """
        scores = effect_scores(r, a, self.kinds, self.bins, self.pseudocount)
        d = scores["diff"] if "diff" in scores else effect_scores(r, a, ["diff"], self.bins)["diff"]
        return scores, np.abs(d).max(1)

    def _stitched(self, chosen: list[Variant], alt: np.ndarray) -> np.ndarray:
        """Alternative predictions with indels' bins from the variant's bin on taken from the aligned
        window (baskerville's indel stitching; :mod:`~zoo_tools.score.gene_effects`)."""
        if not self.genes.stitch:
            return alt
        vb = min(max(self.vbin, 0), alt.shape[-1])
        indels = [  # only where a gene in reach has exons or its TSS from the variant's bin on
            i
            for i, v in enumerate(chosen)
            if len(v.ref) != len(v.alt) and self.genes.reaches_past(v.chrom, v.pos - 1 - self.centre, vb)
        ]
        if not indels:
            return alt
        codes = aligned_alt_windows(self.genome, [chosen[i] for i in indels], self.seq_len, self.centre)
        x = codes_to_tensor(codes)
        shifted = self.model.predict(
            x, batch_size=self.batch_size, rc_average=self.rc, device=self.device, progress=False
        )
        out = alt.copy()
        out[indels, :, vb:] = shifted[:, self.tasks, vb:]
        return out

    def gene_cells(self, chosen: list[Variant], r: np.ndarray, a: np.ndarray, stitch: bool = True) -> list[str]:
        """The packed ``genes`` cell of each scored variant (:func:`~zoo_tools.score.gene_effects.pack`)
        from its ``(n, T, B)`` reference and alternative predictions (indels stitched unless ``stitch`` is False).

        Parameters
        ----------
        chosen : list of Variant
            The scored variants (their windows are centred on them).
        r, a : numpy.ndarray
            ``(n, T, B)`` predictions of the scored tasks.
        stitch : bool
            Stitch indels' shifted bins (a haplotype's window has its own alignment: not stitched).

        Returns
        -------
        list of str
        """
        a = self._stitched(chosen, a) if stitch else a
        cells = []
        for i, v in enumerate(chosen):
            start = v.pos - 1 - self.centre
            rows = self.genes.genes_of(v.chrom, start)
            if not rows:
                cells.append("")
                continue
            values, cover = self.genes.effects(r[i], a[i], rows, self.genes.span(start)[0])
            cells.append(pack(self.genes.index, rows, values, cover, v.pos - 1))
        return cells

    def numeric_columns(self, scores: dict, summary: np.ndarray, keys=None) -> np.ndarray:
        """The numeric output columns of scored rows: each task's scores, ``max_abs_effect``, and the
        calibrated quantiles and p-values.

        Parameters
        ----------
        scores : dict
            ``{kind: (n, T)}`` (:func:`~zoo_tools.score.stats.effect_scores`).
        summary : numpy.ndarray
            ``(n,)`` ``max_abs_effect``.
        keys : numpy.ndarray, optional
            ``(n,)`` uint64 keys of the rows, needed with a calibration (they break ties at 0).

        Returns
        -------
        numpy.ndarray
            ``(n, columns)`` float64.
        """
        cols = [scores[k][:, t] for t in range(len(self.names)) for k in self.kinds] + [summary]
        if self.calibration is not None:
            cols += annotate(self.calibration, scores, self.names, self.kinds, keys)
        return np.column_stack(cols)

    def _values(self, chosen: list[Variant]) -> tuple[np.ndarray, list[str] | None]:
        """Score columns ``(n, numeric columns)`` of scored variants, and their packed genes (or None)."""
        ref_c, alt_c = allele_windows(self.genome, chosen, self.seq_len, self.centre)
        if self.siamese:
            (scores, summary), preds = self._siamese_scores(ref_c, alt_c), None
        else:
            scores, summary, preds = self._effect_scores(chosen, ref_c, alt_c)
        cells = self.gene_cells(chosen, *preds) if self.genes is not None else None
        keys = variant_keys(*zip(*((v.chrom, v.pos, v.ref, v.alt) for v in chosen))) if self.calibration else None
        return self.numeric_columns(scores, summary, keys), cells

    def score(self, variants: list[Variant]) -> pd.DataFrame:
        """One output row per variant, in order; scores only for ``ok`` (and ``no_gene_in_window``) rows."""
        statuses = [self.status(v) for v in variants]
        return scored_frame(
            self, base_frame(variants, statuses), statuses, lambda ok: self._values([variants[i] for i in ok])
        )


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------
def scorer_options(
    model,
    tasks: list[str] | None,
    kinds,
    window_bins: int,
    rc: bool,
    batch_size: int,
    pseudocount: float,
    fast: bool,
    genome: Genome | None = None,
    genes: GeneRequest | None = None,
    calibration: str | None = None,
    fdr: float | None = None,
) -> dict:
    """:class:`Scorer` keyword arguments (all but ``device``), the task names resolved to indices.

    Parameters
    ----------
    model : ZooModel or siamese model
        Its card's tasks resolve ``tasks``.
    tasks : list of str, optional
        Task names or patterns (:func:`~zoo_tools.models.tasks.select_tasks`); None: all.
    kinds, window_bins, rc, batch_size, pseudocount, fast
        As :class:`Scorer` takes them (``kinds`` made a list).
    genome : Genome, optional
        Needed with ``genes``.
    genes : GeneRequest, optional
        Score genes too: the annotation is read against ``genome`` (:func:`~zoo_tools.score.gene_effects.gene_scoring`).
    calibration : str, optional
        A ``zoo calibrate`` file (:func:`~zoo_tools.score.calibration.read_calibration`).
    fdr : float, optional
        Add Benjamini-Hochberg q-values (needs ``calibration``); the level only reports how many are called.

    Returns
    -------
    dict
        ``tasks`` (indices, numpy.ndarray), ``kinds``, ``window_bins``, ``rc``, ``batch_size``,
        ``pseudocount``, ``fast``, ``genes`` (a GeneScoring or None), ``calibration`` (a
        Calibration or None) and ``fdr``.
    """
    idx = select_tasks(model.card.tasks, tasks)
    if fdr is not None and not calibration:
        raise ZooError("--fdr needs --calibration CAL (q-values come from calibrated p-values)")
    if fdr is not None and not 0 < fdr < 1:
        raise ZooError(f"--fdr {fdr}: give a false discovery rate between 0 and 1, e.g. 0.1")
    return dict(
        calibration=read_calibration(calibration) if calibration else None,
        fdr=fdr,
        tasks=idx,
        genes=None if genes is None else gene_scoring(genes, model.card, genome, idx, pseudocount),
        kinds=list(kinds),
        window_bins=window_bins,
        rc=rc,
        batch_size=batch_size,
        pseudocount=pseudocount,
        fast=fast,
    )
