"""pyproject.toml, environment.yml and the Dockerfile name the same packages and ranges;
the pinned modisco-lite is the `modiscolite` that gets imported."""

import importlib.metadata as md
import re
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def norm(req: str) -> tuple[str, str]:
    r = Requirement(req.replace("=", "==", 1) if re.match(r"^[\w.-]+=[^=]", req) else req)
    return re.sub(r"[-_.]+", "-", r.name).lower(), str(r.specifier)


def pyproject() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(norm(d) for d in deps)


def conda_env() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            out.update(norm(d) for d in dep["pip"])
        elif not dep.startswith(("python", "pip")):
            out.update([norm(dep)])
    return out


def dockerfile() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        if line.startswith("RUN pip install") and "--no-deps" not in line:
            out.update(norm(q) for q in re.findall(r'"([^"]+)"', line))
    return out


def test_three_files_name_the_same_packages_and_ranges():
    want = pyproject()
    assert {
        "grelu",
        "kipoi",
        "six",
        "enformer-pytorch",
        "torch",
        "pybigwig",
        "pyfaidx",
        "pandas",
        "tangermeme",
        "modisco-lite",
        "cyvcf2",
        "lightning",
    } <= set(want)
    assert conda_env() == want
    assert dockerfile() == want


def test_installed_versions_satisfy_pyproject():
    for req in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        r = Requirement(req)
        version = md.version(r.name).split("+")[0]
        assert r.specifier.contains(version, prereleases=True), f"{r.name} {version} not in {r.specifier}"


def test_modisco_lite_is_the_pinned_one():
    import modiscolite

    assert md.version("modisco-lite") == "3.0.0"
    owner = [f for f in md.files("modisco-lite") if str(f).startswith("modiscolite/")]
    assert owner, "modiscolite is not provided by modisco-lite"
    assert Path(modiscolite.__file__).resolve() == Path(owner[0].locate()).resolve().parent / "__init__.py"
    # bpnet-lite is installed without dependencies everywhere (Makefile, Dockerfile)
    for f in ("Makefile", "Dockerfile"):
        assert re.search(r'--no-deps "bpnet-lite==1\.1\.0"', (ROOT / f).read_text()), f
    # bpnet-lite's `modisco` would overwrite modiscolite/ with an older release
    installed = {(d.metadata["Name"] or "").lower() for d in md.distributions()}
    assert "modisco" not in installed, "the `modisco` distribution is installed and shadows modisco-lite"


def test_makefile_and_ci_use_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^make \w+$", quick, flags=re.M) == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    mk = (ROOT / "Makefile").read_text()
    assert "TORCH_SPEC ?= torch==2.13.0" in mk and 'pip install --quiet -e ".[dev]"' in mk
