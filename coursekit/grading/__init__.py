"""Instructor tools: release student versions, validate, grade a class.

* :func:`release` (``coursekit release SRC... --out DIR``): student versions.
* :func:`validate` (``coursekit validate NOTEBOOK``): a student's dry run.
* :func:`grade` (``coursekit grade --source DIR SUBMISSIONS... --out DIR -j N``).

The notebooks use nbgrader's cell metadata and markers, so nbgrader can use
them as they are. See :mod:`coursekit.grading.grader` for how a score is
made tamper-proof and :mod:`coursekit.grading.sandbox` for the isolation.
"""
from .batch import grade
from .grader import Limits, NotebookResult, ExerciseResult, grade_notebook, validate
from .notebook import ReleaseError, check_source, compute_checksum, release, release_notebook

__all__ = ["release", "release_notebook", "check_source", "compute_checksum", "ReleaseError", "validate",
           "grade", "grade_notebook", "Limits", "NotebookResult", "ExerciseResult"]
