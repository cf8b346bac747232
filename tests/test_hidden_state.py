"""No hidden global state (issue 30): the umask is read, never set; Optuna's log level is
restored; the kept worker pool is an object scoped to its block; locks go through filelock."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_importing_files_never_sets_the_umask():
    code = ("import os\n"
            "def refuse(mask): raise AssertionError('os.umask called')\n"
            "os.umask = refuse\n"
            "import hivlatent.files as f, hivlatent.bundle\n"
            "print(oct(f.umask()))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == oct(_real_umask())


def _real_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_files_get_the_mode_of_the_umask_at_write_time(tmp_path):
    from hivlatent.files import atomic_open, umask

    before = os.umask(0o027)
    try:
        assert umask() == 0o027
        with atomic_open(tmp_path / "a.txt") as fh:
            fh.write("x")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    assert umask() == before


def test_the_umask_is_read_without_proc_too(monkeypatch):
    import builtins

    from hivlatent import files

    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise OSError("no /proc here")
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", no_proc)
    assert files.umask() == _real_umask()


@pytest.mark.parametrize("call", ["write_results", "retrain_best"])
def test_optuna_log_level_is_restored(tmp_path, call):
    import optuna

    from hivlatent.errors import ConfigError
    from hivlatent.sweep import retrain_best, write_results

    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        with pytest.raises((ConfigError, KeyError)):
            if call == "write_results":
                write_results(url, "no-such-study", tmp_path / "out", report=False)
            else:
                retrain_best(None, tmp_path / "out", storage=url)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(before)


def test_the_kept_pool_is_an_object_of_its_block_only():
    from hivlatent.training import workers

    assert not hasattr(workers, "_kept") and not hasattr(workers, "_keeping")
    assert workers.current_pool() is None and workers.warm_workers() == 0
    with workers.kept_pool() as kept:
        assert isinstance(kept, workers.KeptPool) and workers.current_pool() is kept
        with workers.kept_pool() as inner:            # a block inside uses the outer one's
            assert inner is kept
        assert workers.current_pool() is kept
        seen = []
        other = threading.Thread(target=lambda: seen.append(workers.current_pool()))
        other.start()
        other.join()
        assert seen == [None]                          # another thread's runs are not affected
    assert workers.current_pool() is None


def test_no_module_uses_fcntl_directly():
    """File locks go through the filelock library (portable, maintained)."""
    users = [p for p in (ROOT / "src").rglob("*.py") if "fcntl" in p.read_text()]
    assert users == []


def test_a_run_folder_is_locked_against_a_second_run(tmp_path):
    from filelock import lock_descriptor, unlock_descriptor

    from hivlatent.errors import ConfigError
    from hivlatent.files import RunFolder

    folder = tmp_path / "run"
    with RunFolder(folder, "study"):
        with pytest.raises(ConfigError, match="another hivlatent run is writing"):
            RunFolder(folder, "study").check()
        with pytest.raises(ConfigError, match="another hivlatent run is writing"):
            with RunFolder(folder, "study"):
                pass
        fd = os.open(folder, os.O_RDONLY)
        try:
            assert not lock_descriptor(fd, blocking=False)
        finally:
            os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        assert lock_descriptor(fd, blocking=False)
        unlock_descriptor(fd)
    finally:
        os.close(fd)
    assert sorted(p.name for p in folder.iterdir()) == [".hivlatent-run.json"]  # no lock file
