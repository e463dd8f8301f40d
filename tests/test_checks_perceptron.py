"""The perceptron exercise checks: right answers pass, missing ones are "not attempted",
plausible mistakes are "wrong" with expected vs got, and crashing code is "error".

The correct solutions below are written here, from the slides, as plain loops:
they share no code with coursekit.perceptron.
"""
import numpy as np
import pytest

from coursekit import perceptron as P
from coursekit.checks import ERROR, NOT_ATTEMPTED, PASSED, WRONG, answer_digest
from coursekit.checks import perceptron as C


def not_attempted(*args):
    raise NotImplementedError()


def crashes(*args):
    return undefined_name  # noqa: F821 -- a NameError, like a student's typo


def sign(s):
    return 1 if s > 0 else (-1 if s < 0 else 0)


def dot(a, b):
    return sum(float(ai) * float(bi) for ai, bi in zip(a, b))


# ---------------------------------------------------------- independent solutions ---

def loop_credit_decision(w, x, threshold):
    return sign(dot(w, x) - threshold)


def loop_pla_update(w, x, y):
    return [wi + y * xi for wi, xi in zip(w, x)]  # a list is a fine answer too


def loop_count_mistakes(w, X, y):
    return sum(1 for xn, yn in zip(X, y) if sign(dot(w, xn)) != yn)


def loop_pocket(X, y, max_updates, *, strict=True, keep_pocket=True, restart_from_zero=False):
    """Pocket over naive-cycle PLA, step by step as on the slide. The keyword
    switches turn it into the plausible wrong versions the check must catch."""
    X = [list(map(float, row)) for row in X]
    N = len(X)
    w = [0.0] * len(X[0])
    pocket, pocket_mistakes = list(w), loop_count_mistakes(w, X, y)
    n, updates = 0, 0
    while updates < max_updates:
        start = 0 if restart_from_zero else n
        found = None
        for k in range(N):
            i = (start + k) % N
            if sign(dot(w, X[i])) != y[i]:
                found = i
                break
        if found is None:  # a full cycle without mistakes
            break
        w = [wi + y[found] * xi for wi, xi in zip(w, X[found])]
        updates += 1
        n = (found + 1) % N
        m = loop_count_mistakes(w, X, y)
        if m < pocket_mistakes or (not strict and m <= pocket_mistakes):
            pocket, pocket_mistakes = list(w), m
    return pocket if keep_pocket else w


# ------------------------------------------------------------------- the checks ---

CHECKS = {
    "credit_decision": (C.check_credit_decision, [P.credit_score, loop_credit_decision]),
    "pla_update": (C.check_pla_update, [P.pla_update, loop_pla_update]),
    "count_mistakes": (C.check_count_mistakes, [P.count_mistakes, loop_count_mistakes]),
    "pocket": (C.check_pocket, [C.reference_pocket_loop, loop_pocket]),
    "or_weights": (C.check_or_perceptron, [lambda: P.OR_WEIGHTS, lambda: (1, 1, 1), lambda: [0.5, 2.0, 2.0]]),
}

WRONG_SOLUTIONS = {
    "credit_decision": [
        lambda w, x, t: 1 if np.dot(w, x) > t else -1,  # no 0 on the threshold
        lambda w, x, t: int(np.sign(np.dot(w, x) + t)),  # threshold added, not subtracted
    ],
    "pla_update": [
        lambda w, x, y: w - y * x,  # the wrong direction
        lambda w, x, y: w + x,  # forgot the label
        lambda w, x, y: np.sign(w + y * x),  # a sign that does not belong there
    ],
    "count_mistakes": [
        lambda w, X, y: int(np.sum(y * (X @ w) < 0)),  # points on the line not counted
        lambda w, X, y: int(np.sum(np.sign(X @ w) == y)),  # counts the correct ones
        lambda w, X, y: np.sign(X @ w) != y,  # an array instead of a count
    ],
    "pocket": [
        lambda X, y, m: loop_pocket(X, y, m, keep_pocket=False),  # returns the last w, not the best
        lambda X, y, m: loop_pocket(X, y, m, strict=False),  # replaces the pocket on ties
        lambda X, y, m: loop_pocket(X, y, m, restart_from_zero=True),  # not cyclic
        lambda X, y, m: loop_pocket(X, y, m + 1),  # one update too many
    ],
    "or_weights": [
        lambda: (-1, 1, 1),  # that is AND
        lambda: (3, 1, 1),  # always +1
        lambda: (0, 1, 1),  # sign(0) on the mixed inputs
    ],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_correct_solutions_pass(name, capsys):
    check, solutions = CHECKS[name]
    for solution in solutions:
        result = check(solution)
        assert result.status == PASSED, result.message
        assert result.points == result.max_points > 0
    assert "passed all" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(CHECKS))
def test_not_attempted(name, capsys):
    check, _ = CHECKS[name]
    result = check(not_attempted)
    assert result.status == NOT_ATTEMPTED and result.points == 0
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(CHECKS))
def test_crashing_function_is_an_error(name):
    check, _ = CHECKS[name]
    result = check(crashes, verbose=False)
    assert result.status == ERROR and result.points == 0
    assert "NameError" in result.message


@pytest.mark.parametrize("name", list(CHECKS))
def test_not_a_function_is_an_error(name):
    check, _ = CHECKS[name]
    result = check(42, verbose=False)
    assert result.status == ERROR and "expected a function" in result.message


@pytest.mark.parametrize("name, index", [(n, i) for n, wrongs in WRONG_SOLUTIONS.items() for i in range(len(wrongs))])
def test_plausible_mistakes_are_wrong(name, index):
    check, _ = CHECKS[name]
    result = check(WRONG_SOLUTIONS[name][index], verbose=False)
    assert result.status == WRONG, result.message
    assert result.points == 0
    assert "Smallest failing input" in result.message and "Hint:" in result.message


@pytest.mark.parametrize("name", ["pla_update", "count_mistakes", "pocket", "credit_decision"])
def test_wrong_message_names_expected_and_got(name):
    check, _ = CHECKS[name]
    result = check(WRONG_SOLUTIONS[name][0], verbose=False)
    assert "expected:" in result.message and "got:" in result.message


def test_sign_zero_hint_is_taught():
    result = C.check_count_mistakes(WRONG_SOLUTIONS["count_mistakes"][0], verbose=False)
    assert "sign(0)" in result.message
    # the failing input shown really has a point on the line
    w, X, y = result.failing_input.args
    assert np.any(X @ w == 0)


def test_pocket_message_compares_mistake_counts():
    result = C.check_pocket(WRONG_SOLUTIONS["pocket"][0], verbose=False)
    X, y, m = result.failing_input.args
    got = loop_pocket(X, y, m, keep_pocket=False)
    best = loop_pocket(X, y, m)
    assert f"your weights make {loop_count_mistakes(got, X, y)} mistake(s)" in result.message
    assert f"the pocket weights {loop_count_mistakes(best, X, y)}" in result.message


def test_pocket_examples_separate_last_from_best():
    """The worked examples alone catch "returned the last w": in the XOR example
    the pocket is strictly better than where PLA stopped."""
    X = P.add_bias(np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]))
    y = [-1, 1, 1, -1]
    best, last = loop_pocket(X, y, 6), loop_pocket(X, y, 6, keep_pocket=False)
    assert loop_count_mistakes(best, X, y) < loop_count_mistakes(last, X, y)


def test_reference_pocket_loop_matches_the_independent_loop():
    rng = np.random.default_rng(11)
    for _ in range(30):
        N = int(rng.integers(3, 25))
        X = P.add_bias(rng.normal(size=(N, 2)))
        y = np.where(rng.random(N) < 0.5, 1.0, -1.0)
        m = int(rng.integers(0, 40))
        np.testing.assert_allclose(C.reference_pocket_loop(X, y, m), loop_pocket(X, y, m))


def test_checks_do_not_depend_on_the_seed_for_correct_answers():
    for seed in (1, 2, 3):
        assert C.check_pocket(loop_pocket, seed=seed, verbose=False).passed
        assert C.check_count_mistakes(loop_count_mistakes, seed=seed, verbose=False).passed


def test_or_weights_of_wrong_length_are_reported():
    result = C.check_or_perceptron(lambda: (1, 1), verbose=False)
    assert result.status == ERROR and "three numbers" in result.message


def test_or_weights_check_agrees_with_the_truth_table():
    """Any weights pass exactly when they reproduce OR on the four inputs."""
    rng = np.random.default_rng(0)
    for alpha in rng.integers(-3, 4, size=(60, 3)):
        truth = all(sign(alpha[0] + alpha[1] * g1 + alpha[2] * g2) == (1 if 1 in (g1, g2) else -1)
                    for g1 in (-1, 1) for g2 in (-1, 1))
        assert C.check_or_perceptron(lambda: tuple(alpha), verbose=False).passed == truth


# ------------------------------------------------------------------------ quizzes ---

QUIZZES = {
    # check, accepted forms of the right answer, wrong answers
    "spam": (C.check_spam_keywords, [2, {2}, [2], (2,), "2", np.int64(2)], [1, 3, 4, {2, 3}, "free"]),
    "pocket_vs_pla": (C.check_pocket_vs_pla, [1, {1}, [1]], [2, 3, 4, {1, 2}]),
    "or_alphas": (C.check_or_alphas, [3, {3}, (1, 1, 1), [1.0, 1.0, 1.0], np.array([1, 1, 1])],
                  [1, 2, 4, (-1, 1, 1), (3, 1, 1), (1, 1)]),
}


@pytest.mark.parametrize("quiz", list(QUIZZES))
def test_quiz_accepts_the_right_answer_in_every_documented_form(quiz):
    check, right, _ = QUIZZES[quiz]
    for answer in right:
        result = check(lambda: answer, verbose=False)
        assert result.status == PASSED, (answer, result.message)


@pytest.mark.parametrize("quiz", list(QUIZZES))
def test_quiz_rejects_wrong_answers(quiz):
    check, _, wrong = QUIZZES[quiz]
    for answer in wrong:
        result = check(lambda: answer, verbose=False)
        assert result.status == WRONG and result.points == 0, answer
        assert "Hint:" in result.message


@pytest.mark.parametrize("quiz", list(QUIZZES))
def test_quiz_not_attempted_none_and_error(quiz):
    check = QUIZZES[quiz][0]
    assert check(not_attempted, verbose=False).status == NOT_ATTEMPTED
    assert check(lambda: None, verbose=False).status == WRONG
    assert check(crashes, verbose=False).status == ERROR


def test_quiz_keys_are_stored_only_as_digests():
    """The module holds the digests of the deck's answers (option 2, option 1,
    (+1, +1, +1)), not the answers."""
    assert C._SPAM_DIGEST == answer_digest({2})
    assert C._POCKET_VS_PLA_DIGEST == answer_digest({1})
    assert C._OR_ALPHAS_DIGEST == answer_digest((1.0, 1.0, 1.0))


def test_or_quiz_answer_really_implements_or():
    """The deck's answer, option 3, checked against the truth table rather than trusted."""
    alpha = C.OR_QUIZ_OPTIONS[3]
    for g1 in (-1, 1):
        for g2 in (-1, 1):
            assert sign(alpha[0] + alpha[1] * g1 + alpha[2] * g2) == (1 if 1 in (g1, g2) else -1)
    for option in (1, 2, 4):
        alpha = C.OR_QUIZ_OPTIONS[option]
        assert any(sign(alpha[0] + alpha[1] * g1 + alpha[2] * g2) != (1 if 1 in (g1, g2) else -1)
                   for g1 in (-1, 1) for g2 in (-1, 1))


def test_quiz_accepts_a_plain_value_instead_of_a_function():
    assert C.check_spam_keywords(2, verbose=False).passed
    assert C.check_or_alphas((1, 1, 1), verbose=False).passed
    assert not C.check_pocket_vs_pla(3, verbose=False).passed
