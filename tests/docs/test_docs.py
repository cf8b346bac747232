"""The documentation says what the code does: the CLI reference is the commands' --help, the
architecture tree is the source tree, the stated cutoffs and defaults are the code's, the README
is short, free of measurement history, and quotes its results from the generated files, and the
site builds with no broken link."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from helpers import ROOT, RUN, SHOWN, blocks, pages

DOCS = ROOT / "docs"
README = ROOT / "README.md"


def test_every_fenced_block_has_a_language_and_valid_test_comments():
    langs = {}
    for page in pages():
        for b in blocks(page):                   # raises on a bad fence or comment
            langs.setdefault(b.lang, b.where)
            assert b.lang in RUN + SHOWN, f"{b.where}: fence language {b.lang!r}"
            if b.lang in RUN and not b.skip:
                b.runnable_code()                 # every `replace` finds its text
    assert {"bash", "python", "text"} <= set(langs)


def test_the_cli_reference_is_what_the_commands_say():
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (DOCS / "cli.md").read_text() == gen.render(), \
        "docs/cli.md is stale: run python docs/gen_cli.py"


def _layout_tree() -> dict[str, str]:
    """The architecture page's tree: package (or "" for top-level files) -> its text."""
    text = (DOCS / "architecture.md").read_text()
    tree = re.search(r"```text\nsrc/hivlatent/\n(.*?)```", text, flags=re.S).group(1)
    out: dict[str, str] = {}
    current = ""
    for line in tree.splitlines():
        m = re.match(r"^  (\S+)", line)
        if m:
            name = m.group(1)
            current = name.rstrip("/") if name.endswith("/") else ""
            out[current] = out.get(current, "") + " " + (line if current else name)
        elif current:                      # a package's description goes on
            out[current] += " " + line
    return out


def test_the_architecture_tree_names_every_module_and_nothing_else():
    tree = _layout_tree()
    src = ROOT / "src" / "hivlatent"
    packages = {p.name for p in src.iterdir() if (p / "__init__.py").is_file()}
    assert set(tree) - {""} == packages
    top = {p.name for p in src.glob("*.py")}
    assert set(tree[""].split()) == top
    for package in packages:
        modules = {p.stem for p in (src / package).glob("*.py")} - {"__init__"}
        named = {n for group in re.findall(r"\(([^)]*)\)", tree[package])
                 for n in re.split(r",\s*", group)}
        assert named == modules, (f"{package}/ in docs/architecture.md: not named "
                                  f"{modules - named}, no such module {named - modules}")


def test_the_cutoffs_table_is_the_codes():
    from hivlatent.data import DEFAULT_CUTOFFS, DRUG_CLASSES

    rows = re.findall(r"^\| (\w+) \| (NRTI|NNRTI|PI) \| ([\d.]+) \| ([\d.]+) \|$",
                      (DOCS / "data.md").read_text(), flags=re.M)
    assert {r[0] for r in rows} >= {d for c in ("NRTI", "NNRTI", "PI") for d in DRUG_CLASSES[c]}
    for drug, cls, lower, upper in rows:
        assert drug in DRUG_CLASSES[cls]
        assert DEFAULT_CUTOFFS.for_drug(drug) == (float(lower), float(upper)), drug


def test_the_stated_defaults_are_the_codes():
    from hivlatent import config

    text = " ".join((DOCS / "methods" / "model.md").read_text().split())
    assert (f"latent {config.LATENT}, one hidden layer of {config.HIDDEN[0]}, dropout "
            f"{config.SEMI_DROPOUT}, supervised weight {config.SUP_WEIGHT:g}, "
            f"{config.SEMI_EPOCHS} epochs with early stopping (patience {config.SEMI_PATIENCE}), "
            f"and an ensemble of {config.SEMI_MEMBERS} members") in text


def test_the_readme_is_short_and_free_of_measurement_history():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for pattern in (r"this round", r"last round", r"\bissue \d+", r"\bcommit [0-9a-f]{7}",
                    r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"):
        assert not re.search(pattern, text, flags=re.I), pattern
    # the two set-up commands come first: the main job, then the test command CI runs
    first = blocks(README)[0]
    assert first.lang == "bash" and first.skip
    commands = [c for c in first.code.splitlines() if c and not c.startswith("#")]
    assert commands[0].endswith("hivlatent study --out runs/study")
    assert commands[1].endswith("HIVLATENT_DATA_DIR=../shared/data/hivdb python -m pytest -q")
    assert "python -m pytest -q" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_and_docs_links_resolve():
    for page in [README, *pages()]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"https?://|mailto:", target):
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)}: {target}"


def test_the_readme_results_quote_the_generated_files():
    """Every number of "Results at a glance" stands in the generated file its section links."""
    text = README.read_text()
    section = text.split("## Results at a glance", 1)[1].split("\n## ", 1)[0]
    trust = (DOCS / "results" / "trust.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)` [^|]*\| (\d+) of (\d+) \|$", section, flags=re.M)
    assert {r[0] for r in rows} == {"nrti-1246", "nrti", "nnrti", "pi", "pi-full", "insti"}
    for name, met, total in rows:
        block = trust.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"targets met: {met} of {total}" in block, name
    met, total = re.search(r"^\| all \| (\d+) of (\d+) \|$", section, flags=re.M).groups()
    assert f"In all: {met} of {total} targets met" in trust
    # the INSTI table's numbers, and its run time, are those of trust.md's insti block
    insti = trust.split("\n## insti\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if re.match(r"\| (RAL|EVG|DTG) \|", line)]
    assert len(lines) == 3
    for line in lines:
        for number in re.findall(r"\d+\.\d+", line):
            assert number in insti, (line, number)
    assert re.search(r"(\d+) s on 2 cores", section).group(1) + " s" in insti
    # any other number of the section is in the generated file of the link beside it
    for line in section.splitlines():
        for target in re.findall(r"\]\((docs/results/[\w.]+\.md)\)", line):
            quoted = re.sub(r"\]\([^)]*\)|`[^`]*`", "", line)
            linked = (ROOT / target).read_text()
            for number in re.findall(r"\d+(?:\.\d+)?x?", quoted):
                assert number in linked, (target, number)


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="MkDocs is not installed (the docs extra); .ci/run installs it")
def test_the_site_builds_strictly(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
