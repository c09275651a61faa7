"""``zoo models / info / fetch / import / predict``: the model zoo and predictions over regions."""

from __future__ import annotations

import argparse

from zoo_tools.cli._args import add_command, add_tasks, add_trust


def _print_json(obj) -> None:
    import json

    print(json.dumps(obj, indent=1, default=str))


def _cmd_models(args: argparse.Namespace) -> int:
    """list known models (catalog + imported) with their cache status

    List the model catalog (zoo_tools/zoo/catalog.yaml) and imported models, with whether each is in the cache
    ($ZOO_HOME).
    """
    from zoo_tools.zoo import cache, list_models

    rows = list_models(args.source)
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'spec':<48} {'cached':<7} {'seq_len':>8} {'bin':>5} {'tasks':>6}  name")
    for r in rows:
        print(
            f"{r['spec']:<48} {'yes' if r['cached'] else 'no':<7} {r.get('seq_len') or '-':>8} "
            f"{r.get('bin_size') or '-':>5} {r.get('tasks') or '-':>6}  {r.get('name', '')}"
        )
    print(f"\ncache: {cache.zoo_home()} (set ZOO_HOME to move it)")
    return 0


def _print_card(model, max_tasks: int) -> None:
    card = model.card
    print(card.summary())
    n_params = sum(p.numel() for p in model.parameters())
    print(f"  params   : {n_params:,}")
    print(f"\ntasks ({card.n_tasks}):")
    print(card.tasks.head(max_tasks).to_string(index=False))
    if card.n_tasks > max_tasks:
        print(f"... {card.n_tasks - max_tasks} more (--max-tasks N, or --json for all)")


def _cmd_info(args: argparse.Namespace) -> int:
    """print a model's card and task table

    Load a model and print its card: source, input length, bins, tasks, genome, weights and sha256, training
    chromosomes, recorded metrics.
    """
    from zoo_tools.zoo import load_model

    model = load_model(args.spec, trust=args.trust_checkpoint)
    if args.json:
        _print_json(model.card.to_dict())
    else:
        _print_card(model, args.max_tasks)
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    """download a model into the cache (networked machine)

    Download a model into $ZOO_HOME and record its sha256 (demo:base is trained instead). Offline this fails
    with what to do instead.
    """
    from zoo_tools.zoo import fetch

    print(f"{args.spec}: {fetch(args.spec)}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    """register a local checkpoint under a name

    Register a checkpoint written by zoo_tools or gReLU (file or folder with model.ckpt) under NAME, usable as a
    spec afterwards.
    """
    from zoo_tools.zoo import import_model

    card = import_model(args.path, args.name, trust=args.trust_checkpoint)
    print(
        f"imported {args.path} as '{args.name}' ({card.n_tasks} tasks, {card.seq_len:,} bp input); "
        f"load it with `zoo info {args.name}` or load_model('{args.name}')"
    )
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    """predict tracks over regions (h5, npz or bigWig output) or genes (a gene-level table)

    Predict every task over the regions of a BED file (each re-centred to the model's input length). OUT.h5 /
    OUT.npz hold the arrays and coordinates; OUT.bw writes one bigWig per task (OUT.<task>.bw). With --genes
    GTF, one row per gene and task (OUT.tsv, .tsv.gz or .parquet): the TSS signal, the exon signal and the
    share of the gene's exons the window covers.
    """
    from zoo_tools.score import predict_regions

    how = dict(tasks=args.tasks, batch_size=args.batch_size, rc_average=args.rc, precision=args.precision)
    if args.genes:
        from zoo_tools.score.genes import predict_genes

        how.update(k=args.tss_bins, trust=args.trust_checkpoint)
        print(predict_genes(args.spec, args.genome, args.genes, args.out, transcript=args.transcript, **how))
        return 0
    out = predict_regions(args.spec, args.genome, args.regions, args.out, trust=args.trust_checkpoint, **how)
    print(out)
    return 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "models", _cmd_models)
    p.add_argument("--source", help="only this source (grelu, kipoi, enformer, borzoi, bpnet, demo, import)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "info", _cmd_info)
    p.add_argument("spec", help="model spec, e.g. demo:base, grelu:Genentech/human-atac-catlas-model, local:DIR")
    p.add_argument("--json", action="store_true", help="print the card as JSON (all tasks)")
    p.add_argument("--max-tasks", type=int, default=20, help="tasks to show in the table (default 20)")
    add_trust(p)


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "fetch", _cmd_fetch)
    p.add_argument("spec", help="model spec")


def _add_import(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "import", _cmd_import)
    p.add_argument("path", help="checkpoint file or folder")
    p.add_argument("--name", required=True, help="name to load it by")
    add_trust(p)


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "predict", _cmd_predict)
    p.add_argument("spec", help="model spec")
    p.add_argument("--genome", required=True, help="FASTA (with .fai)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--regions", help="BED / narrowPeak of regions")
    where.add_argument("--genes", metavar="GTF", help="gene annotation (GTF or GFF3, gzip ok): one row per gene x task")
    p.add_argument("--out", required=True, help="output file: .h5, .npz or .bw (with --genes: .tsv, .tsv.gz, .parquet)")
    p.add_argument("--tss-bins", type=int, default=1, help="with --genes: tss_signal sums the TSS bin +- K bins (1)")
    p.add_argument(
        "--transcript",
        choices=["canonical", "union"],
        default="canonical",
        help="with --genes: the canonical transcript's exons (tagged, else the longest) or all transcripts' union",
    )
    add_tasks(p)
    p.add_argument("--batch-size", type=int, default=64, help="sequences per batch (default 64)")
    p.add_argument("--rc", action="store_true", help="average with the reverse-complement prediction")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="compute precision (default fp32)")
    add_trust(p)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``models``, ``info``, ``fetch``, ``import`` and ``predict`` to the subcommands ``sub`` of ``zoo``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``zoo`` parser.
    """
    for add in (_add_models, _add_info, _add_fetch, _add_import, _add_predict):
        add(sub)
