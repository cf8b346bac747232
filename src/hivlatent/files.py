"""Nothing is lost, nothing is clobbered.

- Every output file is written to a temporary file in the same folder and renamed into place, so
  a reader sees the old file or the complete new one, never a partial one; files and folders get
  the modes the process's umask gives (0644 / 0755 by default), read when they are written
  (:func:`umask`; the process's umask is never changed, not even for a moment).
- Where an output goes is checked before the work starts (:func:`check_output_file`,
  :func:`check_folder_target`, :class:`RunFolder`): a path under a file, a folder given where a
  file is expected (or the reverse), ``.`` or ``..``, or a location that cannot be written is a
  one-line :class:`~hivlatent.errors.ConfigError`. Only what hivlatent wrote is ever replaced: a
  model bundle by a bundle, a run folder by a run of the same command, an output file by the same
  kind of output file.
- A run folder is locked while a run writes it (an exclusive lock on the folder itself, through
  the ``filelock`` library: ``flock`` on POSIX, ``LockFileEx`` on Windows), and a run that
  resumes it must have the same settings (the ones that differ are named).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from filelock import lock_descriptor, unlock_descriptor

from .errors import ConfigError


def umask() -> int:
    """The process's umask now, read without changing it: from ``/proc/self/status`` on Linux,
    else from the mode a new file gets in a private temporary folder (``os.umask`` can only be
    read by setting it, which for a moment changes the mode of files other threads create)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with tempfile.TemporaryDirectory(prefix=".hivlatent-umask-") as folder:
        probe = os.path.join(folder, "probe")
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777))
        return 0o777 & ~os.stat(probe).st_mode


def chmod_file(path: str | os.PathLike) -> None:
    """Give a file made with mode 0600 (:func:`tempfile.mkstemp`, safetensors) the mode the
    umask gives."""
    os.chmod(path, 0o666 & ~umask())


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open ``path`` for writing (``"w"`` text, ``"wb"`` binary); renamed into place on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        chmod_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_csv(df, path: str | os.PathLike, index: bool = False) -> Path:
    with atomic_open(path) as fh:
        df.to_csv(fh, index=index)
    return Path(path)


def chmod_dir(path: str | os.PathLike) -> None:
    """Give a folder made by :func:`tempfile.mkdtemp` (0700) the mode the umask gives."""
    os.chmod(path, 0o777 & ~umask())


# --------------------------------------------------------------------------------- checks

def _describe(path: Path) -> str:
    return "the current folder" if path.resolve() == Path.cwd().resolve() else str(path)


def _probe(folder: Path, path: Path, option: str) -> None:
    """Try to create (and remove) a file in ``folder``: read-only file systems show too."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".hivlatent-write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"{option} {path}: cannot write in {folder} ({reason}); expected a "
                          "writable location") from None


def _check_parents(path: Path, option: str, named: bool = True) -> Path:
    """The nearest existing ancestor of ``path``; errors for a path under a file or a location
    that cannot be written. ``named``: ``path`` must end in a name (not ``.`` or ``..``)."""
    text = str(path)
    if named and (text in (".", "..") or path.name in ("", ".", "..")):
        raise ConfigError(f"{option} {text}: expected a name for a new file or folder, not "
                          f"{text!r}")
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} {_kind(parent)}, so nothing can be "
                          "written under it; expected a path in a folder")
    _probe(parent, path, option)
    return parent


def _kind(path: Path) -> str:
    """What a path that exists but is not a folder is, for messages."""
    return "is a file" if path.is_file() else "is a device or special file"


def is_device(path: str | os.PathLike) -> bool:
    """Whether ``path`` exists and is neither a folder, a regular file nor a pipe (a device such
    as /dev/zero never ends, or never answers, when read as an input)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISFIFO(mode))


def check_folder(path: str | os.PathLike, option: str) -> Path:
    """Check, before any work, that ``path`` is a folder this process can write in, or can be
    made as one: a file, a device, a path under a file or a location that cannot be written is
    a one-line :class:`~hivlatent.errors.ConfigError`."""
    path = Path(path)
    if path.is_dir():
        _probe(path, path, option)
    elif path.exists():
        raise ConfigError(f"{option} {path}: {_kind(path)}; expected a folder")
    else:
        _check_parents(path, option)
    return path


def check_output_file(path: str | os.PathLike, option: str = "--out",
                      ours: Callable[[Path], bool] | None = None,
                      inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Check, before any work, that ``path`` can be written as an output file: never one of the
    command's ``inputs`` (nor inside an input folder); an existing file is replaced only when
    ``ours(path)`` says hivlatent wrote it (same kind of output)."""
    path = Path(path)
    for given in inputs:
        if _same_or_inside(path, Path(given)):
            raise ConfigError(f"{option} {path}: is the input {given} or inside it; expected "
                              "another file name (an input is never overwritten)")
    if path.is_dir():
        raise ConfigError(f"{option} {_describe(path)}: is a folder; expected a file name")
    if path.exists() and not path.is_file():        # a device: never read by ``ours``
        raise ConfigError(f"{option} {path}: {_kind(path)}; expected a file name")
    if path.exists():
        if ours is None or not ours(path):
            raise ConfigError(f"{option} {path}: the file exists and was not written by this "
                              "hivlatent command; expected a new file name (hivlatent never "
                              "replaces a file it did not write)")
    _check_parents(path, option)
    return path


def _same_or_inside(path: Path, given: Path) -> bool:
    """Whether ``path`` is the file ``given`` (also through links), or inside the folder."""
    try:
        if path.exists() and given.exists() and os.path.samefile(path, given):
            return True
    except OSError:
        pass
    target, other = path.resolve(), given.resolve()
    return target == other or (given.is_dir() and other in target.parents)


def check_folder_target(path: Path, option: str, replaceable: Callable[[Path], bool],
                        what: str) -> bool:
    """Check, before the work, that a folder of outputs (``what``, e.g. a model bundle) can be
    written at ``path``: a new name, an empty folder, or a folder ``replaceable`` says is one of
    its kind (which will be replaced). Returns whether such a folder is there."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: {_kind(path)}; expected a folder name for the {what} "
                          f"(a new name, or an existing {what.split()[-1]} to replace)")
    _check_parents(path, option)
    if path.is_dir():
        if path.resolve() in (Path.cwd().resolve(), *Path.cwd().resolve().parents):
            raise ConfigError(f"{option} {path}: is {_describe(path)} or above it; expected a "
                              f"folder name for the {what}")
        if replaceable(path):
            return True
        if any(path.iterdir()):
            raise ConfigError(f"{option} {path}: is a folder that is not an hivlatent {what}; "
                              f"expected a new name (only a {what.split()[-1]} is ever replaced)")
    return False


# --------------------------------------------------------------------------------- run folders

MARKER = ".hivlatent-run.json"


class RunFolder:
    """A run folder (``--out`` of study, evaluate, sweep) held for one run.

    On entry: the folder must be new, empty, or a run folder of the same ``command`` (its marker
    file says so); a resumed run must have the same ``settings`` (else a ConfigError names the
    ones that differ), unless ``replace`` (a run that rewrites its outputs instead of resuming).
    The folder is created if needed and locked (:func:`filelock.lock_descriptor` on the folder
    itself, no lock file in it: a second run on it fails at once, or waits with ``wait``). On
    an error, a folder this run created and left empty but for its marker is removed again,
    so a failed run leaves nothing behind.
    """

    #: files that mark a run folder of each command without a marker (written by an earlier
    #: version, or a sweep's database made before its first worker wrote the marker)
    LEGACY = {"study": ("study.json",), "evaluate": ("metrics.csv",),
              "sweep": ("sweep.json", "sweep.db")}

    def __init__(self, path: str | os.PathLike, command: str, settings: dict | None = None,
                 option: str = "--out", replace: bool = False, wait: bool = False):
        self.path = Path(path)
        self.wait = wait
        self.command = command
        self.settings = json.loads(json.dumps(settings or {}, default=str))
        self.option = option
        self.replace = replace
        self.created = False
        self.resumed = False
        self._fd: int | None = None

    def check(self) -> "RunFolder":
        """The checks of entering (another run writing the folder included), without creating
        or writing anything."""
        self._check()
        if self.path.is_dir() and not self.wait:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                if not lock_descriptor(fd, blocking=False):
                    raise self._busy()
                unlock_descriptor(fd)
            finally:
                os.close(fd)
        return self

    def _check(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise ConfigError(f"{self.option} {p}: {_kind(p)}; expected a folder for the run")
        if not p.is_dir():
            _check_parents(p, self.option)
            return
        _probe(p, p, self.option)
        marker = p / MARKER
        if marker.exists() and not marker.is_file():
            what = "a folder" if marker.is_dir() else "a device or special file"
            raise ConfigError(f"{self.option} {p}: its {MARKER} is {what}; expected the run "
                              "marker file hivlatent writes (a regular file)")
        legacy = self.LEGACY.get(self.command, ())
        if not marker.is_file() and any((p / name).is_file() for name in legacy):
            self.resumed = True         # an earlier version's run folder: adopted as it is
            return
        if not marker.is_file():
            if any(x.name != MARKER for x in p.iterdir()):
                raise ConfigError(f"{self.option} {_describe(p)}: holds files that are not an "
                                  f"hivlatent {self.command} run; expected a new or empty folder "
                                  f"(hivlatent never writes into a folder it did not make)")
            return
        try:
            stored = json.loads(marker.read_text())
        except (OSError, ValueError):
            stored = None
        if not isinstance(stored, dict) or not isinstance(stored.get("settings", {}), dict):
            raise ConfigError(f"{self.option} {p}: its {MARKER} is unreadable; expected a run "
                              "folder written by hivlatent") from None
        if stored.get("command") != self.command:
            raise ConfigError(f"{self.option} {p}: is a run folder of hivlatent "
                              f"{stored.get('command')}, not {self.command}; expected a new "
                              "folder")
        if not self.replace:
            theirs = stored.get("settings", {})
            differ = sorted(k for k in set(theirs) | set(self.settings)
                            if theirs.get(k) != self.settings.get(k))
            if differ:
                detail = "; ".join(f"{k}: {theirs.get(k)!r} there, {self.settings.get(k)!r} now"
                                   for k in differ[:4])
                raise ConfigError(f"{self.option} {p}: was run with other settings ({detail}); "
                                  "resume it with the same settings or choose a new folder")
            self.resumed = True

    def __enter__(self) -> "RunFolder":
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"{self.option} {self.path}: {_kind(self.path)}; expected a folder "
                              "for the run")
        if not self.path.exists():
            _check_parents(self.path, self.option)
            try:
                self.path.mkdir(parents=True)
                self.created = True
            except FileExistsError:             # another run made it just now
                pass
        self._fd = os.open(self.path, os.O_RDONLY)
        try:
            locked = lock_descriptor(self._fd, blocking=self.wait)
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise
        if not locked:
            os.close(self._fd)
            self._fd = None
            raise self._busy()
        try:                                    # checked under the lock: no run half-way in
            self._check()
            write_text(self.path / MARKER, json.dumps(
                {"command": self.command, "settings": self.settings}, indent=2,
                sort_keys=True) + "\n")
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _busy(self) -> ConfigError:
        return ConfigError(f"{self.option} {self.path}: another hivlatent run is writing this "
                           "folder now; wait for it or choose another folder")

    def _release(self) -> None:
        if self._fd is not None:
            unlock_descriptor(self._fd)
            os.close(self._fd)
            self._fd = None

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and self.created:
                left = [x for x in self.path.iterdir() if x.name != MARKER]
                if not left:
                    shutil.rmtree(self.path, ignore_errors=True)
        finally:
            self._release()
