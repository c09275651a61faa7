"""Public functions carry NumPy-style docstrings: a summary, ``Parameters`` for what they take and
``Returns`` for what they give (with shapes, units and coordinate conventions in the text)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "zoo_tools"


def _takes_parameters(fn: ast.FunctionDef) -> bool:
    args = fn.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    return bool([n for n in names if n not in ("self", "cls")] or args.vararg or args.kwarg)


def _returns_value(fn: ast.FunctionDef) -> bool:
    if fn.returns is not None:
        return not (isinstance(fn.returns, ast.Constant) and fn.returns.value is None)
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(fn))


def public_functions():
    """``(where, function)`` for every module-level function not starting with ``_``."""
    for path in sorted(ROOT.rglob("*.py")):
        if any(part.startswith("_") and part != "__init__.py" for part in path.relative_to(ROOT).parts):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name}", node


def test_public_functions_have_numpy_docstrings():
    missing = []
    for where, fn in public_functions():
        doc = ast.get_docstring(fn) or ""
        problems = [] if doc else ["no docstring"]
        if doc and _takes_parameters(fn) and "Parameters\n----------" not in doc:
            problems.append("no Parameters section")
        if doc and _returns_value(fn) and "Returns\n-------" not in doc and "Yields\n------" not in doc:
            problems.append("no Returns section")
        if problems:
            missing.append(f"  {where}: {', '.join(problems)}")
    assert not missing, f"{len(missing)} public function(s) without a NumPy docstring:\n" + "\n".join(missing)


def test_public_classes_have_docstrings():
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and not ast.get_docstring(node):
                missing.append(f"  {path.relative_to(ROOT.parent)}:{node.lineno} {node.name}")
    assert not missing, "public classes without a docstring:\n" + "\n".join(missing)
