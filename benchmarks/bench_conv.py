"""Unit 07's figures: the NumPy convolution (im2col, and the loop version) against
PyTorch on the CPU, the digits CNN's time to 98 % test accuracy (and on the GPU
where there is one), and the convolution explorer's step latency: in the kernel
(wall and CPU time) and in the browser (``bench_browser.py``'s click-to-canvas
measurement, on this widget alone). Both notebooks' times are in ``bench_notebooks``.

The convolution rows time a real two-layer stack, as in a small digits network:
batch 64, 1 → 8 → 16 channels, 3×3 filters with padding 1, forward and backward
through both layers (the input gradient of the second layer feeds the first),
in float32 like PyTorch, on 8×8 and 28×28 images: ``coursekit.conv.Conv2D``
layers (im2col, and the loop version) against ``torch.nn.functional.conv2d`` with
autograd. Both run on one thread (NumPy's BLAS limited with threadpoolctl, torch
with ``set_num_threads(1)``): on a shared two-core machine a second thread mostly
measures the other jobs (both libraries' worker threads spin while they wait).
Each figure is the least CPU time of several repeats: for one thread, what the
wall time is on an idle machine.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from coursekit import conv
from coursekit.device import cuda_available

from . import Row, widget_step_rows
from .bench_widgets import cpu_step_rows

BATCH, CHANNELS = 64, (1, 8, 16)
EXPLORER = "convolution explorer"
# as bench_browser builds a widget: the code of its cell, and what its counter says at step 0
BROWSER_WIDGET = (EXPLORER, "from coursekit.widgets.conv import ConvExplorer\nConvExplorer()", "position 0 / ")


def _best_ms(action, repeats: int) -> float:
    """The least CPU time of ``action()`` over ``repeats`` runs, in ms. With one thread that is its
    wall time on an idle machine; on a busy one, wall time would add the other jobs' turns."""
    action()   # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best * 1000


def _layers(weights, method: str):
    layers = [conv.Conv2D(w.shape[1], w.shape[0], 3, padding=1, method=method) for w in weights]
    for layer, w in zip(layers, weights):
        layer.params = {"W": w, "b": np.zeros(w.shape[0], dtype=w.dtype)}
    return layers


def _numpy_stack(x, layers):
    """Forward through both layers, then backward from a gradient of ones."""
    h, first = layers[0].forward(x)
    out, second = layers[1].forward(h)
    dh, _ = layers[1].backward(np.ones_like(out), second)
    layers[0].backward(dh, first)


def _torch_stack(x, weights, biases):
    out = F.conv2d(F.conv2d(x, weights[0], biases[0], padding=1), weights[1], biases[1], padding=1)
    out.backward(torch.ones_like(out))


def conv_rows(size: int, repeats: int = 15) -> list[Row]:
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, CHANNELS[0], size, size)).astype(np.float32)
    weights = [rng.normal(size=(c_out, c_in, 3, 3)).astype(np.float32) * 0.3
               for c_in, c_out in zip(CHANNELS, CHANNELS[1:])]
    xt = torch.tensor(x, requires_grad=True)
    wt = [torch.tensor(w, requires_grad=True) for w in weights]
    bt = [torch.zeros(w.shape[0], requires_grad=True) for w in weights]
    im2col_layers, loop_layers = _layers(weights, "im2col"), _layers(weights, "loop")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            im2col_ms = _best_ms(lambda: _numpy_stack(x, im2col_layers), repeats)
            loop_ms = _best_ms(lambda: _numpy_stack(x, loop_layers), max(3, repeats // 3))
            torch_ms = _best_ms(lambda: _torch_stack(xt, wt, bt), repeats)
    finally:
        torch.set_num_threads(threads)
    ratio = im2col_ms / torch_ms
    shape = f"{BATCH}×1×{size}×{size}, 1→8→16, 3×3"
    return [Row("conv2d vs PyTorch (CPU)", f"im2col / torch, fwd+bwd, {shape}", ratio, "x", "<= 3x", ratio <= 3,
                f"1 thread each, CPU ms: im2col {im2col_ms:.2f}, torch {torch_ms:.2f}, loop {loop_ms:.1f} "
                f"({loop_ms / im2col_ms:.1f}x im2col)")]


def seconds_to_98(device: str, max_epochs: int = 30) -> tuple[float, int, float]:
    """Train DigitsCNN as unit 07 does (Adam 3e-3, batch 64, seed 0), one epoch at a time;
    the training seconds until the test accuracy first reaches 98 %, the epochs, and that accuracy."""
    from coursekit.device import set_seed
    from coursekit.train import cpu_threads, evaluate, train_one_epoch

    (X, y), test = conv.digits_split()
    set_seed(0)
    model = conv.DigitsCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    X, y = X.to(device), y.to(device)
    seconds = 0.0
    with cpu_threads("auto", model, device):
        for epoch in range(1, max_epochs + 1):
            start = time.perf_counter()
            train_one_epoch(model, (X, y), torch.nn.CrossEntropyLoss(), optimizer, device, batch_size=64,
                            generator=generator, threads=None)
            if device != "cpu":
                torch.cuda.synchronize()
            seconds += time.perf_counter() - start
            accuracy = evaluate(model, test)["accuracy"]
            if accuracy >= 0.98:
                return seconds, epoch, accuracy
    return float("inf"), max_epochs, accuracy


def run() -> list[Row]:
    rows = conv_rows(8) + conv_rows(28)
    devices = ["cpu"] + (["cuda"] if cuda_available() else [])
    for device in devices:
        seconds, epochs, accuracy = seconds_to_98(device)
        budget = "<= 20 s" if device == "cpu" else ""
        rows.append(Row("digits CNN (unit 07)", f"seconds of training to 98% test accuracy, {device}", seconds, "s",
                        budget, seconds <= 20 if device == "cpu" else None,
                        f"{epochs} epochs, test accuracy {accuracy:.4f}"))
    from coursekit.widgets.conv import ConvExplorer

    for kwargs, what in (({}, ""), ({"image": "digit", "padding": 1}, " (digit, 8×8 map)")):
        widget = ConvExplorer(**kwargs)
        for row in widget_step_rows(EXPLORER, widget) + cpu_step_rows(EXPLORER, widget):
            row.name += what
            rows.append(row)
    rows += browser_rows()
    return rows


def browser_rows() -> list[Row]:
    """bench_browser's measurement, in a scratch notebook holding the explorer alone."""
    from unittest import mock

    from . import bench_browser

    with mock.patch.object(bench_browser, "WIDGETS", [BROWSER_WIDGET]):
        return bench_browser.run()
