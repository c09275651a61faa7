"""Interpretation: what a model learned, in terms of bases and motifs.

* :mod:`.wrappers` turns any loaded model (multi-task, multi-bin, siamese) into one scalar per
  sequence and task, explicitly: which tasks, which bins, which scale.
* :mod:`.ism` saturation mutagenesis with an exact fast path for convolutional trunks.
* :mod:`.attributions` saliency, input x gradient, DeepLIFT/SHAP (tangermeme) and ISM attributions.
* :mod:`.marginalize` motif insertion into shuffled genomic backgrounds, effect with a CI.
* :mod:`.modisco` TF-MoDISco (modisco-lite) over peaks, patterns matched with tomtom-lite.
* :mod:`.plots` logos and heatmaps.
"""

from zoo_tools.interpret.ism import ism
from zoo_tools.interpret.wrappers import Explained, explain

__all__ = ["Explained", "explain", "ism"]
