"""The unit-04 and unit-05 checks: right answers pass, typical mistakes fail, missing answers say so."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from coursekit.checks import backprop as B
from coursekit.checks import nn as C
from helpers.checks import assert_exercise_check, assert_quiz, not_done


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


# independent right answers, from torch
def sigmoid_prime_torch(z):
    zt = t(z, grad=True)
    torch.sigmoid(zt).sum().backward()
    return zt.grad.numpy()


def dense_forward_torch(X, W, b):
    return torch.sigmoid(t(X) @ t(W) + t(b)).numpy()


def softmax_temperature_torch(z, T):
    return torch.softmax(t(z) / T, dim=-1).numpy()


def dense_backward_torch(dout, x, W):
    xt, Wt, bt = t(x, True), t(W, True), t(np.zeros(np.shape(W)[1]), True)
    (xt @ Wt + bt).backward(t(dout))
    return xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def delta_step_torch(delta_next, W_next, z):
    zt = t(z, grad=True)
    (torch.sigmoid(zt) @ t(W_next)).backward(t(delta_next))   # δ^l = ∂L/∂z^l when ∂L/∂z^{l+1} = δ^{l+1}
    return zt.grad.numpy()


def softmax_ce_grad_torch(S, y):
    St = t(S, grad=True)
    torch.nn.functional.cross_entropy(St, torch.tensor(np.asarray(y))).backward()
    return St.grad.numpy()


def numerical_gradient_own(f, x, h):
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def one_sided(f, x, h):
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x)) / h
    return g


CASES = [
    (C.check_sigmoid_prime, sigmoid_prime_torch, [
        lambda z: 1 / (1 + np.exp(-z)),                                          # σ, not σ'
        lambda z: np.exp(-z) / (1 + np.exp(-z)),                                 # (1 - σ) only
        lambda z: 1 / (1 + np.exp(-z)) * (1 - 1 / (1 + np.exp(-z))) / 2,        # a stray factor
    ]),
    (C.check_dense_forward, dense_forward_torch, [
        lambda X, W, b: 1 / (1 + np.exp(-(X @ W))),                             # bias forgotten
        lambda X, W, b: X @ W + b,                                              # no activation
        lambda X, W, b: 1 / (1 + np.exp(-(W.T @ X.T).T - b)) if W.shape[0] == W.shape[1] else X @ W.T + b,  # W.T
    ]),
    (C.check_softmax_temperature, softmax_temperature_torch, [
        lambda z, T: np.exp(z * T) / np.exp(z * T).sum(axis=-1, keepdims=True),  # multiplies by T
        lambda z, T: np.exp(z / T) / np.exp(z / T).sum(),                        # whole-array sum, overflow
        lambda z, T: z / T / np.sum(z / T, axis=-1, keepdims=True),              # plain normalization
    ]),
    (B.check_dense_backward, dense_backward_torch, [
        lambda d, x, W: (d @ W, d.T @ x, d.mean(axis=0)) if W.shape[0] == W.shape[1] else  # all three wrong
        (np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1])),
        lambda d, x, W: (d @ W.T, x.T @ d),                                     # db missing: no part can be read
    ]),
    (B.check_delta_step, delta_step_torch, [
        lambda d, W, z: d @ W.T,                                                # σ' forgotten
        lambda d, W, z: (1 / (1 + np.exp(-z))) * (d @ W.T),                      # σ instead of σ'
        lambda d, W, z: (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z))) * (d @ W) if W.shape[0] == W.shape[1]
        else np.zeros_like(z),
    ]),
    (B.check_softmax_ce_grad, softmax_ce_grad_torch, [
        lambda S, y: np.exp(S) / np.exp(S).sum(1, keepdims=True) - np.eye(S.shape[1])[y],   # not divided by N
        lambda S, y: (np.exp(S - S.max(1, keepdims=True)) / np.exp(S - S.max(1, keepdims=True)).sum(1, keepdims=True)
                      ) / len(y),                                                          # onehot forgotten
        lambda S, y: (np.eye(S.shape[1])[y] - np.exp(S - S.max(1, keepdims=True))
                      / np.exp(S - S.max(1, keepdims=True)).sum(1, keepdims=True)) / len(y),   # sign flipped
    ]),
    (B.check_numerical_gradient, numerical_gradient_own, [
        one_sided,
        lambda f, x, h: np.array([(f(x + h) - f(x - h)) / (2 * h)]),             # all entries moved at once
    ]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    assert_exercise_check(check, right, wrongs, capsys)


def test_dense_backward_gives_a_third_of_the_points_per_gradient():
    """The three gradients are independent parts: each right one earns its third, checked
    against torch.autograd's gradients."""
    def mean_db(d, x, W):            # dx and dW right, db averaged instead of summed
        dx, dW, db = dense_backward_torch(d, x, W)
        return dx, dW, db / len(d)

    def transposed_dW(d, x, W):      # only dx right
        dx, dW, db = dense_backward_torch(d, x, W)
        return dx, (d.T @ x).T + 1.0, db * 2
    for fn, earned, wrong in ((mean_db, 2, ["db"]), (transposed_dW, 1, ["dW", "db"])):
        res = B.check_dense_backward(fn, verbose=False)
        assert res.status == "partly passed" and res.points == earned and res.max_points == 3, res.message
        assert [p["name"] for p in res.parts if p["status"] != "passed"] == wrong
        assert "2/3 points" in res.message if earned == 2 else "1/3 points" in res.message


def test_the_first_failing_example_is_shown():
    res = C.check_softmax_temperature(lambda z, T: np.exp(z / T) / np.exp(z / T).sum(axis=-1, keepdims=True),
                                      verbose=False)
    assert not res.passed and "±1000" in res.message                          # the overflow example
    res = B.check_numerical_gradient(one_sided, verbose=False)
    assert "centred" in res.message or "one-sided" in res.message


def test_numerical_gradient_test_functions_travel_to_the_kernel():
    f = B.ScalarFunction("logsumexp")
    x = np.array([0.5, -1.0, 2.0])
    assert pickle.loads(pickle.dumps(f))(x) == f(x)
    softmax = np.exp(x) / np.exp(x).sum()
    assert np.allclose(B.reference_numerical_gradient(f, x, 1e-5), softmax, atol=1e-9)


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_or_quiz, lambda: 3, [lambda: "③", lambda: "3", lambda: {3}], [lambda: 2, lambda: 4, lambda: "1"]),
    (C.check_spam_cross_entropy_quiz, lambda: -math.log(0.3), [lambda: 1.2, lambda: 1.204],
     [lambda: -math.log(0.7), lambda: 0.3, lambda: -math.log10(0.3)]),
    (B.check_zero_gradient_quiz, lambda: 4, [lambda: "④", lambda: "4"], [lambda: 1, lambda: 2, lambda: 3]),
    (B.check_weight_count_quiz, lambda: (3 + 1) * 5 + (5 + 1) * 1, [lambda: 26.0], [lambda: 20, lambda: 15, lambda: 4]),
    (B.check_sigma_prime_max_quiz, lambda: 0.5 * (1 - 0.5), [lambda: 1 / 4], [lambda: 1, lambda: 0.5, lambda: 0.2]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
    assert check(lambda: None, verbose=False).status == "wrong"


def test_or_answer_is_what_the_perceptron_computes():
    g = [(a, b) for a in (-1, 1) for b in (-1, 1)]
    options = {1: (-3, 1, 1), 2: (-1, 1, 1), 3: (1, 1, 1), 4: (3, 1, 1)}
    right = [k for k, (a0, a1, a2) in options.items()
             if all(np.sign(a0 + a1 * g1 + a2 * g2) == (1 if (g1 > 0 or g2 > 0) else -1) for g1, g2 in g)]
    assert right == [3] and C.check_or_quiz(lambda: right[0], verbose=False).passed


@pytest.mark.parametrize("check, building_blocks", [
    (C.check_sigmoid_prime, {"coursekit.nn:sigmoid", "coursekit.linear:theta"}),
    (C.check_dense_forward, {"coursekit.nn:sigmoid", "coursekit.linear:theta"}),
    (B.check_delta_step, {"coursekit.nn:sigmoid_prime", "coursekit.nn:sigmoid"}),
    (B.check_softmax_ce_grad, {"coursekit.linear:softmax", "coursekit.linear:log_softmax"}),
    (B.check_dense_backward, set()),
])
def test_the_grader_lets_answers_use_the_named_building_blocks(check, building_blocks):
    from coursekit.checks.core import tracing_references

    with tracing_references():
        result = check(not_done, verbose=False)
    assert not building_blocks & set(result.reference)     # what the hints offer is not "the reference"
    assert result.reference                                 # but the reference itself is still watched
    layer_methods = {"coursekit.nn:Linear.forward", "coursekit.nn:Linear.backward", "coursekit.nn:_OutputDerivative.backward"}
    if check in (C.check_dense_forward, B.check_dense_backward, B.check_delta_step):
        assert layer_methods & set(result.reference), result.reference   # calling the library's layer counts
