"""The backward passes of coursekit.attention's layers against torch.autograd (with the
same weights) and against centred differences (coursekit.nn.check_layer)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import attention as A
from coursekit import nn as N
from helpers.attention import copy_into_torch_mha, randomize_norms, torch_encoder_layer


def leaf(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)


def torch_grad_of(module_params: dict, names_to_ours: dict, ours_grads: dict, atol=1e-10):
    for torch_name, our_name in names_to_ours.items():
        got = ours_grads[our_name]
        expected = module_params[torch_name].grad.numpy()
        np.testing.assert_allclose(got, expected, atol=atol, err_msg=our_name)


@pytest.mark.parametrize("seed", range(3))
def test_attention_backward_matches_autograd(seed):
    rng = np.random.default_rng(seed)
    Q, K, V = rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(2, 3, 6, 4)), rng.normal(size=(2, 3, 6, 2))
    mask = (rng.random((2, 1, 5, 6)) < 0.6) | (np.arange(6) == 0)
    dZ = rng.normal(size=(2, 3, 5, 2))
    Z, W = A.scaled_dot_product_attention(Q, K, V, mask, temperature=1.5)
    dQ, dK, dV = A.attention_backward(dZ, Q, K, V, W, temperature=1.5)
    tQ, tK, tV = leaf(Q), leaf(K), leaf(V)
    out = F.scaled_dot_product_attention(tQ, tK, tV, attn_mask=torch.tensor(mask), scale=1 / (2 * 1.5))
    out.backward(torch.tensor(dZ))
    for ours, theirs in ((dQ, tQ), (dK, tK), (dV, tV)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-12)


def test_multi_head_backward_matches_autograd_for_self_and_cross_attention():
    rng = np.random.default_rng(0)
    mha = A.MultiHeadAttention(8, 2, rng=1)
    module = copy_into_torch_mha(mha)
    for cross in (False, True):
        module.zero_grad()
        x, memory = rng.normal(size=(3, 5, 8)), rng.normal(size=(3, 7, 8))
        dout = rng.normal(size=(3, 5, 8))
        kv = memory if cross else x
        mask = A.padding_mask(np.array([7, 3, 5]), 7) if cross else A.causal_mask(5)
        out, cache = mha.forward(x, memory=memory if cross else None, mask=mask)
        dx, grads = mha.backward(dout, cache)
        tx, tkv = leaf(x), leaf(kv)
        kwargs = ({"key_padding_mask": torch.tensor(~mask[:, 0])} if cross
                  else {"attn_mask": torch.tensor(~mask)})
        expected, _ = module(tx, tkv if cross else tx, tkv if cross else tx, **kwargs)
        expected.backward(torch.tensor(dout))
        params = dict(module.named_parameters())
        W_in, b_in = params["in_proj_weight"].grad.numpy(), params["in_proj_bias"].grad.numpy()
        for i, name in enumerate("QKV"):
            np.testing.assert_allclose(grads[f"W_{name}"], W_in[8 * i:8 * (i + 1)].T, atol=1e-10)
            np.testing.assert_allclose(grads[f"b_{name}"], b_in[8 * i:8 * (i + 1)], atol=1e-10)
        np.testing.assert_allclose(grads["W_O"], params["out_proj.weight"].grad.numpy().T, atol=1e-10)
        np.testing.assert_allclose(grads["b_O"], params["out_proj.bias"].grad.numpy(), atol=1e-10)
        if cross:
            np.testing.assert_allclose(dx[0], tx.grad.numpy(), atol=1e-10)
            np.testing.assert_allclose(dx[1], tkv.grad.numpy(), atol=1e-10)
        else:
            np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-10)
    assert set(grads) == set(mha.params)


def test_layer_norm_and_feed_forward_pass_gradient_checks():
    rng = np.random.default_rng(2)
    ln = A.LayerNorm(6)
    ln.params["gamma"], ln.params["beta"] = rng.normal(size=6), rng.normal(size=6)
    for name, check in N.check_layer(ln, rng.normal(size=(2, 3, 6))).items():
        assert check.ok, (name, check.error)
    ffn = A.FeedForward(4, 7, rng=3)
    for name, check in N.check_layer(ffn, rng.normal(size=(2, 3, 4))).items():
        assert check.ok, (name, check.error)
    mha = A.MultiHeadAttention(4, 2, rng=4)
    for name, check in N.check_layer(mha, rng.normal(size=(2, 3, 4))).items():
        assert check.ok, (name, check.error)


def test_encoder_block_backward_matches_autograd():
    rng = np.random.default_rng(5)
    d, h, d_ff = 8, 2, 12
    block = A.EncoderBlock(d, h, d_ff, rng=5)
    randomize_norms(block, ["norm1", "norm2"], rng)
    layer = torch_encoder_layer(block)
    x, dout = rng.normal(size=(2, 5, d)), rng.normal(size=(2, 5, d))
    lengths = np.array([5, 3])
    out, cache = block.forward(x, mask=A.padding_mask(lengths, 5))
    dx, grads = block.backward(dout, cache)
    tx = leaf(x)
    # the fast path of TransformerEncoderLayer is for inference only; with gradients it runs the plain one
    expected = layer(tx, src_key_padding_mask=torch.tensor(~A.padding_mask(lengths, 5)[:, 0]))
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-9)
    params = dict(layer.named_parameters())
    torch_grad_of(params, {"norm1.weight": "norm1.gamma", "norm1.bias": "norm1.beta",
                           "norm2.weight": "norm2.gamma", "norm2.bias": "norm2.beta",
                           "linear1.bias": "ffn.b1", "linear2.bias": "ffn.b2",
                           "self_attn.out_proj.bias": "attention.b_O"}, grads, atol=1e-9)
    np.testing.assert_allclose(grads["ffn.W1"], params["linear1.weight"].grad.numpy().T, atol=1e-9)
    np.testing.assert_allclose(grads["attention.W_Q"], params["self_attn.in_proj_weight"].grad.numpy()[:d].T,
                               atol=1e-9)
    assert set(grads) == set(block.params)


def test_decoder_block_backward_passes_a_gradient_check():
    rng = np.random.default_rng(6)
    block = A.DecoderBlock(4, 2, 6, rng=6)
    y, memory = rng.normal(size=(1, 3, 4)), rng.normal(size=(1, 4, 4))
    out, cache = block.forward(y, memory)
    R = rng.normal(size=out.shape)
    (dy, dmemory), grads = block.backward(R, cache)
    loss = lambda: float(np.sum(block.forward(y, memory)[0] * R))   # noqa: E731
    assert N.gradient_check(lambda _: loss(), y, dy).ok
    assert N.gradient_check(lambda _: loss(), memory, dmemory).ok
    for name in ("self_attention.W_Q", "cross_attention.W_K", "norm2.gamma", "ffn.W2"):
        assert N.gradient_check(lambda _: loss(), block.params[name], grads[name]).ok, name
    assert set(grads) == set(block.params)
