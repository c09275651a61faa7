"""Build the API reference for zoo_tools with pdoc into a folder (``make docs``: docs/api).

Every public module is documented, each on its own page: the modules are listed from the source
tree (those under packages with an ``__init__.py``; names starting with ``_`` and ``__main__`` are
left out) rather than found by pdoc's walk, which follows a package's ``__all__`` and so would skip
the modules behind a package face. Any warning is an error: the warnings are printed (with the
source file and line of the object they are about, where pdoc names one) and the exit status is 1.
Nothing is fetched: no math or mermaid (CDN) scripts, the search index is a local file.

    python docs/build_api.py docs/api
"""

from __future__ import annotations

import argparse
import inspect
import re
import shutil
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "zoo_tools"


def module_names(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    names = []
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if not all((root.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
            continue  # not inside a regular package (setuptools would not ship it)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        names.append(".".join(parts))
    return names


def where(message: str) -> str:
    """``file:line`` of the first zoo_tools object named in a warning, else ``""``."""
    for dotted in re.findall(rf"\b{PACKAGE}(?:\.\w+)+", message):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            obj = sys.modules.get(".".join(parts[:cut]))
            if obj is None:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
                obj = inspect.unwrap(obj)
                file = inspect.getsourcefile(obj)
                line = inspect.getsourcelines(obj)[1] if not inspect.ismodule(obj) else 1
            except (AttributeError, OSError, TypeError):
                break
            return f"{Path(file).resolve().relative_to(ROOT)}:{line}"
    return ""


def resolve_lazy_names(modules: list[str]) -> None:
    """Import each module and every name of its ``__all__``: package faces import their names on
    first use (PEP 562), and pdoc documents only names already bound."""
    import importlib

    for name in modules:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            getattr(module, attr)


def build(out: Path, modules: list[str]) -> list[str]:
    """Write the HTML into ``out``; return the warnings (as printable lines)."""
    import pdoc.doc
    import pdoc.render

    pdoc.render.configure(docformat="restructuredtext", math=False, mermaid=False, search=True)
    resolve_lazy_names(modules)
    with warnings.catch_warnings(record=True) as caught:
        documented = {name: pdoc.doc.Module.from_name(name) for name in modules}
        pages = {name: pdoc.render.html_module(mod, documented) for name, mod in documented.items()}
        index = pdoc.render.html_index(documented)
        search = pdoc.render.search_index(documented)
    if out.exists():
        shutil.rmtree(out)
    for name, html in pages.items():
        page = out / f"{name.replace('.', '/')}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(html)
    if index:
        (out / "index.html").write_text(index)
    if search:
        (out / "search.js").write_text(search)
    report = []
    for w in caught:
        text = str(w.message)
        source = where(text) or f"{w.filename}:{w.lineno}"
        report.append(f"{source}: {w.category.__name__}: {text}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output folder (replaced)")
    args = parser.parse_args(argv)
    modules = module_names()
    report = build(args.out, modules)
    for line in report:
        print(line, file=sys.stderr)
    if report:
        print(f"docs: {len(report)} warning(s), treated as errors", file=sys.stderr)
        return 1
    print(f"docs: {len(modules)} modules -> {args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
