"""coursekit.attention against independent implementations.

Scaled dot-product attention against torch.nn.functional.scaled_dot_product_attention
(with causal, padding and arbitrary masks), multi-head attention against
torch.nn.MultiheadAttention with the same weights, layer norm against
torch.nn.LayerNorm, the encoder and decoder blocks against
torch.nn.TransformerEncoderLayer / TransformerDecoderLayer with copied weights
(post-norm, no dropout), the positional encoding against a loop over the
formula, Luong's scores against loops over their definitions, greedy decoding
and beam search against exhaustive search, and the ViT figures of deck 002.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import attention as A
from helpers.attention import (copy_ffn, copy_into_torch_mha, copy_norm, lin_weight, randomize_norms, t,
                               torch_encoder_layer)

SEEDS = range(5)


# ------------------------------------------------- scaled dot-product attention ---

@pytest.mark.parametrize("seed", SEEDS)
def test_attention_matches_torch_without_mask(seed):
    rng = np.random.default_rng(seed)
    B, h, T_q, T_k, d_k, d_v = rng.integers(1, 5, size=6) + np.array([0, 0, 0, 0, 1, 0])
    Q, K, V = rng.normal(size=(B, h, T_q, d_k)), rng.normal(size=(B, h, T_k, d_k)), rng.normal(size=(B, h, T_k, d_v))
    Z, W = A.scaled_dot_product_attention(Q, K, V)
    expected = F.scaled_dot_product_attention(t(Q), t(K), t(V))
    np.testing.assert_allclose(Z, expected.numpy(), atol=1e-12)
    np.testing.assert_allclose(W.sum(axis=-1), 1.0, atol=1e-12)
    # the weights themselves: softmax of the scaled scores, computed by torch
    np.testing.assert_allclose(W, torch.softmax(t(Q) @ t(K).transpose(-1, -2) / math.sqrt(d_k), -1).numpy(),
                               atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_causal_attention_matches_torch(seed):
    rng = np.random.default_rng(seed)
    T, d = int(rng.integers(1, 9)), int(rng.integers(1, 6))
    Q, K, V = rng.normal(size=(3, 2, T, d))
    Z, W = A.scaled_dot_product_attention(Q, K, V, A.causal_mask(T))
    expected = F.scaled_dot_product_attention(t(Q), t(K), t(V), is_causal=True)
    np.testing.assert_allclose(Z, expected.numpy(), atol=1e-12)
    assert np.all(W[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0)   # no look-ahead
    np.testing.assert_allclose(W[:, 0, 0], 1.0)                                         # the first query sees itself only


def test_causal_mask_is_lower_triangular():
    M = A.causal_mask(4)
    assert M.dtype == bool and M.shape == (4, 4)
    assert all(M[i, j] == (j <= i) for i in range(4) for j in range(4))
    with pytest.raises(ValueError, match="T must be a positive whole number"):
        A.causal_mask(0)


@pytest.mark.parametrize("seed", SEEDS)
def test_padding_and_arbitrary_masks_match_torch(seed):
    rng = np.random.default_rng(seed)
    B, T, d = 4, 7, 5
    lengths = rng.integers(1, T + 1, size=B)
    Q, K, V = rng.normal(size=(3, B, T, d))
    mask = A.padding_mask(lengths, T)
    assert mask.shape == (B, 1, T)
    assert np.array_equal(mask[:, 0].sum(axis=1), lengths)
    Z, W = A.scaled_dot_product_attention(Q, K, V, mask)
    expected = F.scaled_dot_product_attention(t(Q), t(K), t(V), attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(Z, expected.numpy(), atol=1e-12)
    for b in range(B):
        assert np.all(W[b][:, lengths[b]:] == 0)            # padding keys get no weight
    # a random mask with at least one allowed key per query, combined with the causal mask
    random_mask = (rng.random((B, T, T)) < 0.6) | np.eye(T, dtype=bool)
    combined = random_mask & A.causal_mask(T)
    Z, _ = A.scaled_dot_product_attention(Q, K, V, combined)
    expected = F.scaled_dot_product_attention(t(Q), t(K), t(V), attn_mask=torch.tensor(combined))
    np.testing.assert_allclose(Z, expected.numpy(), atol=1e-12)


@pytest.mark.parametrize("temperature", [0.25, 1.0, 3.0])
def test_temperature_divides_the_scores(temperature):
    rng = np.random.default_rng(1)
    Q, K, V = rng.normal(size=(3, 5, 4))
    Z, W = A.scaled_dot_product_attention(Q, K, V, temperature=temperature)
    expected = F.scaled_dot_product_attention(t(Q), t(K), t(V), scale=1 / (2.0 * temperature))   # √d_k = 2
    np.testing.assert_allclose(Z, expected.numpy(), atol=1e-12)
    # higher temperature, flatter weights: the entropy grows with it
    entropy = lambda W: -(W * np.log(W)).sum(-1).mean()
    _, W_hot = A.scaled_dot_product_attention(Q, K, V, temperature=temperature * 2)
    assert entropy(W_hot) > entropy(W)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 5), st.integers(0, 10**6))
def test_attention_weights_are_distributions_for_any_shape(B, T_q, T_k, d, seed):
    rng = np.random.default_rng(seed)
    Q, K, V = 10 * rng.normal(size=(B, T_q, d)), 10 * rng.normal(size=(B, T_k, d)), rng.normal(size=(B, T_k, 2))
    Z, W = A.scaled_dot_product_attention(Q, K, V)
    assert Z.shape == (B, T_q, 2) and W.shape == (B, T_q, T_k)
    assert np.all(W >= 0) and np.allclose(W.sum(-1), 1)
    # each output is a convex combination of the values: inside their range
    assert np.all(Z <= V.max(axis=1, keepdims=True) + 1e-9) and np.all(Z >= V.min(axis=1, keepdims=True) - 1e-9)


def test_huge_scores_do_not_overflow():
    Q = np.array([[1000.0, 0.0]])
    K = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    Z, W = A.scaled_dot_product_attention(Q, K, np.eye(2))
    assert np.all(np.isfinite(W)) and W[0, 0] == 1.0 and W[0, 1] == 0.0


def test_attention_errors_name_what_was_expected():
    Q = np.zeros((3, 4))
    with pytest.raises(ValueError, match="same last dimension d_k"):
        A.scaled_dot_product_attention(Q, np.zeros((3, 5)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="same number of tokens T_k"):
        A.scaled_dot_product_attention(Q, np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="boolean array"):
        A.scaled_dot_product_attention(Q, Q, Q, mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="does not broadcast"):
        A.scaled_dot_product_attention(Q, Q, Q, mask=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="hides every key"):
        A.scaled_dot_product_attention(Q, Q, Q, mask=np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="shape \\(..., T_q, d_k\\)"):
        A.scaled_dot_product_attention(np.zeros(3), Q, Q)
    with pytest.raises(ValueError, match="temperature"):
        A.scaled_dot_product_attention(Q, Q, Q, temperature=0)
    with pytest.raises(ValueError, match="finite"):
        A.scaled_dot_product_attention(np.full((3, 4), np.nan), Q, Q)
    with pytest.raises(ValueError, match="lengths"):
        A.padding_mask([0, 2], 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_attention_trace_steps_lead_to_the_same_row(seed):
    rng = np.random.default_rng(seed)
    T, d = 6, 4
    Q, K, V = rng.normal(size=(3, T, d))
    query = int(rng.integers(T))
    mask = A.causal_mask(T)
    trace = A.attention_trace(Q, K, V, query, mask, temperature=0.5)
    assert [s.name for s in trace] == list(A.ATTENTION_STAGES)
    Z, W = A.scaled_dot_product_attention(Q, K, V, mask, temperature=0.5)
    first, last = trace[0], trace[-1]
    np.testing.assert_allclose(first.raw, [Q[query] @ K[j] for j in range(T)])        # q · k_j
    assert first.scaled is None and first.weights is None
    np.testing.assert_allclose(trace[1].scaled, first.raw / (math.sqrt(d) * 0.5))
    assert np.all(np.isneginf(trace[2].masked[query + 1:]))
    np.testing.assert_allclose(last.weights, W[query], atol=1e-12)
    np.testing.assert_allclose(last.output, Z[query], atol=1e-12)
    np.testing.assert_array_equal(last.current, last.weights)


# ----------------------------------------------------------------- multi-head ---

def test_split_and_merge_heads_are_inverse_and_match_torch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 5, 12))
    S = A.split_heads(X, 3)
    assert S.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(S[:, 1], X[..., 4:8])               # head 1 gets features 4..7
    np.testing.assert_array_equal(S, t(X).view(2, 5, 3, 4).transpose(1, 2).numpy())
    np.testing.assert_array_equal(A.merge_heads(S), X)
    with pytest.raises(ValueError, match="divisible"):
        A.split_heads(X, 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_multi_head_attention_matches_torch(seed):
    rng = np.random.default_rng(seed)
    h = int(rng.choice([1, 2, 4]))
    d, B, T = 4 * h, 3, int(rng.integers(2, 7))
    mha = A.MultiHeadAttention(d, h, rng=seed)
    module = copy_into_torch_mha(mha)
    x = rng.normal(size=(B, T, d))
    out, cache = mha.forward(x)
    expected, weights = module(t(x), t(x), t(x), need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(out, expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(cache["A"], weights.detach().numpy(), atol=1e-12)     # (B, h, T, T), per head
    # causal self-attention: torch's boolean attn_mask marks what is *hidden*, ours what is allowed
    out, cache = mha.forward(x, mask=A.causal_mask(T))
    expected, weights = module(t(x), t(x), t(x), attn_mask=torch.tensor(~A.causal_mask(T)),
                               average_attn_weights=False)
    np.testing.assert_allclose(out, expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(cache["A"], weights.detach().numpy(), atol=1e-12)
    # cross-attention with padded memory
    S = 5
    memory = rng.normal(size=(B, S, d))
    lengths = rng.integers(1, S + 1, size=B)
    out, cache = mha.forward(x, memory=memory, mask=A.padding_mask(lengths, S))
    expected, _ = module(t(x), t(memory), t(memory), key_padding_mask=torch.tensor(~A.padding_mask(lengths, S)[:, 0]))
    np.testing.assert_allclose(out, expected.detach().numpy(), atol=1e-12)
    assert cache["A"].shape == (B, h, T, S)


def test_multi_head_attention_on_one_sequence_and_errors():
    mha = A.MultiHeadAttention(8, 2, rng=3)
    x = np.random.default_rng(0).normal(size=(5, 8))
    out, cache = mha.forward(x)
    assert out.shape == (5, 8) and cache["A"].shape == (2, 5, 5)
    batched, _ = mha.forward(x[None])
    np.testing.assert_allclose(batched[0], out)
    with pytest.raises(ValueError, match="d_model = 8"):
        mha.forward(np.zeros((5, 6)))
    with pytest.raises(ValueError, match="divisible"):
        A.MultiHeadAttention(6, 4)


# ---------------------------------------------------------- the Transformer block ---

@pytest.mark.parametrize("seed", SEEDS)
def test_layer_norm_matches_torch(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 9))
    x = 3 * rng.normal(size=(2, 4, d)) + 5
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    module = torch.nn.LayerNorm(d, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(t(gamma))
        module.bias.copy_(t(beta))
    np.testing.assert_allclose(A.layer_norm(x, gamma, beta), module(t(x)).detach().numpy(), atol=1e-12)
    plain = A.layer_norm(x)
    np.testing.assert_allclose(plain.mean(-1), 0, atol=1e-12)        # each token: mean 0 ...
    np.testing.assert_allclose(plain.var(-1), 1, atol=1e-4)          # ... variance 1 (up to ε)
    ln = A.LayerNorm(d)
    np.testing.assert_allclose(ln.forward(x)[0], plain)


def test_layer_norm_of_a_constant_token_is_zero_not_nan():
    assert np.all(A.layer_norm(np.full((1, 4), 7.0)) == 0)


def test_feed_forward_matches_torch():
    rng = np.random.default_rng(0)
    ffn = A.FeedForward(6, 10, rng=1)
    p = ffn.params
    seq = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(), torch.nn.Linear(10, 6)).double()
    with torch.no_grad():
        seq[0].weight.copy_(lin_weight(p["W1"]))
        seq[0].bias.copy_(t(p["b1"]))
        seq[2].weight.copy_(lin_weight(p["W2"]))
        seq[2].bias.copy_(t(p["b2"]))
    x = rng.normal(size=(3, 4, 6))
    np.testing.assert_allclose(ffn.forward(x)[0], seq(t(x)).detach().numpy(), atol=1e-12)
    # position-wise: every token alike, so one token alone gives the same answer
    np.testing.assert_allclose(ffn.forward(x[1, 2])[0], ffn.forward(x)[0][1, 2])


@pytest.mark.parametrize("seed", SEEDS)
def test_encoder_block_matches_torch_encoder_layer(seed):
    rng = np.random.default_rng(seed)
    d, h, d_ff, B, T = 8, 2, 16, 3, 6
    block = A.EncoderBlock(d, h, d_ff, rng=seed)
    randomize_norms(block, ["norm1", "norm2"], rng)     # γ = 1, β = 0 would hide a swapped norm
    layer = torch_encoder_layer(block).eval()
    x = rng.normal(size=(B, T, d))
    out, cache = block.forward(x)
    np.testing.assert_allclose(out, layer(t(x)).detach().numpy(), atol=1e-10)
    assert cache["A"].shape == (B, h, T, T)
    lengths = rng.integers(1, T + 1, size=B)
    out, _ = block.forward(x, mask=A.padding_mask(lengths, T))
    expected = layer(t(x), src_key_padding_mask=torch.tensor(~A.padding_mask(lengths, T)[:, 0]))
    np.testing.assert_allclose(out, expected.detach().numpy(), atol=1e-10)
    assert len(block.params) == 8 + 4 + 4      # attention: 4 W + 4 b; ffn: 2 W + 2 b; two norms: γ, β each


@pytest.mark.parametrize("seed", SEEDS)
def test_decoder_block_matches_torch_decoder_layer(seed):
    rng = np.random.default_rng(seed)
    d, h, d_ff, B, T, S = 8, 4, 12, 2, 5, 7
    block = A.DecoderBlock(d, h, d_ff, rng=seed)
    randomize_norms(block, ["norm1", "norm2", "norm3"], rng)
    layer = torch.nn.TransformerDecoderLayer(d, h, d_ff, dropout=0.0, batch_first=True, norm_first=False,
                                             dtype=torch.float64)
    layer.self_attn.load_state_dict(copy_into_torch_mha(block.self_attention).state_dict())
    layer.multihead_attn.load_state_dict(copy_into_torch_mha(block.cross_attention).state_dict())
    copy_ffn(layer.linear1, layer.linear2, block.ffn)
    for i in (1, 2, 3):
        copy_norm(getattr(layer, f"norm{i}"), getattr(block, f"norm{i}"))
    layer.eval()
    y, memory = rng.normal(size=(B, T, d)), rng.normal(size=(B, S, d))
    out, cache = block.forward(y, memory)
    expected = layer(t(y), t(memory), tgt_mask=torch.tensor(~A.causal_mask(T)))
    np.testing.assert_allclose(out, expected.detach().numpy(), atol=1e-10)
    assert cache["A_self"].shape == (B, h, T, T) and cache["A_cross"].shape == (B, h, T, S)
    assert np.all(np.triu(cache["A_self"][0, 0], 1) == 0)


# ------------------------------------------------------------ positional encoding ---

def pe_by_loop(T, d, base):
    """The formula of "Attention Is All You Need", one entry at a time."""
    pe = [[0.0] * d for _ in range(T)]
    for pos in range(T):
        for i in range(0, d, 2):
            pe[pos][i] = math.sin(pos / base ** (i / d))
            if i + 1 < d:
                pe[pos][i + 1] = math.cos(pos / base ** (i / d))
    return np.array(pe)


@pytest.fixture
def pe_fixture():
    """Entries of the base-10000 encoding for d = 4, written out: the angle of pair i is pos / 10000^(2i/4)."""
    return {(0, 0): 0.0, (0, 1): 1.0, (0, 2): 0.0, (0, 3): 1.0,
            (1, 0): math.sin(1), (1, 1): math.cos(1), (1, 2): math.sin(0.01), (1, 3): math.cos(0.01),
            (3, 0): math.sin(3), (3, 2): math.sin(0.03), (3, 3): math.cos(0.03)}


def test_positional_encoding_fixture_values(pe_fixture):
    pe = A.positional_encoding(5, 4)
    for (pos, i), value in pe_fixture.items():
        assert pe[pos, i] == pytest.approx(value, abs=1e-15), (pos, i)


@pytest.mark.parametrize("T, d, base", [(10, 8, 10000.0), (7, 5, 10000.0), (12, 6, 1000.0), (1, 1, 10000.0)])
def test_positional_encoding_matches_the_formula(T, d, base):
    np.testing.assert_allclose(A.positional_encoding(T, d, base), pe_by_loop(T, d, base), atol=1e-14)


def test_the_decks_base_1000_gives_other_values():
    pe_10000, pe_1000 = A.positional_encoding(50, 16), A.positional_encoding(50, 16, base=1000)
    assert np.allclose(pe_10000[:, :2], pe_1000[:, :2])          # pair 0 has wavelength 2π either way
    assert not np.allclose(pe_10000[:, 2:], pe_1000[:, 2:])       # every other pair differs
    # the longest wavelength is 2π·base^((d-2)/d): shorter with base 1000
    longest = lambda base: 2 * math.pi * base ** (14 / 16)
    assert longest(1000) < longest(10000) / 5


def test_positional_encoding_relative_positions_are_a_rotation():
    """PE(pos + k) is a fixed linear map of PE(pos), the same for every pos: a rotation per pair."""
    d, k = 8, 3
    pe = A.positional_encoding(40, d)
    for i in range(0, d, 2):
        w = 1 / 10000 ** (i / d)
        R = np.array([[math.cos(k * w), -math.sin(k * w)], [math.sin(k * w), math.cos(k * w)]])
        np.testing.assert_allclose(pe[k:, i:i + 2], pe[:-k, i:i + 2] @ R, atol=1e-12)


# ---------------------------------------------------------------- Luong attention ---

def luong_loop(q, H, kind, W_a=None, v_a=None):
    scores = []
    for h_s in H:
        if kind == "dot":
            scores.append(sum(qi * hi for qi, hi in zip(q, h_s)))
        elif kind == "general":
            scores.append(float(q @ W_a @ h_s))
        else:
            scores.append(float(v_a @ np.tanh(W_a @ np.concatenate([q, h_s]))))
    return np.array(scores)


@pytest.mark.parametrize("kind", A.LUONG_SCORES)
@pytest.mark.parametrize("seed", SEEDS)
def test_luong_scores_match_their_definitions(kind, seed):
    rng = np.random.default_rng(seed)
    S, d = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    q, H = rng.normal(size=d), rng.normal(size=(S, d))
    W_a = {"dot": None, "general": rng.normal(size=(d, d)), "concat": rng.normal(size=(3, 2 * d))}[kind]
    v_a = rng.normal(size=3) if kind == "concat" else None
    scores = A.luong_scores(q, H, kind, W_a, v_a)
    np.testing.assert_allclose(scores, luong_loop(q, H, kind, W_a, v_a), atol=1e-12)
    c, a = A.global_attention(q, H, kind, W_a, v_a)
    np.testing.assert_allclose(a, torch.softmax(t(scores), 0).numpy(), atol=1e-12)
    np.testing.assert_allclose(c, sum(a_s * h_s for a_s, h_s in zip(a, H)), atol=1e-12)
    # batched: a batch of decoder states against a batch of source sequences
    qb, Hb = rng.normal(size=(2, d)), rng.normal(size=(2, S, d))
    batched = A.luong_scores(qb, Hb, kind, W_a, v_a)
    for b in range(2):
        np.testing.assert_allclose(batched[b], luong_loop(qb[b], Hb[b], kind, W_a, v_a), atol=1e-12)


def test_dot_attention_is_unscaled_dot_product_attention():
    rng = np.random.default_rng(0)
    q, H = rng.normal(size=4), rng.normal(size=(6, 4))
    c, a = A.global_attention(q, H, "dot")
    expected = F.scaled_dot_product_attention(t(q[None]), t(H), t(H), scale=1.0)
    np.testing.assert_allclose(c, expected.numpy()[0], atol=1e-12)


def test_attentional_state_and_prediction():
    rng = np.random.default_rng(2)
    c, q = rng.normal(size=3), rng.normal(size=4)
    W_c, W_s = rng.normal(size=(5, 7)), rng.normal(size=(10, 5))
    q_tilde = A.attentional_state(c, q, W_c)
    np.testing.assert_allclose(q_tilde, np.tanh(W_c[:, :3] @ c + W_c[:, 3:] @ q), atol=1e-12)
    p = A.predictive_distribution(q_tilde, W_s)
    np.testing.assert_allclose(p, torch.softmax(t(W_s @ q_tilde), 0).numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="7 columns"):
        A.attentional_state(c, q, np.zeros((5, 6)))


def test_luong_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        A.luong_scores(np.zeros(2), np.zeros((3, 2)), "cosine")
    with pytest.raises(ValueError, match="W_a must have shape \\(d_q, d_h\\) = \\(2, 3\\)"):
        A.luong_scores(np.zeros(2), np.zeros((3, 3)), "general", np.zeros((3, 2)))
    with pytest.raises(ValueError, match="same size"):
        A.luong_scores(np.zeros(2), np.zeros((3, 3)), "dot")


@pytest.mark.parametrize("D", [0, 1, 2, 3])
def test_local_attention_window_and_gaussian(D):
    rng = np.random.default_rng(D)
    S, d = 12, 4
    q, H = rng.normal(size=d), rng.normal(size=(S, d))
    p_t = 5.3
    c, a, p = A.local_attention(q, H, D, p_t=p_t)
    window = [s for s in range(S) if abs(s - round(p_t)) <= D]     # 2D + 1 positions around p_t
    assert len(window) == 2 * D + 1 and set(np.flatnonzero(a)) == set(window)
    # inside the window: softmax over the window, times a Gaussian of σ = D/2 centred on p_t
    align = torch.softmax(t([q @ H[s] for s in window]), 0).numpy()
    sigma = D / 2 if D else 0.5
    expected = align * np.exp(-((np.array(window) - p_t) ** 2) / (2 * sigma ** 2))
    np.testing.assert_allclose(a[window], expected, atol=1e-12)
    np.testing.assert_allclose(c, a @ H, atol=1e-12)
    assert p == p_t and a.sum() <= 1 + 1e-12


def test_local_attention_window_has_2D_plus_1_positions():
    """The deck says "a window of size D"; [p_t - D, p_t + D] holds 2D + 1 positions."""
    S, D = 20, 3
    H = np.random.default_rng(0).normal(size=(S, 2))
    for p_t in (10.0, 10.4, 9.6):
        _, a, _ = A.local_attention(np.ones(2), H, D, p_t=p_t)
        assert np.count_nonzero(a) == 2 * D + 1
    _, a, _ = A.local_attention(np.ones(2), H, D, p_t=S)          # at the edge the window is cut
    assert np.flatnonzero(a).tolist() == list(range(S - 1 - D, S))


def test_local_p_predicts_the_position():
    rng = np.random.default_rng(4)
    S, d = 9, 5
    q, H = rng.normal(size=d), rng.normal(size=(S, d))
    layer = A.LocalAttention(d, 6, D=2, rng=1)
    (c, a, p_t), cache = layer.forward(q, H)
    W_p, v_p = layer.params["W_p"], layer.params["v_p"]
    expected = S * torch.sigmoid(t(v_p @ np.tanh(W_p @ q))).item()
    assert p_t == pytest.approx(expected, abs=1e-12) and 0 <= p_t <= S
    with pytest.raises(ValueError, match="give either p_t"):
        A.local_attention(q, H, 2)


# ---------------------------------------------------------- greedy and beam search ---

def random_markov_table(rng, vocab, depth, eos):
    """A random model over sequences up to ``depth`` tokens: a distribution after every prefix."""
    table = {}
    for n in range(depth + 1):
        for prefix in itertools.product(range(vocab), repeat=n):
            if eos in prefix:
                continue
            table[prefix] = dict(enumerate(rng.dirichlet(np.full(vocab, 0.5))))
    return table


def all_sequences(step, vocab, eos, max_len):
    """Every output up to max_len tokens (ending at <EOS> or cut at max_len) with its log-probability."""
    results = []
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(vocab), repeat=n):
            if eos in seq[:-1] or (n < max_len and seq[-1] != eos):
                continue
            results.append((seq, A.sequence_log_prob(step, None, -1, seq)))
    return results


@pytest.mark.parametrize("seed", SEEDS)
def test_beam_width_1_is_greedy_and_exhaustive_beam_is_exact(seed):
    rng = np.random.default_rng(seed)
    vocab, eos, max_len = 3, 2, 4
    step = A.table_model(random_markov_table(rng, vocab, max_len, eos))
    greedy = A.greedy_decode(step, None, -1, eos, max_len)
    beam1 = A.beam_search(step, None, -1, eos, 1, max_len)
    assert beam1[0].tokens == greedy.tokens and beam1[0].log_prob == pytest.approx(greedy.log_prob)
    best_seq, best_lp = max(all_sequences(step, vocab, eos, max_len), key=lambda s: s[1])
    exhaustive = A.beam_search(step, None, -1, eos, vocab ** max_len, max_len)[0]
    assert exhaustive.tokens == best_seq and exhaustive.log_prob == pytest.approx(best_lp)
    assert exhaustive.log_prob >= greedy.log_prob - 1e-12
    for k in (2, 3):    # every hypothesis's score is the model's own log P(y | x)
        for hyp in A.beam_search(step, None, -1, eos, k, max_len):
            assert hyp.log_prob == pytest.approx(A.sequence_log_prob(step, None, -1, hyp.tokens))


def test_greedy_and_beam_differ_on_the_notebooks_example():
    """First token: A 0.5, B 0.4, <EOS> 0.1. After A the model hesitates, after B it is sure."""
    A_, B_, EOS = 0, 1, 2
    table = {(): {A_: 0.5, B_: 0.4, EOS: 0.1},
             (A_,): {A_: 0.4, B_: 0.3, EOS: 0.3}, (B_,): {A_: 0.05, B_: 0.05, EOS: 0.9},
             (A_, A_): {EOS: 1.0}, (A_, B_): {EOS: 1.0}, (B_, A_): {EOS: 1.0}, (B_, B_): {EOS: 1.0}}
    step = A.table_model(table)
    greedy = A.greedy_decode(step, None, -1, EOS, 3)
    best, trace = A.beam_search(step, None, -1, EOS, 2, 3, return_trace=True)
    assert greedy.tokens == (A_, A_, EOS) and greedy.prob == pytest.approx(0.5 * 0.4)
    assert best[0].tokens == (B_, EOS) and best[0].prob == pytest.approx(0.4 * 0.9)
    assert [len(s.kept) for s in trace] == [2, 2, 2][:len(trace)]
    assert trace[0].kept[0].tokens == (A_,) and trace[0].kept[1].tokens == (B_,)


def test_a_wider_beam_can_score_worse_than_greedy():
    """Beam search is a heuristic: here beam 2 drops greedy's prefix for two slightly better ones
    that lead nowhere, and ends below greedy. (Exhaustive search never does.)"""
    a, b, x, y, EOS = 0, 1, 2, 3, 4
    table = {(): {a: 0.5, b: 0.3, EOS: 0.2},
             (a,): {a: 0.25, b: 0.25, x: 0.25, y: 0.25}, (b,): {x: 0.45, y: 0.45, EOS: 0.1}}
    for first in (a, b):
        for second in (a, b, x, y, EOS):
            if (first, second) in table or second == EOS:
                continue
            sure = first == a and second == a        # greedy's path is certain to end
            table[(first, second)] = {EOS: 1.0} if sure else {a: 0.25, b: 0.25, x: 0.25, y: 0.25}
            for third in (a, b, x, y):
                table[(first, second, third)] = {EOS: 1.0}
    step = A.table_model(table)
    greedy = A.greedy_decode(step, None, -1, EOS, 4)
    beam2 = A.beam_search(step, None, -1, EOS, 2, 4)[0]
    assert greedy.tokens == (a, a, EOS) and greedy.prob == pytest.approx(0.125)
    assert beam2.log_prob < greedy.log_prob
    exhaustive = A.beam_search(step, None, -1, EOS, 5 ** 4, 4)[0]
    assert exhaustive.log_prob >= greedy.log_prob


def test_table_model_errors():
    with pytest.raises(ValueError, match="sum to"):
        A.table_model({(): {0: 0.5, 1: 0.4}})
    step = A.table_model({(): {0: 1.0}})
    with pytest.raises(ValueError, match="no row for the prefix"):
        step((), 0)


# ------------------------------------------------------------------- toy tasks ---

def test_toy_tasks_and_teacher_forcing():
    x, y = A.copy_task(4, 6, rng=0)
    assert np.array_equal(x, y) and x.shape == (4, 6) and x.max() < 10
    x, y = A.reverse_task(4, 6, rng=0)
    assert np.array_equal(y, x[:, ::-1])
    x, y = A.sort_task(5, rng=1)
    assert np.array_equal(y, np.sort(x, axis=1)) and x.shape == (5, 10)
    y_in = A.shift_right(y, bos=10)
    assert np.all(y_in[:, 0] == 10) and np.array_equal(y_in[:, 1:], y[:, :-1])
    assert A.sequence_accuracy(y, y) == 1.0
    wrong = y.copy()
    wrong[0, 3] += 1
    assert A.sequence_accuracy(wrong, y) == pytest.approx(0.8)


# ------------------------------------------------------------------------- ViT ---

def test_vit_patches_and_attention_memory_of_deck_002():
    assert A.vit_num_patches(224, 16) == 14 * 14 == 196
    assert A.vit_num_patches(224, 14) == 16 * 16 == 256
    # deck 002: "48 layers, 16 heads per layer, all attention matrices take 112 MB (or 192 MB)", in float32
    small = A.attention_matrix_bytes(196, layers=48, heads=16)
    large = A.attention_matrix_bytes(256, layers=48, heads=16)
    assert small == 196 ** 2 * 48 * 16 * 4 and round(small / 2 ** 20) == 113  # 112.55 MiB: the deck rounds down
    assert large / 2 ** 20 == 192
    # the same number from real attention matrices: one layer of 16 heads on 196 tokens, times 48
    mha = A.MultiHeadAttention(32, 16, rng=0)
    _, cache = mha.forward(np.zeros((196, 32), dtype=np.float32))
    assert cache["A"].astype(np.float32).nbytes * 48 == small
    with pytest.raises(ValueError, match="multiple of patch_size"):
        A.vit_num_patches(224, 15)
