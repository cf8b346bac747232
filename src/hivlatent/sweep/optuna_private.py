"""The only place that reads Optuna's private attributes.

Optuna (3.5 - 4.x) exposes a study's and a trial's database id only as ``Study._study_id`` and
``Trial._trial_id``. The workers need these ids for what the public API does not offer on a
running trial: recording heartbeats of trials they asked for themselves (``study.ask()`` rather
than ``study.optimize()``), failing and re-queueing the trials of a worker that is being stopped,
and listing a study's trials through the storage without a deep copy. If a future Optuna renames
them, this module is the one to change.
"""

from __future__ import annotations


def study_id(study) -> int:
    """The database id of an Optuna ``Study``."""
    return study._study_id


def trial_id(trial) -> int:
    """The database id of an Optuna ``Trial`` returned by ``study.ask()``."""
    return trial._trial_id
