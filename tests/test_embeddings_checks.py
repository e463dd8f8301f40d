"""The unit-10 checks: right answers (written independently: PyTorch, scikit-learn, loops)
pass, typical mistakes fail with a hint, missing answers say so; the quizzes accept the decks' answers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics.pairwise import cosine_similarity

from coursekit import corpora
from coursekit import embeddings as E
from coursekit.checks import embeddings as C
from helpers.checks import assert_exercise_check, assert_quiz, not_done


def ns_torch(u, v_pos, v_neg):
    tu, tp, tn = (torch.tensor(np.asarray(a, dtype=float), requires_grad=True) for a in (u, v_pos, v_neg))
    loss = -torch.nn.functional.logsigmoid(tu @ tp) - torch.nn.functional.logsigmoid(-(tn @ tu)).sum()
    loss.backward()
    return loss.item(), tu.grad.numpy(), tp.grad.numpy(), tn.grad.numpy()


def neighbours_sklearn(Emb, query, k):
    sims = cosine_similarity(Emb)[query]
    order = [i for i in np.argsort(-sims, kind="stable") if i != query]
    return np.array(order[:k])


def analogy_loop(Emb, a, b, c):
    unit = Emb / np.linalg.norm(Emb, axis=1, keepdims=True)
    target = unit[b] - unit[a] + unit[c]
    best, best_score = None, -np.inf
    for i, row in enumerate(unit):
        score = row @ target / np.linalg.norm(target)
        if i not in (a, b, c) and score > best_score:
            best, best_score = i, score
    return best


CASES = [
    (C.check_softmax, lambda o: torch.softmax(torch.tensor(o), 0).numpy(), [
        lambda o: np.exp(o) / np.exp(o).sum(),               # overflows at 1000
        lambda o: o / o.sum(),
        lambda o: 1 / (1 + np.exp(-o)),                        # sigmoid: deck 002's negative-sampling p
    ]),
    (C.check_negative_sampling, ns_torch, [
        lambda u, p, n: (ns_torch(u, p, n)[0], *[-g for g in ns_torch(u, p, n)[1:]]),          # ascent
        lambda u, p, n: (float(np.log(1 + np.exp(-u @ p)) + np.sum(np.log(1 + np.exp(n @ u)))),
                         *ns_torch(u, p, n)[1:]),                                                # overflows
        lambda u, p, n: (-np.log(E.sigmoid(u @ p)) + np.sum(np.log(E.sigmoid(n @ u))), *ns_torch(u, p, n)[1:]),
    ]),
    (C.check_nearest_neighbors, neighbours_sklearn, [
        lambda Emb, q, k: np.argsort(np.linalg.norm(Emb - Emb[q], axis=1))[1:k + 1],          # distance
        lambda Emb, q, k: np.argsort(-(Emb @ Emb[q]))[:k],                                      # dot, self kept
        lambda Emb, q, k: np.argsort(-cosine_similarity(Emb)[q])[:k],                          # the query itself
    ]),
    (C.check_analogy, analogy_loop, [
        lambda Emb, a, b, c: int(np.argmax(cosine_similarity(Emb, [Emb[b] - Emb[a] + Emb[c]])[:, 0])),  # a, b, c in
        lambda Emb, a, b, c: analogy_loop(Emb, b, a, c),                                                  # a, b swapped
    ]),
]


@pytest.mark.parametrize("check, right, wrongs", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exercise_checks(check, right, wrongs, capsys):
    with np.errstate(all="ignore"):  # some wrong answers divide by zero
        assert_exercise_check(check, right, wrongs, capsys)


def test_reference_answers_pass():
    assert C.check_softmax(E.softmax, verbose=False).passed
    assert C.check_negative_sampling(lambda *a: (E.negative_sampling_loss(*a), *E.negative_sampling_grad(*a)),
                                     verbose=False).passed
    assert C.check_nearest_neighbors(E.nearest_neighbors, verbose=False).passed
    assert C.check_analogy(E.analogy, verbose=False).passed


@pytest.mark.parametrize("check, right, also_right, wrong", [
    (C.check_pairs_quiz, lambda: len(E.skipgram_pairs(corpora.QUICK_FOX.split(), 2)), [lambda: 30.0],
     [lambda: 36, lambda: 20]),
    (C.check_skipgram_quiz, lambda: 1, [lambda: "1"], [lambda: 2]),
    (C.check_cbow_argmax_quiz, lambda: int(np.argmax(E.softmax(C.CBOW_O))) + 1, [], [lambda: 7, lambda: 6]),
    (C.check_deck_bounded_quiz, lambda: False, [lambda: "no", lambda: np.False_], [lambda: True, lambda: "yes"]),
])
def test_quizzes(check, right, also_right, wrong):
    assert_quiz(check, right, also_right, wrong)
    assert check(lambda: None, verbose=False).status == "wrong"
