"""Interpretation: what a model learned, in terms of bases and motifs.

* :mod:`.wrappers` turns any loaded model (multi-task, multi-bin, siamese) into one scalar per
  sequence and task, explicitly: which tasks, which bins, which scale.
* :mod:`.mutagenesis` saturation mutagenesis with an exact fast path for convolutional trunks.
* :mod:`.attributions` saliency, input x gradient, DeepLIFT/SHAP and ISM attributions;
  :mod:`.deeplift` and :mod:`.deeplift_rules` DeepLIFT/SHAP with a rule for every layer.
* :mod:`.marginalize` motif insertion into shuffled genomic backgrounds, effect with a CI.
* :mod:`.modisco` TF-MoDISco (modisco-lite) over peaks, patterns matched with tomtom-lite;
  :mod:`.motif_naming` which patterns get a motif's name, and why the others do not.
* :mod:`.browser_tracks` per-base values as bigWig with UCSC track text.
* :mod:`.plots` logos and heatmaps.
"""

from importlib import import_module

_NAMES = {
    "ism": "zoo_tools.interpret.mutagenesis",
    "explain": "zoo_tools.interpret.wrappers",
    "Explained": "zoo_tools.interpret.wrappers",
}

__all__ = ["Explained", "explain", "ism"]


def __getattr__(name: str):
    """Import ``ism`` / ``explain`` / ``Explained`` on first use, so that light submodules (e.g.
    :mod:`zoo_tools.interpret.methods`, read by ``zoo --help``) load without torch."""
    if name not in _NAMES:
        raise AttributeError(f"module 'zoo_tools.interpret' has no attribute '{name}'")
    value = getattr(import_module(_NAMES[name]), name)
    globals()[name] = value
    return value
