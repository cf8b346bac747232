"""Every example runs: each fenced ``bash`` and ``python`` block of README.md and docs/**/*.md
is executed, page by page in a temporary folder of its own, blocks in order, with the real data
and one cache shared by all pages (the default models are trained once). The `<!-- test: ... -->`
comments above a block (tests/helpers.py) set small settings, an expected exit code, or skip
it with a reason.

Each `hivlatent` command and each ``python`` block runs in a process forked from a server that
has imported torch, scikit-learn, matplotlib and the package once (tests/docs/cli_server.py):
the same entry point as the console script, without paying about 4.5 CPU seconds of imports per
command. The installed `hivlatent` executable itself is run by the CLI tests and by .ci/run's
quick start from the built wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import ROOT, RUN, pages
from helpers import blocks as blocks_of

TIMEOUT = 1200          # seconds for one block
SERVER = Path(__file__).with_name("cli_server.py")


def _runnable(page: Path) -> list:
    return [b for b in blocks_of(page) if b.lang in RUN]


PAGES = [p for p in pages() if any(not b.skip for b in _runnable(p))]


@pytest.fixture(scope="module")
def env(data_dir, small_default_models):
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "HIVLATENT_DATA_DIR": str(data_dir),
            "HIVLATENT_CACHE_DIR": os.environ["HIVLATENT_CACHE_DIR"],
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1"}


@contextmanager
def cli_server(env: dict):
    """``env`` with a running fork server (module docstring): its `hivlatent` shim first on
    PATH and ``HIVLATENT_TEST_CLI_SERVER`` naming its socket."""
    folder = Path(tempfile.mkdtemp(prefix="hl-cli-"))      # a Unix socket's path is short
    sock = folder / "socket"
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([sys.executable, str(SERVER), str(sock)], env=env,
                              stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert server.stdout.readline().strip() == "ready", (folder / "server.log").read_text()
        shim = folder / "bin" / "hivlatent"
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{SERVER}" --client '
                        f'"{sock}" hivlatent "$@"\n')
        shim.chmod(0o755)
        yield {**env, "PATH": str(shim.parent) + os.pathsep + env["PATH"],
               "HIVLATENT_TEST_CLI_SERVER": str(sock)}
    finally:
        server.kill()
        server.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def served(env):
    with cli_server(env) as served_env:
        yield served_env


def run_block(block, folder: Path, env: dict) -> subprocess.CompletedProcess:
    """Run ``block`` in ``folder``: bash as ``bash -e -o pipefail``; python as a file, by the
    fork server when ``env`` names one."""
    code = block.runnable_code()
    if block.lang == "bash":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    else:
        script = folder / f".example_{block.line}.py"
        script.write_text(code)
        cmd = [sys.executable, script.name]
        if env.get("HIVLATENT_TEST_CLI_SERVER"):
            cmd = [sys.executable, "-S", str(SERVER), "--client",
                   env["HIVLATENT_TEST_CLI_SERVER"], "python", script.name]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_block_of_the_page_runs(page, served, tmp_path, request):
    if "IN:" in page.read_text():        # an integrase example: the session's INSTI model
        request.getfixturevalue("insti_default_model")
    ran = 0
    for block in _runnable(page):
        if block.skip:
            continue
        proc = run_block(block, tmp_path, served)
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


@pytest.mark.slow
def test_the_fork_server_runs_commands_as_their_own_processes_do(tmp_path):
    """Through the fork server: exit codes, one-line errors, pipes both ways, exported
    variables, the folder, argv and stdin reach the command as in a process of its own."""
    page = tmp_path / "selftest.md"
    page.write_text(
        '```bash\nhivlatent --version | tr a-z A-Z > version.txt\n```\n'
        '<!-- test: exit 2 -->\n```bash\nhivlatent data describe no-such-data\n```\n'
        '```bash\nexport HIVLATENT_DATA_DIR=/no/such/selftest-folder HIVLATENT_CACHE_DIR=$PWD/c\nprintf "M184V\\n" | '
        'hivlatent predict --file - 2> err.txt || echo "exit $?" > code.txt\n```\n'
        '<!-- test: exit 3 -->\n```python\nimport os, sys\nprint(os.getcwd(), sys.argv[0], '
        'os.environ.get("HL_SELFTEST"), open("version.txt").read().strip(), sep="|")\n'
        'raise SystemExit(3)\n```\n')
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
           "HL_SELFTEST": "given"}
    (tmp_path / "run").mkdir()
    got = [b for b in blocks_of(page) if not b.skip]
    with cli_server(env) as served_env:
        results = [run_block(b, tmp_path / "run", served_env) for b in got]
    assert [r.returncode for r in results] == [b.exit for b in got] == [0, 2, 0, 3]
    assert (tmp_path / "run" / "version.txt").read_text().startswith("HIVLATENT 0.")
    err = results[1].stderr
    assert err.startswith("error: ") and err.count("\n") == 1 and "no-such-data" in err
    assert (tmp_path / "run" / "code.txt").read_text() == "exit 2\n"
    assert "HIVLATENT_DATA_DIR=/no/such/selftest-folder: no such folder" in (
        tmp_path / "run" / "err.txt").read_text()                  # the exported variable
    folder, argv0, variable, version = results[3].stdout.strip().split("|")
    assert (folder, argv0, variable) == (str(tmp_path / "run"), f".example_{got[3].line}.py",
                                         "given")
    assert version.startswith("HIVLATENT 0.")
