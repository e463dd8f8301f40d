"""Grading throughput: a generated class of unit-02 submissions graded with -j 2."""
from __future__ import annotations

from coursekit.grading.bench import throughput

from . import Row


def run() -> list[Row]:
    result = throughput(n_submissions=20, jobs=2)
    return [Row("grading", "unit-02 submissions graded per minute (-j 2)", result["per_minute"], "1/min",
                note=f"{result['submissions']} submissions in {result['seconds']:.0f} s; {result['statuses']}")]
