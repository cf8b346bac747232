"""The study of ``reference/vae-hiv-report.txt``, reproduced in one call: the grid
(:mod:`.grid`), training and the run folder (:mod:`.run`), figures, findings and the report
(:mod:`.study_report`)."""

from .grid import Point, StudyConfig, stage1_points, stage2_points
from .run import Study, StudyResult, run_study

__all__ = ["Point", "Study", "StudyConfig", "StudyResult", "run_study", "stage1_points", "stage2_points"]
