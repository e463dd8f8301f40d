"""Instructor tools: release student versions, validate, grade a class.

* :func:`release` (``coursekit release SRC... --out DIR``): student versions.
* :func:`validate` (``coursekit validate NOTEBOOK``): a student's dry run.
* :func:`grade` (``coursekit grade --source DIR SUBMISSIONS... --out DIR -j N``),
  locally or on a Dask cluster (``--scheduler ADDRESS``).

The notebooks use nbgrader's cell metadata and markers, so nbgrader can use
them as they are. See :mod:`coursekit.grading.grader` for how a score is
made tamper-proof and :mod:`coursekit.grading.bwrap` and
:mod:`coursekit.grading.sandbox` for the isolation.

The names below load on first use: a graded kernel imports this package to
reach its sandbox launcher and ``rpc``, and should not pay for the rest.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "grade": "batch", "Limits": "grader", "NotebookResult": "grader", "ExerciseResult": "grader",
    "grade_notebook": "grader", "validate": "grader", "ReleaseError": "notebook", "check_source": "notebook",
    "compute_checksum": "notebook", "release": "notebook", "release_notebook": "notebook",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
