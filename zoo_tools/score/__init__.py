"""Scoring: predictions over regions and variant effects over a VCF.

The CLI and the package face import these names from here (the modules behind them may move).
"""

from zoo_tools.score.regions import predict_regions
from zoo_tools.score.scoring import (
    merge_scores,
    output_format,
    parse_scores,
    parse_shard,
    read_scores,
    score_vcf,
)

__all__ = ["predict_regions", "score_vcf", "merge_scores", "read_scores", "parse_scores",
           "parse_shard", "output_format"]
