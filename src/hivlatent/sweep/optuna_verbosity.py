"""Optuna's log level, lowered to warnings only while a sweep's function runs and restored after
(Optuna logs a line per trial at INFO; a caller's own Optuna setting is theirs to keep)."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def optuna_warnings_only():
    """Optuna logs warnings and errors only inside this block (or the function it decorates);
    its verbosity before is restored on the way out, also after an error."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
