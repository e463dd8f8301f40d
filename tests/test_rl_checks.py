"""The unit-13 checks: right answers pass (written independently of coursekit.rl), typical mistakes fail,
missing answers say so, and the quizzes accept the right answer in its usual forms only."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit.checks import rl as C
from coursekit.checks.core import ERROR, NOT_ATTEMPTED, PASSED, WRONG
from helpers.checks import not_done


def epsilon_greedy_own(Q, epsilon, u, explore_arm):
    if u < epsilon:
        return explore_arm
    best = max(Q)
    return [i for i, q in enumerate(Q) if q == best][0]


def incremental_mean_own(Q, n, reward):
    return ((n - 1) * Q + reward) / n                       # the average of n values from that of n - 1


def discounted_return_own(rewards, gamma):
    return sum(gamma ** t * r for t, r in enumerate(rewards))


def reinforce_loss_torch(logits, actions, returns, baseline):
    ce = F.cross_entropy(torch.tensor(logits), torch.tensor(actions), reduction="none")
    return float((torch.tensor(returns - baseline) * ce).sum())


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


CASES = [
    (C.check_epsilon_greedy, epsilon_greedy_own, [
        lambda Q, e, u, a: a if u > e else int(np.argmax(Q)),                     # explores when u > ε
        lambda Q, e, u, a: a if u <= e else int(np.argmax(Q)),                    # u = ε explores (and ε = 0)
        lambda Q, e, u, a: a if u < e else int(np.argmin(Q)),                     # exploits the worst arm
        lambda Q, e, u, a: a if u < e else int(len(Q) - 1 - np.argmax(Q[::-1])),  # ties to the highest index
        lambda Q, e, u, a: a if u < e else Q,                                     # returns the estimates
    ]),
    (C.check_incremental_mean, incremental_mean_own, [
        lambda Q, n, r: Q + (r - Q) / (n + 1),                                    # n without the new reward
        lambda Q, n, r: (Q + r) / 2,                                              # averages with the old mean
        lambda Q, n, r: Q + (Q - r) / n,                                          # wrong sign of the error
    ]),
    (C.check_discounted_return, discounted_return_own, [
        lambda rs, g: sum(g ** (t + 1) * r for t, r in enumerate(rs)),            # discounts the first reward
        lambda rs, g: sum(rs),                                                    # no discount
        lambda rs, g: sum(g ** (len(rs) - 1 - t) * r for t, r in enumerate(rs)),  # discounts from the end
    ]),
    (C.check_reinforce_loss, reinforce_loss_torch, [
        lambda z, a, G, b: float(np.sum((G - b) * log_softmax(z)[np.arange(len(a)), a])),      # sign
        lambda z, a, G, b: float(np.mean((G - b) * -log_softmax(z)[np.arange(len(a)), a])),    # mean, not sum
        lambda z, a, G, b: float(np.sum(G * -log_softmax(z)[np.arange(len(a)), a])),           # no baseline
        lambda z, a, G, b: float(np.sum((G - b) * -np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))
                                        [np.arange(len(a)), a])),                              # overflows
    ]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=[c[0].__name__ for c in CASES])
def test_right_answers_pass_and_mistakes_fail(check, right, wrongs):
    assert check(right, verbose=False).status == PASSED
    assert check(not_done, verbose=False).status == NOT_ATTEMPTED
    for wrong in wrongs:
        with np.errstate(all="ignore"):
            result = check(wrong, verbose=False)
        assert result.status in (WRONG, ERROR), (check.__name__, result.message)
        assert result.points == 0 and "Smallest failing input" in result.message


@pytest.mark.parametrize("check, right, _", CASES, ids=[c[0].__name__ for c in CASES])
def test_checks_pass_on_other_seeds(check, right, _):
    for seed in (1, 2, 99):
        assert check(right, seed=seed, verbose=False).passed


def test_a_crashing_answer_is_an_error_not_a_crash():
    result = C.check_discounted_return(lambda rewards, gamma: rewards[0] / 0, verbose=False)
    assert result.status == ERROR and "raised" in result.message


@pytest.mark.parametrize("check, right, wrong", [
    (C.check_critic_quiz, [2, "2", {2}, [2]], [1, {1, 2}, "reinforcement"]),
    (C.check_alphago_quiz, [3, "3", {3}], [1, 2, {1, 2}]),
    (C.check_difficulties_quiz, [{1, 2}, [2, 1], (1, 2)], [{1}, {1, 2, 3}, {3, 4}, 12]),
    (C.check_ucb_first_repeat_quiz, [11, 11.0], [10, 12, "11a"]),
])
def test_quizzes(check, right, wrong):
    for answer in right:
        assert check(lambda a=answer: a, verbose=False).passed, answer
    for answer in wrong:
        assert not check(lambda a=answer: a, verbose=False).passed, answer
    assert check(not_done, verbose=False).status == NOT_ATTEMPTED
