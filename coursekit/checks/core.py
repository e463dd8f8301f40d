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
The one exception is a run by nbgrader (``NBGRADER_EXECUTION`` set, by
``nbgrader validate`` or ``autograde``): there a check that did not pass
fails its cell (:class:`CheckFailed`), as nbgrader scores a test cell by
whether it raised.

Whatever the student's function prints while it is checked is captured and
shown in the check's message, not as the cell's output (nbgrader scores a
test cell that wrote to stderr 0).

For the grader, :func:`tracing_references` records which coursekit
functions each check's ``reference`` runs: the reference implementation
behind the exercise, less the helpers the check allows (``allow=``). The
grader scores an answer that calls one of them 0
(see :mod:`coursekit.grading.refcalls`).
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import io
import json
import os
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

PASSED = "passed"
NOT_ATTEMPTED = "not attempted"
WRONG = "wrong"
ERROR = "error"  # the student's code raised, or returned something unusable
PARTIAL = "partly passed"  # some of a check's independent parts passed (see combine)
RECORDED = "recorded"  # a quiz answer kept for the grader, with no verdict (see record_answer)

# glyph and word: the verdict reads the same where the browser has no emoji font
_MARK = {PASSED: "\u2705 passed", NOT_ATTEMPTED: "\u23f3 not attempted", WRONG: "\u274c wrong",
         ERROR: "\u274c error", PARTIAL: "\U0001F7E1 partly passed", RECORDED: "\U0001F4DD recorded"}
NBGRADER_ENV = "NBGRADER_EXECUTION"  # set by nbgrader while it runs a notebook (validate, autograde)
MAX_PRINTED = 2000  # characters of what the student's function printed, kept in the message


class CheckFailed(AssertionError):
    """Raised by a check that did not pass, only when nbgrader runs the notebook."""


@dataclass
class CheckResult:
    """What a check found. ``passed`` and ``points`` are what graders read."""

    name: str
    status: str
    message: str
    points: float
    max_points: float
    failing_input: Any = field(default=None, repr=False)
    parts: list = field(default_factory=list)  # one dict per independent part (see combine)
    reference: tuple = ()  # the coursekit functions the reference ran, less the allowed ones (grader only)
    printed: str = ""  # what the student's function printed while it was checked

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "message": self.message,
                "points": self.points, "max_points": self.max_points, "parts": list(self.parts)}


@dataclass
class Case:
    """One input to a student's function: positional arguments and a label."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    @property
    def size(self) -> int:
        """How big the input is, so the smallest failing one can be shown."""
        return sum(_size(value) for value in list(self.args) + list(self.kwargs.values()))


def _size(value) -> int:
    """Number of entries: an array's size, a container's entries added up (its parts
    may have different shapes, e.g. the gradients of several parameters), else 1."""
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 1


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

def _result(name, status, message, points, failing=None, verbose=True, *, printed: str = "",
            reference: tuple = ()) -> CheckResult:
    earned = points if status == PASSED else 0.0
    text = f"{_MARK[status]} \u2014 {name}: {message}" + _printed_note(printed)
    return _finish(CheckResult(name, status, text, earned, points, failing, reference=reference, printed=printed),
                   verbose)


def _finish(result: CheckResult, verbose: bool) -> CheckResult:
    """Print the verdict (``verbose``); under nbgrader, a check that did not pass fails its cell."""
    if verbose:
        print(result.message)
        if not result.passed and os.environ.get(NBGRADER_ENV):
            raise CheckFailed(result.message)
    return result


def _printed_note(printed: str) -> str:
    if not printed.strip():
        return ""
    shown = printed if len(printed) <= MAX_PRINTED else printed[:MAX_PRINTED] + f" ... ({len(printed):,} characters)"
    return "\n  Your function printed (shown here, not as the cell's output):\n    " + \
        shown.rstrip("\n").replace("\n", "\n    ")


@contextlib.contextmanager
def capture_prints():
    """What the code inside prints, to stdout or stderr, and the warnings it raises, collected in the
    list it yields (one string, once the block is over)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        out = [buffer]
        try:
            yield out
        finally:
            for w in caught:
                buffer.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
            out[:] = [buffer.getvalue()]


# ------------------------------------------------------------ references ----

_TRACING: contextvars.ContextVar[bool] = contextvars.ContextVar("coursekit_tracing_references", default=False)


@contextlib.contextmanager
def tracing_references():
    """While inside, every check records the coursekit functions its ``reference`` runs
    (``CheckResult.reference``). The grader uses it; a student's notebook never does."""
    token = _TRACING.set(True)
    try:
        yield
    finally:
        _TRACING.reset(token)


def _name(fn) -> str:
    return fn if isinstance(fn, str) else f"{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}"


def _is_allowed(name: str, allow: Sequence[str]) -> bool:
    """``allow`` holds "module:qualname" names, or "module" for all of a module's functions."""
    module = name.split(":", 1)[0]
    return any(name == a or (":" not in a and (module == a or module.startswith(a + "."))) for a in allow)


def _run_reference(reference: Callable, case: "Case", seen: set | None):
    """``reference(*case)``; with ``seen``, the coursekit functions it runs are added to it."""
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    if seen is None:
        return reference(*args, **kwargs)

    from ..grading.refcalls import is_reference_module

    def profile(frame, event, arg):
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not (isinstance(module, str) and is_reference_module(module)):
            return
        qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back is not None else ""
        last = qualname.rsplit(".", 1)[-1]
        private = last.startswith("_") and not (last.startswith("__") and last.endswith("__"))
        # the entry points (called by the check's own code) and every private helper under them
        if private or not (isinstance(caller, str) and is_reference_module(caller)):
            seen.add(f"{module}:{qualname}")

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        return reference(*args, **kwargs)
    finally:
        sys.setprofile(previous)


def _not_attempted(name, points, verbose, **extra):
    return _result(name, NOT_ATTEMPTED,
                   "not attempted yet. Replace `raise NotImplementedError()` with your code, then run this cell again.",
                   points, verbose=verbose, **extra)


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
                   hint: str = "", verbose: bool = True, allow: Iterable[Callable | str] = ()) -> CheckResult:
    """Compare ``student(*case)`` with ``reference(*case)`` on every case.

    ``cases`` are tuples of arguments (or :class:`Case`); each function gets its
    own deep copy, so a student function that modifies its input cannot change
    what the reference sees. The smallest failing case is reported. What the
    student's function prints is captured and shown in the message.

    ``allow`` names the coursekit functions (or modules, as "coursekit.x")
    an answer may call although the reference runs them too: the helpers
    the exercise lets students use. Any other coursekit function the
    reference runs is part of the reference implementation, and the grader
    scores an answer that calls it 0.
    """
    compare = compare or compare_values
    allowed = [_name(a) for a in allow]
    seen: set | None = set() if _TRACING.get() else None
    if not callable(student):
        return _result(name, ERROR, f"expected a function, got {type(student).__name__}: {fmt(student)}",
                       points, verbose=verbose)
    failures: list[tuple[Case, str]] = []
    cases = [as_case(c) for c in cases]
    printed: list[str] = []
    result = None
    for case in cases:
        expected = _run_reference(reference, case, seen)
        with capture_prints() as out:
            try:
                with np.errstate(all="ignore"):
                    got = student(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            except NotImplementedError:
                result = NOT_ATTEMPTED
            except (Exception, SystemExit) as err:  # the student's bug (even exit()) is feedback, not a crash
                failures.append((case, f"your function raised {_student_error(err)}"))
                got = None
        printed += out
        if result == NOT_ATTEMPTED:
            break
        if failures and failures[-1][0] is case:
            continue
        try:
            problem = compare(expected, got)
        except Exception as err:  # an odd returned object must not crash the check either
            problem = f"your function raised {type(err).__name__} when its result was read: {err}"
        if problem:
            failures.append((case, problem))
    printed_text = "".join(printed)
    reference_names = tuple(sorted(n for n in seen if not _is_allowed(n, allowed))) if seen is not None else ()
    if result == NOT_ATTEMPTED:
        return _not_attempted(name, points, verbose, printed=printed_text, reference=reference_names)
    if not failures:
        return _result(name, PASSED, f"passed all {len(cases)} tests ({points:g}/{points:g} points).",
                       points, verbose=verbose, printed=printed_text, reference=reference_names)
    case, problem = min(failures, key=lambda f: f[0].size)
    status = ERROR if problem.startswith("your function raised") else WRONG
    label = f" ({case.label})" if case.label else ""
    message = (f"failed {len(failures)} of {len(cases)} tests. Smallest failing input{label}:\n"
               f"    {fmt_case(case, arg_names)}\n  {problem}")
    if hint:
        message += f"\n  Hint: {hint}"
    return _result(name, status, message, points, failing=case, verbose=verbose, printed=printed_text,
                   reference=reference_names)


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


def _call_answer(answer_fn) -> tuple[Any, str | None, str]:
    """``(answer, failed, printed)``: the student's answer (``answer_fn()``, or the value itself if
    it is not a function); ``failed`` is NOT_ATTEMPTED or what the function raised, else None."""
    answer, failed = None, None
    with capture_prints() as out:
        try:
            answer = answer_fn() if callable(answer_fn) else answer_fn
        except NotImplementedError:
            failed = NOT_ATTEMPTED
        except (Exception, SystemExit) as err:
            failed = f"your answer function raised {_student_error(err)}"
    return answer, failed, out[0]


def check_answer(answer_fn: Callable[[], Any], digest: str, *, name: str, points: float = 1.0,
                 expected_type: str = "", hint: str = "", verbose: bool = True,
                 convert: Callable[[Any], Any] | None = None) -> CheckResult:
    """Check a quiz answer returned by ``answer_fn()`` against a stored digest.

    ``convert`` brings the answers that mean the same to one form before the digest is taken
    (e.g. the option 3 given as 3, "3" or {3}; a number rounded to the decimals the question
    asks for); the digest is of the converted form. It is not called on None, and an answer it
    cannot convert (it raises) is compared as given.
    """
    _note_kind("quiz")
    answer, failed, printed = _call_answer(answer_fn)
    if convert is not None and failed is None and answer is not None:
        try:
            answer = convert(answer)
        except Exception:
            pass
    if failed == NOT_ATTEMPTED:
        return _not_attempted(name, points, verbose, printed=printed)
    if failed:
        return _result(name, ERROR, failed, points, verbose=verbose, printed=printed)
    if answer is None:
        return _result(name, WRONG, "your function returned None: return your answer" +
                       (f" ({expected_type})" if expected_type else "") + ".", points, verbose=verbose, printed=printed)
    try:
        ok = answer_digest(answer) == digest
    except (TypeError, ValueError, OverflowError, RecursionError):  # an answer that cannot be normalized is not it
        ok = False
    if ok:
        return _result(name, PASSED, f"correct ({points:g}/{points:g} points).", points, verbose=verbose,
                       printed=printed)
    message = f"{fmt(answer)} is not right."
    if expected_type:
        message += f" Expected {expected_type}."
    if hint:
        message += f"\n  Hint: {hint}"
    return _result(name, WRONG, message, points, verbose=verbose, printed=printed)


def record_answer(answer_fn: Callable[[], Any], *, name: str = "answer", verbose: bool = True) -> CheckResult:
    """A graded quiz without a verdict: show the answer as it will be handed in, and nothing more.

    ``coursekit release`` puts this in place of a quiz's check in the student
    version of a notebook whose metadata says ``"coursekit": {"quiz_verdicts":
    false}``; the grader still grades the quiz with the original check."""
    answer, failed, printed = _call_answer(answer_fn)
    if failed == NOT_ATTEMPTED:
        return _not_attempted(name, 0.0, verbose, printed=printed)
    if failed:
        return _result(name, ERROR, failed, 0.0, verbose=verbose, printed=printed)
    text = f"{_MARK[RECORDED]} \u2014 {name}: your answer {fmt(answer)} is recorded; this quiz is graded after you hand " \
           "the notebook in (no verdict here)." + _printed_note(printed)
    result = CheckResult(name, RECORDED, text, 0.0, 0.0, printed=printed)
    if verbose:
        print(text)
    return result


# ------------------------------------------------------------- partial credit ---

def combine(name: str, parts: Sequence[CheckResult], *, verbose: bool = True) -> CheckResult:
    """One result from a check's independent parts, each a result of its own
    (made with ``verbose=False``): the points are the sum of the parts'
    points, each part's verdict is in the message and in ``parts``.

    For example, an exercise returning a loss and its gradient::

        combine("softmax_loss", [
            check_function(lambda S, y: fn(S, y)[0], loss, cases, name="loss", points=1, verbose=False),
            check_function(lambda S, y: fn(S, y)[1], gradient, cases, name="gradient", points=2, verbose=False),
        ], verbose=verbose)
    """
    earned = sum(p.points for p in parts)
    full = sum(p.max_points for p in parts)
    if all(p.passed for p in parts):
        status = PASSED
    elif all(p.status == NOT_ATTEMPTED for p in parts):
        status = NOT_ATTEMPTED
    elif earned > 0:
        status = PARTIAL
    else:
        status = ERROR if any(p.status == ERROR for p in parts) else WRONG
    head = {PASSED: "passed every part", NOT_ATTEMPTED: "not attempted yet", PARTIAL: "passed some parts"}.get(
        status, "no part passed")
    lines = [f"{_MARK[status]} \u2014 {name}: {head} ({earned:g}/{full:g} points)."]
    lines += ["  " + p.message.replace("\n", "\n  ") for p in parts]
    reference = tuple(sorted({n for p in parts for n in p.reference}))
    info = [{"name": p.name, "status": p.status, "points": p.points, "max_points": p.max_points, "message": p.message}
            for p in parts]
    return _finish(CheckResult(name, status, "\n".join(lines), earned, full, parts=info, reference=reference,
                               printed="".join(p.printed for p in parts)), verbose)


# ---------------------------------------------------------------- kinds ---

_KIND: contextvars.ContextVar[list | None] = contextvars.ContextVar("coursekit_check_kind", default=None)


def _note_kind(kind: str) -> None:
    seen = _KIND.get()
    if seen is not None:
        seen.append(kind)


def is_quiz(check: Callable, **kwargs) -> bool:
    """Whether ``check`` grades a quiz answer (it goes through :func:`check_answer`): found by
    running it on an answer not given yet (``coursekit release`` uses it for the quiz option)."""

    def not_yet(*args, **kw):
        raise NotImplementedError()

    token = _KIND.set([])
    try:
        with capture_prints():
            check(not_yet, verbose=False, **kwargs)
        return "quiz" in _KIND.get()
    except Exception:
        return False
    finally:
        _KIND.reset(token)
