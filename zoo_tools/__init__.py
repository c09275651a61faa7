"""zoo_tools: one interface to pretrained genomics models (gReLU zoo, Kipoi, enformer-pytorch,
Borzoi, BPNet) for fine-tuning on ENCODE tracks, scoring VCFs and interpretation.

The data layer (sources -> datasets):

* :mod:`zoo_tools.data.genome`    FASTA access, one-hot (A,C,G,T; N all-zero), reverse complement, aliases
* :mod:`zoo_tools.data.tracks`    bigWig -> binned targets ``(N, T, B)`` and their transforms
* :mod:`zoo_tools.data.intervals` BED/narrowPeak, tiling, GC-matched background, blacklists, splits
* :mod:`zoo_tools.data.variants`  VCF records -> one row per ALT with a status
* :mod:`zoo_tools.data.datasets`  torch datasets with RC / shift augmentation
* :mod:`zoo_tools.data.config`    the data YAML
* :mod:`zoo_tools.data.demo`      the planted-truth demo world
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zoo_tools")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
