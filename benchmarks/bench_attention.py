"""Unit 11: NumPy multi-head attention against PyTorch's, the tiny Transformer's time to sort
10 digits at 99 % (CPU, and GPU where lent), and the attention explorer's new query and new head in
the kernel (its Step, in the kernel and in the browser, is measured with every widget by bench_widgets
and bench_browser; the unit's notebook time is a row of bench_notebooks)."""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from coursekit import attention as A
from coursekit import transformer as TR
from coursekit.device import cpu_threads
from coursekit.train import train_one_epoch

from . import Row, gpu_devices, no_gpu_row
from .bench_widgets import attach

# the size: a batch of 32 sequences of 64 tokens, d_model = 128, 4 heads, float32 in both
B, T, D_MODEL, HEADS = 32, 64, 128, 4


def _interleaved_ms(first, second, repeats: int = 15, warmup: int = 3) -> tuple[float, float]:
    """Median times of two actions in ms, measured in turns so that both see the same load."""
    for _ in range(warmup):
        first(), second()
    a, b = [], []
    for _ in range(repeats):
        for action, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            action()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(a), statistics.median(b)


def multi_head_rows() -> list[Row]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D_MODEL)).astype(np.float32)
    ours = A.MultiHeadAttention(D_MODEL, HEADS, rng=0)
    ours.params = {k: v.astype(np.float32) for k, v in ours.params.items()}
    theirs = torch.nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True)
    p = ours.params
    with torch.no_grad():   # the same weights, so both compute the same numbers
        theirs.in_proj_weight.copy_(torch.from_numpy(np.concatenate([p["W_Q"].T, p["W_K"].T, p["W_V"].T])))
        theirs.in_proj_bias.copy_(torch.from_numpy(np.concatenate([p["b_Q"], p["b_K"], p["b_V"]])))
        theirs.out_proj.weight.copy_(torch.from_numpy(p["W_O"].T.copy()))
        theirs.out_proj.bias.copy_(torch.from_numpy(p["b_O"]))
    xt = torch.from_numpy(x)

    @torch.no_grad()
    def torch_mha():   # with the weights per head, as ours returns them
        return theirs(xt, xt, xt, need_weights=True, average_attn_weights=False)

    out, _ = ours.forward(x)
    assert np.allclose(out, torch_mha()[0].numpy(), atol=1e-4)
    rows = []
    # One thread each (BLAS and torch): the implementations compared on equal terms, and a figure
    # that other work on a shared machine does not distort; then both libraries as they come.
    for label, threads in (("one thread each", 1), ("default threads", None)):
        with cpu_threads(threads):   # NumPy's BLAS and torch alike
            ours_ms, torch_ms = _interleaved_ms(lambda: ours.forward(x), torch_mha)
        ratio = ours_ms / torch_ms
        rows.append(Row("attention", f"NumPy multi-head / torch MultiheadAttention, {label}", ratio, "x",
                        "<= 3x" if threads == 1 else "", ratio <= 3 if threads == 1 else None,
                        f"B {B}, T {T}, d {D_MODEL}, {HEADS} heads, float32, weights returned: "
                        f"{ours_ms:.2f} ms vs {torch_ms:.2f} ms"))
    return rows


def seconds_to_99(device: str = "cpu", chunk: int = 25, max_steps: int = 1000) -> tuple[float, float, int, float]:
    """Train the notebook's sorter (same configuration, optimizer and schedule) until 99 % of 2000
    fresh sequences are sorted right. Returns (wall s, CPU s, steps, accuracy), evaluation excluded."""
    torch.manual_seed(0)
    model = TR.TinyTransformer(**TR.SORTER_CONFIG).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    TR.warmup_cosine(optimizer, 400, warmup_steps=30)
    data = TR.SortBatches(chunk, batch_size=128, seed=0)
    wall = cpu = 0.0
    steps, accuracy = 0, 0.0
    while steps < max_steps:
        w0, c0 = time.perf_counter(), time.process_time()
        train_one_epoch(model, data, TR.sort_loss, optimizer, device)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        steps += chunk
        accuracy = TR.sort_accuracy(model, n=2000, seed=2024)
        if accuracy >= 0.99:
            break
    return wall, cpu, steps, accuracy


def sorter_rows() -> list[Row]:
    rows = []
    for device in ["cpu"] + gpu_devices():
        wall, cpu, steps, accuracy = seconds_to_99(device)
        note = f"{steps} steps of 128, {accuracy:.2%} of 2000 fresh sequences"
        rows.append(Row("attention", f"tiny Transformer to 99 % sorted, {device}, wall", wall, "s",
                        "<= 30 s" if device == "cpu" else "", wall <= 30 if device == "cpu" else None, note))
        if device == "cpu":
            rows.append(Row("attention", "tiny Transformer to 99 % sorted, cpu, CPU time", cpu, "s", "<= 30 s",
                            cpu <= 30, "all threads' CPU seconds: the budget's measure on a shared machine"))
    if not gpu_devices():
        rows.append(no_gpu_row("attention", "tiny Transformer to 99 % sorted, cuda, wall"))
    return rows


def _kernel_ms(widget, action, n: int) -> tuple[float, float]:
    """Median and worst CPU time of the kernel's thread for ``action`` + the frame it sends, in ms."""
    canvas = widget.fig.canvas
    samples = []
    for i in range(n):
        start = time.thread_time()
        action(i)
        if widget._background is None:   # a change of the static part: the full draw the browser asks for
            canvas.draw()
        canvas.get_diff_image()
        samples.append((time.thread_time() - start) * 1000)
    return statistics.median(samples), max(samples)


def explorer_rows() -> list[Row]:
    from coursekit.widgets.attention import AttentionExplorer

    torch.manual_seed(0)
    models = {"trained": TR.TinyTransformer(**TR.SORTER_CONFIG).eval(),
              "untrained": TR.TinyTransformer(**TR.SORTER_CONFIG).eval()}
    widget = AttentionExplorer.for_sorting(models)
    attach(widget)
    rows = []
    group = "attention explorer (11)"
    for what, action, budget in (("new query (click), CPU time", lambda i: widget.select_query(i % widget.T), 50),
                                 ("new head (full redraw), CPU time",
                                  lambda i: setattr(widget.head_toggle, "value", (widget.head + 1) % 4), 150)):
        median, worst = _kernel_ms(widget, action, 40)
        rows.append(Row(group, f"{what}, median", median, "ms", f"<= {budget} ms", median <= budget,
                        "the kernel thread's CPU seconds: what an idle machine's wall time would be"))
        rows.append(Row(group, f"{what}, worst", worst, "ms", "<= 150 ms", worst <= 150, "over 40"))
    return rows


def run() -> list[Row]:
    return multi_head_rows() + explorer_rows() + sorter_rows()
