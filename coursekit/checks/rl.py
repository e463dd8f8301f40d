"""Exercise checks for unit 13: reinforcement learning (強化學習).

Each check runs the student's function next to the reference in
:mod:`coursekit.rl`: the unit's worked examples first, then seeded random
inputs. None of them raises.

Quiz answers (deck 004, lecture IV) are stored only as digests
(:func:`coursekit.checks.answer_digest`); an option number may be given as
2, "2", [2] or {2}.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import rl
from .core import Case, CheckResult, check_answer, check_function, compare_values, expect_number, random_cases
from .perceptron import as_options

# --------------------------------------------------------------- exercises ---


def _one_arm(expected, got):
    """An arm number: an int (a float or 0-d array holding a whole number is accepted)."""
    if isinstance(got, (bool, np.bool_)):
        return f"expected an arm number (an int), got {got!r}"
    if np.ndim(got) > 0:
        return (f"expected one arm number, got an array of shape {np.shape(got)}; np.argmax(Q) gives the index "
                "of the largest estimate")
    return compare_values(expected, got, atol=0, rtol=0)


def check_epsilon_greedy(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(Q, epsilon, u, explore_arm) -> explore_arm when u < epsilon, else argmax Q (lowest index among ties)."""
    Q = np.array([0.2, 1.5, -0.3, 1.1])
    examples = [
        Case((Q, 0.1, 0.5, 2), label="u ≥ ε: exploit, the arm with the largest estimate"),
        Case((Q, 0.1, 0.05, 2), label="u < ε: explore, take explore_arm"),
        Case((Q, 0.1, 0.1, 3), label="u = ε exactly: exploit (explore only when u < ε)"),
        Case((Q, 0.0, 0.0, 0), label="ε = 0 (greedy) never explores, even for u = 0"),
        Case((Q, 1.0, 0.999, 0), label="ε = 1 always explores"),
        Case((np.array([1.0, 3.0, 3.0]), 0.2, 0.7, 0), label="a tie: the lowest index among the largest"),
        Case((np.array([-2.0, -1.0, -5.0]), 0.2, 0.7, 2), label="all estimates negative"),
    ]

    def make(rng, size):
        k = 2 + size % 7
        Q = np.round(rng.normal(size=k), 1 if size % 3 == 0 else 6)  # rounding makes ties happen
        return Q, float(rng.choice([0.0, 0.05, 0.1, 0.3, 1.0])), float(rng.random()), int(rng.integers(k))

    return check_function(
        fn, rl.epsilon_greedy, examples + random_cases(make, 24, seed), name="epsilon_greedy", points=points,
        verbose=verbose, arg_names=["Q", "epsilon", "u", "explore_arm"], compare=_one_arm,
        hint="if u < epsilon: return explore_arm; otherwise return int(np.argmax(Q)) (np.argmax already picks "
             "the lowest index among ties).",
    )


def check_incremental_mean(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(Q, n, reward) -> Q + (reward - Q) / n, the average of n rewards from the average of the first n - 1."""
    examples = [
        Case((0.0, 1, 2.0), label="the first reward: the average is that reward"),
        Case((2.0, 2, 4.0), label="rewards 2, 4: average 3"),
        Case((3.0, 3, 0.0), label="rewards 2, 4, 0: average 2"),
        Case((5.0, 1, -1.0), label="an optimistic start Q = 5 is forgotten at the first reward"),
        Case((1.0, 100, 1.0), label="a reward equal to the estimate changes nothing"),
    ]

    def make(rng, size):
        return float(rng.normal() * 2), int(rng.integers(1, 10 * size + 2)), float(rng.normal() * 3)

    return check_function(
        fn, rl.incremental_mean, examples + random_cases(make, 20, seed), name="incremental_mean", points=points,
        verbose=verbose, arg_names=["Q", "n", "reward"],
        compare=expect_number("the new estimate", "return one number"),
        hint="new estimate = old estimate + (1/n) × (reward - old estimate); n counts the new reward too, so "
             "with n = 1 the new estimate is the reward itself.",
    )


def check_discounted_return(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(rewards, gamma) -> G_0 = r_1 + γ r_2 + γ² r_3 + ... (0 for an empty list)."""
    examples = [
        Case(([0.0, 0.0, 0.0, 0.0, 1.0], 0.9), label="a delayed reward: only the win at the end pays"),
        Case(([-0.04] * 5 + [1.0], 0.9), label="five step costs, then the goal"),
        Case(([1.0, 2.0, 3.0], 1.0), label="γ = 1: the plain sum"),
        Case(([1.0, 2.0, 3.0], 0.0), label="γ = 0: only the first reward counts"),
        Case(([], 0.9), label="an empty episode: return 0"),
        Case(([5.0], 0.5), label="one reward"),
    ]

    def make(rng, size):
        rewards = [float(r) for r in np.round(rng.normal(size=size), 3)]
        return rewards, float(rng.choice([0.5, 0.9, 0.99, 1.0]))

    return check_function(
        fn, rl.discounted_return, examples + random_cases(make, 20, seed), name="discounted_return", points=points,
        verbose=verbose, arg_names=["rewards", "gamma"],
        compare=expect_number("the return G_0", "add up gamma**t * rewards[t] over all t"),
        hint="the first reward is not discounted: G_0 = Σ_t γ^t · rewards[t] for t = 0, 1, ...; or go backwards, "
             "G = r + γ G, starting from G = 0 after the last reward.",
    )


def check_reinforce_loss(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(logits, actions, returns, baseline) -> Σ_t (G_t - b) · (-ln softmax(logits_t)[a_t])."""
    logits = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]])
    actions = np.array([0, 1, 3])
    returns = rl.discounted_returns([-0.04, -0.04, 1.0], 0.9)
    examples = [
        Case((logits, actions, returns, 0.0), label="three steps to the goal, no baseline"),
        Case((logits, actions, returns, 0.5), label="the same episode with baseline b = 0.5"),
        Case((np.zeros((1, 4)), np.array([2]), np.array([1.0]), 0.0), label="one step, uniform policy: ln 4"),
        Case((np.zeros((1, 4)), np.array([2]), np.array([-1.0]), 0.0), label="a bad outcome: the loss is negative"),
        Case((np.array([[1000.0, 0.0, -1000.0, 0.0]]), np.array([2]), np.array([1.0]), 0.0),
             label="logits of ±1000 (is your log-softmax overflow-safe?)"),
    ]

    def make(rng, size):
        T = 1 + size
        rewards = np.where(rng.random(T) < 0.8, -0.04, rng.choice([-1.0, 1.0], size=T))
        return (rng.normal(size=(T, 4)) * 2, rng.integers(4, size=T), rl.discounted_returns(rewards, 0.9),
                float(np.round(rng.normal() * 0.5, 2)))

    return check_function(
        fn, rl.reinforce_loss, examples + random_cases(make, 20, seed), name="reinforce_loss", points=points,
        verbose=verbose, arg_names=["logits", "actions", "returns", "baseline"],
        compare=expect_number("the loss of the episode", "sum the weighted cross-entropies over the steps"),
        hint="per step: log_pi = logits_t - logsumexp(logits_t) (shift by the row's max first); the cross-entropy "
             "is -log_pi[a_t]; weight it by (G_t - baseline) and sum over the steps (do not average).",
    )


# ----------------------------------------------------------------- quizzes ---

# answer_digest of the normalized answers (a set of option numbers, or an int)
_CRITIC_DIGEST = "038966de9f6b9a901b20b4c6ca8b2a46009feebe031babc842d43690c0bc222b"
_ALPHAGO_DIGEST = "06d033ece6645de592db973644cf7357255f24536ff7b03c3b2ace10736f7636"
_DIFFICULTIES_DIGEST = "3a316d6d3226f84c1e46e4447fa8d5fd800bff4a1bc6498152523cd4a602b69b"
_UCB_FIRST_REPEAT_DIGEST = "4fc82b26aecb47d2868c4efbe3581732a3e7cbcc6c2efb32062c08170a05eeb8"


def check_critic_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004: the chat-bot hears "Hello", answers, and the user only says "Bad". Which learning is that?
    1 = supervised learning (learning from a teacher), 2 = reinforcement learning (learning from a critic)."""
    return check_answer(answer_fn, _CRITIC_DIGEST, convert=as_options, name="answer_critic",
                        points=points, verbose=verbose, expected_type="the option number, 1 or 2",
                        hint="does anyone tell the bot what it *should* have said?")


def check_alphago_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004: how was AlphaGo trained? 1 = supervised learning only, 2 = reinforcement learning only,
    3 = supervised learning first, then reinforcement learning."""
    return check_answer(answer_fn, _ALPHAGO_DIGEST, convert=as_options, name="answer_alphago",
                        points=points, verbose=verbose, expected_type="the option number, 1, 2 or 3",
                        hint="the slide's title: \"Alpha Go 是監督學習 + 強化學習\", and in which order?")


def check_difficulties_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004, 強化學習的難題: which of the options are the two difficulties the deck names?"""
    return check_answer(answer_fn, _DIFFICULTIES_DIGEST, convert=as_options, name="answer_difficulties",
                        points=points, verbose=verbose, expected_type="a set of two option numbers, e.g. {1, 4}",
                        hint="one is about time (Go), one about exploration.")


def check_ucb_first_repeat_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """UCB on a 10-armed bandit: at which step t (counting from 1) can it first choose an arm it has tried before?"""

    def whole(value):
        return int(value) if isinstance(value, float) and value.is_integer() else value

    return check_answer(answer_fn, _UCB_FIRST_REPEAT_DIGEST, convert=whole, name="answer_ucb_first_repeat",
                        points=points, verbose=verbose, expected_type="a step number (an int)",
                        hint="an arm with N(a) = 0 has an infinite bound; how many steps until every arm has N(a) ≥ 1?")
