"""Unit 07's figures: the NumPy convolution (im2col, and the loop version) against
PyTorch on the CPU, the digits CNN's time to 98 % test accuracy (and on the GPU
where there is one), and the convolution explorer's step latency on the digit
(an 8×8 map; its default set-up is in ``bench_widgets`` and ``bench_browser``, with
every widget). Both notebooks' times are in ``bench_notebooks``.

The convolution rows time a real two-layer stack, as in a small digits network:
batch 64, 1 → 8 → 16 channels, 3×3 filters with padding 1, forward and backward
through both layers (the input gradient of the second layer feeds the first),
in float32 like PyTorch, on 8×8 and 28×28 images: ``coursekit.conv.Conv2D``
layers (im2col, and the loop version) against ``torch.nn.functional.conv2d`` with
autograd. Both run on one thread (``coursekit.device.cpu_threads(1)``: NumPy's BLAS
and torch): on a shared two-core machine a second thread mostly measures the other
jobs (both libraries' worker threads spin while they wait).
Each figure is the least CPU time of several repeats: for one thread, what the
wall time is on an idle machine.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from coursekit import conv
from coursekit.device import cpu_threads

from . import Row, gpu_devices, no_gpu_row
from .bench_widgets import WidgetSpec, kernel_rows

BATCH, CHANNELS = 64, (1, 8, 16)
# the explorer on a digit with padding 1: an 8×8 map, more windows than the default set-up
DIGIT_EXPLORER = WidgetSpec("convolution explorer (07), digit", "from coursekit.widgets.conv import ConvExplorer\n"
                            "ConvExplorer(image='digit', padding=1)", "position")


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
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, CHANNELS[0], size, size)).astype(np.float32)
    weights = [rng.normal(size=(c_out, c_in, 3, 3)).astype(np.float32) * 0.3
               for c_in, c_out in zip(CHANNELS, CHANNELS[1:])]
    xt = torch.tensor(x, requires_grad=True)
    wt = [torch.tensor(w, requires_grad=True) for w in weights]
    bt = [torch.zeros(w.shape[0], requires_grad=True) for w in weights]
    im2col_layers, loop_layers = _layers(weights, "im2col"), _layers(weights, "loop")
    with cpu_threads(1):   # NumPy's BLAS and torch alike
        im2col_ms = _best_ms(lambda: _numpy_stack(x, im2col_layers), repeats)
        loop_ms = _best_ms(lambda: _numpy_stack(x, loop_layers), max(3, repeats // 3))
        torch_ms = _best_ms(lambda: _torch_stack(xt, wt, bt), repeats)
    ratio = im2col_ms / torch_ms
    shape = f"{BATCH}×1×{size}×{size}, 1→8→16, 3×3"
    return [Row("conv2d vs PyTorch (CPU)", f"im2col / torch, fwd+bwd, {shape}", ratio, "x", "<= 3x", ratio <= 3,
                f"1 thread each, CPU ms: im2col {im2col_ms:.2f}, torch {torch_ms:.2f}, loop {loop_ms:.1f} "
                f"({loop_ms / im2col_ms:.1f}x im2col)")]


def seconds_to_98(device: str, max_epochs: int = 30) -> tuple[float, int, float]:
    """Train DigitsCNN as unit 07 does (Adam 3e-3, batch 64, seed 0), one epoch at a time;
    the training seconds until the test accuracy first reaches 98 %, the epochs, and that accuracy."""
    from coursekit.device import set_seed
    from coursekit.train import evaluate, train_one_epoch

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
    for device in ["cpu"] + gpu_devices():
        seconds, epochs, accuracy = seconds_to_98(device)
        budget = "<= 20 s" if device == "cpu" else ""
        rows.append(Row("digits CNN (unit 07)", f"seconds of training to 98% test accuracy, {device}", seconds, "s",
                        budget, seconds <= 20 if device == "cpu" else None,
                        f"{epochs} epochs, test accuracy {accuracy:.4f}"))
    if not gpu_devices():
        rows.append(no_gpu_row("digits CNN (unit 07)", "seconds of training to 98% test accuracy, cuda"))
    rows += kernel_rows(DIGIT_EXPLORER)
    return rows
