"""Variant-effect scoring: `zoo score-variants`' path vs gReLU's predict_variant_effects vs the pure
forward passes of the same windows, on the same model and VCF, in one run.

    python benchmarks/bench_score.py            # 5,000 SNVs, 2,000 bp windows, RC on everywhere
    N_VARIANTS=1000 python benchmarks/bench_score.py
    python benchmarks/bench_score.py genes      # only the gene-level part (see run_genes)

Two models (random weights, 4 tasks, as in ../shared/peer-baselines/bench_variant.py):
- conv: gReLU ConvModel (stem 15 + 2 convs of 5, global average pool). Target: >= 2x gReLU.
- attention: gReLU ConvTransformerModel (a conv block pooling to 200 positions, then a transformer
  layer: every output sees the whole window, so there is no local saving).
  Target: total time <= 1.1x the pure forward time.
- genes: what ``--genes`` adds to the bin-level run of a binned ConvModel (80 bins of 25 bp) on the
  same VCF (SNVs, and the same VCF with ~5% of records made indels), with a GTF of genes every
  3-6 kb. Target: at most 15% more than the bin-level run.

Every method starts from the VCF path. "pure forward" runs the model on pre-built one-hot tensors
of every window the scoring needs (ref + alt, both strands): the cost of scoring by full passes
with zero overhead.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, os.path.dirname(__file__))
from synthetic import grelu_checkpoint, random_genome  # noqa: E402

os.environ.setdefault("ZOO_PROGRESS", "0")
warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

N = int(os.environ.get("N_VARIANTS", 5000))
REPS = int(os.environ.get("REPS", 3))
SEQ_LEN = 2000
OUT = os.environ.get("BENCH_OUT", "bench_out")


def make_data(folder: str, n: int, seed: int = 1) -> tuple[str, str]:
    """Random genome (2 x 2 Mb) with .fai and .sizes, and a VCF of n SNVs away from the ends."""
    rng = np.random.default_rng(seed)
    sizes = {"chr1": 2_000_000, "chr2": 2_000_000}
    fa, seqs = random_genome(folder, sizes, rng)
    rows = []
    for i in range(n):
        c = "chr1" if i % 2 == 0 else "chr2"
        pos = int(rng.integers(5_000, sizes[c] - 5_000))
        ref = seqs[c][pos - 1]
        rows.append((c, pos, ref, "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]))
    rows.sort()
    vcf = os.path.join(folder, "snvs.vcf")
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={s}>\n" for c, s in sizes.items()))
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        fh.writelines(f"{c}\t{p}\tv{k}\t{r}\t{a}\t.\tPASS\t.\n" for k, (c, p, r, a) in enumerate(rows))
    return fa, vcf


MODELS = {
    "conv": dict(
        model_type="ConvModel",
        n_tasks=4,
        stem_channels=32,
        stem_kernel_size=15,
        n_conv=3,
        channel_init=32,
        kernel_size=5,
        final_pool_func="avg",
    ),
    "attention": dict(
        model_type="ConvTransformerModel",
        n_tasks=4,
        stem_channels=16,
        stem_kernel_size=15,
        n_conv=2,
        channel_init=16,
        n_transformers=1,
        n_heads=2,
        key_len=8,
        final_pool_func="avg",
        pool_func="max",
        pool_size=10,
    ),
}


def run(name: str, folder: str, fa: str, vcf: str) -> dict:
    from grelu.lightning import LightningModel
    from grelu.variant import predict_variant_effects

    from zoo_tools.data.genome import Genome
    from zoo_tools.data.onehot import codes_to_tensor
    from zoo_tools.data.variants import read_variants
    from zoo_tools.score import read_scores, score_vcf
    from zoo_tools.score.patch import LocalPatch
    from zoo_tools.score.windows import allele_windows, centre_index
    from zoo_tools.zoo import load_model
    from zoo_tools.zoo.sources.grelu import grelu_side_effects_contained

    ckpt = grelu_checkpoint(os.path.join(folder, f"{name}.ckpt"), MODELS[name], SEQ_LEN, 4)
    native = LightningModel.load_from_checkpoint(ckpt, map_location="cpu", weights_only=False).eval()
    model = load_model(f"local:{ckpt}")
    print(
        f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters; local patch: "
        f"{LocalPatch.probe(model, SEQ_LEN) is not None}",
        flush=True,
    )

    def ours(fast=True):
        out = os.path.join(folder, f"{name}_scores.tsv")
        score_vcf(load_model(f"local:{ckpt}"), vcf, Genome(fa), out, kinds=["diff"], rc=True, batch_size=128, fast=fast)
        return read_scores(out)[[f"task{i}:diff" for i in range(4)]].to_numpy()

    def grelu():
        from cyvcf2 import VCF

        df = pd.DataFrame([(v.CHROM, v.POS, v.REF, v.ALT[0]) for v in VCF(vcf)], columns=["chrom", "pos", "ref", "alt"])
        with grelu_side_effects_contained():  # else gReLU leaves fp32 matmuls in bf16 for what runs after it
            y = predict_variant_effects(
                df,
                native,
                devices="cpu",
                seq_len=SEQ_LEN,
                genome=os.path.abspath(fa),
                rc=True,
                batch_size=128,
                num_workers=0,
                compare_func="subtract",
                return_ad=False,
            )
        return np.asarray(y).reshape(len(df), 4, -1).mean(-1)

    g = Genome(fa)
    var = read_variants(vcf, g)
    from zoo_tools.data.variants import Variant

    vs = [Variant(**r) for r in var.to_dict("records")]
    ref, alt = allele_windows(g, vs, SEQ_LEN, centre_index(SEQ_LEN))
    x = codes_to_tensor(np.concatenate([ref, alt]))
    xs = torch.cat([x, x.flip((-2, -1))])  # every window scoring needs: ref + alt, both strands

    def forward_only():
        with torch.no_grad():
            for i in range(0, len(xs), 128):
                model(xs[i : i + 128])
        return None

    methods = {
        "zoo_tools": ours,
        "zoo_tools --no-patch": lambda: ours(False),
        "gReLU": grelu,
        "pure forward": forward_only,
    }
    results, times = {}, {k: [] for k in methods}
    for k, f in methods.items():  # warm-up, and the values compared below
        results[k] = f()
    for _ in range(REPS):
        for k, f in methods.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    diff = float(np.abs(results["zoo_tools"] - results["gReLU"]).max())
    diff_np = float(np.abs(results["zoo_tools"] - results["zoo_tools --no-patch"]).max())
    print(f"\n{name} model, {N} SNVs, {SEQ_LEN} bp, RC on, medians of {REPS}:")
    print("| method | s | variants/s | time / pure forward |\n|---|---|---|---|")
    for k in methods:
        print(f"| {k} | {med[k]:.2f} | {N / med[k]:.0f} | {med[k] / med['pure forward']:.2f} |")
    print(
        f"zoo_tools vs gReLU: {med['gReLU'] / med['zoo_tools']:.2f}x faster; max |diff| of scores {diff:.1e} "
        f"(patched vs full passes {diff_np:.1e})",
        flush=True,
    )
    return {
        "median_s": med,
        "times": times,
        "speedup_vs_grelu": med["gReLU"] / med["zoo_tools"],
        "ratio_to_forward": med["zoo_tools"] / med["pure forward"],
        "max_abs_diff_vs_grelu": diff,
    }


# MODELS["conv"] without its global pool, two pools of 5: 2,000 bp -> 80 bins of 25 bp. The bins
# must divide the window for the local patch (5 pools of 2 would give 62 x 32 bp: no patch).
GENE_BINS, GENE_BIN_SIZE = 80, 25
GENE_MODEL = dict(
    model_type="ConvModel",
    n_tasks=4,
    stem_channels=32,
    stem_kernel_size=15,
    n_conv=3,
    channel_init=32,
    kernel_size=5,
    pool_func="avg",
    pool_size=5,
    final_pool_func=None,
)


def binned_checkpoint(path: str) -> str:
    """:func:`grelu_checkpoint` of :data:`GENE_MODEL`, its data_params saying 25 bp bins (n_bins 80)."""
    grelu_checkpoint(path, GENE_MODEL, SEQ_LEN, 4)
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    for split in ("train", "val", "test"):
        ckpt["data_params"][split].update(bin_size=GENE_BIN_SIZE, label_len=GENE_BINS * GENE_BIN_SIZE)
    torch.save(ckpt, path)
    return path


def make_gtf(folder: str, fa: str, seed: int = 3) -> tuple[str, int]:
    """A GTF of genes every 3-6 kb along every contig, either strand, 1-4 exons of 100-400 bp with
    introns of 100-1,500 bp; 1-based inclusive coordinates. Returns (path, number of genes)."""
    rng = np.random.default_rng(seed)
    sizes = dict(line.split("\t") for line in open(fa + ".sizes").read().split("\n") if line)
    path, lines, n = os.path.join(folder, "genes.gtf"), [], 0
    for chrom, size in sizes.items():
        pos = int(rng.integers(1_000, 4_000))
        while True:
            exons, p = [], pos
            for k in range(int(rng.integers(1, 5))):
                if k:
                    p += int(rng.integers(100, 1_501))
                length = int(rng.integers(100, 401))
                exons.append((p, p + length - 1))
                p += length
            if exons[-1][1] > int(size) - 1_000:
                break
            strand = "+-"[int(rng.integers(0, 2))]
            gid, tid = f"G{n:05d}", f"T{n:05d}"
            attrs = f'gene_id "{gid}"; gene_name "GENE{n}"; gene_type "protein_coding";'
            tx = f'{attrs} transcript_id "{tid}"; tag "Ensembl_canonical";'
            lo, hi = exons[0][0], exons[-1][1]
            row = f"{chrom}\tbench\t{{}}\t{{}}\t{{}}\t.\t{strand}\t.\t{{}}\n"
            lines += [row.format("gene", lo, hi, attrs), row.format("transcript", lo, hi, tx)]
            lines += [row.format("exon", s, e, f'{tx} exon_number "{i + 1}";') for i, (s, e) in enumerate(exons)]
            n += 1
            pos += int(rng.integers(3_000, 6_001))
    with open(path, "w") as fh:
        fh.writelines(lines)
    return path, n


def with_indels(vcf: str, fa: str, frac: float = 0.05, seed: int = 4) -> tuple[str, int]:
    """The VCF with ~``frac`` of its records made indels of 1-20 bp (half deletions, half
    insertions), REF read from the genome; the other records unchanged. Returns (path, n indels)."""
    import pyfaidx

    rng = np.random.default_rng(seed)
    genome = pyfaidx.Fasta(fa, as_raw=True)
    out, n = vcf.replace(".vcf", "_indels.vcf"), 0
    with open(vcf) as src, open(out, "w") as dst:
        for line in src:
            f = line.split("\t")
            if not line.startswith("#") and rng.random() < frac:
                pos, length = int(f[1]), int(rng.integers(1, 21))
                if rng.random() < 0.5:  # deletion of `length` bases after the anchor base
                    f[3] = str(genome[f[0]][pos - 1 : pos + length]).upper()
                    f[4] = f[3][0]
                else:
                    f[3] = str(genome[f[0]][pos - 1 : pos]).upper()
                    f[4] = f[3] + "".join("ACGT"[i] for i in rng.integers(0, 4, length))
                line, n = "\t".join(f), n + 1
            dst.write(line)
    genome.close()
    return out, n


def run_genes(folder: str, fa: str, vcf: str) -> dict:
    """Bin-level ``score_vcf`` vs the same with ``genes=GeneRequest(gtf)``, both to .tsv."""
    from zoo_tools.data.genes import read_genes
    from zoo_tools.data.genome import Genome
    from zoo_tools.score import GeneRequest, score_vcf
    from zoo_tools.score.patch import LocalPatch
    from zoo_tools.zoo import load_model

    ckpt = binned_checkpoint(os.path.join(folder, "binned.ckpt"))
    model = load_model(f"local:{ckpt}")
    card = model.card
    assert card.n_bins > 1, card.n_bins
    gtf, n_genes = make_gtf(folder, fa)
    vcf_indels, n_indels = with_indels(vcf, fa)
    print(
        f"genes: binned ConvModel, {sum(p.numel() for p in model.parameters()):,} parameters, "
        f"{card.n_bins} bins of {card.bin_size} bp; local patch: {LocalPatch.probe(model, SEQ_LEN) is not None}; "
        f"{n_genes} genes in the GTF; {n_indels} indels in the second VCF",
        flush=True,
    )

    def score(path: str, genes: bool) -> dict:
        out = os.path.join(folder, f"genes_{int(genes)}.tsv")
        request = GeneRequest(gtf) if genes else None
        return score_vcf(model, path, Genome(fa), out, kinds=["diff"], rc=True, batch_size=128, genes=request)

    table, res = [], {}
    for label, path in (("SNVs", vcf), (f"SNVs + {n_indels} indels", vcf_indels)):
        times, cpu = {False: [], True: []}, {False: [], True: []}
        for genes in (False, True):  # warm-up
            score(path, genes)
        for _ in range(REPS):
            for genes in (False, True):
                t, c = time.perf_counter(), time.process_time()
                score(path, genes)
                times[genes].append(time.perf_counter() - t)
                cpu[genes].append(time.process_time() - c)  # CPU s of this process: less hurt by other jobs
        rows = pd.read_csv(os.path.join(folder, "genes_1.tsv"), sep="\t", usecols=["record", "gene_id"])
        n_rows = int(rows.gene_id.notna().sum())
        n_var = int(rows.drop_duplicates("record").shape[0])
        with_gene = int(rows[rows.gene_id.notna()].record.nunique())
        base, genes_s = statistics.median(times[False]), statistics.median(times[True])
        res[label] = {
            "times": {"bin_level": times[False], "genes": times[True]},
            "median_s": {"bin_level": base, "genes": genes_s},
            "overhead": genes_s / base - 1,
            "paired_overhead": statistics.median(g / b for b, g in zip(times[False], times[True])) - 1,
            "cpu_s": {"bin_level": cpu[False], "genes": cpu[True]},
            "cpu_overhead": statistics.median(cpu[True]) / statistics.median(cpu[False]) - 1,
            "gene_rows": n_rows,
            "variants": n_var,
            "variants_with_genes": with_gene,
            "genes_per_variant": n_rows / n_var,
        }
        table.append(
            f"| {label} | {base:.2f} | {genes_s:.2f} | {100 * (genes_s / base - 1):+.1f}% | "
            f"{100 * res[label]['paired_overhead']:+.1f}% | {n_rows:,} | "
            f"{n_rows / n_var:.2f} ({with_gene / n_var:.0%} of variants have one) |"
        )
    t = time.perf_counter()
    read_genes(gtf, Genome(fa))  # the fixed part of the overhead: grows with the annotation, not the VCF
    read_s = time.perf_counter() - t
    print(f"\ngene-level effects, {N} records, {SEQ_LEN} bp, RC on, batch 128, .tsv out, medians of {REPS}:")
    head = "| VCF | bin-level s | with --genes s | overhead | paired | gene rows | genes/variant |"
    print(head + "\n|---|---|---|---|---|---|---|\n" + "\n".join(table))
    cpu_line = ", ".join(f"{k} {100 * v['cpu_overhead']:+.1f}%" for k, v in res.items())
    print(f"overhead in CPU time of the process (medians): {cpu_line}")
    print(f"of the overhead, reading the GTF ({n_genes} genes, read_genes) takes {read_s:.2f} s per run", flush=True)
    geometry = {"n_bins": card.n_bins, "bin_size": card.bin_size}
    return {"read_genes_s": read_s, "n_genes": n_genes, "n_indels": n_indels, **geometry, **res}


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="bench_score_", dir=OUT)
    fa, vcf = make_data(folder, N)
    which = sys.argv[1:] or [*MODELS, "genes"]
    res = {name: run_genes(folder, fa, vcf) if name == "genes" else run(name, folder, fa, vcf) for name in which}
    path = os.path.join(OUT, "bench_score.json")
    if os.path.exists(path):  # keep the parts not run this time
        with open(path) as fh:
            res = {**json.load(fh), **res}
    with open(path, "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
