"""Units 04/05: the NumPy MLP against PyTorch, the training loop on the digits, the softmax explorer's slider.

* forward + backward of a 64-256-256-10 ReLU MLP on a batch of 256 with softmax
  cross-entropy: coursekit.nn (NumPy, float64) vs the same network in PyTorch on
  the CPU (float64, and float32 for reference); the budget is a ratio <= 3x;
* coursekit.train's seconds per epoch on the digits (a 64-64-10 MLP, batch 32,
  Adam): on the CPU with the "auto" thread setting and with torch's own, and on
  a GPU where one is lent;
* the softmax explorer's slider move in the kernel (wall and CPU time, frame
  encoding included).
The step latency of the backprop graph stepper (a Step click) and of the softmax
explorer (a preset click), in the kernel and in the browser, is measured with every
widget by bench_widgets and bench_browser. (Both notebooks' run times are rows of
bench_notebooks.)
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from coursekit import datasets, nn, set_seed
from coursekit import train as T
from coursekit.device import cpu_threads

from . import Row, gpu_devices, latency_ms, no_gpu_row

SIZES = [64, 256, 256, 10]
BATCH = 256


def _mlp_rows() -> list[Row]:
    """NumPy (OpenBLAS) vs torch, forward + backward: with each library's default threads, and with one
    thread each (on a shared machine, waiting BLAS / OpenMP threads spin and the default is the noisier)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], BATCH)
    model = nn.mlp(SIZES, "relu", rng=0)

    def ours():
        out, caches = model.forward(X)
        _, dout = nn.softmax_cross_entropy(out, y)
        model.backward(dout, caches)

    rows = []
    default_threads = torch.get_num_threads()
    for threads in (None, 1):
        with cpu_threads(threads):   # NumPy's BLAS and torch alike (None: as they are)
            ours_ms, _ = latency_ms(ours, n=40)
            for dtype in (torch.float64, torch.float32):
                net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                          torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(dtype)
                Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y)

                def theirs():
                    net.zero_grad(set_to_none=True)
                    torch.nn.functional.cross_entropy(net(Xt), yt).backward()

                torch_ms, _ = latency_ms(theirs, n=40)
                name = str(dtype).replace("torch.", "")
                ratio = ours_ms / torch_ms
                budget = dtype == torch.float64   # the like-for-like comparison carries the budget
                where = "1 thread each" if threads else f"default threads (torch {default_threads})"
                rows.append(Row("NumPy MLP (64-256-256-10, batch 256)",
                                f"fwd + bwd / torch {name}, {where}", ratio, "x",
                                "<= 3x" if budget else "", (ratio <= 3) if budget else None,
                                f"{ours_ms:.2f} ms vs {torch_ms:.2f} ms"))
    return rows


def _epoch_seconds(device: str, threads) -> float:
    Xtr, _, ytr, _ = datasets.load_digits(as_torch=True)
    set_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    history = T.train(model, (Xtr, ytr), torch.nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 1e-3),
                      epochs=8, batch_size=32, progress=False, device=device, threads=threads)
    return float(np.median(history.seconds[1:]))   # the first epoch warms up


def _train_rows() -> list[Row]:
    group = "coursekit.train on the digits (64-64-10, batch 32, Adam)"
    _epoch_seconds("cpu", "auto")   # warm-up: the data set's first load and torch's first steps are not a setting's cost
    rows = [Row(group, "seconds per epoch, CPU, threads='auto' (1 thread)", _epoch_seconds("cpu", "auto"), "s"),
            Row(group, f"seconds per epoch, CPU, torch's {torch.get_num_threads()} threads",
                _epoch_seconds("cpu", None), "s", note="the setting 'auto' replaces for small models")]
    for device in gpu_devices():
        rows.append(Row(group, f"seconds per epoch, {device}", _epoch_seconds(device, None), "s"))
    if not gpu_devices():
        rows.append(no_gpu_row(group, "seconds per epoch, cuda"))
    return rows


def _fit_seconds(policy: bool) -> tuple[float, float]:
    """Wall and CPU seconds of coursekit.nn.fit on the digits (64-128-10 ReLU, batch 64, 500 Adam steps),
    under the workbook's thread policy (one BLAS thread) or, ``policy=False``, with NumPy's own threads."""
    from contextlib import nullcontext
    from unittest import mock

    from coursekit import optim

    Xtr, _, ytr, _ = datasets.load_digits()
    model = nn.mlp([64, 128, 10], "relu", rng=0)
    off = mock.patch.object(nn, "cpu_threads", lambda *args, **kwargs: nullcontext())
    with nullcontext() if policy else off:
        w0, c0 = time.perf_counter(), time.process_time()
        nn.fit(model, Xtr, ytr, optimizer=optim.Adam(1e-3), steps=500, batch_size=64)
        return time.perf_counter() - w0, time.process_time() - c0


def _fit_rows() -> list[Row]:
    """The thread policy on NumPy code (coursekit.device.cpu_threads): BLAS threads, one vs the default."""
    from threadpoolctl import threadpool_info

    group = "thread policy: coursekit.nn.fit, digits"
    blas = max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=1)
    rows = []
    for policy, label in ((True, "1 BLAS thread (policy)"), (False, f"NumPy's {blas} BLAS threads")):
        wall, cpu = _fit_seconds(policy)
        rows += [Row(group, f"500 steps, {label}, wall", wall, "s"),
                 Row(group, f"500 steps, {label}, CPU", cpu, "s")]
    return rows


def _softmax_rows() -> list[Row]:
    from coursekit.widgets.softmax import SoftmaxExplorer

    widget = SoftmaxExplorer()
    canvas = widget.fig.canvas
    canvas._handle_message(canvas, {"type": "initialized"}, [])   # as with a browser attached
    canvas.draw()
    values = iter(np.tile(np.linspace(-3, 6, 25), 10))
    cpu = []

    def move():
        start = time.process_time()
        widget.sliders[0].value = float(next(values))
        canvas.get_diff_image()
        cpu.append((time.process_time() - start) * 1000)

    median, worst = latency_ms(move, n=60)
    cpu = cpu[3:]
    group = "softmax explorer"
    return [Row(group, "slider move, median", median, "ms", "<= 50 ms", median <= 50),
            Row(group, "slider move, worst", worst, "ms", "<= 150 ms", worst <= 150, "over 60 moves"),
            Row(group, "slider move CPU, median", statistics.median(cpu), "ms", "<= 50 ms",
                statistics.median(cpu) <= 50),
            Row(group, "slider move CPU, worst", max(cpu), "ms", "<= 150 ms", max(cpu) <= 150, "over 60 moves")]


def run() -> list[Row]:
    return _mlp_rows() + _train_rows() + _fit_rows() + _softmax_rows()
