"""Every example runs: each fenced ``bash`` and ``python`` block of README.md and docs/**/*.md
is executed, page by page in a temporary folder of its own, blocks in order, with the real data
and one cache shared by all pages (the default models are trained once). The `<!-- test: ... -->`
comments above a block (tests/docs_blocks.py) set small settings, an expected exit code, or skip
it with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, RUN, pages
from helpers import blocks as blocks_of

TIMEOUT = 1200          # seconds for one block


def _runnable(page: Path) -> list:
    return [b for b in blocks_of(page) if b.lang in RUN]


PAGES = [p for p in pages() if any(not b.skip for b in _runnable(p))]


@pytest.fixture(scope="module")
def env(data_dir, tmp_path_factory, small_default_models):
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "HIVLATENT_DATA_DIR": str(data_dir),
            "HIVLATENT_CACHE_DIR": os.environ["HIVLATENT_CACHE_DIR"],
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1"}


def run_block(block, folder: Path, env: dict) -> subprocess.CompletedProcess:
    code = block.runnable_code()
    if block.lang == "bash":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    else:
        script = folder / f".example_{block.line}.py"
        script.write_text(code)
        cmd = [sys.executable, script.name]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_block_of_the_page_runs(page, env, tmp_path, request):
    if "IN:" in page.read_text():        # an integrase example: the session's INSTI model
        request.getfixturevalue("insti_default_model")
    ran = 0
    for block in _runnable(page):
        if block.skip:
            continue
        proc = run_block(block, tmp_path, env)
        assert proc.returncode == block.exit, (
            f"{block.where}: {block.lang} block exited {proc.returncode}, expected {block.exit}"
            f"\n--- block ---\n{block.runnable_code()}--- stderr ---\n{proc.stderr[-4000:]}"
            f"--- stdout ---\n{proc.stdout[-2000:]}")
        if block.lang == "bash":                       # the command line never tracebacks
            assert "Traceback" not in proc.stderr, f"{block.where}:\n{proc.stderr[-4000:]}"
        ran += 1
    assert ran


def test_the_runner_substitutes_expects_exit_codes_and_stops_at_a_failure(tmp_path):
    """The mechanism itself, on a page made here: replace, exit N, bash -e, skip."""
    page = tmp_path / "selftest.md"
    text = ('<!-- test: replace "sleep 600" "true" -->\n```bash\nsleep 600\necho ok > out.txt\n```\n'
            '<!-- test: exit 3 -->\n```bash\nexit 3\n```\n'
            '```bash\nfalse\necho never > never.txt\n```\n'
            '<!-- test: skip: shown only -->\n```python\nraise SystemExit(9)\n```\n'
            '```python\nprint(open("out.txt").read().strip())\n```\n')
    page.write_text(text)
    got = blocks_of(page)
    assert [b.lang for b in got] == ["bash", "bash", "bash", "python", "python"]
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    (tmp_path / "run").mkdir()
    results = [run_block(b, tmp_path / "run", env) for b in got if not b.skip]
    assert [r.returncode for r in results] == [0, 3, 1, 0]
    assert got[1].exit == 3 and got[3].skip == "shown only"
    assert not (tmp_path / "run" / "never.txt").exists()              # bash -e stopped at `false`
    assert results[3].stdout.strip() == "ok"                  # blocks share the page's folder
