"""The package's layout: every submodule imports, the public names the README and the API page
use are what they say, no import cycle (imports inside functions included), small files, few
top-level modules."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import hivlatent
from helpers import ROOT

PACKAGE = ROOT / "src" / "hivlatent"
README = ROOT / "README.md"
API_PAGE = ROOT / "docs" / "api.md"


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(hivlatent.__path__, "hivlatent.")
                  if not m.name.endswith("__main__"))


def test_every_submodule_imports_and_the_readme_names_are_what_it_says():
    for name in _modules():                 # importing everything first: nothing may shadow
        importlib.import_module(name)
    text = README.read_text() + "".join(p.read_text() for p in sorted(API_PAGE.parent.rglob("*.md")))
    names = set()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        for m in re.finditer(r"from hivlatent import ([^\n#]+)", block):
            names |= {n.strip() for n in m.group(1).split(",") if n.strip()}
    assert {"load_dataset", "VAEModel", "ModelConfig", "TrainConfig", "evaluate",
            "predict", "VAEEncoder"} <= names, names
    expected_kind = {"load_dataset": "function", "evaluate": "function", "predict": "function",
                     "VAEModel": "class", "ModelConfig": "class", "TrainConfig": "class",
                     "VAEEncoder": "class", "fit_many": "function", "FitTask": "class",
                     "run_study": "function", "StudyConfig": "class", "Dataset": "class",
                     "resolve_data": "function"}
    for name in sorted(names | set(hivlatent.__all__) - {"__version__"}):
        obj = getattr(hivlatent, name)
        assert not inspect.ismodule(obj), f"hivlatent.{name} is a module"
        kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "value"
        assert kind == expected_kind.get(name, kind), (name, kind)
    from hivlatent import predict
    assert predict.__module__ == "hivlatent.prediction.predictor"


def _imports(path: Path, module: str) -> set[str]:
    """Every hivlatent module ``path`` imports, wherever the import statement stands."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    known = set(_modules()) | {"hivlatent"}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("hivlatent")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("hivlatent"):
                continue
            for alias in node.names:        # `from pkg import submodule` imports the submodule
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
    return {m for m in out if m in known}


def test_no_import_cycle_even_through_imports_inside_functions():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        graph[name] = _imports(path, name) - {name}
    # Tarjan's strongly connected components
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_files_are_small_and_the_top_level_is_short():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600}
    assert not long, long
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top


@pytest.mark.parametrize("command", ["--version", "--help"])
def test_version_and_help_do_not_import_torch(command):
    import subprocess
    import sys

    code = ("import sys; from hivlatent.cli import main; sys.argv = ['hivlatent', %r]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "assert 'pandas' not in sys.modules, 'pandas was imported'\n" % command)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


#: names that several packages use for the same kind of module (docs/architecture.md says why)
SHARED_NAMES = {"__init__.py", "run.py"}


def test_module_names_are_unique_where_the_modules_differ():
    """Two modules that do different things never share a file name (issue 30: ``engine.py``
    was both the trainer and the HIVdb runner, ``output.py`` both the output layer and CSV)."""
    seen: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        seen.setdefault(path.name, []).append(str(path.relative_to(PACKAGE)))
    repeated = {name: paths for name, paths in seen.items()
                if len(paths) > 1 and name not in SHARED_NAMES}
    assert not repeated, repeated
    # and the tree of docs/architecture.md names each repeated one's reason
    assert "`run.py` in `evaluation/`" in (ROOT / "docs" / "architecture.md").read_text()
