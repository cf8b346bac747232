"""Packaging a user can trust: every imported library declared, one place for the version, a
licence file, a short long-description, package data that exists."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata

import pytest

from helpers import ROOT

SRC = ROOT / "src" / "hivlatent"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _imported_top_modules() -> dict[str, str]:
    """Every top-level module imported anywhere in the package (inside functions too) that is
    neither the standard library nor hivlatent, with one file importing it."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "hivlatent":
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_library_is_declared():
    declared = {_requirement_name(s) for s in PROJECT["project"]["dependencies"]}
    for extra in PROJECT["project"]["optional-dependencies"].values():
        declared |= {_requirement_name(s) for s in extra}
    providers = metadata.packages_distributions()
    imported = _imported_top_modules()
    assert {"scipy", "threadpoolctl", "tqdm", "torch", "sklearn"} <= set(imported)
    missing = {}
    for module, where in imported.items():
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not dists & declared:
            missing[module] = where
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    # sierralocal is loaded by name (importlib) from the optional GPL extra, never required
    assert "sierralocal" in {_requirement_name(s)
                             for s in PROJECT["project"]["optional-dependencies"]["hivdb"]}
    assert not any(_requirement_name(s) == "sierralocal"
                   for s in PROJECT["project"]["dependencies"])


def test_the_version_is_written_in_one_place():
    import hivlatent

    assert "version" not in PROJECT["project"] and "version" in PROJECT["project"]["dynamic"]
    assert PROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "hivlatent.__version__"}
    literal = re.compile(r"""["']\d+\.\d+\.\d+["']""")
    holders = [str(p.relative_to(ROOT)) for p in SRC.rglob("*.py") if literal.search(
        "\n".join(line for line in p.read_text().splitlines() if "version" in line.lower()))]
    assert holders == ["src/hivlatent/__init__.py"], holders
    assert re.fullmatch(r"\d+\.\d+\.\d+", hivlatent.__version__)
    assert metadata.version("hivlatent") == hivlatent.__version__


def test_licence_long_description_and_urls():
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and PROJECT["project"]["license"] == "MIT"
    assert PROJECT["project"]["license-files"] == ["LICENSE"]
    readme = ROOT / PROJECT["project"]["readme"]
    text = readme.read_text()
    assert len(text.encode()) < 4000, "PyPI's page should be short"
    assert "Research use only" in text
    assert not re.search(r"\]\((?!https?://)", text), "relative links do not resolve on PyPI"
    classifiers = PROJECT["project"]["classifiers"]
    assert "Intended Audience :: Science/Research" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)    # the SPDX field says it
    for url in PROJECT["project"]["urls"].values():
        assert url.startswith("https://")


@pytest.mark.parametrize("pattern", PROJECT["tool"]["setuptools"]["package-data"]["hivlatent"])
def test_every_package_data_pattern_ships_a_file(pattern):
    assert list(SRC.glob(pattern)), pattern
