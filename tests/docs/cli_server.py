"""A fork server for the documentation's examples: one process imports what the commands and
examples import (torch, scikit-learn, matplotlib, pandas, the package: about 4.5 CPU seconds,
which every `hivlatent` command and `python` block would otherwise pay again), then forks one
child per command. Each child takes the caller's argv, folder, environment and standard streams
(passed over a Unix socket), runs the console script's entry point, or a Python file as
``python FILE`` does, and exits through the interpreter's own shutdown (which stops worker
pools and runs exit handlers) with the command's code, which the caller exits with.

    python cli_server.py SOCKET         serve until killed (tests/docs/test_docs_examples.py)
    python -S cli_server.py --client SOCKET hivlatent|python ARGS...
                                        what the `hivlatent` shim on the examples' PATH runs

The child is a fresh fork of the server (nothing one command does reaches the next); it resets
SIGCHLD and replaces the environment, the folder, ``sys.argv``, ``__main__`` and the standard
streams before running.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

_HEADER = struct.Struct("!I")


def client(path: str, argv: list[str]) -> int:
    """Send ``argv``, the folder, the environment and fds 0-2; return the command's exit code."""
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        socket.send_fds(sock, [_HEADER.pack(len(request))], [0, 1, 2])
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(64):
            reply += chunk
    return int(reply) if reply.strip() else 1      # no reply: the child died without a code


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
    (size,) = _HEADER.unpack(head)
    body = b""
    while len(body) < size:
        body += conn.recv(size - len(body))
    return json.loads(body), fds


def _child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """Run the request in this forked child; ends by raising SystemExit with its exit code,
    which the interpreter's own shutdown finishes (worker pools stopped, exit handlers run)."""
    import atexit
    import io
    import multiprocessing.process
    import signal
    import types

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    multiprocessing.process.ORIGINAL_DIR = os.getcwd()   # read at its import, as in a new process
    os.environ.clear()
    os.environ.update(request["env"])
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    code = [1]                                       # until the command says otherwise

    def report() -> None:                            # registered first: runs last at exit
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        conn.sendall(str(code[0]).encode())
        conn.close()

    atexit.register(report)
    kind, *args = request["argv"]
    try:
        main = types.ModuleType("__main__")          # a fresh __main__, as a new process has
        sys.modules["__main__"] = main
        if kind == "hivlatent":                      # the console script
            main.__file__ = os.path.join(os.path.dirname(sys.executable), "hivlatent")
            sys.argv = ["hivlatent", *args]
            sys.path[0] = os.path.dirname(main.__file__)     # the script's folder, as Python sets
            from hivlatent.cli import main as entry

            entry()
        else:                                        # python FILE ARGS...
            main.__file__ = os.path.abspath(args[0])   # absolute, as Python makes it
            sys.argv = list(args)
            sys.path[0] = os.path.dirname(main.__file__)     # the script's folder, as Python sets
            with open(main.__file__, "rb") as fh:
                code_object = compile(fh.read(), main.__file__, "exec")
            exec(code_object, main.__dict__)  # noqa: S102 - running the example is the point
        code[0] = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code[0] = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:                            # noqa: BLE001 - as the interpreter does
        import traceback

        traceback.print_exc()
    raise SystemExit(code[0])


def serve(path: str) -> None:
    import signal
    import threading

    # what the commands and examples import, imported once
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import pandas  # noqa: F401
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401
    import torch  # noqa: F401

    import hivlatent.cli.main
    import hivlatent.model
    import hivlatent.prediction.predictor  # noqa: F401

    # no Python thread may run at a fork (the child would copy a half-held lock); OpenBLAS's
    # own threads (numpy's and scipy's) stop before a fork and start again after it
    assert threading.active_count() == 1, "a Python thread started while importing"
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        request, fds = _receive(conn)
        if os.fork() == 0:
            server.close()
            _child(conn, request, fds)
        for fd in fds:
            os.close(fd)
        conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "--client":
        sys.exit(client(sys.argv[2], sys.argv[3:]))
    serve(sys.argv[1])
