"""Headless Chromium for tests: find it, dump a page's DOM after load, take a screenshot.

Chromium is taken from $HIVLATENT_TEST_CHROMIUM, else /usr/bin/chromium, else `chromium` on PATH.
When it is missing the test FAILS in CI (CI=true) or when HIVLATENT_TEST_CHROMIUM names a missing
file, and is skipped only on a developer machine outside CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",  # any network request would fail: the page must be offline
]


def chromium() -> str:
    """Path of the Chromium binary, or fail/skip as described in the module docstring."""
    explicit = os.environ.get("HIVLATENT_TEST_CHROMIUM")
    candidates = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium") or ""]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    msg = (f"Chromium not found (looked for {', '.join(c for c in candidates if c)}); "
           "install Debian's chromium or set HIVLATENT_TEST_CHROMIUM")
    if explicit or os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="hivlatent-chromium-") as profile:
        return subprocess.run([chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(page: Path, budget_ms: int = 5000) -> str:
    """The serialised DOM of ``page`` after load (scripts have run)."""
    proc = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", Path(page).resolve().as_uri()])
    if proc.returncode != 0 or "<body" not in proc.stdout:
        pytest.fail(f"chromium --dump-dom failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def body_attributes(dom: str) -> dict[str, str]:
    """The attributes of the first <body> tag in a dumped DOM."""
    m = re.search(r"<body([^>]*)>", dom)
    assert m, "no <body> in the dumped DOM"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))


def screenshot(page: Path, out: Path, size: tuple[int, int] = (1280, 2000)) -> Path:
    """A PNG screenshot of ``page`` at window ``size``."""
    proc = _run([f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=5000",
                 f"--screenshot={Path(out).resolve()}", Path(page).resolve().as_uri()])
    if proc.returncode != 0 or not Path(out).is_file():
        pytest.fail(f"chromium --screenshot failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return Path(out)
