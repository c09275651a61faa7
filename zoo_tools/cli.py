"""The ``zoo`` command line: a thin layer over library functions.

Each subcommand parses its options, calls one library function and prints where the results went.
A user mistake (:class:`~zoo_tools.core.errors.ZooError`) is printed as one line on stderr with exit
code 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from zoo_tools import __version__
from zoo_tools.core.errors import ZooError


def cmd_demo_data(args: argparse.Namespace) -> int:
    from zoo_tools.data.demo import DemoSpec, format_summary, make_demo_world

    summary = make_demo_world(args.out, DemoSpec(seed=args.seed))
    print(format_summary(summary))
    return 0


def cmd_check_data(args: argparse.Namespace) -> int:
    from zoo_tools.data.checks import check_data, format_check

    print(format_check(check_data(args.data, regions=args.regions, bin_size=args.bin_size)))
    return 0


def _print_json(obj) -> None:
    import json

    print(json.dumps(obj, indent=1, default=str))


def cmd_models(args: argparse.Namespace) -> int:
    from zoo_tools.zoo import cache, list_models

    rows = list_models(args.source)
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'spec':<48} {'cached':<7} {'seq_len':>8} {'bin':>5} {'tasks':>6}  name")
    for r in rows:
        print(f"{r['spec']:<48} {'yes' if r['cached'] else 'no':<7} {r.get('seq_len') or '-':>8} "
              f"{r.get('bin_size') or '-':>5} {r.get('tasks') or '-':>6}  {r.get('name', '')}")
    print(f"\ncache: {cache.zoo_home()} (set ZOO_HOME to move it)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from zoo_tools.zoo import load_model

    model = load_model(args.spec, trust=args.trust_checkpoint)
    card = model.card
    if args.json:
        _print_json(card.to_dict())
        return 0
    print(card.summary())
    n_params = sum(p.numel() for p in model.parameters())
    print(f"  params   : {n_params:,}")
    print(f"\ntasks ({card.n_tasks}):")
    shown = card.tasks.head(args.max_tasks)
    print(shown.to_string(index=False))
    if card.n_tasks > args.max_tasks:
        print(f"... {card.n_tasks - args.max_tasks} more (--max-tasks N, or --json for all)")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from zoo_tools.zoo import fetch

    print(f"{args.spec}: {fetch(args.spec)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from zoo_tools.zoo import import_model

    card = import_model(args.path, args.name, trust=args.trust_checkpoint)
    print(f"imported {args.path} as '{args.name}' ({card.n_tasks} tasks, {card.seq_len:,} bp input); "
          f"load it with `zoo info {args.name}` or load_model('{args.name}')")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from zoo_tools.score.regions import predict_regions

    out = predict_regions(args.spec, args.genome, args.regions, args.out, tasks=args.tasks,
                          batch_size=args.batch_size, rc_average=args.rc, precision=args.precision,
                          trust=args.trust_checkpoint)
    print(out)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from zoo_tools.train.config import load_recipe
    from zoo_tools.train.finetune import run, summary

    recipe = load_recipe(args.recipe, args.set)
    metrics = run(recipe, args.out)
    if "test" in metrics:
        if metrics.get("head") == "siamese":
            from zoo_tools.train.siamese import summary
        elif metrics.get("head") == "celltype":
            from zoo_tools.train.celltype import summary
        print(summary(metrics, args.out))
    return 0


def _devices(text: str) -> int | str:
    if text == "auto" or text == "-1":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of devices >= 1 or 'auto'")
    return int(text)


def cmd_score_variants(args: argparse.Namespace) -> int:
    from zoo_tools.data.genome import Genome
    from zoo_tools.score.scoring import output_format, parse_scores, parse_shard, score_vcf
    from zoo_tools.zoo import load_model

    output_format(args.out)
    kinds, shard = parse_scores(args.score), parse_shard(args.shard)
    if args.batch_size < 1 or args.window_bins < 0:
        raise ZooError("--batch-size must be >= 1 and --window-bins >= 0")
    genome = Genome(args.genome)
    model = load_model(args.model, trust=args.trust_checkpoint)
    res = score_vcf(model, args.vcf, genome, args.out, tasks=args.tasks, kinds=kinds, window_bins=args.window_bins,
                    rc=args.rc, batch_size=args.batch_size, resume=args.resume, shard=shard,
                    chunk_size=args.chunk_size, pseudocount=args.pseudocount, fast=not args.no_patch,
                    devices=args.devices, accelerator=args.accelerator, num_nodes=args.num_nodes)
    if "rank" in res:  # a worker process of a multi-device run; rank 0 reports
        return 0
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(res["statuses"].items(), key=lambda kv: kv[0] != "ok"))
    resumed = f" (resumed after {res['resumed_after']} rows)" if args.resume and res["resumed_after"] > 0 else ""
    print(f"scored {res['rows']} allele(s) of {args.vcf}{resumed}: {statuses}\n  -> {res['out']}")
    return 0


def cmd_merge_scores(args: argparse.Namespace) -> int:
    from zoo_tools.score.scoring import merge_scores

    n = merge_scores(args.shards, args.out)
    print(f"merged {len(args.shards)} shard(s), {n} rows -> {args.out}")
    return 0


def _explain_inputs(args: argparse.Namespace):
    from zoo_tools.data.genome import Genome
    from zoo_tools.zoo import load_model

    model = load_model(args.model, trust=args.trust_checkpoint)
    genome = Genome(args.genome) if getattr(args, "genome", None) else None
    return model, genome


def cmd_interpret(args: argparse.Namespace) -> int:
    from zoo_tools.interpret import commands

    if args.batch_size < 1 or args.window_bins < 0:
        raise ZooError("--batch-size must be >= 1 and --window-bins >= 0")
    model, genome = _explain_inputs(args)
    if args.what == "ism":
        res = commands.run_ism(model, args.out, genome, args.regions, args.seq, args.tasks, args.window_bins,
                               args.start, args.end, args.batch_size, fast=not args.no_fast)
        print(f"ISM of {res['inputs']} input(s), positions {res['window'][0]}-{res['window'][1]}: {res['mutants']} "
              f"mutants x {res['tasks']} task(s)\n  -> {args.out}/ism.npz, {len(res['pngs'])} plot(s)")
    elif args.what == "attributions":
        res = commands.run_attributions(model, args.out, args.method, genome, args.regions, args.seq, args.tasks,
                                        args.window_bins, args.scale, args.shuffles, args.batch_size, args.seed)
        delta = f"; max |convergence delta| {res['max_abs_delta']:.2g}" if "max_abs_delta" in res else ""
        print(f"{args.method} attributions of {res['inputs']} input(s) for {res['task']} ({res['scale']} scale)"
              f"{delta}\n  -> {args.out}/attributions.npz, {len(res['pngs'])} logo(s)")
    elif args.what == "marginalize":
        if genome is None:
            raise ZooError("marginalize needs --genome (backgrounds are shuffled windows of it)")
        spacings = [int(v) for v in args.spacings.split(",")] if args.spacings else [0]
        res = commands.run_marginalize(model, genome, args.motif, args.out, args.backgrounds, spacings,
                                       args.motif_db, args.tasks, args.window_bins, args.seed, args.batch_size)
        t = res["table"]
        print(f"{t.motif.iat[0]} in {int(t.n_backgrounds.iat[0])} shuffled backgrounds:")
        print(t.drop(columns=["motif", "n_backgrounds"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"  -> {args.out}/marginalize.tsv, marginalize.png")
    else:
        if genome is None:
            raise ZooError("modisco needs --genome")
        res = commands.run_modisco(model, genome, args.peaks, args.out, args.method, args.tasks, args.window_bins,
                                   args.window, args.max_peaks, args.shuffles, args.motif_db, args.max_seqlets,
                                   args.seed, args.batch_size)
        t = res["table"]
        print(f"TF-MoDISco over {res['peaks']} peak(s): {res['patterns']} pattern(s)")
        if len(t):
            print(t.to_string(index=False, float_format=lambda v: f"{v:.2g}"))
        print(f"  -> {res['report']}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from zoo_tools.report import build_index

    path, summary = build_index(args.folder, args.title)
    print(summary + f"\n  -> {path}")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from zoo_tools.train.tune import run_tune, summary

    table = run_tune(args.recipe, args.space, args.trials, args.out, sets=args.set, address=args.address,
                     cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial)
    print(summary(table, args.out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Pretrained genomics models (gReLU zoo, Kipoi, Enformer, Borzoi, BPNet): "
                    "fine-tune on your tracks, score VCFs, interpret.",
        epilog="Run `zoo COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"zoo_tools {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo-data", help="write the planted-truth demo world (genome, tracks, peaks, VCF)",
                       description="Write the demo world: a ~1 Mb genome with planted TF motifs, "
                                   "ATAC/H3K27ac bigWigs of 3 cell types, narrowPeaks, data.yaml, a VCF "
                                   "and the ground truth (truth/, allelic/). Deterministic for a seed.")
    p.add_argument("out", help="output folder (created)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("check-data", help="validate a data YAML and the files it names",
                       description="Validate a data YAML: keys, files, genome index, bigWig contigs "
                                   "(through chr1/1 aliases), peak files and chromosome splits; print a "
                                   "summary of tracks and contigs per split.")
    p.add_argument("data", help="data YAML (see README: 'Bring your own ENCODE files')")
    p.add_argument("--regions", metavar="BED", help="also read every track over these regions (BED/narrowPeak)")
    p.add_argument("--bin-size", type=int, default=32, help="bin size for --regions (default 32)")
    p.set_defaults(func=cmd_check_data)

    trust_help = "allow checkpoints that need full unpickling (can run code: only for files you trust)"
    p = sub.add_parser("models", help="list known models (catalog + imported) with their cache status",
                       description="List the model catalog (zoo_tools/zoo/catalog.yaml) and imported models, with "
                                   "whether "
                                   "each is in the cache ($ZOO_HOME).")
    p.add_argument("--source", help="only this source (grelu, kipoi, enformer, borzoi, bpnet, demo, import)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("info", help="print a model's card and task table",
                       description="Load a model and print its card: source, input length, bins, tasks, genome, "
                                   "weights and sha256, training chromosomes, recorded metrics.")
    p.add_argument("spec", help="model spec, e.g. demo:base, grelu:Genentech/human-atac-catlas-model, local:DIR")
    p.add_argument("--json", action="store_true", help="print the card as JSON (all tasks)")
    p.add_argument("--max-tasks", type=int, default=20, help="tasks to show in the table (default 20)")
    p.add_argument("--trust-checkpoint", action="store_true", help=trust_help)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("fetch", help="download a model into the cache (networked machine)",
                       description="Download a model into $ZOO_HOME and record its sha256 (demo:base is trained "
                                   "instead). Offline this fails with what to do instead.")
    p.add_argument("spec", help="model spec")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("import", help="register a local checkpoint under a name",
                       description="Register a checkpoint written by zoo_tools or gReLU (file or folder with "
                                   "model.ckpt) under NAME, usable as a spec afterwards.")
    p.add_argument("path", help="checkpoint file or folder")
    p.add_argument("--name", required=True, help="name to load it by")
    p.add_argument("--trust-checkpoint", action="store_true", help=trust_help)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("predict", help="predict tracks over regions (h5, npz or bigWig output)",
                       description="Predict every task over the regions of a BED file (each re-centred to the "
                                   "model's input length). OUT.h5 / OUT.npz hold the arrays and coordinates; "
                                   "OUT.bw writes one bigWig per task (OUT.<task>.bw).")
    p.add_argument("spec", help="model spec")
    p.add_argument("--genome", required=True, help="FASTA (with .fai)")
    p.add_argument("--regions", required=True, help="BED / narrowPeak of regions")
    p.add_argument("--out", required=True, help="output file: .h5, .npz or .bw")
    p.add_argument("--tasks", nargs="+", help="task names or regular expressions (default: all)")
    p.add_argument("--batch-size", type=int, default=64, help="sequences per batch (default 64)")
    p.add_argument("--rc", action="store_true", help="average with the reverse-complement prediction")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="compute precision (default fp32)")
    p.add_argument("--trust-checkpoint", action="store_true", help=trust_help)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("score-variants", help="score the variants of a VCF with a model",
                       description="Predict every ALT allele of a VCF (multi-allelic records split) against its "
                                   "reference, centred in the model's window, and write one row per allele in input "
                                   "order with a status and per-task scores. OUT: .tsv, .tsv.gz, .parquet or "
                                   ".vcf.gz (scores as INFO fields).")
    p.add_argument("--model", required=True, help="model spec (zoo, kipoi, local:DIR of a fine-tuned or siamese model)")
    p.add_argument("--vcf", required=True, help="VCF, VCF.gz or BCF")
    p.add_argument("--genome", required=True, help="FASTA (with .fai) of the VCF's build")
    p.add_argument("--out", required=True, help="output: .tsv, .tsv.gz, .parquet or .vcf.gz")
    p.add_argument("--tasks", nargs="+", help="task names or regular expressions (default: all)")
    p.add_argument("--window-bins", type=int, default=0,
                   help="output bins scored, centred on the variant's bin (default 0: all bins)")
    p.add_argument("--score", default="diff,log2fc",
                   help="comma-separated score kinds: diff, log2fc, ref, alt, maxdiff (default diff,log2fc)")
    p.add_argument("--pseudocount", type=float, default=1.0, help="pseudocount of log2fc (default 1)")
    rc = p.add_mutually_exclusive_group()
    rc.add_argument("--rc", dest="rc", action="store_true", default=True,
                    help="average over both strands (default)")
    rc.add_argument("--no-rc", dest="rc", action="store_false", help="forward strand only")
    p.add_argument("--batch-size", type=int, default=64, help="windows per forward pass (default 64)")
    p.add_argument("--chunk-size", type=int, default=1024,
                   help="alleles scored and written per chunk: the unit --resume restarts from (default 1024)")
    p.add_argument("--no-patch", action="store_true",
                   help="always run full forward passes for the alternative allele (no local-patch shortcut)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.partial.tsv")
    p.add_argument("--shard", metavar="I/N", help="score records I-1, I-1+N, ... only (array jobs); join with "
                                                 "zoo merge-scores")
    p.add_argument("--devices", default="1", type=_devices,
                   help="devices per node: N, or 'auto' for all; more than one runs Lightning's predict loop on "
                        "N processes (DDP) and gives the same output (default 1)")
    p.add_argument("--accelerator", default="auto", choices=["auto", "cpu", "gpu", "cuda", "mps"],
                   help="device kind for --devices (default auto: GPUs when present)")
    p.add_argument("--num-nodes", type=int, default=1,
                   help="nodes of a multi-node run (launch with srun/torchrun; OUT on a shared file system)")
    p.add_argument("--trust-checkpoint", action="store_true", help=trust_help)
    p.set_defaults(func=cmd_score_variants)

    p = sub.add_parser("merge-scores", help="join the shards of a sharded score-variants run",
                       description="Concatenate the outputs of zoo score-variants --shard 1/N ... N/N in input "
                                   "order; every record must be in exactly one shard.")
    p.add_argument("shards", nargs="+", help="shard outputs (.tsv, .tsv.gz or .parquet)")
    p.add_argument("--out", required=True, help="merged output: .tsv, .tsv.gz or .parquet")
    p.set_defaults(func=cmd_merge_scores)

    p = sub.add_parser("interpret", help="explain a model: ism, attributions, marginalize, modisco",
                       description="Explain what a model learned. Each method reduces the model's output to one "
                                   "number per sequence and task: the mean over --window-bins centre bins (default "
                                   "all) of the --tasks selected (default all).")
    isub = p.add_subparsers(dest="what", metavar="METHOD", required=True)
    methods = ("ism", "saliency", "input_x_gradient", "deepliftshap")  # zoo_tools.interpret.attributions.METHODS

    def explain_args(q, inputs: bool = True):
        q.add_argument("--model", required=True, help="model spec (zoo, kipoi, local:DIR ...)")
        q.add_argument("--out", required=True, help="output folder")
        q.add_argument("--tasks", nargs="+", help="task names or regular expressions (default: all)")
        q.add_argument("--window-bins", type=int, default=0,
                       help="output bins averaged, centred on the window (default 0: all bins)")
        q.add_argument("--batch-size", type=int, default=64, help="sequences per forward pass (default 64)")
        q.add_argument("--seed", type=int, default=0, help="random seed (shuffles, backgrounds; default 0)")
        q.add_argument("--trust-checkpoint", action="store_true", help=trust_help)
        if inputs:
            q.add_argument("--genome", help="FASTA (with .fai) for --regions")
            src = q.add_mutually_exclusive_group(required=True)
            src.add_argument("--regions", help="BED/narrowPeak: a model-length window centred on each region "
                                               "(summit for narrowPeak)")
            src.add_argument("--seq", nargs="+", help="literal sequences of exactly the model's input length")

    q = isub.add_parser("ism", help="saturation mutagenesis: every single-base change, effect per task",
                        description="In-silico saturation mutagenesis (3 x W mutants per input), with an exact "
                                    "fast path for convolutional models. Writes ism.npz, regions.tsv and a "
                                    "heatmap + logo PNG per input.")
    explain_args(q)
    q.add_argument("--start", type=int, help="first mutated position in the window (default: region start)")
    q.add_argument("--end", type=int, help="end of the mutated positions (default: region end)")
    q.add_argument("--no-fast", action="store_true", help="plain forward passes for every mutant")
    q.set_defaults(func=cmd_interpret, batch_size=256)

    q = isub.add_parser("attributions", help="attribution maps: ism, saliency, input_x_gradient, deepliftshap",
                        description="Per-base attributions for the mean of the selected tasks. Writes "
                                    "attributions.npz (hypothetical, contrib, one_hot, deltas), regions.tsv and "
                                    "a logo per input.")
    explain_args(q)
    q.add_argument("--method", default="deepliftshap", choices=methods, help="default deepliftshap")
    q.add_argument("--scale", choices=["output", "raw"],
                   help="explain the model's output or the head's output before its activation (raw: log rate of "
                        "a Poisson model). Default: raw for gradient methods, output for ism")
    q.add_argument("--shuffles", type=int, default=20, help="dinucleotide-shuffled references (default 20)")
    q.set_defaults(func=cmd_interpret)

    q = isub.add_parser("marginalize", help="effect of inserting a motif into shuffled backgrounds",
                        description="Insert a motif (or two, at --spacings) at the centre of dinucleotide-shuffled "
                                    "genome windows and report the effect per task with a 95%% CI. Writes "
                                    "marginalize.tsv and marginalize.png.")
    explain_args(q, inputs=False)
    q.add_argument("--genome", required=True, help="FASTA: backgrounds are shuffled random windows of it")
    q.add_argument("--motif", action="append", required=True,
                   help="motif name (resolved in --motif-db) or consensus ACGT; twice for a pair")
    q.add_argument("--motif-db", default="jaspar", help="jaspar, h12, h13 (gReLU's MEME files) or a MEME file")
    q.add_argument("--spacings", help="comma-separated bp between the two motifs of a pair (default 0)")
    q.add_argument("--backgrounds", type=int, default=100, help="number of backgrounds (default 100)")
    q.set_defaults(func=cmd_interpret)

    q = isub.add_parser("modisco", help="TF-MoDISco patterns over peaks, named by TOMTOM",
                        description="Attributions over peak-centred windows, modisco-lite on their central "
                                    "--window bp, patterns matched to --motif-db by tomtom-lite. Writes "
                                    "modisco.h5, motifs.tsv, report.html and attributions.npz.")
    explain_args(q, inputs=False)
    q.add_argument("--genome", required=True, help="FASTA (with .fai)")
    q.add_argument("--peaks", required=True, nargs="+",
                   help="BED/narrowPeak file(s) of the peaks to explain (several: joined, duplicates once)")
    q.add_argument("--method", default="deepliftshap", choices=methods, help="default deepliftshap")
    q.add_argument("--window", type=int, default=400, help="central bp of each window given to modisco (400)")
    q.add_argument("--max-peaks", type=int, default=2000, help="explain at most this many peaks (2000)")
    q.add_argument("--shuffles", type=int, default=10, help="DeepLIFT/SHAP references per peak (default 10)")
    q.add_argument("--motif-db", default="jaspar", help="jaspar, h12, h13 or a MEME file")
    q.add_argument("--max-seqlets", type=int, default=2000, help="seqlets per metacluster (default 2000)")
    q.set_defaults(func=cmd_interpret)

    p = sub.add_parser("report", help="one index.html over a folder of zoo outputs",
                       description="Find fine-tuning runs, variant scores, ISM, marginalisation and TF-MoDISco "
                                   "outputs under FOLDER and write FOLDER/index.html linking their metrics, plots "
                                   "and tables; print a summary.")
    p.add_argument("folder", help="folder the zoo commands wrote into (e.g. demo_out)")
    p.add_argument("--title", default="zoo_tools report", help="page title")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("finetune", help="fine-tune a model on your tracks with a recipe",
                       description="Run a fine-tuning recipe (recipes/*.yaml): a new head on a zoo model's trunk "
                                   "(multitask: every track of the data YAML; siamese: allelic imbalance from the "
                                   "two alleles; celltype: another assay from sequence + a cell type's ATAC), "
                                   "trained with chromosome splits. Writes model.ckpt (load with local:OUT), "
                                   "metrics.json, log.csv, curves.png, pred_vs_obs.png and config.yaml into OUT.")
    p.add_argument("recipe", help="recipe YAML, e.g. recipes/multitask_encode.yaml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE",
                   help="override recipe keys, e.g. --set data=my_data.yaml train.epochs=3 (repeatable)")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("tune", help="hyper-parameter search over a recipe (Ray Tune, ASHA)",
                       description="Sample recipe settings from a space YAML, run each trial with Ray Tune and stop "
                                   "the poor ones early with ASHA. Writes trials.tsv and best_config.yaml (run it "
                                   "with zoo finetune) into OUT.")
    p.add_argument("recipe", help="recipe YAML, e.g. recipes/multitask_encode.yaml")
    p.add_argument("--space", required=True, help="search space YAML, e.g. configs/tune/multitask_space.yaml")
    p.add_argument("--trials", type=int, default=8, help="number of sampled trials (default 8)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--address", help="Ray cluster address (e.g. ray://head:10001 or auto); default: a local Ray")
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs reserved per trial (default 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPUs reserved per trial (default 0)")
    p.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE",
                   help="recipe overrides applied to every trial, e.g. --set train.epochs=4")
    p.set_defaults(func=cmd_tune)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ZooError as err:
        print(f"zoo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
