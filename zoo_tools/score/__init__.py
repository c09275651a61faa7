"""Scoring: predictions over regions and variant effects over a VCF.

The CLI and the package face import these names from here (the modules behind them may move).
"""

from zoo_tools.score.calibrate import calibrate
from zoo_tools.score.calibration import read_calibration
from zoo_tools.score.formats import merge_scores, output_format, read_scores
from zoo_tools.score.gene_effects import GeneRequest, top_genes
from zoo_tools.score.regions import predict_regions
from zoo_tools.score.rows import parse_shard
from zoo_tools.score.stats import parse_scores
from zoo_tools.score.vcf import score_vcf

__all__ = [
    "GeneRequest",
    "top_genes",
    "predict_regions",
    "score_vcf",
    "calibrate",
    "read_calibration",
    "merge_scores",
    "read_scores",
    "parse_scores",
    "parse_shard",
    "output_format",
]
