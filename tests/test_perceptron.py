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
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        P.pla(np.ones((2, 3)), np.array([1, -1, 1]))
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        P.pla(np.ones((2, 3)), np.array([1, 0]))
    with pytest.raises(ValueError, match="naive' or 'random"):
        P.cycle_order(3, "shuffled")
