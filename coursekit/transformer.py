"""The PyTorch models of unit 11: a tiny Transformer and an RNN encoder–decoder.

* :class:`TinyTransformer` is a decoder-only Transformer (GPT-style: causal
  self-attention, pre-norm blocks) small enough to train on a laptop CPU in
  seconds. Its attention weights can be read out per layer and head
  (:meth:`TinyTransformer.attention_maps`), and its weights map one to one
  onto the NumPy reference of :mod:`coursekit.attention`
  (:func:`numpy_attention_params`).
* :class:`Seq2Seq` is the encoder–decoder of deck 002 with GRUs: the decoder
  sees either one fixed context vector c = h_{T_x} (the encoder's last state)
  or, with Luong global attention, a context c_t recomputed at every step.
  Everything else is the same, so a comparison isolates attention.

The sorting task (:func:`sort_batch`) follows minGPT's demo: the model reads
the digits and then writes them sorted, one token at a time; the loss counts
only the written half.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import whole_number
from .attention import LUONG_SCORES, positional_encoding, split_heads
from .device import cpu_threads, model_threads

__all__ = [
    "CausalSelfAttention", "TransformerBlock", "TinyTransformer", "SORTER_CONFIG", "warmup_cosine",
    "sort_batch", "SortBatches", "sort_loss",
    "sorted_output", "sort_accuracy", "generate", "sort_sequence", "numpy_attention_params", "attention_qkv",
    "Seq2Seq", "seq2seq_batch", "Seq2SeqBatches", "seq2seq_loss", "seq2seq_step_fn",
]


# ------------------------------------------------------------ the Transformer ---

class CausalSelfAttention(nn.Module):
    """Multi-head self-attention, causal by default. Q, K and V come from one fused
    linear layer (one matrix product instead of three); ``W_O`` merges the heads.

    While ``record`` is True the forward pass computes softmax(QKᵀ/√d_k) itself
    and keeps the weights in ``weights`` (B, h, T, T); otherwise it calls
    PyTorch's fused ``scaled_dot_product_attention``, which is faster and
    returns no weights.
    """

    def __init__(self, d_model: int, num_heads: int, causal: bool = True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model = {d_model} must be divisible by num_heads = {num_heads}")
        self.num_heads, self.causal = num_heads, causal
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.W_O = nn.Linear(d_model, d_model)
        self.record = False
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        h = self.num_heads
        q, k, v = self.qkv(x).view(B, T, 3, h, d // h).permute(2, 0, 3, 1, 4)   # each (B, h, T, d_k)
        if self.record:
            scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
            if self.causal:
                scores = scores.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=x.device).tril(), -math.inf)
            A = scores.softmax(dim=-1)
            self.weights = A.detach()
            z = A @ v
        else:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.W_O(z.transpose(1, 2).reshape(B, T, d))


class TransformerBlock(nn.Module):
    """x + Attention(LN(x)), then x + FFN(LN(x)): the pre-norm block of GPT-2 and minGPT.

    (The original Transformer normalizes after each residual sum, "post-norm";
    putting the norm first keeps the residual path an identity, which lets a
    small model train with a larger learning rate.)"""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, causal: bool = True):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = CausalSelfAttention(d_model, num_heads, causal)
        self.norm2 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class TinyTransformer(nn.Module):
    """A decoder-only Transformer: token embedding + positional encoding, ``num_layers``
    blocks, a final layer norm and a linear read-out to the vocabulary.

    ``positional``: "sinusoidal" (the fixed encoding of :func:`coursekit.attention.positional_encoding`,
    base 10000) or "learned" (one trained vector per position, as in GPT and ViT).
    """

    def __init__(self, vocab: int, max_len: int, d_model: int = 64, num_heads: int = 4, num_layers: int = 2,
                 d_ff: int | None = None, positional: str = "learned", causal: bool = True):
        super().__init__()
        vocab, max_len = whole_number("vocab", vocab, 1), whole_number("max_len", max_len, 1)
        if positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional must be 'learned' or 'sinusoidal', got {positional!r}")
        self.vocab, self.max_len, self.positional = vocab, max_len, positional
        self.token_embedding = nn.Embedding(vocab, d_model)
        if positional == "learned":
            self.position_embedding = nn.Parameter(0.02 * torch.randn(max_len, d_model))
        else:
            self.register_buffer("position_embedding",
                                 torch.tensor(positional_encoding(max_len, d_model), dtype=torch.float32))
        self.blocks = nn.ModuleList(TransformerBlock(d_model, num_heads, d_ff or 4 * d_model, causal)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    @property
    def num_heads(self) -> int:
        return self.blocks[0].attention.num_heads

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) of ids → logits (B, T, vocab); position t predicts token t + 1."""
        T = tokens.shape[1]
        if T > self.max_len:
            raise ValueError(f"a sequence of {T} tokens is longer than max_len = {self.max_len}")
        x = self.token_embedding(tokens) + self.position_embedding[:T]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    @model_threads
    @torch.no_grad()
    def attention_maps(self, tokens) -> np.ndarray:
        """The attention weights of every layer and head for ``tokens`` (T,) or (B, T):
        a NumPy array (layers, heads, T, T) for one sequence, (layers, B, heads, T, T) for a batch."""
        tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long, device=self.head.weight.device)
        single = tokens.ndim == 1
        if single:
            tokens = tokens[None]
        was_training = self.training
        self.eval()
        attentions = [block.attention for block in self.blocks]
        try:
            for a in attentions:
                a.record = True
            self(tokens)
            maps = torch.stack([a.weights for a in attentions]).cpu().numpy()
        finally:
            for a in attentions:
                a.record, a.weights = False, None
            self.train(was_training)
        return maps[:, 0] if single else maps


def numpy_attention_params(block: TransformerBlock) -> dict[str, np.ndarray]:
    """A block's attention weights in the deck's row convention (Q = X W^Q + b^Q), as
    :class:`coursekit.attention.MultiHeadAttention` stores them (``.params``)."""
    attn = block.attention
    W = attn.qkv.weight.detach().cpu().numpy().astype(float)   # (3d, d): PyTorch computes x Wᵀ
    b = attn.qkv.bias.detach().cpu().numpy().astype(float)
    d = W.shape[1]
    params = {}
    for i, name in enumerate("QKV"):
        params[f"W_{name}"], params[f"b_{name}"] = W[i * d:(i + 1) * d].T.copy(), b[i * d:(i + 1) * d].copy()
    params["W_O"] = attn.W_O.weight.detach().cpu().numpy().astype(float).T.copy()
    params["b_O"] = attn.W_O.bias.detach().cpu().numpy().astype(float).copy()
    return params


@model_threads
@torch.no_grad()
def attention_qkv(model: TinyTransformer, tokens) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every layer's queries, keys and values for one sequence, per head, computed by the
    NumPy reference: a list with one ``(Q, K, V)`` per layer, each of shape (heads, T, d_k).

    The input of each block's attention (after its layer norm) is captured from the
    PyTorch model; the projections and the head split are then
    :class:`coursekit.attention.MultiHeadAttention`'s, with the block's weights, so that
    softmax(Q Kᵀ/√d_k) with the causal mask gives back :meth:`TinyTransformer.attention_maps`.
    """
    tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long, device=model.head.weight.device)
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be one sequence of token ids, shape (T,), got shape {tuple(tokens.shape)}")
    inputs: list[np.ndarray] = []
    hooks = [block.attention.register_forward_hook(
        lambda module, args, out: inputs.append(args[0][0].detach().cpu().double().numpy()))
        for block in model.blocks]
    was_training = model.training
    model.eval()
    try:
        model(tokens[None])
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    result = []
    for block, x in zip(model.blocks, inputs):
        p, h = numpy_attention_params(block), block.attention.num_heads
        result.append(tuple(split_heads(x @ p[f"W_{n}"] + p[f"b_{n}"], h) for n in "QKV"))
    return result


# ----------------------------------------------------------- the sorting task ---

#: The sorter of unit 11: 2 pre-norm blocks of 4 heads, d_model = 64, about 0.1 M parameters.
SORTER_CONFIG = dict(vocab=10, max_len=19, d_model=64, num_heads=4, num_layers=2, d_ff=256, positional="sinusoidal")


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 30, final: float = 0.05):
    """A learning-rate schedule that advances with every ``optimizer.step()``: a linear warm-up
    over ``warmup_steps``, then a cosine decay to ``final`` times the rate at ``total_steps``.

    It is attached with the optimizer's step hook, so a training loop that only calls
    ``optimizer.step()`` (as :func:`coursekit.train.train` does) follows it. Returns the scheduler."""
    total_steps = whole_number("total_steps", total_steps, 1)
    warmup_steps = whole_number("warmup_steps", warmup_steps, 1)

    def factor(step: int) -> float:
        progress = min(step, total_steps) / total_steps
        return min(1.0, (step + 1) / warmup_steps) * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    optimizer.register_step_post_hook(lambda *_: scheduler.step())
    return scheduler



def sort_batch(batch_size: int, length: int = 10, vocab: int = 10, generator: torch.Generator | None = None,
               device=None):
    """A batch of the sorting task in minGPT's layout: for digits x and their sorted
    version y (each ``length`` long), the model reads ``inputs`` = (x, y) without
    its last token and at every position predicts the next one; ``targets``
    are y at the positions that predict it and -1 (ignored by the loss) where
    the model is still reading x. Returns ``(inputs, targets)``, both (B, 2L-1)."""
    x = torch.randint(vocab, (batch_size, length), generator=generator)
    y = x.sort(dim=1).values
    seq = torch.cat([x, y], dim=1)
    inputs, targets = seq[:, :-1].clone(), seq[:, 1:].clone()
    targets[:, : length - 1] = -1
    if device is not None:
        inputs, targets = inputs.to(device), targets.to(device)
    return inputs, targets


class SortBatches(torch.utils.data.IterableDataset):
    """``steps`` fresh batches of the sorting task, seeded: an epoch of data for
    ``coursekit.train`` (wrap it in a DataLoader with ``batch_size=None``)."""

    def __init__(self, steps: int, batch_size: int = 128, length: int = 10, vocab: int = 10, seed: int = 0):
        super().__init__()
        self.steps, self.batch_size, self.length, self.vocab = steps, batch_size, length, vocab
        self.generator = torch.Generator().manual_seed(seed)   # kept across epochs: each epoch is new data

    def __len__(self):
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            yield sort_batch(self.batch_size, self.length, self.vocab, self.generator)


def sort_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the written half only (targets of -1 are skipped)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)


def sorted_output(logits: torch.Tensor, length: int) -> torch.Tensor:
    """The most probable token at each of the last ``length`` positions: the model's sorted sequence."""
    return logits[:, -length:].argmax(dim=-1)


@model_threads
@torch.no_grad()
def sort_accuracy(model: nn.Module, n: int = 2000, length: int = 10, vocab: int = 10, seed: int = 12345,
                  batch_size: int = 1000) -> float:
    """Whole-sequence accuracy on ``n`` fresh sequences: the share the model sorts with every digit right.

    One teacher-forced pass suffices: greedy decoding writes the right sequence
    exactly when every next-token prediction from a right prefix is right (the
    first wrong token is where both would go astray), which is what this counts.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    right = 0
    for start in range(0, n, batch_size):
        inputs, targets = sort_batch(min(batch_size, n - start), length, vocab, generator, device)
        right += int((sorted_output(model(inputs), length) == targets[:, -length:]).all(dim=1).sum())
    model.train(was_training)
    return right / n


def sort_sequence(model: nn.Module, digits, length: int = 10) -> np.ndarray:
    """The whole sequence the model reads when it sorts ``digits``: the digits, then
    its own sorted output but the last digit (which nothing reads), 2·length - 1 tokens."""
    digits = np.asarray(digits)
    if digits.shape != (length,) or not np.issubdtype(digits.dtype, np.integer):
        raise ValueError(f"digits must be {length} integers, shape ({length},), got shape {digits.shape} and "
                         f"dtype {digits.dtype}")
    written = generate(model, digits, length)
    return np.concatenate([digits, written[:-1]])


@model_threads
@torch.no_grad()
def generate(model: nn.Module, x, steps: int) -> np.ndarray:
    """Greedy decoding with a decoder-only model: append the most probable next token ``steps`` times.
    x: (B, T) or (T,) token ids; returns the ``steps`` new tokens, (B, steps) or (steps,)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    seq = torch.as_tensor(np.asarray(x), dtype=torch.long, device=device)
    single = seq.ndim == 1
    seq = seq[None] if single else seq
    start = seq.shape[1]
    for _ in range(steps):
        nxt = model(seq)[:, -1].argmax(dim=-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    model.train(was_training)
    out = seq[:, start:].cpu().numpy()
    return out[0] if single else out


# ------------------------------------------------------- RNN encoder–decoder ---

class Seq2Seq(nn.Module):
    """A GRU encoder–decoder for sequences of symbols 0..vocab-1 (deck 002's seq2seq).

    The encoder reads x and keeps every state h_1..h_{T_x}; the decoder starts
    from h_{T_x} and, at step t, reads the previous target symbol (<BOS> = ``vocab`` first).
    From its state q_t it predicts p(y_t) = softmax(W_s tanh(W_c [c_t; q_t])), where

    * ``attention=None``: c_t = h_{T_x} for every t, the **fixed context vector**;
      it is also fed to the decoder with every input (the deck's variant (2),
      ``context="concat"``) or only used to start it (variant (1), ``context="init"``);
    * ``attention="dot" | "general" | "concat"``: c_t = Σ_s a_t(s) h_s with Luong's
      global attention, a_t = softmax_s score(q_t, h_s), recomputed at every step.

    Because the attention looks at q_t after the GRU step (Luong's design, no
    input feeding), training runs the decoder GRU over the whole teacher-forced
    target at once.
    """

    def __init__(self, vocab: int = 10, hidden: int = 64, embed: int = 32, attention: str | None = None,
                 context: str = "concat"):
        super().__init__()
        if attention is not None and attention not in LUONG_SCORES:
            raise ValueError(f"attention must be None or one of {LUONG_SCORES}, got {attention!r}")
        if context not in ("concat", "init"):
            raise ValueError(f"context must be 'concat' (fed at every step) or 'init' (initial state only), "
                             f"got {context!r}")
        self.vocab, self.hidden, self.attention, self.context = vocab, hidden, attention, context
        self.bos = vocab
        self.src_embedding = nn.Embedding(vocab, embed)
        self.tgt_embedding = nn.Embedding(vocab + 1, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.feeds_context = attention is None and context == "concat"
        self.decoder = nn.GRU(embed + (hidden if self.feeds_context else 0), hidden, batch_first=True)
        if attention == "general":
            self.W_a = nn.Linear(hidden, hidden, bias=False)
        elif attention == "concat":
            self.W_a = nn.Linear(2 * hidden, hidden, bias=False)
            self.v_a = nn.Linear(hidden, 1, bias=False)
        self.W_c = nn.Linear(2 * hidden, hidden)
        self.W_s = nn.Linear(hidden, vocab)
        self.weights: torch.Tensor | None = None   # the last forward pass's attention weights (B, T_y, T_x)

    def encode(self, src: torch.Tensor):
        """src (B, T_x) → all encoder states H (B, T_x, hidden) and the last one (1, B, hidden)."""
        H, h_last = self.encoder(self.src_embedding(src))
        return H, h_last

    def scores(self, q: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
        """Luong's score(q_t, h_s) for decoder states q (B, T_y, d) and encoder states H (B, T_x, d)."""
        if self.attention == "dot":
            return q @ H.transpose(1, 2)
        if self.attention == "general":
            return self.W_a(q) @ H.transpose(1, 2)       # W_a(q) = q W_aᵀ, so this is q_tᵀ W_a h_s with W_a's transpose
        T_y, T_x = q.shape[1], H.shape[1]
        pairs = torch.cat([q[:, :, None].expand(-1, -1, T_x, -1), H[:, None].expand(-1, T_y, -1, -1)], dim=-1)
        return self.v_a(torch.tanh(self.W_a(pairs))).squeeze(-1)

    def decode(self, tgt_in: torch.Tensor, H: torch.Tensor, state: torch.Tensor):
        """Decoder inputs (B, T_y) → logits (B, T_y, vocab) and the new decoder state."""
        e = self.tgt_embedding(tgt_in)
        c_fixed = H[:, -1:]                               # h_{T_x}: the fixed context vector
        if self.feeds_context:
            e = torch.cat([e, c_fixed.expand(-1, e.shape[1], -1)], dim=-1)
        q, state = self.decoder(e, state)
        if self.attention is None:
            c = c_fixed.expand(-1, q.shape[1], -1)
            self.weights = None
        else:
            a = self.scores(q, H).softmax(dim=-1)         # alignment weights a_t(s)
            c = a @ H                                     # context vectors c_t
            self.weights = a.detach()
        q_tilde = torch.tanh(self.W_c(torch.cat([c, q], dim=-1)))
        return self.W_s(q_tilde), state

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: src (B, T_x) and the shifted targets tgt_in (B, T_y) → logits (B, T_y, vocab).

        ``coursekit.train`` calls it as ``model(*X)`` with the inputs X = (src, tgt_in) of the
        batches :func:`seq2seq_batch` makes."""
        H, h_last = self.encode(src)
        logits, _ = self.decode(tgt_in, H, h_last)
        return logits

    @model_threads
    @torch.no_grad()
    def greedy(self, src: torch.Tensor, steps: int) -> torch.Tensor:
        """Greedy decoding of ``steps`` symbols for a batch, feeding back each prediction."""
        was_training = self.training
        self.eval()
        H, state = self.encode(src)
        token = torch.full((src.shape[0], 1), self.bos, dtype=torch.long, device=src.device)
        out = []
        for _ in range(steps):
            logits, state = self.decode(token, H, state)
            token = logits.argmax(dim=-1)
            out.append(token)
        self.train(was_training)
        return torch.cat(out, dim=1)


def seq2seq_batch(batch_size: int, length: int, task: str = "copy", vocab: int = 10,
                  generator: torch.Generator | None = None):
    """A batch ((src, tgt_in), tgt) for a toy task: "copy" or "reverse" ``length`` random symbols.

    src, tgt_in and tgt are (B, length); tgt_in is the target shifted right behind <BOS>
    (teacher forcing). (src, tgt_in) are the two inputs of :class:`Seq2Seq`, which
    ``coursekit.train`` passes as ``model(src, tgt_in)``."""
    src = torch.randint(vocab, (batch_size, length), generator=generator)
    if task == "copy":
        tgt = src.clone()
    elif task == "reverse":
        tgt = src.flip(1)
    else:
        raise ValueError(f"task must be 'copy' or 'reverse', got {task!r}")
    tgt_in = torch.cat([torch.full((batch_size, 1), vocab, dtype=torch.long), tgt[:, :-1]], dim=1)
    return (src, tgt_in), tgt


class Seq2SeqBatches(torch.utils.data.IterableDataset):
    """``steps`` fresh batches per epoch, each of one length drawn from ``lengths`` (seeded)."""

    def __init__(self, steps: int, lengths, batch_size: int = 64, task: str = "copy", vocab: int = 10,
                 seed: int = 0):
        super().__init__()
        self.steps, self.lengths, self.batch_size, self.task, self.vocab = steps, list(lengths), batch_size, task, vocab
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            i = int(torch.randint(len(self.lengths), (1,), generator=self.generator))
            yield seq2seq_batch(self.batch_size, self.lengths[i], self.task, self.vocab, self.generator)


def seq2seq_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The mean of -log P(y_j | y_<j, x) over every target symbol: the deck's log-likelihood, negated."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def seq2seq_step_fn(model: Seq2Seq, src):
    """A step function for :func:`coursekit.attention.beam_search` and ``greedy_decode``
    on one source sequence: ``(step, initial_state)``, where step(state, token)
    returns the log-probabilities of the next symbol (the vocabulary plus nothing
    else: the model has no <EOS>, so decode a fixed number of steps)."""
    model.eval()
    src = torch.as_tensor(np.asarray(src), dtype=torch.long)[None]
    with torch.no_grad():
        H, h_last = model.encode(src)

    @torch.no_grad()
    def step(state, token):
        with cpu_threads("auto", model):   # one small step at a time: the workbook's thread policy
            logits, new_state = model.decode(torch.tensor([[token]]), H, state)
        return torch.log_softmax(logits[0, -1], dim=-1).double().numpy(), new_state

    return step, h_last
