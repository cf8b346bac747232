"""The quicker exit (hivlatent.training.quick_exit): the last exit handler freezes the
collector's objects, once per process, and the command line registers it."""

import subprocess
import sys

# an exit handler registered before: it runs after the ones registered later
PROBE = ("import atexit, gc; "
         "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True)); ")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE + code], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_objects_are_frozen_at_exit_once_registered_and_only_then():
    assert "frozen False" in _run("pass")
    code = ("from hivlatent.training.quick_exit import skip_final_collection; "
            "n = atexit._ncallbacks(); skip_final_collection(); skip_final_collection(); "
            "print('handlers added', atexit._ncallbacks() - n)")
    out = _run(code)
    assert "handlers added 1" in out
    assert "frozen True" in out


def test_the_command_line_exits_without_the_final_collection():
    out = _run("import sys; sys.argv = ['hivlatent', '--version']; "
               "from hivlatent.cli import main; main()")
    assert "hivlatent " in out and "frozen True" in out
