"""What a measured result says about how it was measured: the command, the date, the machine
(CPU model, cores, memory), the 1-minute load average before and after, the hivlatent version and
commit; and the idle check that timing scripts run before each timed part.

Standard library only (a benchmark imports it before anything it times). A run whose load before
a timed part was above :data:`LOAD_THRESHOLD` is *disturbed*: other processes competed for the
cores, and its times are not reported as results (the scripts mark them so).
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the highest 1-minute load average at which a timed part may start (the machine is idle)
LOAD_THRESHOLD = 0.5


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def wait_idle(threshold: float = LOAD_THRESHOLD, timeout: float = 600.0, poll: float = 5.0,
              say=print) -> tuple[float, bool]:
    """Wait until the 1-minute load average is at most ``threshold`` (the tail of an earlier
    part takes a minute or two to leave it), at most ``timeout`` seconds; returns (the load
    when it stopped waiting, whether it was idle)."""
    start = time.monotonic()
    now = load()
    if now > threshold:
        say(f"waiting for the load average ({now:.2f}) to fall to {threshold} "
            f"(at most {timeout:.0f} s) ...")
    while now > threshold and time.monotonic() - start < timeout:
        time.sleep(poll)
        now = load()
    return now, now <= threshold


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def version(python: str = sys.executable) -> str:
    """hivlatent's version as ``python`` imports it (this checkout's src/ first), and the
    checkout's commit."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    got = subprocess.run([python, "-c", "import hivlatent; print(hivlatent.__version__)"],
                         capture_output=True, text=True, env=env, check=False)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                           capture_output=True, text=True, check=False)
    return (f"{got.stdout.strip() or 'unknown'} (commit {commit.stdout.strip() or 'unknown'}"
            f"{', with uncommitted changes in src/' if dirty.stdout.strip() else ''})")


def header(command: list[str] | str, loads: dict[str, tuple[float, float]],
           threshold: float | None = LOAD_THRESHOLD, python: str = sys.executable) -> list[str]:
    """Markdown lines: command, date, machine, hivlatent version, and the load before and after
    each timed part (``loads``: part -> (before, after)), with the verdict on disturbance
    (``threshold=None``: a result that is not a timing, no verdict)."""
    cmd = command if isinstance(command, str) else shlex.join(command)
    mem = memory_gib()
    lines = [f"- command: `{cmd}`",
             f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
             f"- machine: {cpu_model()}, {cores()} cores"
             + (f", {mem} GiB" if mem else "") + f", {platform.system()} {platform.release()}",
             f"- hivlatent: {version(python)}; Python {platform.python_version()}"]
    for part, (before, after) in loads.items():
        lines.append(f"- load average (1 min) {part}: {before:.2f} before, {after:.2f} after")
    if threshold is None:
        return lines
    bad = [part for part, (before, _) in loads.items() if before > threshold]
    started = "DISTURBED: " + ", ".join(bad) + " started" if bad else "every part started"
    lines.append(f"- idle check: {started} with the load {'above' if bad else 'at or below'} "
                 f"{threshold}"
                 + (" (other processes competed for the cores: these times are not results)"
                    if bad else ""))
    return lines


def disturbed(loads: dict[str, tuple[float, float]], threshold: float = LOAD_THRESHOLD) -> bool:
    return any(before > threshold for before, _ in loads.values())


def write(path: Path, title: str, header_lines: list[str], body: list[str]) -> Path:
    """Write the result file (markdown) atomically: a temporary file, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join([f"# {title}", "", "Generated by a script in benchmarks/; do not "
                              "edit by hand.", "", *header_lines, "", *body]) + "\n")
    os.replace(tmp, path)
    return path


def publish_check(script: str, argv: list[str] | None, title: str, body: list[str],
                  loads: tuple[float, float], result: Path, smoke: bool) -> None:
    """The tail of a check that is not a timing (forest_halving.py, grid_racing.py): its header
    (the load during the check, no idle threshold) and body written to ``result`` (not for a
    smoke run), the body printed."""
    command = ["python", f"benchmarks/{script}", *(argv if argv is not None else sys.argv[1:])]
    lines = header(command, {"during the check (not a timing)": loads}, threshold=None)
    if not smoke:
        print(f"wrote {write(result, title, lines, body)}")
    print("\n".join(body))


def agreement_cells(stats: dict) -> str:
    """The table cells of a search checked against the exhaustive one (forest_halving.py,
    grid_racing.py): folds, folds with the same choice, the largest relative excess loss where
    not, and the work against the exhaustive search."""
    worst = max(stats["regret"]) if stats["regret"] else float("nan")
    excess = "-" if stats["same"] == stats["folds"] else f"{worst:.2%}"
    return (f"{stats['folds']} | {stats['same']} | {excess} | "
            f"{stats['work'][1] / stats['work'][0]:.2f} |")
