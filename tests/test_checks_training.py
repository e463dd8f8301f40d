"""The unit-06 checks: right answers (written independently, mostly with torch) pass, typical mistakes fail,
missing answers say so; quiz answers are computed, not typed in."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from coursekit import regularization
from coursekit.checks import training as C
from helpers.checks import assert_exercise_check, assert_quiz, not_done


def dropout_torch(h, mask, p):
    # torch's dropout with the same mask: the kept units scaled by 1/(1-p)
    return (torch.tensor(h) * torch.tensor(mask) / (1 - p)).numpy()


def batchnorm_train_torch(z, gamma, beta, eps):
    bn = torch.nn.BatchNorm1d(z.shape[1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    return bn.train()(torch.tensor(z)).detach().numpy()


def batchnorm_eval_torch(z, gamma, beta, mean, var, eps):
    bn = torch.nn.BatchNorm1d(z.shape[1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
        bn.running_mean.copy_(torch.tensor(mean))
        bn.running_var.copy_(torch.tensor(var))
    return bn.eval()(torch.tensor(z)).detach().numpy()


def xavier_limit_torch(n_in, n_out):
    # torch.nn.init.xavier_uniform_ draws from U(-a, a) with a = √3 · std and std = √(2/(fan_in + fan_out))
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(n_out, n_in))
    return math.sqrt(3.0) * math.sqrt(2.0 / (fan_in + fan_out))


def weight_decay_torch(w, grad, eta, lam):
    p = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
    p.grad = torch.tensor(grad, dtype=torch.float64)
    torch.optim.SGD([p], lr=eta, weight_decay=lam).step()
    return p.detach().numpy()


def early_stopping_own(losses, patience):
    best, since = 0, 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best, since = epoch, 0
        else:
            since += 1
            if since == patience:
                return best, epoch
    return best, len(losses) - 1


def smooth_labels_own(y, M, alpha):
    return (1 - alpha) * np.eye(M)[y] + alpha / M


CASES = [
    (C.check_inverted_dropout, dropout_torch, [
        lambda h, m, p: h * m,                          # no rescaling (deck 002)
        lambda h, m, p: h * m * (1 - p),                # the test-time factor used in training
        lambda h, m, p: h * m / p,                      # divided by the drop probability
    ]),
    (C.check_batchnorm_train, batchnorm_train_torch, [
        lambda z, g, b, e: g * (z - z.mean(0)) / np.sqrt(z.var(0, ddof=1) + e) + b,   # 1/(N-1) variance
        lambda z, g, b, e: g * (z - z.mean(1, keepdims=True)) / np.sqrt(z.var(1, keepdims=True) + e) + b,  # rows
        lambda z, g, b, e: (z - z.mean(0)) / np.sqrt(z.var(0) + e),                    # γ, β forgotten
    ]),
    (C.check_batchnorm_eval, batchnorm_eval_torch, [
        lambda z, g, b, m, v, e: g * (z - z.mean(0)) / np.sqrt(z.var(0) + e) + b,      # batch statistics
        lambda z, g, b, m, v, e: g * (z - m) / (v + e) + b,                            # variance, not std
    ]),
    (C.check_xavier_limit, xavier_limit_torch, [
        lambda n_in, n_out: math.sqrt(2 / (n_in + n_out)),                             # the normal's std
        lambda n_in, n_out: math.sqrt(6 / n_in),                                       # He's limit
        lambda n_in, n_out: np.array([math.sqrt(6 / (n_in + n_out))]),                 # an array, not a number
    ]),
    (C.check_weight_decay_step, weight_decay_torch, [
        lambda w, g, eta, lam: 0.99 * (w - eta * g),                                   # deck 004's form
        lambda w, g, eta, lam: (1 - lam) * w - eta * g,                                # η missing in the decay
        lambda w, g, eta, lam: (1 - eta * lam) * (w - eta * g),                        # decays the step too
    ]),
    (C.check_early_stopping, early_stopping_own, [
        lambda losses, p: (int(np.argmin(losses)), len(losses) - 1),                   # never stops early
        lambda losses, p: (early_stopping_own(losses, p)[1], early_stopping_own(losses, p)[1]),  # keeps the last
        lambda losses, p: early_stopping_own(losses, p + 1),                           # one epoch too patient
    ]),
    (C.check_smooth_labels, smooth_labels_own, [
        lambda y, M, a: (1 - a) * np.eye(M)[y] + a,                                    # α not divided by M
        lambda y, M, a: np.eye(M)[y] + a / M,                                          # rows sum to more than 1
    ]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    assert_exercise_check(check, right, wrongs, capsys)


def test_early_stopping_answer_as_a_list_passes():
    assert C.check_early_stopping(lambda l, p: list(early_stopping_own(l, p)), verbose=False).passed


def better_model():
    """Deck 000's two models: the one with the lower average cross-entropy."""
    model1 = [0.4, 0.4, 0.1]   # probability given to the right class, three examples each
    model2 = [0.7, 0.7, 0.3]
    ce = [-np.mean(np.log(m)) for m in (model1, model2)]
    assert round(ce[0], 2) == 1.38 and round(ce[1], 2) == 0.64   # the deck's numbers
    return 1 + int(np.argmin(ce))


def saddle_counts(P=3):
    signs = list(itertools.product((1, -1), repeat=P))
    minima = sum(all(s > 0 for s in pattern) for pattern in signs)
    maxima = sum(all(s < 0 for s in pattern) for pattern in signs)
    return [minima, maxima, len(signs) - minima - maxima]


def decay_left():
    w = np.array([1.0])
    for _ in range(100):
        w = regularization.deck004_weight_decay_step(w, np.zeros(1), 0.1)
    return round(float(w[0]), 3)


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_better_model_quiz, better_model, [lambda: "2", lambda: {2}], [lambda: 1]),
    (C.check_dropout_weight_quiz, lambda: float(regularization.dropout_forward(np.ones(1), 0.5, False,
                                                                               "scale_at_test")[0]),
     [lambda: 0.5000001], [lambda: 1.0, lambda: 2.0]),
    (C.check_decay_left_quiz, decay_left, [lambda: 0.99 ** 100], [lambda: 0.905, lambda: 0.99]),
    (C.check_saddle_quiz, saddle_counts, [lambda: (1, 1, 6), lambda: np.array([1, 1, 6])],
     [lambda: [1, 1, 2], lambda: [1, 6]]),
    (C.check_loss_with_softmax_quiz, lambda: "cross-entropy", [lambda: "Cross Entropy", lambda: "CE"],
     [lambda: "square error", lambda: "mse"]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
    assert check(lambda: None, verbose=False).status == "wrong"


def test_saddle_counts_follow_the_formula():
    for P in (1, 2, 3, 5):
        assert saddle_counts(P) == [1, 1, 2 ** P - 2]
