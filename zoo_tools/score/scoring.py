"""Variant-effect scoring of VCFs with any loaded model (``zoo score-variants``).

**Windows.** Each ALT allele of each record (multi-allelic records are split) gets a reference
and an alternative window of the model's input length ``L``. The first REF base sits at index
``c = ceil(L / 2) - 1`` (gReLU's ``variants_to_intervals`` convention, so predictions agree
with gReLU's ``predict_variant_effects`` base for base; a siamese model uses the index it was
trained with, ``L // 2``). The alternative window keeps the left flank ``[start, c)``
unchanged, puts the ALT allele at ``c`` and fills the rest from the reference after the REF
allele, trimmed to ``L`` on the right (tangermeme's ``deletion_effect`` / ``insertion_effect``
rule with ``left=False``). For SNVs and MNVs the two windows differ only in the allele; for
indels the output bins left of the variant cover the same bases in both windows and bins right
of it are shifted by the indel length (under one bin for short indels), so bins are compared
one to one. Windows past a contig end are padded with N (all-zero one-hot).

**Scores** per task, over the selected output bins (``window_bins`` bins centred on the bin
holding the variant, or all bins): with ``ref`` / ``alt`` the mean prediction over those bins,
``diff = alt - ref``, ``log2fc = log2((alt + pc) / (ref + pc))``, ``maxdiff`` the signed
``alt - ref`` of the bin where it is largest in absolute value. ``max_abs_effect`` is the
largest ``|diff|`` over the selected tasks (``|value|`` of a siamese model). With ``rc`` both
windows are also predicted reverse-complemented and the predictions averaged before scoring
(as gReLU's ``rc=True``). A siamese model outputs the imbalance of the pair directly (``diff``).

**Nothing is lost.** Every (record, ALT) is one output row in input order with a ``status``
(:mod:`zoo_tools.data.variants`: ``ok``, ``contig_missing``, ``out_of_bounds``, ``ref_mismatch``,
``symbolic_allele``, ``missing_alt``, ``invalid_allele``; here also ``contig_too_short`` when
the contig is shorter than the model's input); rows that are not ``ok`` have empty scores.

**Speed.** Reference and alternative windows share forward batches. For SNVs and MNVs a
convolutional trunk's embedding changes only near the variant, so (:class:`LocalPatch`) the
alternative embedding is the reference one with the bins near the variant recomputed from a
short crop: about one full trunk pass per variant and strand instead of two. The shortcut is
probed on random sequences and verified against full passes on the first real windows; models
that mix the whole window (attention) use full passes.

**Scale.** The VCF is streamed in chunks; each chunk's rows are appended to ``OUT.partial.tsv``
and flushed, so ``resume`` continues after the last complete row without rescoring; ``shard``
``(i, n)`` takes records ``i-1, i-1+n, ...`` and :func:`merge_scores` joins shards in input order.
Several devices (:func:`score_vcf_distributed`) run Lightning's predict loop: chunks are dealt to
the ranks in turn and interleaved back, so the output equals the one-device output.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
import torch

from zoo_tools.core.errors import ZooError, require_file
from zoo_tools.core.progress import progress_bar, quiet_lightning
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.onehot import codes_to_tensor
from zoo_tools.data.variants import Variant, iter_variants
from zoo_tools.models.model import rc_task_perm

log = logging.getLogger(__name__)

SCORES = ("diff", "log2fc", "ref", "alt", "maxdiff")
BASE_COLUMNS = ["record", "chrom", "pos", "id", "ref", "alt", "status"]
FORMATS = (".tsv", ".tsv.gz", ".parquet", ".vcf.gz")


def centre_index(seq_len: int, siamese: bool = False) -> int:
    """Index of the first REF base in a window of ``seq_len`` bp."""
    return seq_len // 2 if siamese else math.ceil(seq_len / 2) - 1


# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------
def allele_windows(genome: Genome, variants: list[Variant], seq_len: int, centre: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternative windows ``(n, seq_len)`` uint8 codes (see the module docstring)."""
    n = len(variants)
    extra = max([max(len(v.ref) - len(v.alt), 0) for v in variants] + [0])
    starts = np.array([v.pos - 1 - centre for v in variants], dtype=np.int64)
    ext = genome.batch_codes(np.array([v.chrom for v in variants], dtype=object), starts, seq_len + extra)
    ref = np.ascontiguousarray(ext[:, :seq_len])
    alt = ref.copy()
    snv = np.array([len(v.ref) == 1 and len(v.alt) == 1 for v in variants])
    if snv.any():
        alt[snv, centre] = encode("".join(v.alt for v, s in zip(variants, snv) if s))
    for i in np.flatnonzero(~snv):
        v = variants[i]
        a = encode(v.alt)
        if len(v.alt) == len(v.ref):
            alt[i, centre:centre + len(a)] = a[:seq_len - centre]
        else:
            row = np.concatenate([ext[i, :centre], a, ext[i, centre + len(v.ref):]])
            alt[i] = row[:seq_len]
    assert alt.shape == (n, seq_len)
    return ref, alt


# --------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------
def _forward(model, x: torch.Tensor, batch_size: int, device) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size].to(device)).float().cpu())
    return torch.cat(out).numpy()


class LocalPatch:
    """Exact shortcut for trunks whose embedding bins see only nearby input (convolutional trunks).

    A SNV changes the trunk embedding only within the trunk's receptive field of the variant, so
    the alternative window's embedding is the reference embedding with those bins recomputed from
    a short crop of the alternative sequence; the head then runs on the patched embedding. Per
    variant and strand this costs one full trunk pass (the reference) plus a crop, instead of two
    full passes. :meth:`probe` measures the bin size ``b`` and the input radius ``radius`` (bp) of
    the trunk by mutating random sequences; a trunk whose bins see most of the window (attention:
    Enformer, Borzoi) gets no patch. :meth:`verify` compares patched and full predictions on real
    windows before use, so a trunk the probe misjudges falls back to full passes.
    """

    def __init__(self, bin_size: int, radius: int, n_bins: int, seq_len: int):
        self.b, self.radius, self.n_bins, self.seq_len = bin_size, radius, n_bins, seq_len

    @classmethod
    def probe(cls, model, seq_len: int, seed: int = 0, device=None) -> LocalPatch | None:
        trunk = model.trunk
        try:
            with torch.no_grad():
                gen = torch.Generator().manual_seed(seed)
                x = torch.nn.functional.one_hot(torch.randint(0, 4, (3, seq_len), generator=gen), 4)
                x = x.transpose(1, 2).float().to(device)
                base = trunk(x)
                if base.ndim != 3 or seq_len % base.shape[-1]:
                    return None
                n_bins = base.shape[-1]
                b = seq_len // n_bins
                radius = 0
                for k, p in enumerate((seq_len // 2 - 1, seq_len // 3, (2 * seq_len) // 3)):
                    xm = x[k:k + 1].clone()
                    xm[0, :, p] = xm[0, :, p].roll(1)
                    d = (trunk(xm)[0] - base[k]).abs().amax(0)
                    changed = torch.nonzero(d > 1e-6 * (1 + base[k].abs().max())).flatten()
                    if len(changed) == 0:
                        continue
                    jl, jr = int(changed.min()), int(changed.max())
                    if jr - jl + 1 > n_bins // 2:
                        return None  # global mixing (attention): no saving to be had
                    radius = max(radius, p - jl * b, (jr + 1) * b - 1 - p)
        except (RuntimeError, ValueError):
            return None
        return cls(b, radius + b, n_bins, seq_len)

    def crop(self, start: int, end: int) -> tuple[int, int, int, int]:
        """For changed input ``[start, end)``: the input crop ``[lo, hi)`` (bin-aligned) and the
        embedding bins ``[j0, j1)`` it recomputes exactly."""
        b, r = self.b, self.radius
        j0 = max((start - r) // b, 0)
        j1 = min((end - 1 + r) // b + 1, self.n_bins)
        lo = max(((j0 * b - r) // b) * b, 0)
        hi = min(-(-((j1 * b) + r) // b) * b, self.seq_len)
        return lo, hi, j0, j1

    def worthwhile(self, start: int, end: int) -> bool:
        lo, hi, _, _ = self.crop(start, end)
        return hi - lo <= 0.6 * self.seq_len

    def alt_embedding(self, trunk, ref_emb: torch.Tensor, alt_codes: np.ndarray, start: int, end: int
                      ) -> torch.Tensor:
        """Reference embedding with the bins near ``[start, end)`` recomputed from the alternative
        sequence (only the crop is one-hot encoded)."""
        lo, hi, j0, j1 = self.crop(start, end)
        part = trunk(codes_to_tensor(alt_codes[:, lo:hi]).to(ref_emb.device))
        off = lo // self.b
        return torch.cat([ref_emb[..., :j0], part[..., j0 - off:j1 - off], ref_emb[..., j1:]], dim=-1)


def rc_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of ``(n, L)`` uint8 codes (A<->T, C<->G, N stays N)."""
    return np.ascontiguousarray(np.where(codes < 4, 3 - codes, codes)[:, ::-1])


def _allele_pass(model, xr: torch.Tensor, alt_codes: np.ndarray, spans: list[tuple[int, int] | None],
                 patch: LocalPatch | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of reference windows (one-hot) and alternative windows (codes) -> predictions,
    the alternative embeddings patched where possible."""
    if patch is None:
        y = model(torch.cat([xr, codes_to_tensor(alt_codes).to(xr.device)]))
        return y[:len(xr)], y[len(xr):]
    emb_r = model.trunk(xr)
    groups: dict = {}
    for i, sp in enumerate(spans):
        groups.setdefault(sp if sp is not None and patch.worthwhile(*sp) else None, []).append(i)

    def alt_emb(sp, rows, ref_emb):
        codes = alt_codes[rows]
        if sp is None:
            return model.trunk(codes_to_tensor(codes).to(xr.device))
        return patch.alt_embedding(model.trunk, ref_emb, codes, *sp)

    if len(groups) == 1:  # the usual case: a batch of SNVs
        emb_a = alt_emb(next(iter(groups)), slice(None), emb_r)
    else:
        emb_a = torch.empty_like(emb_r)
        for sp, rows in groups.items():
            idx = torch.tensor(rows, device=xr.device)
            emb_a[idx] = alt_emb(sp, np.asarray(rows), emb_r[idx])
    act = model.activation
    return act(model.head(emb_r)), act(model.head(emb_a))


def predict_alleles(model, ref_codes: np.ndarray, alt_codes: np.ndarray, rc: bool = True, batch_size: int = 64,
                    device: str | torch.device | None = None, spans: list[tuple[int, int] | None] | None = None,
                    patch: LocalPatch | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Predictions ``(n, T, B)`` for the reference and alternative windows (strand-averaged with
    ``rc``: the reverse complement's prediction flipped back along bins, stranded tasks swapped).

    ``spans``: per variant the changed input ``[start, end)`` for equal-length alleles (None for
    indels); with a :class:`LocalPatch` the alternative windows are patched, not recomputed.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.eval().to(device)
    n, L = ref_codes.shape
    spans = spans or [None] * n
    if patch is None:
        spans = [None] * n
    outs = {"r": [], "a": [], "rr": [], "ra": []}
    perm = torch.from_numpy(rc_task_perm(model.card.tasks)) if rc else None
    step = max(1, batch_size // 2)  # ref and alt of `step` variants per forward batch
    with torch.no_grad():
        for i in range(0, n, step):
            xr = codes_to_tensor(ref_codes[i:i + step]).to(device)
            ac = alt_codes[i:i + step]
            sp = spans[i:i + step]
            yr, ya = _allele_pass(model, xr, ac, sp, patch)
            outs["r"].append(yr.float().cpu())
            outs["a"].append(ya.float().cpu())
            if rc:
                sp_rc = [None if s is None else (L - s[1], L - s[0]) for s in sp]
                yr, ya = _allele_pass(model, xr.flip((-2, -1)), rc_codes(ac), sp_rc, patch)
                outs["rr"].append(yr.float().cpu()[:, perm].flip(-1))
                outs["ra"].append(ya.float().cpu()[:, perm].flip(-1))
    r, a = torch.cat(outs["r"]).numpy(), torch.cat(outs["a"]).numpy()
    if rc:
        r = 0.5 * (r + torch.cat(outs["rr"]).numpy())
        a = 0.5 * (a + torch.cat(outs["ra"]).numpy())
    return r, a


def change_spans(variants: list[Variant], centre: int) -> list[tuple[int, int] | None]:
    """Changed input ``[start, end)`` of equal-length alleles (None for indels)."""
    return [(centre, centre + len(v.ref)) if len(v.ref) == len(v.alt) else None for v in variants]


def predict_siamese(model, ref_codes: np.ndarray, alt_codes: np.ndarray, rc: bool = True, batch_size: int = 64,
                    device=None) -> np.ndarray:
    """``(n, T)`` imbalance of a siamese model (averaged over both strands with ``rc``)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.eval().to(device)
    xr, xa = codes_to_tensor(ref_codes), codes_to_tensor(alt_codes)
    out = []
    with torch.no_grad():
        for i in range(0, len(xr), batch_size):
            r, a = xr[i:i + batch_size].to(device), xa[i:i + batch_size].to(device)
            y = model.compare(r, a)
            if rc:
                y = 0.5 * (y + model.compare(r.flip((-2, -1)), a.flip((-2, -1))))
            out.append(y.float().cpu())
    return torch.cat(out).numpy()


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------
def score_bins(n_bins: int, variant_bin: int, window_bins: int) -> slice:
    """Output bins scored: ``window_bins`` bins centred on ``variant_bin`` (clipped), or all (0)."""
    if window_bins <= 0 or window_bins >= n_bins:
        return slice(0, n_bins)
    lo = min(max(variant_bin - window_bins // 2, 0), n_bins - window_bins)
    return slice(lo, lo + window_bins)


def effect_scores(ref: np.ndarray, alt: np.ndarray, kinds: Iterable[str], bins: slice,
                  pseudocount: float = 1.0) -> dict[str, np.ndarray]:
    """``(n, T, B)`` predictions -> ``{kind: (n, T)}`` scores over ``bins``."""
    r, a = ref[:, :, bins].astype(np.float64), alt[:, :, bins].astype(np.float64)
    rm, am = r.mean(-1), a.mean(-1)
    out = {}
    for k in kinds:
        if k == "diff":
            out[k] = am - rm
        elif k == "log2fc":
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k] = np.log2((np.maximum(am, 0) + pseudocount) / (np.maximum(rm, 0) + pseudocount))
        elif k == "ref":
            out[k] = rm
        elif k == "alt":
            out[k] = am
        elif k == "maxdiff":
            d = a - r
            idx = np.abs(d).argmax(-1)
            out[k] = np.take_along_axis(d, idx[..., None], -1)[..., 0]
        else:
            raise ZooError(f"--score '{k}' is not one of {', '.join(SCORES)}")
    return out


def parse_scores(text: str | Iterable[str]) -> list[str]:
    kinds = [k.strip() for k in (text.split(",") if isinstance(text, str) else text) if k.strip()]
    bad = [k for k in kinds if k not in SCORES]
    if bad or not kinds:
        raise ZooError(f"--score {','.join(bad) or '(empty)'}: choose from {', '.join(SCORES)} (comma-separated)")
    return list(dict.fromkeys(kinds))


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ZooError(f"--shard '{text}': expected I/N with 1 <= I <= N, e.g. --shard 3/10")
    return int(m.group(1)), int(m.group(2))


def output_format(path: str) -> str:
    for ext in FORMATS:
        if path.endswith(ext):
            return ext
    raise ZooError(f"--out {path}: the name must end in {', '.join(FORMATS)}")


# --------------------------------------------------------------------------------------------
# Streaming driver
# --------------------------------------------------------------------------------------------
class Scorer:
    """Scores chunks of :class:`Variant` rows with one model; ``columns`` are the output columns."""

    def __init__(self, model, genome: Genome, tasks: np.ndarray, kinds: list[str], window_bins: int = 0,
                 rc: bool = True, batch_size: int = 64, pseudocount: float = 1.0, device=None, fast: bool = True):
        self.model, self.genome, self.rc, self.batch_size, self.device = model, genome, rc, batch_size, device
        self.siamese = bool(getattr(model, "is_siamese", False))
        if getattr(model, "net", None) is not None and getattr(model.net, "n_signals", 0):
            raise ZooError(f"{model.card.name} needs a cell type's input signal besides the sequence; "
                           f"it cannot score a VCF alone (use a sequence-only or siamese model)")
        card = model.card
        self.seq_len = card.seq_len
        if not self.seq_len:
            raise ZooError(f"{card.source}:{card.name} has no fixed input length; cannot build variant windows")
        self.centre = centre_index(self.seq_len, self.siamese)
        self.kinds = ["diff"] if self.siamese else kinds
        if self.siamese and kinds != ["diff"]:
            log.warning("a siamese model predicts the imbalance of the pair: only the diff score is written")
        self.tasks = tasks
        self.names = card.tasks["name"].astype(str).to_numpy()[tasks].tolist()
        vbin = (self.centre - card.crop_bins * card.bin_size) // max(card.bin_size, 1)
        self.bins = score_bins(card.n_bins, int(vbin), window_bins)
        self.pseudocount = pseudocount
        self.patch = None if self.siamese or not fast else LocalPatch.probe(model, self.seq_len, device=device)
        self.verified = False
        self.columns = BASE_COLUMNS + [f"{t}:{k}" for t in self.names for k in self.kinds] + ["max_abs_effect"]

    def status(self, v: Variant) -> str:
        if v.status == "ok" and self.genome.contigs.get(v.chrom, 0) < self.seq_len:
            return "contig_too_short"
        return v.status

    def verify(self, ref_c: np.ndarray, alt_c: np.ndarray, spans: list) -> None:
        """Patched vs full predictions on up to 16 of the first windows; drop the patch on a mismatch."""
        k = [i for i, sp in enumerate(spans) if sp is not None][:16]
        if not k:
            return
        full = predict_alleles(self.model, ref_c[k], alt_c[k], self.rc, self.batch_size, self.device)
        fast = predict_alleles(self.model, ref_c[k], alt_c[k], self.rc, self.batch_size, self.device,
                               [spans[i] for i in k], self.patch)
        scale = 1e-4 * (1 + max(float(np.abs(full[1]).max()), float(np.abs(full[0]).max())))
        err = max(float(np.abs(fast[1] - full[1]).max()), float(np.abs(fast[0] - full[0]).max()))
        if err > scale:
            log.info("local patch disagrees with the full pass (max diff %.2e): using full passes", err)
            self.patch = None
        self.verified = True

    def score(self, variants: list[Variant]) -> pd.DataFrame:
        """One output row per variant, in order; scores only for ``ok`` rows."""
        statuses = [self.status(v) for v in variants]
        base = pd.DataFrame({"record": [v.record for v in variants], "chrom": [v.chrom for v in variants],
                             "pos": [v.pos for v in variants], "id": [v.id for v in variants],
                             "ref": [v.ref for v in variants], "alt": [v.alt for v in variants], "status": statuses})
        values = np.full((len(variants), len(self.columns) - len(BASE_COLUMNS)), np.nan)
        ok = [i for i, s in enumerate(statuses) if s == "ok"]
        if ok:
            ref_c, alt_c = allele_windows(self.genome, [variants[i] for i in ok], self.seq_len, self.centre)
            if self.siamese:
                y = predict_siamese(self.model, ref_c, alt_c, self.rc, self.batch_size, self.device)[:, self.tasks]
                scores = {"diff": y}
                summary = np.abs(y).max(1)
            else:
                chosen = [variants[i] for i in ok]
                spans = change_spans(chosen, self.centre)
                if self.patch is not None and not self.verified:
                    self.verify(ref_c, alt_c, spans)
                r, a = predict_alleles(self.model, ref_c, alt_c, self.rc, self.batch_size, self.device, spans,
                                       self.patch)
                scores = effect_scores(r[:, self.tasks], a[:, self.tasks], self.kinds, self.bins, self.pseudocount)
                d = scores["diff"] if "diff" in scores else effect_scores(r[:, self.tasks], a[:, self.tasks],
                                                                          ["diff"], self.bins)["diff"]
                summary = np.abs(d).max(1)
            cols = [scores[k][:, t] for t in range(len(self.names)) for k in self.kinds]
            values[ok] = np.column_stack(cols + [summary])
        return pd.concat([base, pd.DataFrame(values, columns=self.columns[len(BASE_COLUMNS):])], axis=1)


def _chunks(rows: Iterator[Variant], size: int) -> Iterator[list[Variant]]:
    chunk = []
    for v in rows:
        chunk.append(v)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rows(vcf: str, genome: Genome, shard: tuple[int, int] | None) -> Iterator[Variant]:
    rows = iter_variants(vcf, genome)
    if shard:
        i, n = shard
        rows = (v for v in rows if v.record % n == i - 1)
    return rows


def _complete_rows(path: str, columns: list[str]) -> int:
    """Rows already written to a partial file, read line by line (memory flat in its size); an
    incomplete last line is cut off. -1 when not even the header is complete."""
    with open(path, "rb+") as fh:
        header = fh.readline()
        if not header.endswith(b"\n"):
            fh.truncate(0)
            return -1
        if header.decode().rstrip("\n").split("\t") != columns:
            raise ZooError(f"{path}: written with other options (columns differ); rerun without --resume to "
                           f"start over")
        n, end = 0, len(header)
        for line in fh:
            if not line.endswith(b"\n"):
                break
            n, end = n + 1, end + len(line)
        fh.truncate(end)
    return n


def score_vcf(model, vcf: str, genome: Genome, out: str, tasks: list[str] | None = None, kinds=("diff", "log2fc"),
              window_bins: int = 0, rc: bool = True, batch_size: int = 64, resume: bool = False,
              shard: tuple[int, int] | None = None, chunk_size: int = 1024, pseudocount: float = 1.0,
              device=None, fast: bool = True, devices: int | str = 1, accelerator: str = "auto",
              num_nodes: int = 1, strategy: str = "ddp") -> dict:
    """Score every (record, ALT) of ``vcf`` into ``out`` (.tsv, .tsv.gz, .parquet or .vcf.gz).

    ``devices`` / ``num_nodes`` other than 1 run the scoring in Lightning's predict loop on that many
    processes (:func:`score_vcf_distributed`); the output is the same as on one device.

    Returns ``{"rows": n, "statuses": {status: n}, "resumed_after": n, "out": path}``.
    """
    from zoo_tools.models.tasks import select_tasks

    fmt = output_format(out)
    if str(devices) not in ("1",) or int(num_nodes) != 1:
        return score_vcf_distributed(model, vcf, genome, out, tasks, kinds, window_bins, rc, batch_size, resume,
                                     shard, chunk_size, pseudocount, fast, devices, accelerator, num_nodes, strategy)
    idx = select_tasks(model.card.tasks, tasks)
    scorer = Scorer(model, genome, idx, list(kinds), window_bins, rc, batch_size, pseudocount, device, fast)
    partial = out + ".partial.tsv"
    done = _complete_rows(partial, scorer.columns) if resume and os.path.exists(partial) else -1
    if resume and done < 0 and os.path.exists(out):
        raise ZooError(f"{out} is already complete; remove it (or drop --resume) to score again")
    os.makedirs(os.path.dirname(os.path.abspath(out)) or ".", exist_ok=True)
    mode = "a" if done >= 0 else "w"
    rows = _rows(vcf, genome, shard)
    counts: dict[str, int] = {}
    mismatches: list[str] = []
    n_rows = 0
    with open(partial, mode) as fh, progress_bar(desc=f"scoring {os.path.basename(vcf)}", unit="variant") as bar:
        if done < 0:
            fh.write("\t".join(scorer.columns) + "\n")
            done = 0
        for chunk in _chunks(rows, chunk_size):
            first = n_rows  # index of the chunk's first row in this run's output
            for v in chunk:
                s = scorer.status(v)
                counts[s] = counts.get(s, 0) + 1
                if s == "ref_mismatch" and len(mismatches) < 3:
                    mismatches.append(f"{v.chrom}:{v.pos} {v.ref}")
            n_rows += len(chunk)
            if n_rows > done:  # rows before `done` were written before an interruption
                df = scorer.score(chunk[max(done - first, 0):])
                df.to_csv(fh, sep="\t", header=False, index=False, float_format="%.6g", na_rep="")
                fh.flush()
                os.fsync(fh.fileno())
            bar.update(len(chunk))
    if n_rows == 0:
        os.remove(partial)
        raise ZooError(f"{vcf}: no records to score" + (f" in shard {shard[0]}/{shard[1]}" if shard else ""))
    _warn_build(counts, n_rows, mismatches, genome)
    finish(partial, out, fmt, vcf, scorer)
    return {"rows": n_rows, "statuses": counts, "resumed_after": done, "out": out, "columns": scorer.columns}


def _warn_build(counts: dict, n_rows: int, mismatches: list[str], genome: Genome) -> None:
    bad = counts.get("ref_mismatch", 0)
    if bad and bad >= max(3, 0.05 * n_rows):
        log.warning("%d of %d variants have a REF that differs from the genome (e.g. %s): are the VCF and %s "
                    "on the same build?", bad, n_rows, ", ".join(mismatches), genome.path)


# --------------------------------------------------------------------------------------------
# Several devices: Lightning's predict loop
# --------------------------------------------------------------------------------------------
def _identity(x):
    return x


class _RankChunks(torch.utils.data.IterableDataset):
    """The VCF's chunks of ``chunk_size`` rows that belong to one rank: chunk ``k`` goes to rank
    ``k % world``. Every rank reads the VCF (streamed, cheap next to the model) and keeps its own."""

    def __init__(self, vcf: str, genome: Genome, chunk_size: int, shard, rank: int, world: int):
        super().__init__()
        self.vcf, self.genome, self.chunk_size, self.shard, self.rank, self.world = (vcf, genome, chunk_size, shard,
                                                                                    rank, world)

    def __iter__(self):
        for k, chunk in enumerate(_chunks(_rows(self.vcf, self.genome, self.shard), self.chunk_size)):
            if k % self.world == self.rank:
                yield chunk


def _rank_partial(out: str, rank: int, world: int) -> str:
    return f"{out}.rank{rank}-of-{world}.partial.tsv"


def _interleave(parts: list[str], chunk_size: int, dest: str) -> int:
    """Join per-rank partial files (chunk ``k`` in ``parts[k % W]``) into ``dest`` in input order;
    returns the number of rows. Streams line by line."""
    import itertools

    fhs = [open(p) for p in parts]
    try:
        headers = [fh.readline() for fh in fhs]
        n, k = 0, 0
        with open(dest, "w") as out:
            out.write(headers[0])
            while True:
                lines = list(itertools.islice(fhs[k % len(fhs)], chunk_size))
                out.writelines(lines)
                n += len(lines)
                if len(lines) < chunk_size:
                    break
                k += 1
        if any(fh.readline() for fh in fhs):
            raise ZooError(f"{dest}: the per-device files do not line up (rows left over); rerun without --resume")
    finally:
        for fh in fhs:
            fh.close()
    return n


def scoring_module(model, vcf: str, genome: Genome, out: str, task_idx: np.ndarray, kinds: list[str],
                   window_bins: int, rc: bool, batch_size: int, resume: bool, shard, chunk_size: int,
                   pseudocount: float, fast: bool):
    """A LightningModule whose predict loop scores this rank's chunks into its own partial file.

    Each process builds its own :class:`Scorer` on its device (so the local patch is probed and
    verified per device), reads the VCF streamed, keeps chunks ``k % world == rank`` and appends
    their rows to ``OUT.rank{r}-of-{W}.partial.tsv`` (resumable like the one-device file).
    """
    import lightning as L

    class ScoringModule(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model
            self.scorer = None
            self.fh = None
            self.seen = self.done = 0

        def predict_dataloader(self):
            data = _RankChunks(vcf, genome, chunk_size, shard, self.trainer.global_rank, self.trainer.world_size)
            return torch.utils.data.DataLoader(data, batch_size=None, collate_fn=_identity)

        def transfer_batch_to_device(self, batch, device, dataloader_idx):
            return batch  # rows of the VCF; the Scorer moves its windows itself

        def on_predict_start(self):
            self.scorer = Scorer(self.model, genome, task_idx, kinds, window_bins, rc, batch_size, pseudocount,
                                 self.device, fast)
            path = _rank_partial(out, self.trainer.global_rank, self.trainer.world_size)
            self.done = _complete_rows(path, self.scorer.columns) if resume and os.path.exists(path) else -1
            self.fh = open(path, "a" if self.done >= 0 else "w")
            if self.done < 0:
                self.fh.write("\t".join(self.scorer.columns) + "\n")
                self.done = 0
            self.seen = 0
            rank, world = self.trainer.global_rank, self.trainer.world_size
            self.bar = progress_bar(desc=f"scoring {os.path.basename(vcf)} (rank 0 of {world})", unit="variant",
                                    disable=rank != 0)

        def predict_step(self, chunk, batch_idx):
            first, self.seen = self.seen, self.seen + len(chunk)
            if self.seen > self.done:
                df = self.scorer.score(chunk[max(self.done - first, 0):])
                df.to_csv(self.fh, sep="\t", header=False, index=False, float_format="%.6g", na_rep="")
                self.fh.flush()
                os.fsync(self.fh.fileno())
            self.bar.update(len(chunk))
            return None

        def on_predict_end(self):
            self.fh.close()
            self.bar.close()

    return ScoringModule()


def score_vcf_distributed(model, vcf: str, genome: Genome, out: str, tasks=None, kinds=("diff", "log2fc"),
                          window_bins: int = 0, rc: bool = True, batch_size: int = 64, resume: bool = False,
                          shard=None, chunk_size: int = 1024, pseudocount: float = 1.0, fast: bool = True,
                          devices: int | str = "auto", accelerator: str = "auto", num_nodes: int = 1,
                          strategy: str = "ddp") -> dict:
    """:func:`score_vcf` on several devices (GPUs, or CPU processes) and nodes through Lightning's
    ``Trainer.predict``: chunks of the VCF are dealt to the ranks in turn, each rank writes its own
    partial file, and rank 0 interleaves them back into input order and writes ``out``. With
    several nodes ``out`` must be on a shared file system. ``strategy="ddp"`` relaunches the
    running script once per device (the CLI); in a notebook use ``"ddp_notebook"``.

    Returns what :func:`score_vcf` returns on rank 0 and ``{"rank": r}`` on the others.
    """
    import lightning as L

    from zoo_tools.models.tasks import select_tasks

    quiet_lightning()
    fmt = output_format(out)
    idx = select_tasks(model.card.tasks, tasks)
    folder = os.path.dirname(os.path.abspath(out))
    stem = os.path.basename(out) + ".rank"
    rank_files = os.path.isdir(folder) and any(f.startswith(stem) for f in os.listdir(folder))
    if resume and os.path.exists(out) and not rank_files:
        raise ZooError(f"{out} is already complete; remove it (or drop --resume) to score again")
    os.makedirs(os.path.dirname(os.path.abspath(out)) or ".", exist_ok=True)
    trainer = L.Trainer(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, use_distributed_sampler=False)
    module = scoring_module(model, vcf, genome, out, idx, list(kinds), window_bins, rc, batch_size, resume, shard,
                            chunk_size, pseudocount, fast)
    trainer.predict(module, return_predictions=False)
    resumed = int(trainer.strategy.reduce(torch.tensor(float(module.done), device=module.device), reduce_op="sum"))
    trainer.strategy.barrier("zoo-score-variants")
    rank, world = trainer.global_rank, trainer.world_size
    if rank != 0:
        return {"rank": rank}
    parts = [_rank_partial(out, r, world) for r in range(world)]
    partial = out + ".partial.tsv"
    n_rows = _interleave(parts, chunk_size, partial)
    for p in parts:
        os.remove(p)
    if n_rows == 0:
        os.remove(partial)
        raise ZooError(f"{vcf}: no records to score" + (f" in shard {shard[0]}/{shard[1]}" if shard else ""))
    counts: dict[str, int] = {}
    mismatches: list[str] = []
    for df in pd.read_csv(partial, sep="\t", usecols=["chrom", "pos", "ref", "status"], dtype=str,
                          keep_default_na=False, chunksize=1 << 16):
        for s, c in df.status.value_counts().items():
            counts[s] = counts.get(s, 0) + int(c)
        bad = df[df.status == "ref_mismatch"].head(3 - len(mismatches))
        mismatches += [f"{r.chrom}:{r.pos} {r.ref}" for r in bad.itertuples()]
    _warn_build(counts, n_rows, mismatches, genome)
    finish(partial, out, fmt, vcf, module.scorer)
    return {"rows": n_rows, "statuses": counts, "resumed_after": resumed, "out": out, "world": world,
            "columns": module.scorer.columns}


# --------------------------------------------------------------------------------------------
# Output formats
# --------------------------------------------------------------------------------------------
def read_scores(path: str) -> pd.DataFrame:
    """Read a scores file written by :func:`score_vcf` (.tsv, .tsv.gz, .parquet)."""
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t", dtype={"chrom": str, "id": str, "ref": str, "alt": str, "status": str},
                       keep_default_na=False, na_values=[""])


def finish(partial: str, out: str, fmt: str, vcf: str, scorer: Scorer | None = None) -> None:
    """Turn the partial TSV into the requested format (atomically) and remove it."""
    tmp = out + ".tmp"
    if fmt == ".tsv":
        os.replace(partial, out)
        return
    if fmt == ".tsv.gz":
        with open(partial, "rb") as src, gzip.open(tmp, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    elif fmt == ".parquet":
        read_scores(partial).to_parquet(tmp, index=False)
    else:
        write_vcf(read_scores(partial), vcf, tmp)
    os.replace(tmp, out)
    os.remove(partial)


def _info_id(column: str) -> str:
    return "ZOO_" + re.sub(r"[^A-Za-z0-9_.]", "_", column)


def write_vcf(df: pd.DataFrame, source_vcf: str, path: str) -> None:
    """Scores as INFO fields of a bgzipped VCF (one line per ALT: multi-allelic records split)."""
    from Bio import bgzf

    from zoo_tools.data.variants import open_vcf

    vcf = open_vcf(source_vcf)
    header = vcf.raw_header.strip().splitlines()
    vcf.close()
    score_cols = [c for c in df.columns if c not in BASE_COLUMNS]
    info = ['##INFO=<ID=ZOO_STATUS,Number=1,Type=String,Description="zoo_tools score-variants status: ok, or why '
            'the allele was not scored (contig_missing, out_of_bounds, ref_mismatch, symbolic_allele, missing_alt, '
            'invalid_allele, contig_too_short)">']
    for c in score_cols:
        if c == "max_abs_effect":
            desc = "largest absolute diff over the scored tasks"
        else:
            task, kind = c.rsplit(":", 1)
            desc = {"diff": "alt - ref mean prediction over the scored bins", "log2fc": "log2((alt+pc)/(ref+pc))",
                    "ref": "mean reference prediction", "alt": "mean alternative prediction",
                    "maxdiff": "alt - ref at the bin with the largest absolute difference"}[kind]
            desc = f"{desc}, task {task}"
        info.append(f'##INFO=<ID={_info_id(c)},Number=1,Type=Float,Description="zoo_tools {desc}">')
    with bgzf.BgzfWriter(path, "wb") as fh:
        for line in header[:-1]:
            fh.write((line + "\n").encode())
        for line in info:
            fh.write((line + "\n").encode())
        fh.write(("\t".join(header[-1].split("\t")[:8]) + "\n").encode())
        values = df[score_cols].to_numpy(dtype=np.float64)
        ids = [_info_id(c) for c in score_cols]
        for k, row in enumerate(df[BASE_COLUMNS].itertuples(index=False)):
            fields = [f"ZOO_STATUS={row.status}"]
            fields += [f"{i}={v:.6g}" for i, v in zip(ids, values[k]) if np.isfinite(v)]
            fh.write(("\t".join([str(row.chrom), str(row.pos), str(row.id), row.ref, row.alt, ".", ".",
                                 ";".join(fields)]) + "\n").encode())


def merge_scores(paths: list[str], out: str) -> int:
    """Join shard outputs into one file in input order; every record must appear exactly once."""
    frames = []
    for p in paths:
        require_file(p, "scores file", "give the shard outputs of zoo score-variants --shard")
        frames.append(read_scores(p))
    cols = frames[0].columns.tolist()
    for p, f in zip(paths[1:], frames[1:]):
        if f.columns.tolist() != cols:
            raise ZooError(f"{p}: columns differ from {paths[0]}; merge shards of one run only")
    df = pd.concat(frames, ignore_index=True)
    order = df.record.to_numpy()
    records = np.unique(order)
    if len(records) and (records[0] != 0 or records[-1] != len(records) - 1):
        missing = sorted(set(range(int(records[-1]) + 1)) - set(records.tolist()))
        raise ZooError(f"records {missing[:5]}{'...' if len(missing) > 5 else ''} are in no shard; pass every "
                       f"shard's output (--shard 1/N ... N/N)")
    alt_rank = df.groupby("record", sort=False).cumcount()  # ALT order within a record as written
    dup = df.duplicated(["record", "alt"]) & ~df.alt.isna()
    if dup.any():
        raise ZooError(f"record {int(df.record[dup].iloc[0])} appears in more than one shard; pass each shard once")
    df = df.assign(_k=alt_rank).sort_values(["record", "_k"], kind="stable").drop(columns="_k")
    fmt = output_format(out)
    if fmt == ".vcf.gz":
        raise ZooError("merge-scores writes .tsv, .tsv.gz or .parquet (score into .vcf.gz without sharding)")
    if fmt == ".parquet":
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, sep="\t", index=False, float_format="%.6g", na_rep="",
                  compression="gzip" if fmt == ".tsv.gz" else None)
    return len(df)
