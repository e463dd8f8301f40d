"""Exercise checks for unit 08, transfer learning and robustness.

Each check runs the student's function next to the reference in
:mod:`coursekit.robustness` on worked examples first, then seeded random
inputs. None of them raises. Quiz answers are stored only as digests.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import robustness as R
from .core import Case, CheckResult, check_answer, check_function, expect_number, random_cases


def check_fgsm_step(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x, grad, eps) -> clip(x + eps·sign(grad), 0, 1): one untargeted FGSM step on pixels in [0, 1]."""
    x = np.array([[0.0, 0.5, 1.0], [0.2, 0.95, 0.03]])
    examples = [
        Case((x, np.array([[1.0, -2.0, 3.0], [-0.1, 0.5, -4.0]]), 0.1), label="a 2×3 image, ε = 0.1"),
        Case((x, np.array([[0.0, 0.0, -1e-9], [0.0, 2.0, 0.0]]), 0.3), label="a zero gradient leaves a pixel alone"),
        Case((np.full((2, 2), 0.5), np.array([[1e-12, -1e-12], [5.0, -5.0]]), 0.2),
             label="only the sign counts, not the size"),
    ]

    def make(rng, size):
        shape = (1 + size % 3, 2 + size % 4)
        grad = rng.normal(size=shape) * (rng.random(shape) > 0.2)
        return rng.random(shape), grad, float(rng.choice([0.01, 0.05, 0.1, 0.3]))

    return check_function(
        fn, lambda x, grad, eps: R.fgsm_step(x, grad, eps), examples + random_cases(make, 20, seed),
        name="fgsm_step", points=points, verbose=verbose, arg_names=["x", "grad", "eps"],
        hint="move every pixel by eps in the direction that raises the loss: x + eps * np.sign(grad) "
             "(np.sign(0) = 0), then keep pixels valid with np.clip(..., 0, 1).",
    )


def check_project_linf(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x_adv, x, eps) -> the nearest point of the L∞ ball of radius eps around x, clipped to [0, 1]."""
    x = np.array([0.5, 0.5, 0.95, 0.02])
    examples = [
        Case((np.array([0.9, 0.45, 0.5, 0.0]), x, 0.1), label="one pixel too far up, one inside, one too far down"),
        Case((np.array([1.5, -0.2, 0.95, 0.3]), x, 0.1), label="clip to the ball, then to the pixel range"),
        Case((x.copy(), x, 0.0), label="ε = 0: the projection is x itself"),
    ]

    def make(rng, size):
        shape = (1 + size % 3, 3)
        x = rng.random(shape)
        return x + rng.normal(scale=0.3, size=shape), x, float(rng.choice([0.05, 0.1, 0.2]))

    return check_function(
        fn, lambda x_adv, x, eps: R.project_linf(x_adv, x, eps), examples + random_cases(make, 20, seed),
        name="project_linf", points=points, verbose=verbose, arg_names=["x_adv", "x", "eps"],
        hint="the L∞ ball is a box: each pixel may differ from x by at most eps, so clamp each pixel on its own, "
             "np.clip(x_adv, x - eps, x + eps), then np.clip(..., 0, 1).",
    )


def check_centroid_probe(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(train_features, y_train, test_features, y_test) -> test accuracy of the nearest-class-mean classifier."""
    examples = [
        Case((np.array([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]]), np.array([0, 0, 1, 1]),
              np.array([[1.0, 1.0], [3.5, 0.0], [2.5, 5.0]]), np.array([0, 1, 0])),
             label="two classes in the plane, prototypes (0, 1) and (4, 1)"),
        Case((np.eye(3), np.array([9, 5, 7]), np.eye(3)[[0, 1, 2, 0]], np.array([9, 5, 7, 5])),
             label="the labels are digits 5, 7, 9, not 0, 1, 2"),
    ]

    def make(rng, size):
        C, D = 2 + size % 3, 2 + size % 5
        centers = rng.normal(scale=2.0, size=(C, D))
        y_train = np.concatenate([np.arange(C), rng.integers(0, C, size=3 * C)])
        y_test = rng.integers(0, C, size=6)
        noise = lambda n: rng.normal(size=(n, D))  # noqa: E731
        return centers[y_train] + noise(len(y_train)), y_train, centers[y_test] + noise(6), y_test

    return check_function(
        fn, R.nearest_centroid_accuracy, examples + random_cases(make, 20, seed), name="centroid_probe",
        points=points, verbose=verbose, arg_names=["train_features", "y_train", "test_features", "y_test"],
        compare=expect_number("the test accuracy", "return the share of correct predictions, e.g. with np.mean"),
        hint="for each class c in np.unique(y_train) compute its prototype, the mean of its training rows; "
             "give each test row the class of the nearest prototype (smallest squared distance) and return the "
             "share of test rows whose class is right.",
    )


# --------------------------------------------------------------- quizzes ---

_VIT_TOKEN_SIZE_DIGEST = "f7b856c054de7ccced087ad4f9413380ec494e40abc818b840aaad990ca3c5bc"
_TRADES_DIGEST = "4b9f71d39011fa80512450a058c862f6f3a666cea4a553c99be68340f0c0c2b4"
_FINETUNE_LR_DIGEST = "90c16ddafc88432d0b56700f558fbcf3ff46cf57632221dd33eaa8d406ff0bfa"


def _word(synonyms: dict[str, str]):
    """A one-word answer in lower case, single-spaced, its synonyms mapped to one word."""
    def normalized(answer):
        if isinstance(answer, str):
            word = " ".join(answer.lower().split())
            return synonyms.get(word, word)
        return answer
    return normalized


def check_vit_token_size_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: a 224×224 colour image cut into 16×16 patches: how many numbers does one patch token hold
    before the linear projection?"""
    return check_answer(answer_fn, _VIT_TOKEN_SIZE_DIGEST, name="answer_vit_token_size", points=points,
                        verbose=verbose, expected_type="an integer",
                        hint="a patch keeps all three colour channels of its 16×16 pixels, flattened into one vector.")


def check_trades_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002 lists TRADES among the attacks. Is TRADES an 'attack' or a 'defence'?"""
    return check_answer(answer_fn, _TRADES_DIGEST,
                        convert=_word({"defense": "defence", "a defence": "defence", "a defense": "defence",
                                       "an attack": "attack"}), name="answer_trades", points=points, verbose=verbose,
                        expected_type="the word 'attack' or 'defence'",
                        hint="TRADES (Zhang et al. 2019) is a training objective: a clean loss plus a term that "
                             "keeps predictions stable inside the ε-ball.")


def check_finetune_lr_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: is the learning rate for fine-tuning 'smaller' or 'larger' than the one that trained the source network?"""
    return check_answer(answer_fn, _FINETUNE_LR_DIGEST,
                        convert=_word({"lower": "smaller", "less": "smaller", "higher": "larger", "bigger": "larger"}),
                        name="answer_finetune_lr", points=points, verbose=verbose,
                        expected_type="the word 'smaller' or 'larger'",
                        hint="the source network's features were learnt from far more data: large steps would "
                             "overwrite them.")
