"""zoo_tools: one interface to pretrained genomics models (gReLU zoo, Kipoi, enformer-pytorch,
Borzoi, BPNet) for fine-tuning on ENCODE tracks, scoring VCFs and interpretation.

The package face (``import zoo_tools as zt``); each name is imported on first use, so
``import zoo_tools`` itself loads neither torch, Lightning, Ray nor matplotlib:

========================  ===================================================================
``zt.load_model``         any model behind one contract: ``(N, 4, L)`` one-hot -> ``(N, T, B)``
``zt.list_models``        the catalog and imported models, with their cache status
``zt.fetch``              download a model into the cache
``zt.import_model``       register a local checkpoint under a name
``zt.ZooModel``           the loaded model (``trunk``, ``head``, ``card``, ``predict``)
``zt.ModelCard``          what a model takes and returns (input length, bins, tasks, genome)
``zt.Genome``             a FASTA reference (one-hot, reverse complement, contig aliases)
``zt.make_demo_world``    the planted-truth demo world (genome, tracks, peaks, VCF)
``zt.predict_regions``    predictions over BED regions (h5 / npz / bigWig)
``zt.read_genes``         a GTF / GFF3 as a gene table (TSS, exons of the canonical transcript)
``zt.predict_genes``      gene-level predictions: TSS and exon signal per gene and task
``zt.score_vcf``          variant effects of a VCF, one row per allele, lossless statuses
``zt.read_scores``        read a score table back (tsv, tsv.gz, parquet, vcf.gz)
``zt.merge_scores``       join the shards of a sharded scoring run
``zt.GeneRequest``        ``score_vcf(..., genes=zt.GeneRequest("genes.gtf"))``: gene-level variant effects
``zt.top_genes``          per variant, its genes ranked by ``|gene_logSED|``
``zt.calibrate``          score a background (random SNVs or a VCF): quantiles and p-values for ``score_vcf``
``zt.read_calibration``   a calibration file: its background distribution, model sha256 and windows
``zt.random_snvs``        random background SNVs off N runs and blacklists, optionally GC-matched
``zt.load_recipe``        a recipe YAML, validated
``zt.finetune``           run a recipe; returns a typed ``zt.RunResult``
``zt.RunResult``          a run's result (``RunResult.from_json("run/metrics.json")``)
``zt.explain``            reduce a model to one scalar per sequence and task for attribution
``zt.ism``                in-silico saturation mutagenesis (exact fast path for conv trunks)
``zt.attributions``       saliency, input x gradient, DeepLIFT/SHAP, ISM attributions
``zt.marginalize``        a motif's effect in shuffled genomic backgrounds, with a CI
``zt.modisco``            TF-MoDISco over peaks with motif names (tomtom-lite)
========================  ===================================================================

The layers below it (each imports only from those under it): ``core`` (errors, progress,
metrics) -> ``data`` (genome, intervals, tracks, variants, configs) -> ``models`` (the contract,
heads, fine-tuned networks, the checkpoint format) -> ``zoo`` (sources and their registry) ->
``train`` / ``score`` / ``interpret`` -> ``report`` -> ``cli``. See ARCHITECTURE.md.
"""

from __future__ import annotations

from importlib import import_module

from zoo_tools.core.version import __version__

_FACE = {
    "load_model": ("zoo_tools.zoo", "load_model"),
    "list_models": ("zoo_tools.zoo", "list_models"),
    "fetch": ("zoo_tools.zoo", "fetch"),
    "import_model": ("zoo_tools.zoo", "import_model"),
    "ZooModel": ("zoo_tools.models.model", "ZooModel"),
    "ModelCard": ("zoo_tools.models.card", "ModelCard"),
    "Genome": ("zoo_tools.data.genome", "Genome"),
    "make_demo_world": ("zoo_tools.data.demo", "make_demo_world"),
    "predict_regions": ("zoo_tools.score", "predict_regions"),
    "read_genes": ("zoo_tools.data.genes", "read_genes"),
    "predict_genes": ("zoo_tools.score.genes", "gene_predictions"),
    "score_vcf": ("zoo_tools.score", "score_vcf"),
    "read_scores": ("zoo_tools.score", "read_scores"),
    "merge_scores": ("zoo_tools.score", "merge_scores"),
    "GeneRequest": ("zoo_tools.score", "GeneRequest"),
    "top_genes": ("zoo_tools.score", "top_genes"),
    "calibrate": ("zoo_tools.score", "calibrate"),
    "read_calibration": ("zoo_tools.score", "read_calibration"),
    "random_snvs": ("zoo_tools.data.background", "random_snvs"),
    "load_recipe": ("zoo_tools.train", "load_recipe"),
    "finetune": ("zoo_tools.train", "finetune"),
    "RunResult": ("zoo_tools.train.results", "RunResult"),
    "explain": ("zoo_tools.interpret.wrappers", "explain"),
    "ism": ("zoo_tools.interpret.mutagenesis", "ism"),
    "attributions": ("zoo_tools.interpret.attributions", "attribute"),
    "marginalize": ("zoo_tools.interpret.marginalize", "marginalize"),
    "modisco": ("zoo_tools.interpret.commands", "run_modisco"),
}

__all__ = ["__version__", *_FACE]


def __getattr__(name: str):
    """Import a face name on first use (PEP 562)."""
    if name not in _FACE:
        raise AttributeError(f"module 'zoo_tools' has no attribute '{name}'")
    module, attr = _FACE[name]
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FACE))
