"""The unit-08 checks: right answers (written independently) pass, typical mistakes fail
with a hint, missing answers say so; the quiz answers computed."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from coursekit.checks import robustness as C
from helpers.checks import assert_exercise_check, assert_quiz  # the same assertions for every unit's checks


def fgsm_torch(x, grad, eps):
    return torch.clamp(torch.tensor(x) + eps * torch.sign(torch.tensor(grad)), 0, 1).numpy()


def project_torch(x_adv, x, eps):
    x_t = torch.tensor(x)
    return torch.clamp(torch.maximum(torch.minimum(torch.tensor(x_adv), x_t + eps), x_t - eps), 0, 1).numpy()


def centroid_loop(train_features, y_train, test_features, y_test):
    labels = sorted(set(np.asarray(y_train).tolist()))
    means = {c: np.asarray(train_features)[np.asarray(y_train) == c].mean(axis=0) for c in labels}
    right = [min(labels, key=lambda c: np.linalg.norm(row - means[c])) == t for row, t in zip(test_features, y_test)]
    return sum(right) / len(right)


def centroid_by_index(train_features, y_train, test_features, y_test):   # assumes labels 0..C-1 in order
    with warnings.catch_warnings():   # a missing label averages an empty slice: that is the mistake
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.stack([train_features[y_train == c].mean(axis=0) for c in range(len(np.unique(y_train)))])
    pred = ((test_features[:, None] - means) ** 2).sum(axis=2).argmin(axis=1)
    return float(np.mean(pred == y_test)) if set(np.unique(y_train)) == set(range(len(means))) else -1.0


CASES = [
    (C.check_fgsm_step, fgsm_torch, [lambda x, g, e: np.clip(x + e * g, 0, 1),                 # gradient, not its sign
                                     lambda x, g, e: np.clip(x - e * np.sign(g), 0, 1),         # downhill
                                     lambda x, g, e: x + e * np.sign(g)]),                      # not clipped
    (C.check_project_linf, project_torch, [lambda xa, x, e: np.clip(xa, 0, 1),                 # no ball
                                           lambda xa, x, e: np.clip(xa, x - e, x + e),          # pixels leave [0, 1]
                                           lambda xa, x, e: x + e * np.sign(xa - x)]),          # to the corner
    (C.check_centroid_probe, centroid_loop, [centroid_by_index,
                                             lambda a, b, c, d: float(np.mean(b == b[0]))]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    assert_exercise_check(check, right, wrongs, capsys)


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_vit_token_size_quiz, lambda: 3 * 16 * 16, [lambda: 768.0], [lambda: 256, lambda: 196, lambda: 16]),
    (C.check_trades_quiz, lambda: "defence", [lambda: "Defense", lambda: " a defence "], [lambda: "attack"]),
    (C.check_finetune_lr_quiz, lambda: "smaller", [lambda: "Lower"], [lambda: "larger", lambda: "same"]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
