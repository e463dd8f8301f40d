"""The unit-09 checks: right answers (written independently, in PyTorch) pass, typical
mistakes fail with a hint, missing answers say so; the quizzes accept the decks' answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coursekit import corpora
from coursekit.checks import rnn as C
from helpers.checks import assert_exercise_check, assert_quiz, not_done


def rnn_step_torch(x, h_prev, U, W, b):
    cell = torch.nn.RNNCell(U.shape[0], U.shape[1]).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(U.T))
        cell.weight_hh.copy_(torch.tensor(W.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
        return cell(torch.tensor(x), torch.tensor(h_prev)).numpy()


def lstm_step_torch(x, h_prev, c_prev, U, W, b):
    cell = torch.nn.LSTMCell(U.shape[0], W.shape[0]).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(U.T))
        cell.weight_hh.copy_(torch.tensor(W.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
        h, c = cell(torch.tensor(x), (torch.tensor(h_prev), torch.tensor(c_prev)))
    return h.numpy(), c.numpy()


def clip_torch(grads, max_norm):
    params = [torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(np.asarray(g, dtype=float))
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad.numpy() for p in params]


def sig(z):
    return 1 / (1 + np.exp(-z))


def lstm_wrong_order(x, h, c, U, W, b):            # gates read in the order (f, i, g, o)
    H = W.shape[0]
    a = x @ U + h @ W + b
    f, i, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    c = f * c + i * g
    return o * np.tanh(c), c


def lstm_no_tanh_on_c(x, h, c, U, W, b):
    H = W.shape[0]
    a = x @ U + h @ W + b
    i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
    c = f * c + i * g
    return o * c, c


CASES = [
    (C.check_rnn_step, rnn_step_torch, [
        lambda x, h, U, W, b: np.tanh(x @ U + b),                          # forgets the previous state
        lambda x, h, U, W, b: x @ U + h @ W + b,                           # no tanh
        lambda x, h, U, W, b: np.tanh(x @ U + h @ W.T + b),                # W transposed
    ]),
    (C.check_lstm_step, lstm_step_torch, [lstm_wrong_order, lstm_no_tanh_on_c,
                                          lambda *args: lstm_step_torch(*args)[0]]),   # h only
    (C.check_clip_grad_norm, clip_torch, [
        lambda grads, m: [g * m / math.sqrt(sum(np.sum(x ** 2) for x in grads)) for g in grads],  # always rescaled
        lambda grads, m: [g * min(1, m / (np.linalg.norm(g) + 1e-6)) for g in grads],            # per-array norms
        lambda grads, m: [np.clip(g, -m, m) for g in grads],                                      # clipping by value
    ]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    assert_exercise_check(check, right, wrongs, capsys)


def test_reference_answers_pass_and_tuples_or_lists_both_count():
    from coursekit import rnn
    assert C.check_rnn_step(rnn.rnn_step, verbose=False).passed
    assert C.check_lstm_step(lambda *a: rnn.lstm_step(*a)[:2], verbose=False).passed
    assert C.check_clip_grad_norm(lambda g, m: list(rnn.clip_grad_norm(list(g), m)[0]), verbose=False).passed


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_power_quiz, lambda: round(1.01 ** 1000), [lambda: 20959.0, lambda: "20959"],
     [lambda: 20000, lambda: 1.01 ** 1000]),
    (C.check_lstm_fixes_quiz, lambda: 1, [lambda: "1"], [lambda: 2]),
    (C.check_memory_quiz, lambda: 10, [lambda: 10.0], [lambda: 100, lambda: 1]),
    (C.check_lookup_quiz, lambda: corpora.toy_encode("This movie is fantastic <pad>"),
     [lambda: np.array([8, 7, 8, 4, 7]), lambda: (8, 7, 8, 4, 7)], [lambda: [7, 6, 7, 3, 6], lambda: [8, 7, 8, 4]]),
    (C.check_lstm_params_quiz, lambda: sum(p.numel() for p in torch.nn.LSTM(128, 128).parameters()),
     [], [lambda: 4 * (256 * 128 + 128), lambda: 256 * 128]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
    assert check(lambda: None, verbose=False).status == "wrong"
