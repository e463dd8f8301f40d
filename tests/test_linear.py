"""coursekit.linear against independent implementations.

Every loss against torch.nn.functional, every analytic gradient against
torch.autograd on seeded random inputs, logistic regression against
scikit-learn, and the worked examples of curriculum.md units 01 and 03 as
fixtures (with the decks' errata).
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import datasets
from coursekit import linear as L

SEEDS = range(6)


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


def random_batch(seed, scale=3.0):
    rng = np.random.default_rng(seed)
    N, C, D = rng.integers(1, 9), rng.integers(2, 7), rng.integers(1, 6)
    return rng, scale * rng.standard_normal((N, C)), rng.integers(0, C, size=N), rng.standard_normal((N, D))


# ------------------------------------------------------------- fixtures ---

@pytest.fixture
def bias_trick_example():
    """Deck 001's bias-trick slide: W (3, 5) with the bias in the last column, x with a trailing 1."""
    W = np.array([[0.2, -0.5, 0.1, 2.0, 1.1], [1.5, 1.3, 2.1, 0.0, 3.2], [0, 0.25, 0.2, -0.3, -1.2]])
    x = np.array([56, 231, 24, 2, 1])
    return W, x, {"correct": [-96.8, 437.9, 60.75], "slide": [-96.8, 437.9, 61.95]}


@pytest.fixture
def cat_example():
    """Deck 001: the cat image's scores for (cat, car, frog); the true class is cat."""
    return np.array([3.2, 5.1, -1.7]), 0


@pytest.fixture
def regression_20_example():
    """Deck 003's 20-point set, as curriculum.md prints it, with the exact least-squares answer."""
    x = [Fraction(i, 2) for i in range(20)]
    y = [Fraction(v) for v in ["0.1", "0.4", "0.9", "1.6", "2.2", "2.5", "2.8", "3.5", "3.9", "4.7", "5.1",
                               "5.3", "6.3", "6.5", "6.7", "7.5", "8.1", "8.5", "8.9", "9.5"]]
    return x, y, Fraction(3311, 3325), Fraction(2, 100)


# ------------------------------------------------ unit 01 worked examples ---

def test_bias_trick_worked_example(bias_trick_example):
    W_aug, x_aug, printed = bias_trick_example
    s = L.scores(W_aug, x_aug)
    assert np.allclose(s, printed["correct"])
    # the slide's third value is row 3 without its bias
    assert not math.isclose(s[2], printed["slide"][2])
    assert math.isclose(W_aug[2, :4] @ x_aug[:4], printed["slide"][2])
    # both forms of the bias trick agree with Wx + b
    W, b, x = W_aug[:, :4], W_aug[:, 4], x_aug[:4]
    assert np.allclose(L.scores(W, x, b), s)
    assert np.allclose(L.bias_trick(W, b), W_aug)
    assert np.allclose(L.add_bias_column(x), x_aug)
    assert np.allclose(L.scores(L.bias_trick(W, b), L.add_bias_column(x[None, :])), s[None, :])


def test_cat_softmax_worked_example(cat_example):
    s, y = cat_example
    exps = np.exp(s)
    # the curriculum's values, to the digits it prints, against exp computed independently (math.exp)
    assert [round(v, 1) for v in exps[:2]] == [24.5, 164.0]
    assert round(exps[2], 2) == 0.18 == round(math.exp(-1.7), 2)
    assert exps[2] == pytest.approx(0.18268352405273466, rel=1e-12)
    assert exps[2] > 0.1                     # the slide's "0" for frog's exp is wrong
    p = L.softmax(s)
    assert np.allclose(p, [0.13, 0.87, 0.00], atol=0.005)
    loss = L.cross_entropy(s[None, :], [y])
    assert math.isclose(loss, -math.log(math.exp(3.2) / (math.exp(3.2) + math.exp(5.1) + math.exp(-1.7))))
    assert round(loss, 2) == 2.04
    assert math.isclose(loss, F.cross_entropy(t(s[None, :]), torch.tensor([y])).item(), rel_tol=1e-12)


def test_cat_svm_worked_example(cat_example):
    s, y = cat_example
    by_hand = max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1)
    assert math.isclose(L.svm_loss_i(s, y), by_hand)
    assert math.isclose(L.svm_loss_i(s, y), 2.9)


@pytest.mark.parametrize("C", [2, 3, 10, 100])
def test_equal_scores_cross_entropy_is_ln_C(C):
    assert math.isclose(L.cross_entropy(np.zeros((1, C)), [0]), -math.log(1 / C))
    assert math.isclose(L.cross_entropy(np.full((3, C), 7.5), [0, C - 1, 0]), math.log(C))
    assert round(L.cross_entropy(np.zeros((1, 10)), [0]), 1) == 2.3


def test_loss_min_and_max():
    # cross-entropy: -> 0 as the true score wins by a lot, grows without bound as it loses
    assert L.cross_entropy(np.array([[50.0, 0.0, 0.0]]), [0]) < 1e-20
    assert L.cross_entropy(np.array([[50.0, 0.0, 0.0]]), [0]) >= 0.0
    losing = [L.cross_entropy(np.array([[-d, 0.0, 0.0]]), [0]) for d in (10.0, 100.0, 1000.0)]
    assert np.all(np.diff(losing) > 0) and losing[-1] > 1000.0
    # SVM: exactly 0 beyond the margin, unbounded below it
    assert L.svm_loss_i(np.array([5.0, 3.9, -2.0]), 0) == 0.0
    assert L.svm_loss_i(np.array([-1000.0, 0.0, 0.0]), 0) == pytest.approx(2002.0)


def test_svm_loss_with_equal_scores_is_C_minus_1():
    for C in (2, 5, 10):
        assert L.svm_loss(np.zeros((4, C)), np.arange(4) % C) == pytest.approx(C - 1)


# ------------------------------------------------ unit 03 worked examples ---

def test_regression_20_least_squares(regression_20_example):
    x, y, w_star, b_star = regression_20_example
    # the exact normal-equation solution in rationals
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    w_exact = sum((a - mx) * (c - my) for a, c in zip(x, y)) / sum((a - mx) ** 2 for a in x)
    assert w_exact == w_star and my - w_exact * mx == b_star
    # the shipped data file and the reference least squares agree with it
    xs, ys = datasets.regression_20()
    assert np.allclose(xs, [float(v) for v in x]) and np.allclose(ys, [float(v) for v in y])
    b, w = L.least_squares(np.column_stack([np.ones(n), xs]), ys)
    assert math.isclose(w, float(w_star), rel_tol=1e-12) and math.isclose(b, float(b_star), abs_tol=1e-12)
    assert round(w, 6) == 0.995789


# ------------------------------------------------------ logistic regression ---

def test_theta_matches_torch_sigmoid_and_is_safe():
    s = np.concatenate([np.linspace(-40, 40, 161), [-1000.0, -745.0, 0.0, 745.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow warning anywhere
        got = L.theta(s)
    assert np.allclose(got, torch.sigmoid(t(s)).numpy(), rtol=1e-12, atol=1e-300)
    assert L.theta(1000.0) == 1.0 and L.theta(-1000.0) == 0.0 and L.theta(0) == 0.5
    assert isinstance(L.theta(2.0), float)
    assert np.allclose(L.theta(s) + L.theta(-s), 1.0)       # θ(-s) = 1 - θ(s)


def logistic_data(seed, N=30, d=3):
    rng = np.random.default_rng(seed)
    X = np.hstack([np.ones((N, 1)), rng.standard_normal((N, d))])
    y = rng.choice([-1.0, 1.0], size=N)
    return rng, X, y


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_error_and_gradient_against_torch(seed):
    rng, X, y = logistic_data(seed)
    w = 2.0 * rng.standard_normal(X.shape[1])
    w_t = t(w, grad=True)
    # mean ln(1 + exp(-y s)) is binary cross-entropy on logits s with targets (y + 1) / 2
    e_t = F.binary_cross_entropy_with_logits(t(X) @ w_t, t((y + 1) / 2))
    e_t.backward()
    assert math.isclose(L.logistic_error(w, X, y), e_t.item(), rel_tol=1e-10)
    assert np.allclose(L.logistic_gradient(w, X, y), w_t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_logistic_error_exact_for_huge_scores():
    X = np.array([[1.0, 1000.0], [1.0, -1000.0]])
    w = np.array([0.0, 1.0])
    # first point: y = -1 against a score of +1000 -> ln(1 + e^1000) = 1000 (to double precision)
    assert L.logistic_error(w, X[:1], [-1]) == 1000.0
    assert L.logistic_error(w, X, [1, -1]) == 0.0
    assert np.all(np.isfinite(L.logistic_gradient(w, X, [-1, 1])))


@pytest.mark.parametrize("seed", range(3))
def test_train_logistic_matches_sklearn_without_penalty(seed):
    from sklearn.linear_model import LogisticRegression

    X2, y = datasets.heart_attack(200, seed=seed)           # overlapping classes: a finite optimum exists
    X = np.hstack([np.ones((len(y), 1)), X2])
    w, history = L.train_logistic(X, y, eta=1.0, steps=3000)
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X2, y)
    w_sk = np.concatenate([sk.intercept_, sk.coef_[0]])
    assert np.allclose(w, w_sk, atol=1e-4)
    assert history.shape == (3001,) and math.isclose(history[0], math.log(2))     # w0 = 0: θ = 1/2
    assert np.all(np.diff(history) <= 1e-12)                  # a small enough η never goes uphill
    assert math.isclose(history[-1], L.logistic_error(w, X, y))
    assert np.allclose(L.logistic_predict_proba(w, X), sk.predict_proba(X2)[:, 1], atol=1e-4)
    assert np.array_equal(L.logistic_predict(w, X), np.where(L.logistic_predict_proba(w, X) >= 0.5, 1, -1))


def test_train_logistic_from_w0_and_zero_steps():
    _, X, y = logistic_data(0)
    w0 = np.arange(X.shape[1], dtype=float)
    w, history = L.train_logistic(X, y, steps=0, w0=w0)
    assert np.array_equal(w, w0) and history.shape == (1,)
    w1, _ = L.train_logistic(X, y, eta=0.5, steps=1, w0=w0)
    assert np.allclose(w1, w0 - 0.5 * L.logistic_gradient(w0, X, y))
    assert np.array_equal(w0, np.arange(X.shape[1]))         # w0 itself is not modified


@pytest.mark.parametrize("call, match", [
    (lambda X, y, w: L.logistic_error(w, X, (y + 1) / 2), r"-1 or \+1"),
    (lambda X, y, w: L.logistic_error(w[:-1], X, y), r"\(d\+1,\)"),
    (lambda X, y, w: L.logistic_gradient(w, X[0], y), r"2-D.*\(N, d\+1\)"),
    (lambda X, y, w: L.logistic_error(w, X, y[:-1]), r"shape \(N,\)"),
    (lambda X, y, w: L.train_logistic(X, y, eta=0), "eta"),
    (lambda X, y, w: L.train_logistic(X, y, steps=-1), "steps"),
])
def test_logistic_bad_input(call, match):
    _, X, y = logistic_data(0)
    with pytest.raises(ValueError, match=match):
        call(X, y, np.zeros(X.shape[1]))


# ------------------------------------------------------------------ scores ---

@pytest.mark.parametrize("seed", SEEDS)
def test_scores_against_torch_linear(seed):
    rng = np.random.default_rng(seed)
    N, C, D = 1 + seed, 2 + seed % 3, 3 + seed
    W, b, X = rng.standard_normal((C, D)), rng.standard_normal(C), rng.standard_normal((N, D))
    S = L.scores(W, X, b)
    assert S.shape == (N, C)
    assert np.allclose(S, F.linear(t(X), t(W), t(b)).numpy())
    assert np.allclose(L.scores(W, X[0], b), S[0])
    assert np.allclose(L.scores(L.bias_trick(W, b), L.add_bias_column(X)), S)


@pytest.mark.parametrize("call, match", [
    (lambda: L.scores(np.ones(3), np.ones(3)), r"W must be a 2-D array of shape \(C, D\)"),
    (lambda: L.scores(np.ones((2, 3)), np.ones((4, 2))), r"\(N, D\) with D = 3"),
    (lambda: L.scores(np.ones((2, 3)), np.ones(3), b=np.ones(3)), r"b must have shape \(C,\) = \(2,\)"),
    (lambda: L.bias_trick(np.ones((2, 3)), np.ones(1)), r"\(C,\) = \(2,\)"),
    (lambda: L.add_bias_column(np.ones((2, 2, 2))), r"\(D,\) or \(N, D\)"),
])
def test_scores_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -------------------------------------------------------- multiclass SVM ---

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_svm_loss_and_gradient_against_torch(seed, delta):
    _, S, y, _ = random_batch(seed)
    C = S.shape[1]
    S_t = t(S, grad=True)
    # torch averages each example's hinge sum over C classes: undo that
    loss_t = C * F.multi_margin_loss(S_t, torch.tensor(y), margin=delta)
    loss_t.backward()
    assert math.isclose(L.svm_loss(S, y, delta), loss_t.item(), rel_tol=1e-10, abs_tol=1e-12)
    assert np.allclose(L.svm_loss_grad(S, y, delta), S_t.grad.numpy())
    assert np.allclose(L.svm_losses(S, y, delta), [L.svm_loss_i(s, k, delta) for s, k in zip(S, y)])


@pytest.mark.parametrize("seed", SEEDS)
def test_svm_weight_gradient_against_autograd(seed):
    rng, _, y, X = random_batch(seed)
    C = int(y.max()) + 2
    W = rng.standard_normal((C, X.shape[1]))
    W_t = t(W, grad=True)
    loss_t = C * F.multi_margin_loss(t(X) @ W_t.T, torch.tensor(y), margin=1.0)
    loss_t.backward()
    loss, dW = L.svm_loss_and_grad(W, X, y)
    assert math.isclose(loss, loss_t.item(), rel_tol=1e-10, abs_tol=1e-12)
    assert np.allclose(dW, W_t.grad.numpy())


# ---------------------------------------------------- softmax cross-entropy ---

@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_and_log_softmax_against_torch(seed):
    _, S, _, _ = random_batch(seed, scale=10.0)
    assert np.allclose(L.softmax(S), torch.softmax(t(S), dim=1).numpy())
    assert np.allclose(L.log_softmax(S), torch.log_softmax(t(S), dim=1).numpy())
    assert np.allclose(L.softmax(S.T, axis=0), torch.softmax(t(S.T), dim=0).numpy())
    assert np.allclose(L.softmax(S).sum(axis=1), 1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_and_gradient_against_torch(seed):
    _, S, y, _ = random_batch(seed)
    S_t = t(S, grad=True)
    loss_t = F.cross_entropy(S_t, torch.tensor(y))
    loss_t.backward()
    assert math.isclose(L.cross_entropy(S, y), loss_t.item(), rel_tol=1e-12)
    assert np.allclose(L.cross_entropy_losses(S, y),
                       F.cross_entropy(t(S), torch.tensor(y), reduction="none").numpy())
    assert np.allclose(L.cross_entropy_grad(S, y), S_t.grad.numpy())
    loss, dS = L.cross_entropy_and_grad(S, y)
    assert math.isclose(loss, loss_t.item(), rel_tol=1e-12) and np.allclose(dS, S_t.grad.numpy())


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_weight_gradient_against_autograd(seed):
    rng, _, y, X = random_batch(seed)
    C = int(y.max()) + 2
    W = rng.standard_normal((C, X.shape[1]))
    W_t = t(W, grad=True)
    loss_t = F.cross_entropy(t(X) @ W_t.T, torch.tensor(y))
    loss_t.backward()
    loss, dW = L.softmax_loss_and_grad(W, X, y)
    assert math.isclose(loss, loss_t.item(), rel_tol=1e-12) and np.allclose(dW, W_t.grad.numpy())


def test_exact_for_logits_of_plus_minus_1000():
    S = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0], [-1000.0, -1000.0]])
    y = np.array([1, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = L.cross_entropy_losses(S, y)
        p = L.softmax(S)
        logp = L.log_softmax(S)
        loss, dS = L.cross_entropy_and_grad(S, y)
    assert np.array_equal(losses, [2000.0, 0.0, math.log(2), math.log(2)])
    assert np.array_equal(p, [[1, 0], [0, 1], [0.5, 0.5], [0.5, 0.5]])
    assert logp[0, 1] == -2000.0 and logp[0, 0] == 0.0
    torch_losses = F.cross_entropy(t(S), torch.tensor(y), reduction="none").numpy()
    assert np.allclose(losses, torch_losses, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(dS)) and math.isclose(loss, losses.mean())


@pytest.mark.parametrize("call, match", [
    (lambda: L.cross_entropy(np.zeros(3), [0]), r"S must be a 2-D array of shape \(N, C\)"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0]), r"y must have shape \(N,\) = \(2,\)"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 3]), r"0\.\.2"),
    (lambda: L.cross_entropy(np.zeros((2, 3)), [0, 1.5]), "integer class indices"),
    (lambda: L.svm_loss(np.zeros((2, 3)), [-1, 0]), r"0\.\.2"),
    (lambda: L.svm_loss_i(np.zeros((2, 3)), 0), "1-D array of C class scores"),
    (lambda: L.softmax_loss_and_grad(np.zeros((3, 4)), np.zeros((2, 5)), [0, 1]), "D = 4"),
])
def test_loss_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda S, y: L.cross_entropy(S, y), lambda S, y: L.cross_entropy_grad(S, y),
    lambda S, y: L.cross_entropy_and_grad(S, y), lambda S, y: L.svm_loss(S, y), lambda S, y: L.svm_loss_grad(S, y),
], ids=["cross_entropy", "cross_entropy_grad", "cross_entropy_and_grad", "svm_loss", "svm_loss_grad"])
def test_mean_losses_reject_an_empty_batch(call):
    """N = 0: the mean is undefined (NumPy would return nan with a RuntimeWarning): a clear error instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"at least one example, shape \(N, C\) with N >= 1, got shape \(0, 3\)"):
            call(np.zeros((0, 3)), np.zeros(0, dtype=int))
    # the per-example losses of an empty batch are simply empty
    assert L.cross_entropy_losses(np.zeros((0, 3)), []).shape == (0,)
    assert L.svm_losses(np.zeros((0, 3)), []).shape == (0,)
    with pytest.raises(ValueError, match="N >= 1"):
        L.softmax_loss_and_grad(np.zeros((3, 4)), np.zeros((0, 4)), [])


# ---------------------------------------------------------- regularization ---

REGULARIZERS_TORCH = {
    "l2": lambda W: (W ** 2).sum(),
    "l1": lambda W: W.abs().sum(),
    "elastic_net": lambda W: 0.7 * (W ** 2).sum() + W.abs().sum(),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reg", list(REGULARIZERS_TORCH))
def test_regularizers_and_gradients_against_autograd(seed, reg):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((3, 4))
    W[0, 0] = 0.0                                 # the L1 kink: both use the subgradient 0
    W_t = t(W, grad=True)
    R_t = REGULARIZERS_TORCH[reg](W_t)
    R_t.backward()
    R, dR = L.regularization(W, reg, beta=0.7)
    assert math.isclose(R, R_t.item(), rel_tol=1e-12) and np.allclose(dR, W_t.grad.numpy())
    single = {"l2": (L.l2(W), L.l2_grad(W)), "l1": (L.l1(W), L.l1_grad(W)),
              "elastic_net": (L.elastic_net(W, 0.7), L.elastic_net_grad(W, 0.7))}[reg]
    assert math.isclose(single[0], R) and np.allclose(single[1], dR)


REGULARIZER_CALLS = {
    "l2": lambda W: L.l2(W), "l2_grad": lambda W: L.l2_grad(W), "l1": lambda W: L.l1(W),
    "l1_grad": lambda W: L.l1_grad(W), "elastic_net": lambda W: L.elastic_net(W),
    "elastic_net_grad": lambda W: L.elastic_net_grad(W), "regularization": lambda W: L.regularization(W, "l2"),
    "regularization_none": lambda W: L.regularization(W, "none"),
}


@pytest.mark.parametrize("name", list(REGULARIZER_CALLS))
@pytest.mark.parametrize("W, match", [
    ("weights", r"W must be a real-valued array of weights \(W of shape \(C, D\), or any shape\), got str"),
    (None, "W must be a real-valued array of weights.*NoneType"),
    ([[1.0, 2.0], [3.0]], "W must be a real-valued array of weights.*ragged"),
    (np.array([[1.0, 2.0]], dtype=complex), "real-valued.*complex"),
    (np.array([True, False]), "real-valued.*bool"),
    (np.array([[1.0, np.nan], [np.inf, 0.0]]), r"W must hold finite numbers.*2 of its 4 entries \(shape \(2, 2\)\)"),
], ids=["string", "none", "ragged", "complex", "bool", "nan-inf"])
def test_regularizers_reject_bad_weights(name, W, match):
    with pytest.raises(ValueError, match=match):
        REGULARIZER_CALLS[name](W)


def test_regularizers_accept_any_shape_and_check_beta():
    for W in (2.0, [1.0, -2.0], np.arange(6.0).reshape(2, 3), np.ones((2, 2, 2))):
        W_arr = np.asarray(W, dtype=float)
        R, dR = L.regularization(W, "elastic_net", beta=0.5)
        assert R == pytest.approx(0.5 * np.sum(W_arr ** 2) + np.sum(np.abs(W_arr)))
        assert np.shape(dR) == W_arr.shape
    assert L.l2([1, 2]) == 5.0                  # integer weights are numbers too
    for bad in (-0.1, np.nan, "1", True):
        with pytest.raises(ValueError, match="beta .* must be a number >= 0"):
            L.elastic_net(np.ones(2), beta=bad)
        with pytest.raises(ValueError, match="beta"):
            L.regularization(np.ones(2), "elastic_net", beta=bad)


def test_templates_name_the_weights_and_image_shapes():
    model = L.SoftmaxClassifier(np.arange(640.0).reshape(10, 64), np.zeros(10), [])
    assert model.templates((8, 8)).shape == (10, 8, 8)
    assert model.templates((4, 16)).shape == (10, 4, 16) and model.templates(64).shape == (10, 64)
    np.testing.assert_array_equal(model.templates((8, 8))[3], model.W[3].reshape(8, 8))
    with pytest.raises(ValueError, match=r"W has shape \(C, D\) = \(10, 64\).*image of shape \(8, 9\) has 72 "
                                         r"pixels.*multiply to 64, e\.g\. \(8, 8\)"):
        model.templates((8, 9))
    with pytest.raises(ValueError, match=r"W has shape \(C, D\) = \(10, 64\)"):
        model.templates((28, 28))
    for bad in ("8x8", None, (8.0, 8), (0, 64), (-8, -8), ()):
        with pytest.raises(ValueError, match="shape must be an image shape of positive integers"):
            model.templates(bad)


@pytest.mark.parametrize("data_loss", ["softmax", "svm"])
@pytest.mark.parametrize("reg", ["l2", "l1", "elastic_net", "none"])
def test_full_loss_against_autograd(data_loss, reg):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((12, 5)), rng.integers(0, 4, size=12)
    W = rng.standard_normal((4, 5))
    lam = 0.3
    W_t = t(W, grad=True)
    S_t = t(X) @ W_t.T
    data_t = (F.cross_entropy(S_t, torch.tensor(y)) if data_loss == "softmax"
              else 4 * F.multi_margin_loss(S_t, torch.tensor(y), margin=1.0))
    R_t = REGULARIZERS_TORCH[reg](W_t) if reg != "none" else torch.zeros(())
    if reg == "elastic_net":
        R_t = (W_t ** 2).sum() + W_t.abs().sum()           # beta = 1, the default
    total = data_t + lam * R_t
    total.backward()
    loss, dW = L.full_loss_and_grad(W, X, y, lam, data_loss=data_loss, reg=reg)
    assert math.isclose(loss, total.item(), rel_tol=1e-10)
    assert np.allclose(dW, W_t.grad.numpy())
    assert loss == L.full_loss(W, X, y, lam, data_loss=data_loss, reg=reg)


@pytest.mark.parametrize("kwargs, match", [
    ({"data_loss": "hinge"}, "data_loss must be 'softmax' or 'svm'"),
    ({"reg": "l3"}, "reg must be one of"),
    ({"lam": -1.0}, "lam"),
])
def test_full_loss_bad_options(kwargs, match):
    args = {"lam": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        L.full_loss(np.zeros((2, 3)), np.zeros((4, 3)), [0, 1, 0, 1], **args)


# --------------------------------------------------------------- training ---

NOTEBOOK_SETTINGS = dict(lam=1e-3, eta=0.5, epochs=30, batch_size=32, seed=0)


def test_softmax_classifier_on_digits_reaches_94_percent():
    """The number unit 01 states: the same training on the same split reaches >= 94% test accuracy."""
    X_train, X_test, y_train, y_test = datasets.load_digits(test_size=0.25, seed=0)
    model = L.train_softmax_classifier(X_train, y_train, **NOTEBOOK_SETTINGS)
    acc = model.accuracy(X_test, y_test)
    assert acc >= 0.94, acc
    assert model.W.shape == (10, 64) and model.b.shape == (10,)
    assert model.templates((8, 8)).shape == (10, 8, 8)
    # the history: one record per epoch, loss far below ln 10 at the end
    assert len(model.history) == 30 and model.history[-1]["loss"] < 0.5 * math.log(10)
    # the final loss in the history is the full loss recomputed independently (torch)
    W_t, b_t = t(model.W), t(model.b)
    full = F.cross_entropy(t(X_train) @ W_t.T + b_t, torch.tensor(y_train)) + 1e-3 * (W_t ** 2).sum()
    assert math.isclose(model.history[-1]["loss"], full.item(), rel_tol=1e-10)
    # seeded: the same call gives the same weights
    again = L.train_softmax_classifier(X_train, y_train, **NOTEBOOK_SETTINGS)
    assert np.array_equal(again.W, model.W)


def test_softmax_classifier_not_tuned_to_one_seed():
    X_train, X_test, y_train, y_test = datasets.load_digits(test_size=0.25, seed=1)
    accs = [L.train_softmax_classifier(X_train, y_train, **{**NOTEBOOK_SETTINGS, "seed": s}).accuracy(X_test, y_test)
            for s in (1, 2)]
    assert min(accs) >= 0.93, accs


def test_one_sgd_step_is_the_analytic_update():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 1, 0])
    # one epoch with one full batch is one gradient step from the seeded initial W
    model = L.train_softmax_classifier(X, y, lam=0.1, eta=0.3, epochs=1, batch_size=5, seed=11)
    W0 = 0.001 * np.random.default_rng(11).standard_normal((3, 4))
    W_t, b_t = t(W0, grad=True), t(np.zeros(3), grad=True)
    loss = F.cross_entropy(t(X) @ W_t.T + b_t, torch.tensor(y)) + 0.1 * (W_t ** 2).sum()
    loss.backward()
    assert np.allclose(model.W, W0 - 0.3 * W_t.grad.numpy())
    assert np.allclose(model.b, -0.3 * b_t.grad.numpy())


@pytest.mark.parametrize("kwargs, match", [
    ({"eta": 0.0}, "eta"), ({"lam": -0.1}, "lam"), ({"batch_size": 0}, "batch_size"),
    ({"epochs": 1.5}, "epochs"),
])
def test_train_softmax_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.train_softmax_classifier(np.zeros((4, 2)), [0, 1, 0, 1], **kwargs)


def test_accuracy_accepts_scores_or_labels():
    y = np.array([0, 2, 1])
    assert L.accuracy(np.array([[3, 1, 0], [0, 1, 5], [0, 0, 1]]), y) == pytest.approx(2 / 3)
    assert L.accuracy(np.array([0, 2, 2]), y) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="do not match"):
        L.accuracy(np.array([0, 1]), y)
