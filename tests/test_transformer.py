"""coursekit.transformer on tiny configurations (no training to full accuracy here:
the notebook's own asserts hold the sorting and seq2seq results).

The tiny Transformer's attention read-out against the NumPy reference of
coursekit.attention with the same weights, causality, the fused and the
recording attention paths against each other, the sorting task's layout and
its accuracy against an oracle, and the seq2seq model's attention against
Luong's scores in NumPy, its greedy decoding against the generic decoder.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from coursekit import attention as A
from coursekit import transformer as TR


def tiny(positional="sinusoidal", seed=0, **kwargs):
    torch.manual_seed(seed)
    config = dict(d_model=16, num_heads=4, num_layers=2, d_ff=32, positional=positional)
    config.update(kwargs)
    return TR.TinyTransformer(10, 19, **config)


# ---------------------------------------------------------------- the Transformer ---

@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_forward_shape_and_causality(positional):
    model = tiny(positional).eval()
    x = torch.randint(10, (3, 12), generator=torch.Generator().manual_seed(0))
    logits = model(x)
    assert logits.shape == (3, 12, 10)
    changed = x.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % 10           # change the future...
    torch.testing.assert_close(model(changed)[:, :7], logits[:, :7])   # ...the past does not notice
    with pytest.raises(ValueError, match="longer than max_len"):
        model(torch.zeros(1, 20, dtype=torch.long))


def test_sinusoidal_positions_are_the_numpy_encoding():
    model = tiny("sinusoidal")
    np.testing.assert_allclose(model.position_embedding.numpy(), A.positional_encoding(19, 16), atol=1e-6)
    assert not any(p is model.position_embedding for p in model.parameters())   # fixed, not learned


def test_recorded_attention_equals_the_fused_path():
    model = tiny().eval()
    x = torch.randint(10, (2, 19), generator=torch.Generator().manual_seed(1))
    fused = model(x)
    for block in model.blocks:
        block.attention.record = True
    recorded = model(x)
    torch.testing.assert_close(recorded, fused, atol=1e-5, rtol=1e-5)


def test_attention_maps_match_the_numpy_reference():
    """Each layer's maps are what coursekit.attention.MultiHeadAttention computes with the block's weights
    on the block's (normalized) input, with the causal mask."""
    model = tiny(seed=3).eval()
    x = torch.randint(10, (19,), generator=torch.Generator().manual_seed(2))
    maps = model.attention_maps(x)
    assert maps.shape == (2, 4, 19, 19)
    np.testing.assert_allclose(maps.sum(-1), 1, atol=1e-5)
    assert np.all(np.triu(maps, 1) == 0)                               # no look-ahead in any head
    inputs = []
    hooks = [b.attention.register_forward_hook(lambda m, args, out: inputs.append(args[0].detach()))
             for b in model.blocks]
    model(x[None])
    for h in hooks:
        h.remove()
    for layer, block in enumerate(model.blocks):
        mha = A.MultiHeadAttention(16, 4)
        mha.params = TR.numpy_attention_params(block)
        out, cache = mha.forward(inputs[layer][0].double().numpy(), mask=A.causal_mask(19))
        np.testing.assert_allclose(cache["A"], maps[layer], atol=1e-5)
        np.testing.assert_allclose(out, block.attention(inputs[layer]).detach().numpy()[0], atol=1e-5)
    batch = model.attention_maps(torch.stack([x, x]))
    assert batch.shape == (2, 2, 4, 19, 19) and np.allclose(batch[:, 1], maps, atol=1e-6)
    assert all(not b.attention.record and b.attention.weights is None for b in model.blocks)


def test_a_few_steps_through_coursekit_train_lower_the_loss():
    from coursekit.train import train_one_epoch

    model = tiny(seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = TR.sort_batch(256, generator=torch.Generator().manual_seed(1))
    before = TR.sort_loss(model(x), y).item()
    record = train_one_epoch(model, TR.SortBatches(12, batch_size=32, seed=0), TR.sort_loss, optimizer)
    assert record["examples"] == 12 * 32
    assert TR.sort_loss(model(x), y).item() < 0.85 * before


# ------------------------------------------------------------------ sorting task ---

def test_sort_batch_layout():
    inputs, targets = TR.sort_batch(5, generator=torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (5, 19)
    x, y = inputs[:, :10], targets[:, 9:]
    torch.testing.assert_close(y, x.sort(dim=1).values)                 # the written half is x sorted
    assert torch.all(targets[:, :9] == -1)                             # reading x: nothing to predict
    torch.testing.assert_close(inputs[:, 10:], y[:, :-1])              # teacher forcing: y shifted in
    assert sum(1 for _ in TR.SortBatches(7, batch_size=3)) == len(TR.SortBatches(7)) == 7


class Oracle(nn.Module):
    """Predicts the sorted digits from the inputs, except that it writes a 9 as the 4th output
    whenever the first digit is 0: a model with a known, prefix-dependent mistake."""

    def __init__(self, length=10):
        super().__init__()
        self.length = length
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, inputs):
        B, T = inputs.shape
        L = self.length
        logits = torch.zeros(B, T, 10)
        y = inputs[:, :L].sort(dim=1).values
        for j in range(L):                               # position L-1+j predicts y_j
            if L - 1 + j < T:
                logits[torch.arange(B), L - 1 + j, y[:, j]] = 1.0
        broken = inputs[:, 0] == 0
        if T > L + 2:
            logits[broken, L + 2] = 0.0
            logits[broken, L + 2, 9] = 1.0
        return logits


def test_sort_accuracy_and_greedy_generation_agree_with_an_oracle():
    oracle = Oracle()
    generator = torch.Generator().manual_seed(7)
    inputs, targets = TR.sort_batch(500, generator=generator)
    x, y = inputs[:, :10], targets[:, 9:]
    wrong = (x[:, 0] == 0) & (y[:, 3] != 9)                # where the oracle's mistake shows
    accuracy = TR.sort_accuracy(oracle, n=500, seed=7, batch_size=200)
    assert accuracy == pytest.approx(1 - wrong.float().mean().item())
    generated = TR.generate(oracle, x, 10)
    assert np.mean(np.all(generated == y.numpy(), axis=1)) == pytest.approx(accuracy)   # greedy = teacher-forced


# ---------------------------------------------------------------------- seq2seq ---

@pytest.mark.parametrize("attention, context", [(None, "concat"), (None, "init"), ("dot", "concat"),
                                                ("general", "concat"), ("concat", "concat")])
def test_seq2seq_shapes_and_attention_rows(attention, context):
    torch.manual_seed(0)
    model = TR.Seq2Seq(10, hidden=8, embed=4, attention=attention, context=context)
    (src, tgt_in), tgt = TR.seq2seq_batch(3, 5, "reverse", generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(tgt, src.flip(1))
    logits = model(src, tgt_in)
    assert logits.shape == (3, 5, 10)
    if attention is None:
        assert model.weights is None
    else:
        assert model.weights.shape == (3, 5, 5)
        torch.testing.assert_close(model.weights.sum(-1), torch.ones(3, 5))
    loss = TR.seq2seq_loss(logits, tgt)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("kind", A.LUONG_SCORES)
def test_seq2seq_attention_is_luongs_global_attention(kind):
    """The model's weights and context vectors equal coursekit.attention.global_attention
    on its decoder states, with its W_a (and v_a) in the deck's convention."""
    torch.manual_seed(1)
    model = TR.Seq2Seq(10, hidden=6, embed=4, attention=kind).double()
    (src, tgt_in), _ = TR.seq2seq_batch(2, 4, "copy", generator=torch.Generator().manual_seed(1))
    H, h_last = model.encode(src)
    q, _ = model.decoder(model.tgt_embedding(tgt_in), h_last)
    model.decode(tgt_in, H, h_last)
    W_a = v_a = None
    if kind == "general":
        W_a = model.W_a.weight.detach().numpy().T          # q W_aᵀ · h = qᵀ (W_aᵀ) h
    elif kind == "concat":
        W_a, v_a = model.W_a.weight.detach().numpy(), model.v_a.weight.detach().numpy()[0]
    for b in range(2):
        for j in range(4):
            c, a = A.global_attention(q[b, j].detach().numpy(), H[b].detach().numpy(), kind, W_a, v_a)
            np.testing.assert_allclose(model.weights[b, j].numpy(), a, atol=1e-12)


def test_seq2seq_greedy_matches_the_generic_decoders():
    torch.manual_seed(2)
    model = TR.Seq2Seq(10, hidden=8, embed=4, attention="dot")
    (src, _), _ = TR.seq2seq_batch(3, 6, "copy", generator=torch.Generator().manual_seed(2))
    batch_greedy = model.greedy(src, 6)
    for b in range(3):
        step, state = TR.seq2seq_step_fn(model, src[b].numpy())
        one = A.greedy_decode(step, state, model.bos, eos=-1, max_len=6)
        assert one.tokens == tuple(batch_greedy[b].tolist())
        beam1 = A.beam_search(step, state, model.bos, -1, 1, 6)[0]
        assert beam1.tokens == one.tokens and beam1.log_prob == pytest.approx(one.log_prob)
        assert one.log_prob == pytest.approx(A.sequence_log_prob(step, state, model.bos, one.tokens))


def test_seq2seq_batches_and_errors():
    batches = list(TR.Seq2SeqBatches(12, lengths=[3, 5], batch_size=4, task="copy"))
    assert len(batches) == 12 and {b[1].shape[1] for b in batches} == {3, 5}
    for (src, tgt_in), tgt in batches:
        torch.testing.assert_close(src, tgt)
        assert torch.all(tgt_in[:, 0] == 10) and torch.equal(tgt_in[:, 1:], tgt[:, :-1])
    with pytest.raises(ValueError, match="attention must be None or one of"):
        TR.Seq2Seq(attention="additive")
    with pytest.raises(ValueError, match="context must be"):
        TR.Seq2Seq(context="every")
    with pytest.raises(ValueError, match="task must be"):
        TR.seq2seq_batch(2, 3, "sort")


def test_attention_qkv_reproduces_the_maps_with_the_numpy_reference():
    model = tiny(seed=4).eval()
    tokens = TR.sort_sequence(model, np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]))
    assert tokens.shape == (19,) and list(tokens[:10]) == [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    maps = model.attention_maps(tokens)
    for layer, (Q, K, V) in enumerate(TR.attention_qkv(model, tokens)):
        assert Q.shape == K.shape == V.shape == (4, 19, 4)
        _, weights = A.scaled_dot_product_attention(Q, K, V, A.causal_mask(19))
        np.testing.assert_allclose(weights, maps[layer], atol=1e-5)
    with pytest.raises(ValueError, match="one sequence"):
        TR.attention_qkv(model, tokens[None])
    with pytest.raises(ValueError, match="digits must be 10 integers"):
        TR.sort_sequence(model, np.arange(5))


def test_warmup_cosine_follows_every_optimizer_step():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    TR.warmup_cosine(optimizer, total_steps=100, warmup_steps=10, final=0.05)
    rates = []
    for _ in range(120):
        rates.append(optimizer.param_groups[0]["lr"])
        param.grad = torch.zeros(1)
        optimizer.step()
    assert rates[0] == pytest.approx(0.1 * (0.05 + 0.95))              # warm-up: 1/10 of the rate
    assert rates[9] == pytest.approx(0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * 9 / 100)))
    assert rates[50] == pytest.approx(0.05 + 0.95 * 0.5)                 # half-way down the cosine
    assert rates[100] == pytest.approx(0.05) and rates[119] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(rates[9:100], rates[10:101]))     # decreasing after the warm-up
    assert TR.TinyTransformer(**TR.SORTER_CONFIG).max_len == 19
