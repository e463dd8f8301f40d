"""The unit-07 checks: right answers (written independently, with torch) pass, typical
mistakes fail with a hint, missing answers say so; the quizzes' answers computed."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import conv
from coursekit.checks import conv as C
from helpers.checks import assert_exercise_check, assert_quiz


def conv_torch(image, kernel, stride, padding):
    x = torch.tensor(np.asarray(image, float))[None, None]
    return F.conv2d(x, torch.tensor(np.asarray(kernel, float))[None, None], stride=stride, padding=padding)[0, 0].numpy()


def conv_flipped(image, kernel, stride, padding):   # a true convolution: the kernel turned by 180°
    return conv_torch(image, np.rot90(kernel, 2), stride, padding)


def conv_no_padding(image, kernel, stride, padding):
    return conv_torch(image, kernel, stride, 0)


def pool_torch(feature_map, size):
    return F.max_pool2d(torch.tensor(np.asarray(feature_map, float))[None, None], size)[0, 0].numpy()


def pool_from_zero(feature_map, size):   # starts the max at 0: wrong for negative maps
    return np.maximum(pool_torch(feature_map, size), 0)


def pool_avg(feature_map, size):
    return F.avg_pool2d(torch.tensor(np.asarray(feature_map, float))[None, None], size)[0, 0].numpy()


def params_torch(cin, cout, f):
    return sum(p.numel() for p in torch.nn.Conv2d(cin, cout, f).parameters())


CASES = [
    (C.check_output_size, lambda n, f, p, s: F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, f), stride=s,
                                                      padding=p).shape[-1],
     [lambda n, f, p, s: int(np.ceil((n + 2 * p - f) / s)) + 1,     # deck 002's ceiling
      lambda n, f, p, s: (n + p - f) // s + 1,                       # padding on one side only
      lambda n, f, p, s: (n + 2 * p - f) / s + 1]),                  # no floor
    (C.check_conv2d_single, conv_torch, [conv_flipped, conv_no_padding]),
    (C.check_max_pool, pool_torch, [pool_from_zero, pool_avg]),
    (C.check_conv_params, params_torch, [lambda cin, cout, f: cout * f * f + cout,        # one channel only
                                         lambda cin, cout, f: cin * cout * f * f]),        # no biases
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    assert_exercise_check(check, right, wrongs, capsys)


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_cs231n_layer_quiz,
     lambda: (conv.output_size(32, 5), 6, sum(p.numel() for p in torch.nn.Conv2d(3, 6, 5).parameters())),
     [lambda: [28, 6.0, 456], lambda: np.array([28, 6, 456])], [lambda: (28, 6, 450), lambda: (32, 6, 456)]),
    (C.check_sharing_quiz, lambda: (36 * 16, 16 * 9, 9), [lambda: [576, 144, 9]], [lambda: (576, 144, 18)]),
    (C.check_resnet_paths_quiz, lambda: len(list(itertools.product((0, 1), repeat=3))), [lambda: 8.0],
     [lambda: 3, lambda: 6]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
