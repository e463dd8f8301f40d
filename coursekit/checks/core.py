"""The exercise-check framework.

A check runs the student's function on inputs (worked examples first, then
random ones of growing size) next to the reference implementation and prints
one of three verdicts:

* passed;
* not attempted yet (the body still raises ``NotImplementedError``);
* wrong, with the *smallest* failing input, expected vs got and a hint; an
  exception, a wrong shape or a NaN inside the student's code is reported as
  such.

A check never raises: "Run All" always reaches the end of the notebook. The
grade is enforced separately by a hidden-test line in the same cell,
``assert result.passed``, which instructors keep and students never see.
"""
from __future__ import annotations

import copy
import hashlib
import json
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

PASSED = "passed"
NOT_ATTEMPTED = "not attempted"
WRONG = "wrong"
ERROR = "error"  # the student's code raised, or returned something unusable

# glyph and word: the verdict reads the same where the browser has no emoji font
_MARK = {PASSED: "\u2705 passed", NOT_ATTEMPTED: "\u23f3 not attempted", WRONG: "\u274c wrong",
         ERROR: "\u274c error"}


@dataclass
class CheckResult:
    """What a check found. ``passed`` and ``points`` are what graders read."""

    name: str
    status: str
    message: str
    points: float
    max_points: float
    failing_input: Any = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "message": self.message,
                "points": self.points, "max_points": self.max_points}


@dataclass
class Case:
    """One input to a student's function: positional arguments and a label."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    @property
    def size(self) -> int:
        """How big the input is, so the smallest failing one can be shown."""
        total = 0
        for value in list(self.args) + list(self.kwargs.values()):
            total += int(np.size(value)) if isinstance(value, (np.ndarray, list, tuple)) else 1
        return total


def as_case(item) -> Case:
    if isinstance(item, Case):
        return item
    if isinstance(item, tuple):
        return Case(item)
    return Case((item,))


# ------------------------------------------------------------ formatting ----

def fmt(value, limit: int = 400) -> str:
    """A short, readable rendering of an input or output for feedback."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, threshold=40, edgeitems=3)
        text = f"array(shape={value.shape}) {text}" if value.ndim > 1 else text
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        text = "(" + ", ".join(fmt(v, limit) for v in value) + ")"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def fmt_case(case: Case, names: Sequence[str] | None = None) -> str:
    parts = []
    for i, value in enumerate(case.args):
        name = names[i] if names and i < len(names) else f"arg{i}"
        parts.append(f"{name} = {fmt(value)}")
    parts += [f"{k} = {fmt(v)}" for k, v in case.kwargs.items()]
    return "\n    ".join(parts)


# ------------------------------------------------------------ comparison ----

def compare_values(expected, got, atol: float = 1e-6, rtol: float = 1e-5) -> str | None:
    """None when ``got`` matches ``expected``; otherwise what is wrong, in words."""
    if got is None and expected is not None:
        return "your function returned None: did you forget a `return` statement?"
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {type(got).__name__}: {fmt(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            problem = compare_values(e, g, atol, rtol)
            if problem:
                return f"in returned value #{i + 1}: {problem}"
        return None
    if isinstance(expected, (bool, np.bool_)):
        if isinstance(got, (bool, np.bool_)) and bool(got) == bool(expected):
            return None
        return f"expected {expected!r}, got {fmt(got)}"
    if isinstance(expected, str):
        return None if got == expected else f"expected {expected!r}, got {fmt(got)}"
    exp = np.asarray(expected, dtype=float)
    wrong_type = f"expected a number or array of shape {exp.shape}, got {type(got).__name__}: {fmt(got)}"
    if isinstance(got, (str, bytes)):
        return wrong_type
    try:
        if hasattr(got, "detach"):  # a torch tensor is an acceptable answer
            got = got.detach().cpu().numpy()
        raw = np.asarray(got)
        # numbers written as text, or complex numbers, would silently become floats below
        if raw.dtype.kind not in "biuf":
            return f"{wrong_type} (its values are of type {raw.dtype}, not real numbers)"
        arr = raw.astype(float)
    except (TypeError, ValueError, OverflowError):
        return wrong_type
    if arr.shape != exp.shape:
        return f"wrong shape: expected {exp.shape}, got {arr.shape}"
    if np.isnan(arr).any() and not np.isnan(exp).any():
        return f"your result contains NaN: {fmt(arr)}"
    if not np.allclose(arr, exp, atol=atol, rtol=rtol, equal_nan=True):
        worst = float(np.nanmax(np.abs(arr - exp))) if arr.size else 0.0
        return f"values differ (largest difference {worst:.3g})\n  expected: {fmt(exp)}\n  got:      {fmt(arr)}"
    return None


def expect_number(what: str, advice: str) -> Callable[[Any, Any], str | None]:
    """A ``compare`` for exercises that return one number: an array answer gets
    a message that says what the number is and how to reduce the array to it."""

    def compare(expected, got):
        is_array = isinstance(got, (list, tuple, np.ndarray)) or hasattr(got, "detach")
        if is_array and np.ndim(got) > 0:
            return f"expected one number ({what}), got an array of shape {np.shape(got)}; {advice}"
        return compare_values(expected, got)

    return compare


# ---------------------------------------------------------------- checks ----

def _result(name, status, message, points, failing=None, verbose=True) -> CheckResult:
    earned = points if status == PASSED else 0.0
    text = f"{_MARK[status]} \u2014 {name}: {message}"
    if verbose:
        print(text)
    return CheckResult(name, status, text, earned, points, failing)


def _not_attempted(name, points, verbose):
    return _result(name, NOT_ATTEMPTED,
                   "not attempted yet. Replace `raise NotImplementedError()` with your code, then run this cell again.",
                   points, verbose=verbose)


def _student_error(err: BaseException) -> str:
    """The last frame of the traceback that is the student's, plus the error."""
    frames = traceback.extract_tb(err.__traceback__)
    own = [f for f in frames if "coursekit" not in f.filename.replace("\\", "/").split("/site-packages/")[-1]
           or "/notebooks/" in f.filename]
    where = f" (line {own[-1].lineno}: `{own[-1].line}`)" if own and own[-1].line else ""
    return f"{type(err).__name__}: {err}{where}"


def check_function(student: Callable, reference: Callable, cases: Iterable, *, name: str,
                   points: float = 1.0, arg_names: Sequence[str] | None = None,
                   compare: Callable[[Any, Any], str | None] | None = None,
                   hint: str = "", verbose: bool = True) -> CheckResult:
    """Compare ``student(*case)`` with ``reference(*case)`` on every case.

    ``cases`` are tuples of arguments (or :class:`Case`); each function gets its
    own deep copy, so a student function that modifies its input cannot change
    what the reference sees. The smallest failing case is reported.
    """
    compare = compare or compare_values
    if not callable(student):
        return _result(name, ERROR, f"expected a function, got {type(student).__name__}: {fmt(student)}",
                       points, verbose=verbose)
    failures: list[tuple[Case, str]] = []
    cases = [as_case(c) for c in cases]
    for case in cases:
        expected = reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            with np.errstate(all="ignore"):
                got = student(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except NotImplementedError:
            return _not_attempted(name, points, verbose)
        except (Exception, SystemExit) as err:  # the student's bug (even exit()) is feedback, not a crash
            failures.append((case, f"your function raised {_student_error(err)}"))
            continue
        try:
            problem = compare(expected, got)
        except Exception as err:  # an odd returned object must not crash the check either
            problem = f"your function raised {type(err).__name__} when its result was read: {err}"
        if problem:
            failures.append((case, problem))
    if not failures:
        return _result(name, PASSED, f"passed all {len(cases)} tests ({points:g}/{points:g} points).",
                       points, verbose=verbose)
    case, problem = min(failures, key=lambda f: f[0].size)
    status = ERROR if problem.startswith("your function raised") else WRONG
    label = f" ({case.label})" if case.label else ""
    message = (f"failed {len(failures)} of {len(cases)} tests. Smallest failing input{label}:\n"
               f"    {fmt_case(case, arg_names)}\n  {problem}")
    if hint:
        message += f"\n  Hint: {hint}"
    return _result(name, status, message, points, failing=case, verbose=verbose)


def random_cases(make_case: Callable[[np.random.Generator, int], tuple], n: int = 20,
                 seed: int = 0, sizes: Sequence[int] | None = None) -> list[Case]:
    """``n`` random cases from ``make_case(rng, size)``, sizes growing from 1."""
    rng = np.random.default_rng(seed)
    sizes = list(sizes) if sizes is not None else [1 + i // 2 for i in range(n)]
    return [as_case(make_case(rng, size)) for size in sizes[:n]]


# ---------------------------------------------------------------- quizzes ---

def _normalize(answer):
    """Quiz answers compare after normalization: letter case, surrounding spaces and the order of a set do not matter."""
    if isinstance(answer, str):
        return answer.strip().lower()
    if isinstance(answer, (set, frozenset)):  # a set: order does not matter
        return sorted((_normalize(a) for a in answer), key=repr)
    if isinstance(answer, (list, tuple, np.ndarray)):  # a sequence: order matters
        return [_normalize(a) for a in answer]
    if isinstance(answer, (np.integer, int)) and not isinstance(answer, bool):
        return int(answer)
    if isinstance(answer, (np.floating, float)):
        return float(answer) if not float(answer).is_integer() else int(answer)
    return answer


def answer_digest(answer) -> str:
    """SHA-256 of a normalized answer: quiz keys are stored this way so that
    reading the package's source does not give the answers away."""
    return hashlib.sha256(json.dumps(_normalize(answer), sort_keys=True).encode()).hexdigest()


def check_answer(answer_fn: Callable[[], Any], digest: str, *, name: str, points: float = 1.0,
                 expected_type: str = "", hint: str = "", verbose: bool = True) -> CheckResult:
    """Check a quiz answer returned by ``answer_fn()`` against a stored digest."""
    try:
        answer = answer_fn() if callable(answer_fn) else answer_fn
    except NotImplementedError:
        return _not_attempted(name, points, verbose)
    except (Exception, SystemExit) as err:
        return _result(name, ERROR, f"your answer function raised {_student_error(err)}", points, verbose=verbose)
    if answer is None:
        return _result(name, WRONG, "your function returned None: return your answer" +
                       (f" ({expected_type})" if expected_type else "") + ".", points, verbose=verbose)
    try:
        ok = answer_digest(answer) == digest
    except (TypeError, ValueError, OverflowError):  # an answer that cannot be normalized is not the answer
        ok = False
    if ok:
        return _result(name, PASSED, f"correct ({points:g}/{points:g} points).", points, verbose=verbose)
    message = f"{fmt(answer)} is not right."
    if expected_type:
        message += f" Expected {expected_type}."
    if hint:
        message += f"\n  Hint: {hint}"
    return _result(name, WRONG, message, points, verbose=verbose)
