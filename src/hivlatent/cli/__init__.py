"""The command-line interface (a thin shell over the Python API): see :mod:`.main`."""

from .main import app, main

__all__ = ["app", "main"]
