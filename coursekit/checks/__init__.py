"""Exercise checks, one module per unit topic (``checks.perceptron``, ...).

Every check prints its verdict and returns a :class:`CheckResult`; it never
raises, so a missing or wrong answer never stops "Run All".
"""
from .core import (ERROR, NOT_ATTEMPTED, PASSED, WRONG, Case, CheckResult, answer_digest, check_answer,
                   check_function, compare_values, random_cases)

__all__ = ["PASSED", "NOT_ATTEMPTED", "WRONG", "ERROR", "Case", "CheckResult", "answer_digest",
           "check_answer", "check_function", "compare_values", "random_cases"]
