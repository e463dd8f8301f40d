"""Exercise checks for unit 12: generative models.

Each check runs the student's function next to the reference in
:mod:`coursekit.generative`: the unit's worked examples first (D = 1/2 at the
equilibrium, the 1-D Gaussians of the D* section, the linear β schedule with
T = 50), then seeded random inputs. Arguments and results are plain NumPy
arrays and numbers, so the grader re-checks them outside the kernel. None of
them raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import generative
from .core import Case, CheckResult, check_answer, check_function, expect_number, random_cases
from .optim import _call  # an answer converted before it is compared


def _d_outputs(rng: np.random.Generator, m: int) -> np.ndarray:
    """m discriminator outputs, strictly inside (0, 1)."""
    return rng.uniform(0.02, 0.98, size=m)


# ------------------------------------------------------------- exercises ---


def check_discriminator_loss(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(d_real, d_fake) -> -(mean log D(x) + mean log(1 - D(G(z)))), one number."""
    examples = [
        Case((np.full(4, 0.5), np.full(4, 0.5)), label="D = 1/2 everywhere (the equilibrium): log 4"),
        Case((np.array([0.9, 0.8]), np.array([0.1, 0.3])), label="a good discriminator"),
        Case((np.array([0.2]), np.array([0.9])), label="a fooled discriminator"),
        Case((np.array([0.9, 0.6, 0.7]), np.array([0.4])),
             label="3 real samples, 1 generated: each part has its own mean"),
    ]

    def make(rng, size):
        return _d_outputs(rng, 1 + size), _d_outputs(rng, 1 + (size * 7) % 5)

    return check_function(
        fn, generative.discriminator_loss, examples + random_cases(make, 16, seed), name="discriminator_loss",
        points=points, verbose=verbose, arg_names=["d_real", "d_fake"],
        compare=expect_number("the loss -V(D, G)", "average each part with np.mean"),
        hint="V = np.mean(np.log(d_real)) + np.mean(np.log(1 - d_fake)); the discriminator's loss is -V. "
             "Average real and generated outputs separately: the batches may differ in size.",
    )


def check_generator_loss(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(d_fake) -> the non-saturating generator loss -mean log D(G(z))."""
    examples = [
        Case((np.full(3, 0.5),), label="D(G(z)) = 1/2: log 2"),
        Case((np.array([0.01, 0.02]),), label="early training, D spots the fakes: a large loss"),
        Case((np.array([0.99]),), label="D is fooled: a loss near 0"),
    ]

    def make(rng, size):
        return (_d_outputs(rng, 1 + size),)

    return check_function(
        fn, lambda d: generative.generator_loss(d, "nonsaturating"), examples + random_cases(make, 16, seed),
        name="generator_loss", points=points, verbose=verbose, arg_names=["d_fake"],
        compare=expect_number("the non-saturating loss", "average over the samples with np.mean"),
        hint="the non-saturating loss is -np.mean(np.log(d_fake)): the generator wants D(G(z)) near 1. "
             "(The minimax form np.mean(np.log(1 - d_fake)) is the one that saturates.)",
    )


def check_optimal_discriminator(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True
                                ) -> CheckResult:
    """fn(p_data, p_g) -> D*(x) = p_d(x) / (p_d(x) + p_g(x)), elementwise."""
    from scipy.stats import norm

    x = np.linspace(-3, 4, 8)
    examples = [
        Case((np.array([0.2, 0.5]), np.array([0.2, 0.5])), label="p_g = p_d: D* = 1/2 everywhere"),
        Case((norm.pdf(x, 0, 1), norm.pdf(x, 1.5, 0.5)), label="the unit's 1-D Gaussians N(0, 1) and N(1.5, 0.5²)"),
        Case((np.array([0.7, 0.3, 0.0]), np.array([0.1, 0.3, 0.6])), label="a discrete example: D* = 0 where p_d = 0"),
    ]

    def make(rng, size):
        return rng.uniform(0.01, 1.0, size=1 + size), rng.uniform(0.01, 1.0, size=1 + size)

    return check_function(
        fn, generative.optimal_discriminator, examples + random_cases(make, 16, seed), name="optimal_discriminator",
        points=points, verbose=verbose, arg_names=["p_data", "p_g"],
        hint="elementwise: p_data / (p_data + p_g), an array of the inputs' shape.",
    )


def check_q_sample(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x0, t, eps, betas) -> √ᾱ_t x0 + √(1 - ᾱ_t) eps, ᾱ_t = (1 - β_1)⋯(1 - β_t)."""
    betas = generative.linear_schedule(50, 1e-4, 0.02).betas
    x0 = np.array([[1.0, -0.5], [0.3, 0.8]])
    eps = np.array([[0.2, -1.0], [1.5, 0.1]])
    examples = [
        Case((x0, 1, eps, betas), label="t = 1: ᾱ_1 = 1 - β_1, almost no noise"),
        Case((x0, 50, eps, betas), label="t = T = 50 of the linear schedule 1e-4 .. 0.02"),
        Case((x0, 25, eps, betas), label="t = 25"),
        Case((np.array([2.0]), 3, np.array([-1.0]), np.array([0.1, 0.2, 0.3])), label="three steps, by hand"),
        Case((x0, 0, eps, betas), label="t = 0: no noise at all, x_0 itself"),
    ]

    def make(rng, size):
        T = 1 + size
        b = np.sort(rng.uniform(1e-4, 0.2, size=T))
        shape = (1 + size % 4, 2)
        return rng.normal(size=shape), int(rng.integers(1, T + 1)), rng.normal(size=shape), b

    return check_function(
        fn, generative.q_sample, examples + random_cases(make, 16, seed), name="q_sample",
        points=points, verbose=verbose, arg_names=["x0", "t", "eps", "betas"],
        hint="ᾱ_t is the product of (1 - β_s) for s = 1..t: np.prod(1 - betas[:t]) (t counts from 1, "
             "so betas[:t] holds β_1..β_t). Then np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * eps.",
    )


def check_cycle_loss(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x, x_cycled, y, y_cycled) -> mean ‖x_cycled - x‖₁ + mean ‖y_cycled - y‖₁ over the rows."""
    x = np.array([[0.0, 1.0], [2.0, -1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.5], [-1.0, 2.0]])
    examples = [
        Case((x, x.copy(), y, y.copy()), label="perfect cycles: 0"),
        Case((x, x + np.array([0.5, -0.5]), y, y.copy()), label="every x comes back 0.5 off in each coordinate"),
        Case((x, x[::-1].copy(), y, y + 1.0), label="both cycles off; 2 x samples, 3 y samples"),
    ]

    def make(rng, size):
        n, m = 1 + size, 1 + (size * 3) % 5
        xs, ys = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
        return xs, xs + 0.3 * rng.normal(size=(n, 2)), ys, ys + 0.3 * rng.normal(size=(m, 2))

    return check_function(
        fn, generative.cycle_consistency_loss, examples + random_cases(make, 16, seed), name="cycle_loss",
        points=points, verbose=verbose, arg_names=["x", "x_cycled", "y", "y_cycled"],
        compare=expect_number("L_cyc", "sum |differences| over the coordinates of a row, then average the rows"),
        hint="‖v‖₁ sums absolute values: np.abs(x_cycled - x).sum(axis=1) is one number per sample; "
             "average those (np.mean), do the same for y, and add the two.",
    )


# --------------------------------------------------------------- quizzes ---

_BETTER_GENERATOR_DIGEST = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
_EQUILIBRIUM_D_DIGEST = "d2cbad71ff333de67d07ec676e352ab7f38248eb69c942950157220607c55e84"
_SATURATING_DIGEST = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
_INCEPTION_DIGEST = "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"


def _option(words: dict[str, int]) -> Callable[[Any], Any]:
    """An option number given as 2, "2", "G2", {2} or [2]; or one of ``words``."""
    def convert(answer):
        if isinstance(answer, (set, frozenset, list, tuple)) and len(answer) == 1:
            answer = next(iter(answer))
        if isinstance(answer, str):
            text = answer.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
            if text in words:
                return words[text]
            text = text[1:] if text[:1] == "g" and text[1:].isdigit() else text
            return int(text) if text.isdigit() else answer
        return answer
    return convert


def _number(answer):
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer, np.floating)):
        return answer
    return round(float(answer), 6)


def check_better_generator_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: of two generators, G1 never produces class 4 and G2 produces all four classes; which is better?"""
    return check_answer(_call(answer_fn, _option({})), _BETTER_GENERATOR_DIGEST, name="answer_better_generator",
                        points=points, expected_type="the generator's number, 1 or 2", verbose=verbose,
                        hint="a generator that misses a mode of the data has mode collapse, however sharp its "
                             "samples; compare the modes covered.")


def check_equilibrium_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """At the Nash equilibrium p_g = p_d, what is D*(x) for every x?"""
    return check_answer(_call(answer_fn, _number), _EQUILIBRIUM_D_DIGEST, name="answer_equilibrium_d",
                        points=points, expected_type="a number", verbose=verbose,
                        hint="put p_g = p_d into D* = p_d / (p_d + p_g).")


def check_saturating_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Early in training D(G(z)) ≈ 0. Which generator loss then gives almost no gradient:
    1 = minimax log(1 - D(G(z))), 2 = non-saturating -log D(G(z))?"""
    words = {"minimax": 1, "saturating": 1, "nonsaturating": 2}
    return check_answer(_call(answer_fn, _option(words)), _SATURATING_DIGEST, name="answer_saturating_loss",
                        points=points, expected_type="the option number, 1 or 2", verbose=verbose,
                        hint="with D = σ(a), the derivative of log(1 - σ(a)) is -σ(a) = -D and that of "
                             "-log σ(a) is -(1 - D): which one vanishes when D ≈ 0?")


def check_inception_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """A classifier gives every generated sample one class with probability 1, and the samples
    spread evenly over 4 classes: what is the inception score (with its exp)?"""
    return check_answer(_call(answer_fn, _number), _INCEPTION_DIGEST, name="answer_inception_score",
                        points=points, expected_type="a number", verbose=verbose,
                        hint="p(y|x) is one-hot and p(y) uniform over 4 classes, so every KL(p(y|x) ‖ p(y)) "
                             "is log 4; the score is the exp of their mean.")
