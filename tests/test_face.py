"""The package face: ``import zoo_tools as zt`` names what a user needs, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import zoo_tools as zt

FACE = [
    "load_model",
    "list_models",
    "fetch",
    "import_model",
    "ZooModel",
    "ModelCard",
    "Genome",
    "make_demo_world",
    "predict_regions",
    "read_genes",
    "predict_genes",
    "score_vcf",
    "read_scores",
    "merge_scores",
    "GeneRequest",
    "top_genes",
    "calibrate",
    "read_calibration",
    "random_snvs",
    "load_recipe",
    "finetune",
    "RunResult",
    "explain",
    "ism",
    "attributions",
    "marginalize",
    "modisco",
]


def test_all_lists_the_documented_face():
    assert zt.__all__ == ["__version__", *FACE]
    for name in FACE:
        assert name in zt.__doc__, f"{name} is not documented in the package docstring"
        assert callable(getattr(zt, name)), name
    assert zt.load_model is __import__("zoo_tools.zoo", fromlist=["load_model"]).load_model
    assert zt.finetune.__module__ == "zoo_tools.train"


def test_unknown_name_is_an_attribute_error():
    try:
        zt.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("zoo_tools.no_such_thing did not raise")


def test_import_loads_no_heavy_library():
    code = (
        "import sys, zoo_tools; heavy = [m for m in ('torch', 'lightning', 'ray', 'matplotlib') if m in "
        "sys.modules]; print(','.join(heavy) or 'none')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "none"


def test_face_names_resolve_without_lightning_ray_or_matplotlib():
    code = (
        "import sys, zoo_tools as zt; [getattr(zt, n) for n in zt.__all__]; "
        "print(','.join(m for m in ('lightning', 'ray', 'matplotlib') if m in sys.modules) or 'none')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "none"
