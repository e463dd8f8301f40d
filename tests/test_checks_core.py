"""The check framework: every kind of student answer gets the right verdict and message."""
import numpy as np
import pytest

from coursekit import checks
from coursekit.checks import NOT_ATTEMPTED, PASSED, WRONG, ERROR
from coursekit.checks import core


def reference(x):
    return 2.0 * x + 1.0


def make_cases(seed=0):
    return checks.random_cases(lambda rng, size: (rng.normal(size=size),), n=10, seed=seed)


def run(student, **kw):
    return checks.check_function(student, reference, make_cases(), name="double_plus_one", points=2, **kw)


def test_correct_function_passes(capsys):
    result = run(lambda x: x * 2 + 1)
    assert result.passed and result.status == PASSED
    assert result.points == 2 and result.max_points == 2
    assert "passed all 10 tests" in capsys.readouterr().out


def test_not_attempted(capsys):
    def stub(x):
        raise NotImplementedError()

    result = run(stub)
    assert result.status == NOT_ATTEMPTED and not result.passed and result.points == 0
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "NotImplementedError" in out


def test_wrong_answer_reports_smallest_failing_input(capsys):
    # wrong only for inputs with more than 3 elements: the reported case must be the smallest of those
    result = run(lambda x: 2 * x + 1 if x.size <= 3 else 2 * x)
    assert result.status == WRONG and result.points == 0
    assert result.failing_input.size == 4
    out = capsys.readouterr().out
    assert "Smallest failing input" in out and "expected:" in out and "got:" in out


def test_hint_is_shown(capsys):
    run(lambda x: x, hint="multiply first, then add")
    assert "Hint: multiply first, then add" in capsys.readouterr().out


def test_nan_is_reported_as_such():
    result = run(lambda x: np.full_like(x, np.nan), verbose=False)
    assert result.status == WRONG and "NaN" in result.message


def test_wrong_shape_is_reported_as_such():
    result = run(lambda x: (2 * x + 1).reshape(-1, 1), verbose=False)
    assert result.status == WRONG
    assert "wrong shape" in result.message and "(1,)" in result.message and "(1, 1)" in result.message


def test_exception_in_student_code_is_feedback_not_a_crash():
    def buggy(x):
        return x @ np.ones((7, 7))  # shapes do not match

    result = run(buggy, verbose=False)
    assert result.status == ERROR and not result.passed
    assert "your function raised ValueError" in result.message


def test_returning_none_names_the_missing_return():
    def forgot_return(x):
        2 * x + 1

    result = run(forgot_return, verbose=False)
    assert result.status == WRONG and "return" in result.message


def test_non_callable_answer():
    result = run(42, verbose=False)
    assert result.status == ERROR and "expected a function" in result.message


def test_student_cannot_change_the_reference_input():
    def mutating(x):
        out = 2 * x + 1
        x[:] = 0  # would corrupt the reference if inputs were shared
        return out

    assert run(mutating, verbose=False).passed


def test_torch_tensor_answer_is_accepted():
    torch = pytest.importorskip("torch")
    assert run(lambda x: torch.from_numpy(2 * x + 1), verbose=False).passed


def test_tuple_results_are_compared_elementwise():
    ref = lambda a: (a.sum(), a.max())  # noqa: E731
    cases = make_cases()
    assert checks.check_function(lambda a: (a.sum(), a.max()), ref, cases, name="t", verbose=False).passed
    bad = checks.check_function(lambda a: (a.sum(), a.min()), ref, cases, name="t", verbose=False)
    assert bad.status == WRONG and "returned value #2" in bad.message


@pytest.mark.parametrize("given", [{2, 3}, {3, 2}, frozenset({2, 3})])
def test_quiz_set_answers_ignore_order(given):
    digest = checks.answer_digest({2, 3})
    assert checks.check_answer(lambda: given, digest, name="q", verbose=False).passed


def test_quiz_answers():
    digest = checks.answer_digest((1, 1, 1))
    assert checks.check_answer(lambda: (1, 1, 1), digest, name="q", verbose=False).passed
    assert checks.check_answer(lambda: (1.0, 1.0, 1.0), digest, name="q", verbose=False).passed
    wrong = checks.check_answer(lambda: (-1, 1, 1), digest, name="q", verbose=False, hint="think of x0")
    assert wrong.status == WRONG and "Hint: think of x0" in wrong.message

    def stub():
        raise NotImplementedError()

    assert checks.check_answer(stub, digest, name="q", verbose=False).status == NOT_ATTEMPTED
    assert checks.check_answer(lambda: None, digest, name="q", verbose=False).status == WRONG
    assert checks.check_answer(lambda: 1 / 0, digest, name="q", verbose=False).status == ERROR
    assert checks.check_answer(lambda: " Free ", checks.answer_digest("free"), name="q", verbose=False).passed


def test_quiz_convert_brings_equivalent_answers_to_one_form():
    """check_answer(convert=) is the one place a quiz's answer is normalized before its digest is compared."""
    digest = checks.answer_digest(3)
    seen = []

    def as_option(answer):
        seen.append(answer)
        return int(next(iter(answer))) if isinstance(answer, (set, list)) else int(answer)

    for given in (3, "3", 3.0, {3}, [3], np.int64(3)):
        assert checks.check_answer(lambda: given, digest, name="q", verbose=False, convert=as_option).passed, given
        assert checks.check_answer(given, digest, name="q", verbose=False, convert=as_option).passed, given
    assert not checks.check_answer(lambda: "3", digest, name="q", verbose=False).passed   # without convert
    seen.clear()
    wrong = checks.check_answer(lambda: 4, digest, name="q", verbose=False, convert=as_option)
    assert wrong.status == WRONG and seen == [4]

    def stub():
        raise NotImplementedError()

    seen.clear()
    assert checks.check_answer(stub, digest, name="q", verbose=False, convert=as_option).status == NOT_ATTEMPTED
    assert checks.check_answer(lambda: 1 / 0, digest, name="q", verbose=False, convert=as_option).status == ERROR
    none = checks.check_answer(lambda: None, digest, name="q", verbose=False, convert=as_option)
    assert none.status == WRONG and "None" in none.message and seen == []   # never converted
    # an answer convert cannot read is judged as given: wrong, not an error of the student's function
    odd = checks.check_answer(lambda: "three", digest, name="q", verbose=False, convert=as_option)
    assert odd.status == WRONG and "raised" not in odd.message
    # what the answer function prints is still captured

    def chatty():
        print("thinking")
        return "3"
    talk = checks.check_answer(chatty, digest, name="q", verbose=False, convert=as_option)
    assert talk.passed and "thinking" in talk.printed


def test_digest_does_not_contain_the_answer():
    assert "free" not in checks.answer_digest("free")


def test_exit_in_student_code_is_feedback_not_a_crash():
    def quits(x):
        raise SystemExit(3)  # what exit() or sys.exit() does

    result = run(quits, verbose=False)
    assert result.status == ERROR and "SystemExit" in result.message
    assert checks.check_answer(quits, checks.answer_digest(1), name="q", verbose=False).status == ERROR


def test_an_unreadable_result_is_feedback_not_a_crash():
    class Unreadable:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("cannot be read")

    result = run(lambda x: Unreadable(), verbose=False)
    assert result.status == ERROR and "RuntimeError" in result.message and "cannot be read" in result.message


@pytest.mark.parametrize("answer, named", [
    (lambda x: str(float(2 * x[0] + 1)) if x.size == 1 else 2 * x + 1, "str"),     # a number as text
    (lambda x: [str(v) for v in 2 * x + 1], "list"),                               # numbers as text
    (lambda x: (2 * x + 1).astype(complex), "complex"),                            # complex, imaginary 0
])
def test_numbers_of_the_wrong_type_do_not_pass(answer, named):
    # np.asarray(..., dtype=float) would turn each of these into the right floats
    result = run(answer, verbose=False)
    assert not result.passed and result.status == WRONG
    assert "expected a number or array" in result.message and named in result.message


# ------------------------------------------------ prints, nbgrader, references, parts ----

def test_what_the_function_prints_is_captured_into_the_message(capsys):
    import sys
    import warnings

    def noisy(x):
        print("step", float(np.sum(x)))
        print("careful", file=sys.stderr)
        warnings.warn("deprecated thing")
        return 2 * x + 1

    result = run(noisy)
    out = capsys.readouterr()
    assert result.passed and out.err == ""  # nothing reached the cell's stderr (nbgrader would score it 0)
    assert "Your function printed" in result.message and "careful" in result.message
    assert "deprecated thing" in result.printed and out.out.count("\n") == result.message.count("\n") + 1


def test_under_nbgrader_a_check_that_did_not_pass_fails_its_cell(monkeypatch, capsys):
    monkeypatch.setenv(core.NBGRADER_ENV, "validate")
    with pytest.raises(core.CheckFailed, match="failed 10 of 10 tests"):
        run(lambda x: x)

    def stub(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not attempted yet"):
        run(stub)
    assert run(lambda x: 2 * x + 1).passed  # a pass does not raise
    assert run(lambda x: x, verbose=False).status == WRONG  # nor does the grader's quiet re-check
    monkeypatch.delenv(core.NBGRADER_ENV)
    assert run(lambda x: x).status == WRONG  # and without nbgrader a check never raises


def test_tracing_records_the_reference_implementation_less_what_is_allowed():
    from coursekit import linear, perceptron as P
    from coursekit.checks import perceptron as CP

    with core.tracing_references():
        pla = CP.check_pla_update(P.pla_update, verbose=False).reference
        pocket = CP.check_pocket(CP.reference_pocket_loop, verbose=False).reference
        theta_allowed = checks.check_function(lambda s: 1 / (1 + np.exp(-s)), linear.theta, make_cases(),
                                              name="t", verbose=False, allow=[linear.theta]).reference
        module_allowed = checks.check_function(lambda s: s, linear.theta, make_cases(), name="t", verbose=False,
                                               allow=["coursekit.linear"]).reference
    # the entry point and its private helpers; not count_mistakes, a public building block pocket uses
    assert "coursekit.perceptron:pla_update" in pla and all(n.split(":")[1].startswith("_") for n in pla
                                                           if n != "coursekit.perceptron:pla_update"), pla
    assert "coursekit.perceptron:pocket" in pocket and "coursekit.perceptron:count_mistakes" not in pocket
    assert all(name.split(":")[1].startswith(("pocket", "_")) for name in pocket), pocket
    assert theta_allowed == () and module_allowed == ()
    assert CP.check_pla_update(P.pla_update, verbose=False).reference == ()  # only the grader traces


def test_combine_scores_each_independent_part(capsys):
    loss = checks.check_function(lambda x: 2 * x + 1, reference, make_cases(), name="loss", points=1, verbose=False)
    grad = checks.check_function(lambda x: x, reference, make_cases(), name="gradient", points=2, verbose=False)
    both = checks.combine("loss_and_gradient", [loss, grad])
    out = capsys.readouterr().out
    assert both.status == checks.PARTIAL and both.points == 1 and both.max_points == 3
    assert [p["points"] for p in both.parts] == [1, 0] and "gradient" in out and "1/3 points" in out
    assert checks.combine("x", [loss, loss], verbose=False).passed
    stub = checks.check_function(lambda x: (_ for _ in ()).throw(NotImplementedError()), reference, make_cases(),
                                 name="p", verbose=False)
    assert checks.combine("x", [stub, stub], verbose=False).status == NOT_ATTEMPTED
    assert checks.combine("x", [grad, stub], verbose=False).status == WRONG


def test_quiz_checks_are_told_apart_and_recorded_without_a_verdict(capsys):
    from coursekit.checks import perceptron as CP

    assert core.is_quiz(CP.check_spam_keywords) and not core.is_quiz(CP.check_pla_update)
    capsys.readouterr()
    recorded = checks.record_answer(lambda: 2, name="spam")
    out = capsys.readouterr().out
    assert recorded.status == checks.RECORDED and "your answer 2 is recorded" in out
    assert "correct" not in out and "not right" not in out and recorded.points == 0


def test_case_size_counts_containers_of_arrays_of_different_shapes():
    import numpy as np

    from coursekit.checks.core import Case

    grads = (np.zeros((2, 3)), np.zeros(4))                 # np.size would try to make one array of it
    assert Case((grads, 1.0)).size == 6 + 4 + 1
    assert Case(({"W": np.zeros((3, 3)), "b": np.zeros(3)},)).size == 12
    assert Case((np.zeros(5), [1, 2])).size == 7
