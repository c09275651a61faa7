"""The package's shape: import contracts, no import cycles, small modules and functions.

* The import-linter contracts in pyproject.toml ([tool.importlinter]) hold: the layers
  cli > report > train | score | interpret > zoo > models > data > core, and nothing inside
  zoo_tools imports the package face (zoo_tools/__init__.py).
* No import cycle among zoo_tools modules. The graph is grimp's: every import statement counts,
  function-local ones and ``if TYPE_CHECKING:`` ones included (a cycle is a design fault even when
  an import inside a function keeps it from failing at import time). A package ``__init__`` is a
  node like any module, with the imports written in it and nothing more: grimp adds no implicit
  edge from ``pkg.mod`` to ``pkg`` (else every ``__init__`` that re-exports its children would be
  a cycle), so ``pkg -> pkg.mod -> pkg`` is reported only when ``pkg.mod`` really imports its own
  package's face (``from pkg import name``), the case that breaks on a partly initialised ``pkg``.
  The fix is to import from the module that defines the name.
* Size: no module over MAX_MODULE_LINES lines, no function (methods and nested functions
  included, each counted on its own) over MAX_FUNCTION_LINES lines, and the median function under
  MEDIAN_FUNCTION_LINES lines. A function's length is ``end_lineno - lineno + 1`` (from ``def``,
  decorators excluded, to its last line, docstring included).
"""

import ast
import shutil
import statistics
import subprocess
import sys
from collections import deque
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "zoo_tools"
SOURCES = sorted((ROOT / PACKAGE).rglob("*.py"))

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MEDIAN_FUNCTION_LINES = 15


def _lint_imports() -> list[str]:
    script = Path(sys.executable).parent / "lint-imports"
    if script.exists():
        return [str(script)]
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports not found (install the dev extra: pip install -e '.[dev]')")
    return [found]


def test_import_contracts_are_kept():
    res = subprocess.run([*_lint_imports(), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, f"import-linter contracts broken:\n{res.stdout}\n{res.stderr}"


# --- import cycles -----------------------------------------------------------------------------


def strongly_connected_components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit); components in no particular order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def shortest_cycle(graph: dict[str, set[str]], start: str, within: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside ``within`` (BFS), as a list of modules."""
    parent: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & within):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if child not in seen:
                seen.add(child)
                parent[child] = node
                queue.append(child)
    return [start, start]


def import_graph() -> tuple[grimp.ImportGraph, dict[str, set[str]]]:
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    return graph, {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def describe_cycle(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    lines = []
    for importer, imported in zip(cycle, cycle[1:]):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"l.{d['line_number']}" for d in details)
        lines.append(f"    {importer} -> {imported} ({where})")
    return "\n".join(lines)


def find_cycles() -> list[str]:
    graph, edges = import_graph()
    reports = []
    for component in strongly_connected_components(edges):
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        members = set(component)
        cycle = shortest_cycle(edges, component[0], members)
        inside = [[a, b] for a in component for b in sorted(edges[a] & members)]
        reports.append(
            f"  {len(component)} modules import each other: {', '.join(component)}\n"
            f"  shortest cycle:\n{describe_cycle(graph, cycle)}\n"
            f"  all imports among them:\n" + "\n".join(describe_cycle(graph, e) for e in inside)
        )
    return sorted(reports)


def test_cycle_finder_finds_cycles():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"a"}}
    components = sorted(c for c in strongly_connected_components(edges) if len(c) > 1 or c[0] in edges[c[0]])
    assert components == [["a", "b", "c"], ["e"]]
    assert shortest_cycle(edges, "a", {"a", "b", "c"}) == ["a", "b", "c", "a"]


def test_grimp_sees_function_local_and_type_checking_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "archprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from archprobe.high import g\n    return g\n")
    (pkg / "mid.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import archprobe.high\n")
    (pkg / "high.py").write_text("import archprobe.low\nimport archprobe.mid\ndef g():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("archprobe", cache_dir=None)
    assert graph.find_modules_directly_imported_by("archprobe.low") == {"archprobe.high"}
    assert graph.find_modules_directly_imported_by("archprobe.mid") == {"archprobe.high"}
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert [c for c in strongly_connected_components(edges) if len(c) > 1] == [
        ["archprobe.high", "archprobe.low", "archprobe.mid"]
    ]


def test_no_import_cycles():
    cycles = find_cycles()
    assert not cycles, "import cycles among zoo_tools modules:\n" + "\n\n".join(cycles)


# --- size --------------------------------------------------------------------------------------


def functions() -> list[tuple[int, str]]:
    """(length, "path:line name") for every def in the package, methods and nested ones included."""
    out = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                out.append((length, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return out


def test_modules_are_small():
    sizes = [(len(p.read_text().splitlines()), p.relative_to(ROOT)) for p in SOURCES]
    big = sorted(((n, p) for n, p in sizes if n > MAX_MODULE_LINES), reverse=True)
    assert not big, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(f"  {n:5d}  {p}" for n, p in big)


def test_functions_are_small():
    long = sorted((f for f in functions() if f[0] > MAX_FUNCTION_LINES), reverse=True)
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(f"  {n:5d}  {w}" for n, w in long)


def test_median_function_is_short():
    lengths = [n for n, _ in functions()]
    assert lengths
    median = statistics.median(lengths)
    assert median < MEDIAN_FUNCTION_LINES, (
        f"median function length {median} lines over {len(lengths)} functions (must be < {MEDIAN_FUNCTION_LINES})"
    )
