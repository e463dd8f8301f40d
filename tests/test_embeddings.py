"""coursekit.embeddings against torch.autograd, scikit-learn and closed forms, and deck 002's
worked examples (the skip-gram pairs of its toy sentence, the CBOW softmax)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine

from coursekit import corpora
from coursekit import embeddings as E

# Deck 002's CBOW slide: o = hV as printed, and p = softmax(o) as printed (two decimals).
CBOW_O = np.array([0.55, 0.44, 0.93, 0.40, 0.46, 0.94, 0.60, 0.97])
CBOW_P_PRINTED = np.array([0.11, 0.10, 0.16, 0.09, 0.10, 0.16, 0.11, 0.17])


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


# ----------------------------------------------------------- 1-of-N and lookup ---

def test_lookup_is_one_hot_times_E_and_torchs_embedding():
    rng = np.random.default_rng(0)
    E_ = rng.normal(size=(8, 6))
    idx = np.array([[7, 6, 7, 3, 6], [0, 1, 2, 3, 4]])
    np.testing.assert_allclose(E.embedding_lookup(E_, idx), E.one_hot(idx, 8) @ E_)
    np.testing.assert_allclose(E.embedding_lookup(E_, idx), torch.nn.functional.embedding(_t(idx).long(), _t(E_)))
    assert E.one_hot(idx, 8).sum(axis=-1).tolist() == [[1.0] * 5] * 2


def test_deck002_sequence_embedding_picks_rows_8_7_8_4_7():
    """"This movie is fantastic <pad>" → rows 8, 7, 8, 4, 7 of the 8 × 6 matrix (1-based on the slide)."""
    rows = corpora.toy_encode("This movie is fantastic", length=5)
    assert rows == [8, 7, 8, 4, 7]
    e = E.embedding_lookup(corpora.TOY_EMBEDDING, np.array(rows) - 1)
    assert e.shape == (5, 6)
    np.testing.assert_allclose(e[0], [-1.7, -1.3, -4.5, -2.2, -3.6, 1.0])
    np.testing.assert_allclose(e[3], [-1.0, 1.3, -2.5, -1.2, 1.8, -1.0])


def test_vocabulary_has_an_other_entry():
    vocab = E.Vocabulary.from_tokens("the cat and the dog and the bird".split(), min_count=2)
    assert vocab.words == ["<other>", "the", "and"]
    assert vocab.encode(["the", "zebra", "and"]).tolist() == [1, 0, 2]
    assert vocab.counts.tolist() == [3, 3, 2]          # cat, dog, bird went to "other"
    strict = E.Vocabulary(["a", "b"], other=None)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        strict.encode(["c"])


def test_word_hashing_uses_letter_trigrams():
    assert E.letter_trigrams("apple") == ["#ap", "app", "ppl", "ple", "le#"]
    codes = E.word_hashing(["apple", "apples", "zzz"], dim=4096)
    assert codes[0].sum() == 5 and codes[1].sum() == 6
    assert np.minimum(codes[0], codes[1]).sum() == 4   # apple and apples share #ap, app, ppl, ple


# -------------------------------------------------------------- pretext tasks ---

def test_skipgram_pairs_and_cbow_tuples_of_deck_002s_sentence():
    tokens = corpora.QUICK_FOX.split()
    pairs = E.skipgram_pairs(tokens, window=2)
    assert len(pairs) == 2 + 3 + 4 * 5 + 3 + 2
    assert [c for t, c in pairs if t == "brown"] == ["the", "quick", "fox", "jumps"]
    assert [c for t, c in pairs if t == "fox"] == ["quick", "brown", "jumps", "over"]
    assert pairs[-2:] == [("dog", "the"), ("dog", "lazy")]
    full = E.cbow_examples(tokens, window=2, full_only=True)
    assert full == [(("the", "quick", "fox", "jumps"), "brown"), (("quick", "brown", "jumps", "over"), "fox"),
                    (("brown", "fox", "over", "the"), "jumps"), (("fox", "jumps", "the", "lazy"), "over"),
                    (("jumps", "over", "lazy", "dog"), "the")]
    assert len(E.cbow_examples(tokens, window=2)) == 9
    assert sorted(corpora.QUICK_FOX_INDEX.values()) == list(range(1, 9))


# -------------------------------------------------------------- full softmax ---

def test_cbow_worked_example_softmax_matches_the_printed_p():
    p = E.softmax(CBOW_O)
    np.testing.assert_allclose(p, torch.softmax(_t(CBOW_O), 0).numpy())
    np.testing.assert_allclose(np.round(p, 2), CBOW_P_PRINTED)


def test_softmax_is_exact_for_huge_scores():
    np.testing.assert_allclose(E.softmax([1000.0, -1000.0]), [1.0, 0.0])
    np.testing.assert_allclose(E.log_softmax([1000.0, -1000.0]), [0.0, -2000.0])


def test_skipgram_softmax_gradients_match_autograd():
    rng = np.random.default_rng(1)
    N, d = 8, 3
    U, V = rng.normal(size=(N, d)), rng.normal(size=(d, N))
    loss, dU, dV = E.skipgram_softmax_loss(U, V, 0, 6)
    tU, tV = _t(U, True), _t(V, True)
    expected = torch.nn.functional.cross_entropy((tU[0] @ tV)[None], torch.tensor([6]))
    expected.backward()
    assert loss == pytest.approx(expected.item())
    np.testing.assert_allclose(dU, tU.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dV, tV.grad.numpy(), atol=1e-12)


def test_cbow_softmax_gradients_match_autograd_with_a_repeated_context_word():
    rng = np.random.default_rng(2)
    N, d = 8, 3
    U, V = rng.normal(size=(N, d)), rng.normal(size=(d, N))
    context = [6, 5, 3, 6]                  # "the" twice, as in a window around "brown"
    loss, dU, dV = E.cbow_softmax_loss(U, V, context, 0)
    tU, tV = _t(U, True), _t(V, True)
    h = tU[torch.tensor(context)].mean(0)
    expected = torch.nn.functional.cross_entropy((h @ tV)[None], torch.tensor([0]))
    expected.backward()
    assert loss == pytest.approx(expected.item())
    np.testing.assert_allclose(dU, tU.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dV, tV.grad.numpy(), atol=1e-12)
    h_np, o, p = E.cbow_forward(U, V, context)
    np.testing.assert_allclose(h_np, U[context].mean(axis=0))
    np.testing.assert_allclose(p.sum(), 1.0)


# -------------------------------------------------------- negative sampling ---

@pytest.mark.parametrize("K,d,scale", [(1, 1, 1.0), (2, 3, 1.0), (5, 10, 0.3), (3, 4, 30.0)])
def test_negative_sampling_loss_and_gradients_match_autograd(K, d, scale):
    rng = np.random.default_rng(K * 10 + d)
    u, v_pos, v_neg = rng.normal(size=d) * scale, rng.normal(size=d) * scale, rng.normal(size=(K, d)) * scale
    tu, tp, tn = _t(u, True), _t(v_pos, True), _t(v_neg, True)
    loss = -torch.nn.functional.logsigmoid(tu @ tp) - torch.nn.functional.logsigmoid(-(tn @ tu)).sum()
    loss.backward()
    assert E.negative_sampling_loss(u, v_pos, v_neg) == pytest.approx(loss.item(), rel=1e-10, abs=1e-12)
    du, dp, dn = E.negative_sampling_grad(u, v_pos, v_neg)
    for mine, theirs in ((du, tu), (dp, tp), (dn, tn)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_negative_sampling_batch_is_the_single_example_function_row_by_row():
    rng = np.random.default_rng(3)
    B, K, d = 6, 4, 5
    u, vp, vn = rng.normal(size=(B, d)), rng.normal(size=(B, d)), rng.normal(size=(B, K, d))
    losses, du, dp, dn = E.negative_sampling_batch(u, vp, vn)
    for b in range(B):
        assert losses[b] == pytest.approx(E.negative_sampling_loss(u[b], vp[b], vn[b]))
        for mine, single in zip((du[b], dp[b], dn[b]), E.negative_sampling_grad(u[b], vp[b], vn[b])):
            np.testing.assert_allclose(mine, single, atol=1e-12)


def test_log_sigmoid_is_exact_at_the_extremes():
    np.testing.assert_allclose(E.log_sigmoid([1000.0, -1000.0, 0.0]), [0.0, -1000.0, -math.log(2)])
    np.testing.assert_allclose(E.sigmoid([1000.0, -1000.0]), [1.0, 0.0])


def test_deck_form_grows_without_bound_while_the_standard_loss_is_bounded():
    rng = np.random.default_rng(4)
    u, v_pos, v_neg = rng.normal(size=3), rng.normal(size=3), rng.normal(size=(2, 3))
    v_neg = -np.sign(v_neg @ u)[:, None] * v_neg                  # both noise scores negative ...
    assert np.all(v_neg @ u < 0)
    deck = [E.deck_negative_sampling_objective(u, v_pos, v_neg * s, alpha=1.0) for s in (1, 10, 100, 1000)]
    assert all(b > a for a, b in zip(deck, deck[1:])) and deck[-1] > 100       # ... make it climb forever
    standard = [-E.negative_sampling_loss(u, v_pos, v_neg * s) for s in (1, 10, 100, 1000)]
    assert all(s <= 0 for s in standard)                                      # ln σ(·) ≤ 0: bounded by 0


def test_noise_distribution_and_subsampling():
    counts = np.array([100.0, 10.0, 1.0, 0.0])
    p = E.noise_distribution(counts)
    np.testing.assert_allclose(p, np.r_[counts[:3] ** 0.75 / np.sum(counts[:3] ** 0.75), 0.0])
    assert p[0] < counts[0] / counts.sum() and p[2] > counts[2] / counts.sum()
    keep = E.subsample_keep_probability(counts[:3], t=0.01)
    np.testing.assert_allclose(keep, np.minimum(1, np.sqrt(0.01 / (counts[:3] / 111))))
    assert keep[0] < keep[1] <= keep[2] == 1.0


# ------------------------------------------------------- hierarchical softmax ---

def test_huffman_tree_gives_a_distribution_and_short_codes_for_frequent_words():
    rng = np.random.default_rng(5)
    counts = rng.integers(1, 200, size=13).astype(float)
    codes, paths = E.huffman_codes(counts)
    lengths = np.array([len(c) for c in codes])
    assert sum(2.0 ** -lengths) == pytest.approx(1.0)                      # a full binary tree (Kraft)
    assert lengths[np.argmax(counts)] <= lengths[np.argmin(counts)]
    # Huffman's cost Σ count·length equals the sum of the merged weights (built independently here)
    weights, merged = sorted(counts.tolist()), 0.0
    while len(weights) > 1:
        a, b = weights.pop(0), weights.pop(0)
        merged += a + b
        weights = sorted(weights + [a + b])
    assert float(counts @ lengths) == pytest.approx(merged)
    probs = E.hierarchical_softmax_probs(rng.normal(size=4), rng.normal(size=(12, 4)), codes, paths)
    assert probs.sum() == pytest.approx(1.0) and np.all(probs > 0)
    assert max(max(p) for p in paths) == len(counts) - 2


# --------------------------------------------------------- cosine, neighbours ---

def test_cosine_neighbours_analogy_and_pca_against_independent_code():
    rng = np.random.default_rng(6)
    Emb = rng.normal(size=(20, 5))
    np.testing.assert_allclose(E.cosine_similarity(Emb, Emb), sk_cosine(Emb), atol=1e-12)
    sims = sk_cosine(Emb)[3]
    sims[3] = -np.inf
    assert E.nearest_neighbors(Emb, 3, 4).tolist() == np.argsort(-sims)[:4].tolist()
    unit = Emb / np.linalg.norm(Emb, axis=1, keepdims=True)
    target = unit[1] - unit[0] + unit[2]
    brute = max((i for i in range(20) if i not in (0, 1, 2)),
                key=lambda i: unit[i] @ target / np.linalg.norm(target))
    assert E.analogy(Emb, 0, 1, 2) == brute
    proj = E.pca_2d(Emb)
    sk = PCA(n_components=2).fit_transform(Emb)
    np.testing.assert_allclose(np.abs(proj), np.abs(sk), atol=1e-10)


def test_analogy_finds_a_planted_offset():
    rng = np.random.default_rng(7)
    base = rng.normal(size=(10, 8))
    offset = rng.normal(size=8) * 2
    Emb = np.vstack([base, base + offset])          # word i + 10 = word i + offset
    assert all(E.analogy(Emb, 0, 10, c) == c + 10 for c in range(1, 10))


# ------------------------------------------------------------------- training ---

def test_train_word2vec_tiny_corpus_learns_categories_and_analogies():
    sentences = corpora.analogy_corpus(2500, seed=1)
    wv = E.train_word2vec(sentences, dim=30, window=3, epochs=5, lr=0.1, subsample_t=1e-3, seed=1)
    assert wv.losses[-1] < wv.losses[0]
    content = [w for words in corpora.CATEGORIES.values() for w in words]
    right = sum(corpora.category_of(wv.most_similar(w, 1, among=content, exclude=corpora.relatives(w))[0][0])
                == corpora.category_of(w) for w in content)
    assert right / len(content) > 0.9
    questions = corpora.analogy_questions()
    assert wv.analogy_accuracy(questions) > 0.1       # chance: 1 in about 200 words
    again = E.train_word2vec(sentences, dim=30, window=3, epochs=5, lr=0.1, subsample_t=1e-3, seed=1)
    np.testing.assert_array_equal(wv.U, again.U)


def test_train_cbow_runs_and_lowers_its_loss():
    wv = E.train_word2vec(corpora.analogy_corpus(600, seed=2), dim=10, window=2, epochs=3, model="cbow", seed=0)
    assert wv.losses[-1] < wv.losses[0] and wv.U.shape == (len(wv.vocab), 10) and wv.V.shape == (10, len(wv.vocab))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"V must have shape \(d, N\) = \(3, 8\)"):
        E.skipgram_softmax_loss(np.zeros((8, 3)), np.zeros((8, 3)), 0, 1)
    with pytest.raises(ValueError, match="integer indices from 0 to 7"):
        E.embedding_lookup(np.zeros((8, 3)), [8])
    with pytest.raises(ValueError, match=r"v_neg must have shape \(K, 3\)|v_pos must have shape"):
        E.negative_sampling_loss(np.zeros(3), np.zeros(3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="model must be 'skipgram' or 'cbow'"):
        E.train_word2vec(["a b"], model="glove")
    with pytest.raises(ValueError, match="window must be a positive whole number"):
        E.skipgram_pairs(["a", "b"], window=0)
