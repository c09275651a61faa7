"""``zoo score-variants``, ``zoo calibrate`` and ``zoo merge-scores``: variant effects over a VCF,
calibrated against a background or not, sharded or not."""

from __future__ import annotations

import argparse

from zoo_tools.cli._args import add_command, add_tasks, add_trust, check_batching


def _devices(text: str) -> int | str:
    if text == "auto" or text == "-1":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of devices >= 1 or 'auto'")
    return int(text)


def _samples(text: str | None) -> list[str] | None:
    """``--samples S1,S2,...`` (or a file with one name per line, ``@FILE``) as a list."""
    if not text:
        return None
    if text.startswith("@"):
        from zoo_tools.core.errors import require_file

        with open(require_file(text[1:], "samples file", "give one sample name per line")) as fh:
            return [line.strip() for line in fh if line.strip()]
    return [s.strip() for s in text.split(",") if s.strip()]


def _scored_line(args: argparse.Namespace, res: dict) -> str:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(res["statuses"].items(), key=lambda kv: kv[0] != "ok"))
    resumed = f" (resumed after {res['resumed_after']} rows)" if args.resume and res["resumed_after"] > 0 else ""
    what = "allele(s)"
    if "haplotypes" in res:
        w = res["haplotypes"]
        what = f"haplotype row(s) ({w['reference']} reference and {w['haplotype']} haplotype windows predicted)"
    return f"scored {res['rows']} {what} of {args.vcf}{resumed}: {statuses}\n  -> {res['out']}"


def _gene_request(args: argparse.Namespace):
    """The ``--genes`` options as a GeneRequest, or None without ``--genes``."""
    from zoo_tools.core.errors import require_file
    from zoo_tools.score import GeneRequest

    if not args.genes:
        return None
    require_file(args.genes, "gene annotation", "give a GTF or GFF3 (gzip ok)")
    return GeneRequest(args.genes, args.transcript, args.tss_bins, args.gene_signal, args.indel_stitch)


def _cmd_score_variants(args: argparse.Namespace) -> int:
    """score the variants of a VCF with a model

    Predict every ALT allele of a VCF (multi-allelic records split) against its reference, centred in the
    model's window, and write one row per allele in input order with a status and per-task scores. OUT: .tsv,
    .tsv.gz, .parquet or .vcf.gz (scores as INFO fields). With --genes, one row per (allele, gene) for every gene
    whose TSS or exons fall in the output window, with gene-level effects (gene_logSED) per task.
    """
    from zoo_tools.data.genome import Genome
    from zoo_tools.score import output_format, parse_scores, parse_shard, score_vcf
    from zoo_tools.zoo import load_model

    output_format(args.out)
    kinds, shard = parse_scores(args.score), parse_shard(args.shard)
    check_batching(args)
    genome = Genome(args.genome)
    model = load_model(args.model, trust=args.trust_checkpoint)
    res = score_vcf(
        model,
        args.vcf,
        genome,
        args.out,
        tasks=args.tasks,
        kinds=kinds,
        window_bins=args.window_bins,
        rc=args.rc,
        batch_size=args.batch_size,
        resume=args.resume,
        shard=shard,
        chunk_size=args.chunk_size,
        pseudocount=args.pseudocount,
        fast=not args.no_patch,
        devices=args.devices,
        accelerator=args.accelerator,
        num_nodes=args.num_nodes,
        skip_malformed=args.skip_malformed,
        allow_build_mismatch=args.allow_build_mismatch,
        genes=_gene_request(args),
        calibration=args.calibration,
        fdr=args.fdr,
        haplotypes=args.haplotypes,
        samples=_samples(args.samples),
    )
    if "rank" not in res:  # else a worker process of a multi-device run; rank 0 reports
        print(_scored_line(args, res))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    """score a background set of variants to calibrate a model's scores

    Score random SNVs (--random N: uniform positions off N runs and --blacklist regions, REF from the genome, ALT
    uniform among the other three bases, GC-matched to a VCF with --match-gc) or a VCF of background variants
    (--vcf, e.g. common variants) with the same statistics and windows as zoo score-variants, and store per task
    and statistic the distribution of absolute effects (OUT.parquet, with the model's sha256). zoo score-variants
    --calibration OUT.parquet then adds signed quantiles and empirical p-values.
    """
    from zoo_tools.data.genome import Genome
    from zoo_tools.score import calibrate, parse_scores
    from zoo_tools.zoo import load_model

    kinds = parse_scores(args.score)
    check_batching(args)
    genome = Genome(args.genome)
    model = load_model(args.model, trust=args.trust_checkpoint)
    res = calibrate(
        model, genome, args.out, vcf=args.vcf, n_random=args.random, seed=args.seed, chroms=args.chroms,
        blacklist=args.blacklist, match_gc=args.match_gc, spec=args.model, tasks=args.tasks, kinds=kinds,
        window_bins=args.window_bins, rc=args.rc, batch_size=args.batch_size, pseudocount=args.pseudocount,
        fast=not args.no_patch, chunk_size=args.chunk_size,
    )  # fmt: skip
    bg = res["background"]
    print(
        f"calibrated on {res['n']} background allele(s) ({bg['kind']}: {bg['vcf']}) in {res['seconds']:.1f} s "
        f"({res['variants_per_s']:.0f} variants/s)\n  -> {res['out']}"
    )
    return 0


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "calibrate", _cmd_calibrate)
    p.add_argument("--model", required=True, help="model spec (the one you will score with)")
    p.add_argument("--genome", required=True, help="FASTA (with .fai)")
    p.add_argument("--out", required=True, help="the calibration: CAL.parquet")
    bg = p.add_mutually_exclusive_group(required=True)
    bg.add_argument("--vcf", help="background variants (VCF, VCF.gz or BCF), e.g. common variants")
    bg.add_argument(
        "--random", type=int, metavar="N", help="N random SNVs as the background (kept as OUT.background.vcf)"
    )
    p.add_argument("--chroms", nargs="+", help="with --random: contigs to draw from (default all)")
    p.add_argument("--seed", type=int, default=0, help="with --random: random seed (default 0)")
    p.add_argument("--blacklist", metavar="BED", help="with --random: regions to avoid (a BED, or hg38 / hg19 / mm10)")
    p.add_argument("--match-gc", metavar="VCF", help="with --random: match the GC content around this VCF's variants")
    _add_scoring_options(p)
    _add_batching_options(p)
    add_trust(p)


def _cmd_merge_scores(args: argparse.Namespace) -> int:
    """join the shards of a sharded score-variants run

    Concatenate the outputs of zoo score-variants --shard 1/N ... N/N in input order; every record must be in
    exactly one shard.
    """
    from zoo_tools.score import merge_scores

    n = merge_scores(args.shards, args.out)
    print(f"merged {len(args.shards)} shard(s), {n} rows -> {args.out}")
    return 0


def _add_scoring_options(p: argparse.ArgumentParser) -> None:
    """What is scored: tasks, bins, score kinds, strands."""
    add_tasks(p)
    p.add_argument(
        "--window-bins",
        type=int,
        default=0,
        help="output bins scored, centred on the variant's bin (default 0: all bins)",
    )
    p.add_argument(
        "--score",
        default="diff,log2fc",
        help="comma-separated score kinds: diff, log2fc, ref, alt, maxdiff, sad, l2, jsd (default diff,log2fc)",
    )
    p.add_argument("--pseudocount", type=float, default=1.0, help="pseudocount of log2fc (default 1)")
    rc = p.add_mutually_exclusive_group()
    rc.add_argument("--rc", dest="rc", action="store_true", default=True, help="average over both strands (default)")
    rc.add_argument("--no-rc", dest="rc", action="store_false", help="forward strand only")


def _add_batching_options(p: argparse.ArgumentParser) -> None:
    """Batches, chunks and the local patch (score-variants and calibrate)."""
    p.add_argument("--batch-size", type=int, default=64, help="windows per forward pass (default 64)")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=1024,
        help="alleles scored and written per chunk: the unit --resume restarts from (default 1024)",
    )
    p.add_argument(
        "--no-patch",
        action="store_true",
        help="always run full forward passes for the alternative allele (no local-patch shortcut)",
    )


def _add_running_options(p: argparse.ArgumentParser) -> None:
    """How it runs: batches, chunks and --resume, shards, devices."""
    _add_batching_options(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.partial.tsv")
    p.add_argument(
        "--shard", metavar="I/N", help="score records I-1, I-1+N, ... only (array jobs); join with zoo merge-scores"
    )
    p.add_argument(
        "--devices",
        default="1",
        type=_devices,
        help="devices per node: N, or 'auto' for all; more than one runs Lightning's predict loop on "
        "N processes (DDP) and gives the same output (default 1)",
    )
    p.add_argument(
        "--accelerator",
        default="auto",
        choices=["auto", "cpu", "gpu", "cuda", "mps"],
        help="device kind for --devices (default auto: GPUs when present)",
    )
    p.add_argument(
        "--num-nodes",
        type=int,
        default=1,
        help="nodes of a multi-node run (launch with srun/torchrun; OUT on a shared file system)",
    )


def _add_score_variants(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "score-variants", _cmd_score_variants)
    p.add_argument("--model", required=True, help="model spec (zoo, kipoi, local:DIR of a fine-tuned or siamese model)")
    p.add_argument("--vcf", required=True, help="VCF, VCF.gz or BCF")
    p.add_argument("--genome", required=True, help="FASTA (with .fai) of the VCF's build")
    p.add_argument("--out", required=True, help="output: .tsv, .tsv.gz, .parquet or .vcf.gz")
    p.add_argument(
        "--skip-malformed",
        action="store_true",
        help="report lines that are not VCF records as rows with status malformed (and their line "
        "number) and go on; default: stop at the first one, naming it",
    )
    p.add_argument(
        "--allow-build-mismatch",
        action="store_true",
        help="score even when the VCF header's ##contig lengths differ from the FASTA's on most contigs "
        "(another genome build; default: stop)",
    )
    _add_scoring_options(p)
    _add_calibration_options(p)
    _add_haplotype_options(p)
    _add_gene_options(p)
    _add_running_options(p)
    add_trust(p)


def _add_haplotype_options(p: argparse.ArgumentParser) -> None:
    """Phased haplotypes: rows per sample haplotype."""
    p.add_argument(
        "--haplotypes",
        action="store_true",
        help="score each sample's phased haplotypes: every ALT the haplotype carries in the window applied "
        "together; one row per (record, ALT, sample, haplotype) (a sorted VCF with genotypes)",
    )
    p.add_argument(
        "--samples",
        metavar="S1,S2,...",
        help="with --haplotypes: the samples scored, comma-separated or @FILE with one per line (default all)",
    )


def _add_calibration_options(p: argparse.ArgumentParser) -> None:
    """Calibrated scores: the background and the false discovery rate."""
    p.add_argument(
        "--calibration",
        metavar="CAL",
        help="a zoo calibrate file of this model: add each score's signed quantile and empirical p-value",
    )
    p.add_argument(
        "--fdr",
        type=float,
        metavar="LEVEL",
        help="with --calibration: add Benjamini-Hochberg q-values over the file (and report how many are <= LEVEL)",
    )


def _add_gene_options(p: argparse.ArgumentParser) -> None:
    """Gene-level effects: the annotation and how its genes are scored."""
    p.add_argument(
        "--genes",
        metavar="GTF",
        help="gene annotation (GTF or GFF3, gzip ok): one row per (record, ALT, gene) in the window, "
        "with gene_logSED per task",
    )
    p.add_argument(
        "--transcript",
        default="canonical",
        choices=["canonical", "union"],
        help="with --genes: the canonical transcript's exons (tagged, else the longest) or all transcripts' union",
    )
    p.add_argument(
        "--tss-bins", type=int, default=1, help="with --genes: the TSS signal sums the TSS bin +- K bins (1)"
    )
    p.add_argument(
        "--gene-signal",
        default="auto",
        choices=["auto", "exon", "tss"],
        help="with --genes: auto scores CAGE-like tasks (assay CAGE, TSS, PRO-cap) by the TSS signal and the "
        "others by exon coverage; exon or tss: one signal for every task (default auto)",
    )
    p.add_argument(
        "--no-indel-stitch",
        dest="indel_stitch",
        action="store_false",
        help="with --genes: compare indels' shifted alternative bins as they are (default: stitch an aligned "
        "prediction back from the variant's bin on, as baskerville)",
    )


def _add_merge_scores(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "merge-scores", _cmd_merge_scores)
    p.add_argument("shards", nargs="+", help="shard outputs (.tsv, .tsv.gz or .parquet)")
    p.add_argument("--out", required=True, help="merged output: .tsv, .tsv.gz or .parquet")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``score-variants`` and ``merge-scores`` to the subcommands ``sub`` of ``zoo``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``zoo`` parser.
    """
    _add_score_variants(sub)
    _add_calibrate(sub)
    _add_merge_scores(sub)
