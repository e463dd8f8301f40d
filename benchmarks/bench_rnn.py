"""Units 09 and 10: the NumPy LSTM against PyTorch's, word-vector training, the gate stepper.

* NumPy LSTM forward + backward through time over a sequence (batch 32, length 50,
  input 128, hidden 128, float32) against ``torch.nn.LSTM`` on the CPU, forward +
  ``backward``. Measured with both libraries on one thread (the fair comparison: the
  same arithmetic on the same core) and with each library's default threads. Budget:
  NumPy within 3× of PyTorch.
* Word vectors: unit 10's training run (skip-gram with negative sampling in NumPy,
  6,000 sentences, 50 dimensions, 10 epochs), its CPU and wall time, and what it reaches.
* The LSTM gate stepper's step latency (state + blitted redraw + the PNG frame), on a
  40-symbol sequence, in wall time and in the kernel's CPU time (which a busy machine does
  not inflate), median and worst against the 50 / 150 ms budgets.

Both notebooks' run times are in ``bench_notebooks``' rows.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import torch

from coursekit import corpora, embeddings, rnn

from . import Row, latency_ms, widget_step_rows
from .bench_widgets import cpu_step_rows

B, T, D, H = 32, 50, 128, 128


@contextmanager
def _threads(n: int | None):
    """NumPy's BLAS and torch on ``n`` threads inside the block (None: leave both as they are)."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def lstm_rows() -> list[Row]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(B, T, D)).astype(np.float32)
    dH = rng.normal(size=(B, T, H)).astype(np.float32)
    layer = rnn.LSTM(D, H, seed=0, dtype=np.float32)
    torch_lstm = torch.nn.LSTM(D, H, batch_first=True)
    rnn.lstm_to_torch(layer.params["U"], layer.params["W"], layer.params["b"], torch_lstm)
    tX, tdH = torch.tensor(X, requires_grad=True), torch.tensor(dH)

    def ours():
        out, cache = layer.forward(X)
        layer.backward(dH, cache)

    def theirs():
        out, _ = torch_lstm(tX)
        out.backward(tdH)

    rows = []
    for label, threads in (("one thread each", 1), ("default threads", None)):
        with _threads(threads):
            ours_ms, _ = latency_ms(ours, n=15)
            torch_ms, _ = latency_ms(theirs, n=15)
        ratio = ours_ms / torch_ms
        budget = "<= 3x" if threads == 1 else ""
        rows.append(Row("LSTM fwd+bwd (32x50x128)", f"NumPy / PyTorch, {label}", ratio, "x", budget,
                        ratio <= 3 if threads == 1 else None, f"{ours_ms:.1f} ms vs {torch_ms:.1f} ms"))
    return rows


def word2vec_rows() -> list[Row]:
    sentences = corpora.analogy_corpus(6000, seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    wv = embeddings.train_word2vec(sentences, dim=50, window=3, negatives=5, epochs=10, lr=0.1, batch_size=64,
                                   subsample_t=1e-3, seed=0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    accuracy = wv.analogy_accuracy(corpora.analogy_questions(held_out_only=True))
    pairs = 10 * wv.pairs_per_epoch
    return [
        Row("word vectors (unit 10)", "skip-gram + negative sampling, 10 epochs: CPU", cpu, "s",
            note=f"wall {wall:.1f} s; {pairs / cpu:,.0f} pairs per CPU second"),
        Row("word vectors (unit 10)", "held-out analogy accuracy reached", 100 * accuracy, "%", ">= 80 %",
            accuracy >= 0.8),
    ]


def widget_rows() -> list[Row]:
    from coursekit.widgets.lstm import LSTMGateStepper

    widget = LSTMGateStepper("first")
    widget.new_sequence(40)
    # wall time (what a student waits for) and the kernel's CPU time (what the step costs, judged on a busy machine)
    return widget_step_rows("LSTM gate stepper", widget, n=60) + cpu_step_rows("LSTM gate stepper", widget)


def run() -> list[Row]:
    return lstm_rows() + word2vec_rows() + widget_rows()
