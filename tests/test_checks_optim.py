"""The unit-03 checks: right answers pass, typical mistakes fail, missing answers say so."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coursekit import datasets, optim
from coursekit.checks import optim as C
from helpers.checks import assert_exercise_check, assert_quiz, not_done


def logistic_gradient_torch(w, X, y):
    """An independent answer: autograd of mean(log(1 + exp(-y wᵀx)))."""
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.softplus(-torch.tensor(y) * (torch.tensor(X) @ wt)).mean()
    loss.backward()
    return wt.grad.numpy()


def gd_step_torch(params, x, y, eta):
    p = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    ((p[0] * torch.tensor(x) + p[1] - torch.tensor(y)) ** 2).mean().backward()
    return (p - eta * p.grad).detach().numpy()


def momentum_step_own(theta, m, grad, eta, lam):
    m_new = lam * np.asarray(m) - eta * np.asarray(grad)
    return np.asarray(theta) + m_new, m_new


CASES = [
    (C.check_logistic_gradient, logistic_gradient_torch, [
        lambda w, X, y: X.T @ (1 / (1 + np.exp(y * (X @ w))) * -y),                      # sum, not mean
        lambda w, X, y: X.T @ (1 / (1 + np.exp(-y * (X @ w))) * -y) / len(y),            # θ(+s) instead of θ(-s)
        lambda w, X, y: -X.T @ (1 / (1 + np.exp(y * (X @ w))) * -y) / len(y),            # ascent direction
    ]),
    (C.check_gd_step, gd_step_torch, [
        lambda p, x, y, eta: p - eta * np.array([2 * np.sum((p[0] * x + p[1] - y) * x),
                                                 2 * np.sum(p[0] * x + p[1] - y)]),      # sum, not mean
        lambda p, x, y, eta: p + eta * np.array([2 * np.mean((p[0] * x + p[1] - y) * x),
                                                 2 * np.mean(p[0] * x + p[1] - y)]),     # uphill
        lambda p, x, y, eta: p - eta * np.array([np.mean((p[0] * x + p[1] - y) * x),
                                                 np.mean(p[0] * x + p[1] - y)]),         # factor 2 lost
    ]),
    (C.check_momentum_step, momentum_step_own, [
        lambda th, m, g, eta, lam: (th - eta * g, lam * m - eta * g),                    # movement not used
        lambda th, m, g, eta, lam: (th + lam * m - eta * g, lam * m + eta * g),          # wrong sign in m
        lambda th, m, g, eta, lam: th + lam * m - eta * g,                               # only theta returned
    ]),
    (C.check_iterations_per_epoch, lambda N, B: math.ceil(N / B), [
        lambda N, B: N // B,                                                              # floor
        lambda N, B: N / B,                                                               # a fraction
    ]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    assert_exercise_check(check, right, wrongs, capsys)


def test_reference_answers_also_pass():
    assert C.check_logistic_gradient(__import__("coursekit.linear", fromlist=["x"]).logistic_gradient,
                                     verbose=False).passed
    assert C.check_gd_step(optim.least_squares_gd_step, verbose=False).passed
    assert C.check_momentum_step(optim.momentum_step, verbose=False).passed


def diverging_etas():
    """Independently: GD on the quadratic C diverges exactly when η > 2/λ_max(Hessian)."""
    x, _ = datasets.regression_20()
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return {eta for eta in (0.001, 0.01, 0.03, 0.05) if eta > 2 / np.linalg.eigvalsh(H).max()}


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_iterations_quiz, lambda: math.ceil(2000 / 500), [lambda: 4.0], [lambda: 500, lambda: 2000 * 500]),
    (C.check_sgd_updates_quiz, lambda: optim.iterations_per_epoch(20, 1), [], [lambda: 1]),
    (C.check_faster_quiz, lambda: 2, [lambda: {2}, lambda: "mini-batch", lambda: "2"], [lambda: 1, lambda: "SGD"]),
    (C.check_diverging_quiz, diverging_etas, [lambda: [0.05], lambda: 0.05],
     [lambda: {0.03, 0.05}, lambda: set(), lambda: {0.001}]),
    (C.check_sigma0_quiz, lambda: math.sqrt((-2.0) ** 2), [lambda: 2], [lambda: -2, lambda: 4]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
    assert check(lambda: None, verbose=False).status == "wrong"


def test_the_diverging_answer_is_what_gd_does():
    problem = optim.regression_20_problem()
    diverged = {eta for eta in (0.001, 0.01, 0.03, 0.05)
                if optim.optimize(problem, optim.GD(eta), [0.0, 0.0], 2000)[-1].diverged}
    assert diverged == diverging_etas() == {0.05}
