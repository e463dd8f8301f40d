"""Exercise checks, one module per unit topic (``checks.perceptron``, ...).

Every check prints its verdict and returns a :class:`CheckResult`; it never
raises (but under nbgrader, where a check that did not pass fails its cell),
so a missing or wrong answer never stops "Run All".
"""
from .core import (ERROR, NOT_ATTEMPTED, PARTIAL, PASSED, RECORDED, WRONG, Case, CheckFailed, CheckResult,
                   answer_digest, check_answer, check_function, combine, compare_values, random_cases, record_answer)

__all__ = ["PASSED", "NOT_ATTEMPTED", "WRONG", "ERROR", "PARTIAL", "RECORDED", "Case", "CheckFailed", "CheckResult",
           "answer_digest", "check_answer", "check_function", "combine", "compare_values", "random_cases",
           "record_answer"]
