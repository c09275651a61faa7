"""``zoo interpret ism | attributions | marginalize | modisco``: what a model learned.

Each subcommand reduces the model's output to one number per sequence and task (``--tasks``,
``--window-bins``), calls one function of :mod:`zoo_tools.interpret.commands` and prints where the
results went.
"""

from __future__ import annotations

import argparse

from zoo_tools.cli._args import add_command, add_tasks, add_trust, check_batching


def _explained_inputs(args: argparse.Namespace):
    """Check the batching options, then load ``--model`` and ``--genome`` (None when not given)."""
    from zoo_tools.data.genome import Genome
    from zoo_tools.zoo import load_model

    check_batching(args)
    model = load_model(args.model, trust=args.trust_checkpoint)
    genome = Genome(args.genome) if getattr(args, "genome", None) else None
    return model, genome


def _cmd_ism(args: argparse.Namespace) -> int:
    """saturation mutagenesis: every single-base change, effect per task

    In-silico saturation mutagenesis (3 x W mutants per input), with an exact fast path for convolutional
    models. Writes ism.npz, regions.tsv and a heatmap + logo PNG per input.
    """
    from zoo_tools.interpret import commands

    model, genome = _explained_inputs(args)
    res = commands.run_ism(
        model,
        args.out,
        genome,
        args.regions,
        args.seq,
        args.tasks,
        args.window_bins,
        args.start,
        args.end,
        args.batch_size,
        fast=not args.no_fast,
        bigwig=(args.track_url or True) if args.bigwig else False,
    )
    print(
        f"ISM of {res['inputs']} input(s), positions {res['window'][0]}-{res['window'][1]}: {res['mutants']} "
        f"mutants x {res['tasks']} task(s)\n  -> {args.out}/ism.npz, {len(res['pngs'])} plot(s)" + _tracks_line(res)
    )
    return 0


def _tracks_line(res: dict) -> str:
    """The bigWig files written, and where the browser text is."""
    files = res.get("tracks") or []
    bws = [f for f in files if f.endswith(".bw")]
    return f"\n  -> {len(bws)} bigWig(s), browser tracks in {files[-2]}" if files else ""


def _cmd_attributions(args: argparse.Namespace) -> int:
    """attribution maps: ism, saliency, input_x_gradient, deepliftshap

    Per-base attributions for the mean of the selected tasks. Writes attributions.npz (hypothetical, contrib,
    one_hot, deltas), regions.tsv and a logo per input.
    """
    from zoo_tools.interpret import commands

    model, genome = _explained_inputs(args)
    res = commands.run_attributions(
        model,
        args.out,
        args.method,
        genome,
        args.regions,
        args.seq,
        args.tasks,
        args.window_bins,
        args.scale,
        args.shuffles,
        args.batch_size,
        args.seed,
        bigwig=(args.track_url or True) if args.bigwig else False,
    )
    delta = ""
    if "max_abs_delta" in res:
        delta = (
            f"; max |convergence delta| {res['max_abs_delta']:.2g} ({res['relative_delta']:.2g} of the output range)"
        )
        delta += "".join(f"\n  no exact DeepLIFT rule, integrated gradients: {f}" for f in res["fallbacks"])
    print(
        f"{args.method} attributions of {res['inputs']} input(s) for {res['task']} ({res['scale']} scale)"
        f"{delta}\n  -> {args.out}/attributions.npz, {len(res['pngs'])} logo(s)" + _tracks_line(res)
    )
    return 0


def _cmd_marginalize(args: argparse.Namespace) -> int:
    """effect of inserting a motif into shuffled backgrounds

    Insert a motif (or two, at --spacings) at the centre of dinucleotide-shuffled genome windows and report the
    effect per task with a 95% CI. Writes marginalize.tsv and marginalize.png.
    """
    from zoo_tools.core.errors import ZooError
    from zoo_tools.interpret import commands

    model, genome = _explained_inputs(args)
    if genome is None:
        raise ZooError("marginalize needs --genome (backgrounds are shuffled windows of it)")
    spacings = [int(v) for v in args.spacings.split(",")] if args.spacings else [0]
    res = commands.run_marginalize(
        model,
        genome,
        args.motif,
        args.out,
        args.backgrounds,
        spacings,
        args.motif_db,
        args.tasks,
        args.window_bins,
        args.seed,
        args.batch_size,
    )
    t = res["table"]
    print(f"{t.motif.iat[0]} in {int(t.n_backgrounds.iat[0])} shuffled backgrounds:")
    print(t.drop(columns=["motif", "n_backgrounds"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"  -> {args.out}/marginalize.tsv, marginalize.png")
    return 0


def _cmd_modisco(args: argparse.Namespace) -> int:
    """TF-MoDISco patterns over peaks, named by TOMTOM

    Attributions over peak-centred windows, modisco-lite on their central --window bp, patterns matched to
    --motif-db by tomtom-lite. Writes modisco.h5, motifs.tsv, report.html and attributions.npz.
    """
    from zoo_tools.core.errors import ZooError
    from zoo_tools.interpret import commands

    model, genome = _explained_inputs(args)
    if genome is None:
        raise ZooError("modisco needs --genome")
    res = commands.run_modisco(
        model,
        genome,
        args.peaks,
        args.out,
        args.method,
        args.tasks,
        args.window_bins,
        args.window,
        args.max_peaks,
        args.shuffles,
        args.motif_db,
        args.max_seqlets,
        args.seed,
        args.batch_size,
        _naming(args),
    )
    t = res["table"]
    named = sorted(set(t.name[t.status == "named"])) if len(t) else []
    print(
        f"TF-MoDISco over {res['peaks']} peak(s): {res['patterns']} pattern(s), {len(named)} motif(s) named: "
        f"{', '.join(named) or 'none'}"
    )
    if len(t):
        cols = ["pattern", "n_seqlets", "information", "match_1", "q_1", "fdr_1", "status", "reason"]
        print(t[cols].to_string(index=False, float_format=lambda v: f"{v:.2g}"))
    print(f"  -> {res['report']}")
    return 0


def _naming(args: argparse.Namespace):
    """The ``--min-seqlets`` ... ``--ambiguity`` options as NamingRules (``--seed`` seeds the null)."""
    from zoo_tools.interpret.motif_naming import NamingRules

    return NamingRules(
        min_seqlets=args.min_seqlets,
        min_seqlet_fraction=args.min_seqlet_fraction,
        min_information=args.min_information,
        max_q=args.max_q,
        max_fdr=args.max_fdr,
        n_shuffles=args.null_shuffles,
        ambiguity=args.ambiguity,
        seed=args.seed,
    )


def _add_explain_options(q: argparse.ArgumentParser) -> None:
    """The options every method shares: model, output, what is explained, batching, seed."""
    q.add_argument("--model", required=True, help="model spec (zoo, kipoi, local:DIR ...)")
    q.add_argument("--out", required=True, help="output folder")
    add_tasks(q)
    q.add_argument(
        "--window-bins", type=int, default=0, help="output bins averaged, centred on the window (default 0: all bins)"
    )
    q.add_argument("--batch-size", type=int, default=64, help="sequences per forward pass (default 64)")
    q.add_argument("--seed", type=int, default=0, help="random seed (shuffles, backgrounds; default 0)")
    add_trust(q)


def _add_inputs(q: argparse.ArgumentParser) -> None:
    """The inputs of ism and attributions: regions of ``--genome`` or literal sequences; bigWigs."""
    q.add_argument("--bigwig", action="store_true", help="also write per-base bigWig tracks over the regions")
    q.add_argument(
        "--track-url", help="with --bigwig: the URL the output folder will be served at (written into tracks.txt)"
    )
    q.add_argument("--genome", help="FASTA (with .fai) for --regions")
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--regions", help="BED/narrowPeak: a model-length window centred on each region (summit for narrowPeak)"
    )
    src.add_argument("--seq", nargs="+", help="literal sequences of exactly the model's input length")


def _add_ism(isub: argparse._SubParsersAction) -> None:
    q = add_command(isub, "ism", _cmd_ism)
    _add_explain_options(q)
    _add_inputs(q)
    q.add_argument("--start", type=int, help="first mutated position in the window (default: region start)")
    q.add_argument("--end", type=int, help="end of the mutated positions (default: region end)")
    q.add_argument("--no-fast", action="store_true", help="plain forward passes for every mutant")
    q.set_defaults(batch_size=256)


def _add_attributions(isub: argparse._SubParsersAction, methods: tuple[str, ...]) -> None:
    q = add_command(isub, "attributions", _cmd_attributions)
    _add_explain_options(q)
    _add_inputs(q)
    q.add_argument("--method", default="deepliftshap", choices=methods, help="default deepliftshap")
    q.add_argument(
        "--scale",
        choices=["output", "raw"],
        help="explain the model's output or the head's output before its activation (raw: log rate of "
        "a Poisson model). Default: raw for gradient methods, output for ism",
    )
    q.add_argument("--shuffles", type=int, default=20, help="dinucleotide-shuffled references (default 20)")


def _add_marginalize(isub: argparse._SubParsersAction) -> None:
    q = add_command(isub, "marginalize", _cmd_marginalize)
    _add_explain_options(q)
    q.add_argument("--genome", required=True, help="FASTA: backgrounds are shuffled random windows of it")
    motif = "motif name (resolved in --motif-db) or consensus ACGT; twice for a pair"
    q.add_argument("--motif", action="append", required=True, help=motif)
    q.add_argument("--motif-db", default="jaspar", help="jaspar, h12, h13 (gReLU's MEME files) or a MEME file")
    q.add_argument("--spacings", help="comma-separated bp between the two motifs of a pair (default 0)")
    q.add_argument("--backgrounds", type=int, default=100, help="number of backgrounds (default 100)")


def _add_modisco(isub: argparse._SubParsersAction, methods: tuple[str, ...]) -> None:
    q = add_command(isub, "modisco", _cmd_modisco)
    _add_explain_options(q)
    q.add_argument("--genome", required=True, help="FASTA (with .fai)")
    peaks = "BED/narrowPeak file(s) of the peaks to explain (several: joined, duplicates once)"
    q.add_argument("--peaks", required=True, nargs="+", help=peaks)
    q.add_argument("--method", default="deepliftshap", choices=methods, help="default deepliftshap")
    q.add_argument("--window", type=int, default=400, help="central bp of each window given to modisco (400)")
    q.add_argument("--max-peaks", type=int, default=2000, help="explain at most this many peaks (2000)")
    q.add_argument("--shuffles", type=int, default=10, help="DeepLIFT/SHAP references per peak (default 10)")
    q.add_argument("--motif-db", default="jaspar", help="jaspar, h12, h13 or a MEME file")
    q.add_argument("--max-seqlets", type=int, default=2000, help="seqlets per metacluster (default 2000)")
    _add_naming(q)


def _add_naming(q: argparse.ArgumentParser) -> None:
    """When a pattern is named (zoo_tools.interpret.motif_naming; README: TF-MoDISco)."""
    from zoo_tools.interpret.motif_naming import NamingRules

    d = NamingRules()
    add = q.add_argument
    add("--min-seqlets", type=int, default=d.min_seqlets, help=f"seqlets a named pattern has (default {d.min_seqlets})")
    add(
        "--min-seqlet-fraction",
        type=float,
        default=d.min_seqlet_fraction,
        help=f"... and this fraction of the largest pattern's seqlets (default {d.min_seqlet_fraction})",
    )
    add("--min-information", type=float, default=d.min_information, help="bits in the trimmed core (default 6)")
    add("--max-q", type=float, default=d.max_q, help="TOMTOM q-value of the best match (default 0.05)")
    add("--max-fdr", type=float, default=d.max_fdr, help="empirical FDR vs the core's column shuffles (default 0.05)")
    add("--null-shuffles", type=int, default=d.n_shuffles, help="column shuffles of each core, the null (default 200)")
    add("--ambiguity", type=float, default=d.ambiguity, help="log10 p gap below which rival matches are ambiguous (1)")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``interpret`` and its methods (ism, attributions, marginalize, modisco) to the subcommands ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``zoo`` parser.
    """
    p = sub.add_parser(
        "interpret",
        help="explain a model: ism, attributions, marginalize, modisco",
        description="Explain what a model learned. Each method reduces the model's output to one "
        "number per sequence and task: the mean over --window-bins centre bins (default "
        "all) of the --tasks selected (default all).",
    )
    isub = p.add_subparsers(dest="what", metavar="METHOD", required=True)
    from zoo_tools.interpret.methods import METHODS as methods

    _add_ism(isub)
    _add_attributions(isub, methods)
    _add_marginalize(isub)
    _add_modisco(isub, methods)
