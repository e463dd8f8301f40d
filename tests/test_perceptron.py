"""PLA, cyclic PLA, pocket and the logic perceptrons, against independent computations."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.linear_model import Perceptron

from coursekit import perceptron as P


def separable_data(n, margin, seed):
    """Points in [-1, 1]^2 at distance >= margin from a random line through the square.
    Built here, independently of coursekit.datasets."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(angle), np.sin(angle)])
    w_f = np.array([rng.uniform(-0.3, 0.3), *normal])
    X = rng.uniform(-1, 1, size=(20 * n, 2))
    Xb = P.add_bias(X)
    distance = Xb @ w_f  # |normal| = 1, so this is the signed distance
    keep = np.abs(distance) >= margin
    X, distance = X[keep][:n], distance[keep][:n]
    return X, np.where(distance > 0, 1, -1), w_f


def independent_pla(Xb, y, order, max_updates=10_000):
    """A plain loop written from the slide, to compare the vectorized trace against."""
    w = np.zeros(Xb.shape[1])
    updates, i, clean = [], 0, 0
    N = len(y)
    while clean < N and len(updates) < max_updates:
        n = order[i % N]
        if np.sign(w @ Xb[n]) != y[n]:
            w = w + y[n] * Xb[n]
            updates.append(n)
            clean = 0
        else:
            clean += 1
        i += 1
    return w, updates


@pytest.mark.parametrize("cycle", ["naive", "random"])
@pytest.mark.parametrize("seed", range(5))
def test_trace_matches_the_slide_loop(cycle, seed):
    X, y, _ = separable_data(60, 0.05, seed)
    Xb = P.add_bias(X)
    trace = list(P.perceptron_trace(Xb, y, cycle=cycle, seed=seed))
    w, updates = independent_pla(Xb, y, P.cycle_order(len(y), cycle, seed))
    assert [s.n for s in trace[1:-1]] == updates
    np.testing.assert_allclose(trace[-1].w, w)
    assert trace[-1].converged and trace[-1].mistakes == 0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), margin=st.floats(0.02, 0.3), n=st.integers(2, 80))
def test_pla_halts_within_novikoff_bound(seed, margin, n):
    X, y, w_f = separable_data(n, margin, seed)
    Xb = P.add_bias(X)
    result = P.pla(Xb, y, max_updates=100_000)
    assert result.converged and result.mistakes == 0
    assert P.count_mistakes(result.w, Xb, y) == 0
    assert result.updates <= P.novikoff_bound(Xb, y, w_f)


def test_novikoff_bound_closed_form():
    Xb = np.array([[1.0, 2.0, 0.0], [1.0, -1.0, 0.0]])
    y = np.array([1, -1])
    w_f = np.array([0.0, 1.0, 0.0])
    # R = ||(1, 2, 0)|| = sqrt(5); rho = min(2, 1) / 1 = 1
    assert P.novikoff_bound(Xb, y, w_f) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="does not separate"):
        P.novikoff_bound(Xb, y, -w_f)


def test_pla_and_sklearn_both_reach_zero_training_error():
    X, y, _ = separable_data(200, 0.05, 7)
    ours = P.pla(P.add_bias(X), y)
    theirs = Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
    assert P.count_mistakes(ours.w, P.add_bias(X), y) == 0
    assert theirs.score(X, y) == 1.0


def test_pocket_mistakes_never_increase_and_pocket_is_best_seen():
    X, y, _ = separable_data(100, 0.02, 3)
    y = y.copy()
    y[:8] *= -1  # label noise: no longer separable
    Xb = P.add_bias(X)
    trace = list(P.perceptron_trace(Xb, y, cycle="random", seed=1, max_updates=300))
    pocket_counts = [s.pocket_mistakes for s in trace]
    assert all(b <= a for a, b in zip(pocket_counts, pocket_counts[1:]))
    assert pocket_counts[-1] == min(P.count_mistakes(s.w, Xb, y) for s in trace)
    for s in trace:
        assert P.count_mistakes(s.pocket_w, Xb, y) == s.pocket_mistakes
    result = P.pocket(Xb, y, max_updates=300, seed=1)
    assert result.mistakes == pocket_counts[-1] <= trace[-1].mistakes


def test_non_separable_pla_stops_at_its_limit_and_says_so():
    Xb = P.add_bias(np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]))
    y = np.array([-1, -1, 1, 1])  # XOR
    with pytest.warns(P.PLANotConvergedWarning, match="limit of 50 updates"):
        result = P.pla(Xb, y, max_updates=50)
    assert not result.converged and result.updates == 50 and result.mistakes > 0
    assert "not be linearly separable" in result.message


def test_zero_weights_make_every_point_a_mistake():
    Xb = P.add_bias(np.array([[1.0, 2.0], [-3.0, 0.5]]))
    assert P.count_mistakes(np.zeros(3), Xb, np.array([1, -1])) == 2


def test_pla_update_turns_w_towards_the_point():
    w, x = np.array([0.5, -1.0, 0.2]), np.array([1.0, 2.0, 3.0])
    for label in (1, -1):
        new = P.pla_update(w, x, label)
        assert label * new @ x == pytest.approx(label * w @ x + x @ x)


def test_logic_gates_truth_tables():
    inputs = [(a, b) for a in (-1, 1) for b in (-1, 1)]
    assert [P.logic_and(a, b) for a, b in inputs] == [1 if a == b == 1 else -1 for a, b in inputs]
    assert [P.logic_or(a, b) for a, b in inputs] == [-1 if a == b == -1 else 1 for a, b in inputs]
    assert [P.logic_xor(a, b) for a, b in inputs] == [1 if a != b else -1 for a, b in inputs]
    assert [P.logic_not(a) for a in (-1, 1)] == [1, -1]


def test_xor_is_not_linearly_separable_for_a_single_perceptron():
    Xb = P.add_bias(np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]))
    y = np.array([-1, 1, 1, -1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", P.PLANotConvergedWarning)
        assert not P.pla(Xb, y, max_updates=200).converged


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        P.add_bias(np.zeros(3))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(2,\)"):
        P.pla(np.ones((2, 3)), np.array([1, -1, 1]))
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        P.pla(np.ones((2, 3)), np.array([1, 0]))
    with pytest.raises(ValueError, match="naive' or 'random"):
        P.cycle_order(3, "shuffled")


# ------------------------------------------------------------ input checks ---
# Every public function checks its input where it is called and names what it
# expected: the shape, the labels, the kind of number.

Xb4 = P.add_bias(np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.5], [0.5, -1.0]]))
y4 = np.array([1, 1, -1, -1])
w3 = np.array([0.0, 1.0, 1.0])
X_nan = Xb4.copy()
X_nan[2, 1] = np.nan

BAD_CALLS = {
    # name: (call, error type, words the message must contain)
    "predict: X 1-D": (lambda: P.predict(w3, np.ones(5)), ValueError,
                       [r"X must be a 2-D array of shape (N, d+1) with x_0 = 1 in column 0", "got shape (5,)"]),
    "predict: w too long (no bias column)": (lambda: P.predict(w3, np.ones((4, 2))), ValueError,
                                             ["w must be a 1-D array of length d+1 = 2", "got shape (3,)",
                                              "add_bias"]),
    "predict: w 2-D": (lambda: P.predict(np.ones((3, 1)), Xb4), ValueError, ["length d+1 = 3", "got shape (3, 1)"]),
    "predict: w of text": (lambda: P.predict("abc", Xb4), TypeError, ["w must be a 1-D array of numbers"]),
    "predict: NaN in X": (lambda: P.predict(w3, X_nan), ValueError, ["finite", "X[2, 1]"]),
    "mistakes: y too short": (lambda: P.mistakes(w3, Xb4, y4[:3]), ValueError,
                              ["y must have shape (N,) = (4,)", "got shape (3,)"]),
    "mistakes: w too short": (lambda: P.mistakes(w3[1:], Xb4, y4), ValueError, ["length d+1 = 3", "w_0"]),
    "count_mistakes: labels 0/1": (lambda: P.count_mistakes(w3, Xb4, np.array([1, 0, 0, 1])), ValueError,
                                   ["labels y must be +1 or -1", "got 0"]),
    "count_mistakes: labels as text": (lambda: P.count_mistakes(w3, Xb4, ["o", "o", "x", "x"]), TypeError,
                                       ["+1 or -1"]),
    "count_mistakes: w of wrong length": (lambda: P.count_mistakes(np.ones(4), Xb4, y4), ValueError,
                                          ["length d+1 = 3", "got shape (4,)"]),
    "pla_update: y = 0": (lambda: P.pla_update(w3, Xb4[0], 0), ValueError, ["y must be one label, +1 or -1",
                                                                             "got 0"]),
    "pla_update: y = 2": (lambda: P.pla_update(w3, Xb4[0], 2.0), ValueError, ["+1 or -1", "got 2.0"]),
    "pla_update: y an array": (lambda: P.pla_update(w3, Xb4[0], y4), ValueError, ["one label"]),
    "pla_update: scalar x": (lambda: P.pla_update(w3, 1.0, 1), ValueError,
                             ["x must be one data point", "same length as w (3)", "got shape ()"]),
    "pla_update: x of wrong length": (lambda: P.pla_update(w3, np.ones(4), 1), ValueError,
                                      ["same length as w (3)", "got shape (4,)"]),
    "pla_update: w 2-D": (lambda: P.pla_update(np.ones((2, 3)), Xb4[0], 1), ValueError,
                          ["w must be a 1-D array", "got shape (2, 3)"]),
    "novikoff_bound: w_f of wrong length": (lambda: P.novikoff_bound(Xb4, y4, np.ones(2)), ValueError,
                                            ["w_f must be a 1-D array of length d+1 = 3", "got shape (2,)"]),
    "novikoff_bound: w_f = 0": (lambda: P.novikoff_bound(Xb4, y4, np.zeros(3)), ValueError, ["zero vector"]),
    "perceptron_trace: w0 of wrong length": (lambda: P.perceptron_trace(Xb4, y4, w0=np.zeros(2)), ValueError,
                                             ["w0 must be a 1-D array of length d+1 = 3", "got shape (2,)"]),
    "perceptron_trace: max_updates < 0": (lambda: P.perceptron_trace(Xb4, y4, max_updates=-5), ValueError,
                                          ["max_updates must be a whole number >= 0", "got -5"]),
    "pla: max_updates < 0": (lambda: P.pla(Xb4, y4, max_updates=-5), ValueError,
                             ["max_updates must be a whole number >= 0", "got -5"]),
    "pocket: max_updates 2.5": (lambda: P.pocket(Xb4, y4, max_updates=2.5), ValueError, ["whole number", "2.5"]),
    "pla: max_updates as text": (lambda: P.pla(Xb4, y4, max_updates="100"), TypeError, ["whole number", "str"]),
    "pla: NaN in X": (lambda: P.pla(X_nan, y4), ValueError, ["X must contain finite numbers", "X[2, 1] is nan"]),
    "pocket: inf in X": (lambda: P.pocket(np.where(np.isnan(X_nan), np.inf, X_nan), y4), ValueError,
                         ["finite", "inf"]),
    "pla: no points": (lambda: P.pla(np.empty((0, 3)), np.empty(0)), ValueError,
                       ["at least 1 point", "got shape (0, 3)"]),
    "perceptron_trace: no points": (lambda: P.perceptron_trace(np.empty((0, 3)), []), ValueError,
                                    ["at least 1 point"]),
    "pla: X 1-D": (lambda: P.pla(np.ones(5), y4), ValueError, ["shape (N, d+1) with x_0 = 1", "got shape (5,)"]),
    "cycle_order: N < 0": (lambda: P.cycle_order(-3), ValueError, ["N must be a whole number >= 0", "-3"]),
    "cycle_order: N a float": (lambda: P.cycle_order(2.5, "random"), ValueError, ["N must be a whole number"]),
    "cycle_order: seed < 0": (lambda: P.cycle_order(4, "random", seed=-1), ValueError,
                              ["seed must be a whole number >= 0", "-1"]),
    "cycle_order: seed as text": (lambda: P.cycle_order(4, "random", seed="a"), TypeError, ["seed"]),
    "credit_score: lengths differ": (lambda: P.credit_score([0.5, 1.0], [23.0, 22.0, 1.0], 40), ValueError,
                                     ["same length d", "w of shape (2,)", "x of shape (3,)"]),
    "credit_score: threshold an array": (lambda: P.credit_score([0.5, 1.0], [23.0, 22.0], [40, 1]), ValueError,
                                         ["threshold must be one finite number"]),
    "credit_score: NaN feature": (lambda: P.credit_score([0.5, 1.0], [23.0, np.nan], 40), ValueError,
                                  ["x must contain finite numbers"]),
    "logic_and: 0 is not FALSE": (lambda: P.logic_and(0, 1), ValueError,
                                  ["logic_and", "+1 (TRUE) or -1 (FALSE)", "g_1 = 0"]),
    "logic_or: 0.5": (lambda: P.logic_or(1, 0.5), ValueError, ["logic_or", "g_2 = 0.5"]),
    "logic_or: True/False text": (lambda: P.logic_or("1", 1), ValueError, ["g_1 = '1'"]),
    "logic_not: 2": (lambda: P.logic_not(2), ValueError, ["logic_not", "g_1 = 2"]),
    "logic_xor: 0": (lambda: P.logic_xor(1, 0), ValueError, ["logic_xor", "g_2 = 0"]),
    "logic_and: three inputs": (lambda: P.logic_and(1, 1, 1), TypeError,
                                ["logic_and takes 2 input(s) (g_1, g_2)", "got 3"]),
    "logic_not: two inputs": (lambda: P.logic_not(1, -1), TypeError, ["logic_not takes 1 input(s) (g_1)", "got 2"]),
    "logic_or: no input": (lambda: P.logic_or(), TypeError, ["takes 2 input(s)", "got 0"]),
    "logic_and: an array": (lambda: P.logic_and(np.array([1, -1]), 1), ValueError, ["g_1"]),
    "perceptron_unit: one weight": (lambda: P.perceptron_unit([1.0]), ValueError, ["at least one input weight"]),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input_is_named_in_the_error(case):
    call, error, words = BAD_CALLS[case]
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.mark.parametrize("call, words", [
    (lambda: P.logic_and(True, True), ["logic_and", "+1 (TRUE) or -1 (FALSE)", "g_1 = True"]),
    (lambda: P.logic_xor(True, False), ["logic_xor", "+1 (TRUE) or -1 (FALSE)", "g_1 = True"]),
    (lambda: P.logic_or(1, np.bool_(False)), ["logic_or", "g_2 = "]),
    (lambda: P.logic_not(np.array(True)), ["logic_not", "g_1 = "]),
    (lambda: P.pla_update(w3, Xb4[0], True), ["y must be one label, +1 or -1", "got True"]),
    (lambda: P.pla_update(w3, Xb4[0], np.bool_(False)), ["y must be one label, +1 or -1"]),
], ids=["and(True, True)", "xor(True, False)", "or(1, np.False_)", "not(0-d bool array)", "label True",
        "label np.False_"])
def test_booleans_are_not_labels_or_gate_inputs(call, words):
    """True == 1 but False is not -1: a bool is rejected whatever its value, so logic_and(True, True) fails
    like logic_xor(True, False) does, with the message of any other value that is not +1 or -1."""
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


@pytest.mark.parametrize("labels", [np.ones(4, dtype=bool), [True, True, False, False]], ids=["all True", "mixed"])
def test_boolean_label_arrays_are_rejected(labels):
    with pytest.raises(TypeError, match=r"y must hold the labels \+1 or -1 as numbers, got values of type bool"):
        P.count_mistakes(w3, Xb4, labels)


def test_trace_checks_its_input_when_called_not_when_read():
    with pytest.raises(ValueError):
        P.perceptron_trace(Xb4, np.array([1, 0, 1, -1]))  # no next() needed


@pytest.mark.parametrize("labels", [np.array([1, 1, -1, -1]), np.array([1.0, 1.0, -1.0, -1.0]), [1, 1, -1, -1],
                                    np.array([1, 1, -1, -1], dtype=np.int8)])
def test_valid_labels_of_any_numeric_kind_are_accepted(labels):
    assert P.count_mistakes(w3, Xb4, labels) == P.count_mistakes(w3, Xb4, y4)
    assert P.pla(Xb4, labels).converged
    for y in labels[:2]:
        P.pla_update(w3, Xb4[0], y)


def test_valid_edge_cases_still_work():
    """What the checks, the widget and the notebook rely on keeps working."""
    assert P.predict(w3, np.empty((0, 3))).shape == (0,)  # no points: no predictions, no error
    assert P.count_mistakes(w3, np.empty((0, 3)), []) == 0
    assert P.pocket(Xb4, y4, max_updates=0).w.tolist() == [0.0, 0.0, 0.0]  # max_updates = 0 is allowed
    assert P.pla(Xb4, y4, max_updates=1e4).converged  # a whole number written as a float
    assert P.count_mistakes(np.zeros(3), Xb4, y4) == 4  # sign(0) is still a mistake
    assert P.cycle_order(0).size == 0 and P.cycle_order(np.int64(5), "random", seed=None).size == 5
    assert P.credit_score(np.array([0.5, 1.0]), np.array([20.0, 30.0]), 40) == 0  # on the threshold
    assert P.logic_or(np.int64(-1), np.float64(1.0)) == 1
    assert P.logic_and.__name__ == "logic_and"
    np.testing.assert_allclose(P.pla_update(w3, Xb4[2], np.float64(-1)), w3 - Xb4[2])


def test_checking_does_not_slow_the_pla_loop_down():
    """The loop works on checked arrays: pocket's per-update mistake count calls no validator."""
    import coursekit.perceptron as module

    calls = []
    original = module._check_X
    module._check_X = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        X, y, _ = separable_data(200, 0.02, 5)
        result = P.pocket(P.add_bias(X), y, max_updates=500)
    finally:
        module._check_X = original
    assert result.updates > 5 and len(calls) == 1


@pytest.mark.parametrize("cycle", ["naive", "random"])
def test_trace_counts_the_points_each_algorithm_examines(cycle):
    """PLA's search cost is the slide loop's number of examined points; pocket adds N per weight vector."""
    X, y, _ = separable_data(80, 0.03, 2)
    Xb = P.add_bias(X)
    order = P.cycle_order(len(y), cycle, 0)
    examined, i, clean, w = 0, 0, 0, np.zeros(3)
    while clean < len(y):  # the slide's loop, counting every sign(w^T x_n) it evaluates
        n = order[i % len(y)]
        examined += 1
        if np.sign(w @ Xb[n]) != y[n]:
            w, clean = w + y[n] * Xb[n], 0
        else:
            clean += 1
        i += 1
    plain = list(P.perceptron_trace(Xb, y, cycle=cycle, track_mistakes=False))[-1]
    pocketed = list(P.perceptron_trace(Xb, y, cycle=cycle))[-1]
    assert plain.checks == pocketed.checks == examined
    assert plain.count_checks == 0
    assert pocketed.count_checks == len(y) * (pocketed.t + 1)  # w_0 and every updated w, on all N points
