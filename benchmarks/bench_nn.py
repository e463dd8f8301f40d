"""Units 04/05: the NumPy MLP against PyTorch, the training loop on the digits, and the two widgets.

* forward + backward of a 64-256-256-10 ReLU MLP on a batch of 256 with softmax
  cross-entropy: coursekit.nn (NumPy, float64) vs the same network in PyTorch on
  the CPU (float64, and float32 for reference); the budget is a ratio <= 3x;
* coursekit.train's seconds per epoch on the digits (a 64-64-10 MLP, batch 32,
  Adam): on the CPU with the "auto" thread setting and with torch's own, and on
  a GPU where one is lent;
* the step latency of the backprop graph stepper (a Step click) and of the
  softmax explorer (a slider move), in the kernel, frame encoding included.
(Both notebooks' run times are rows of bench_notebooks.)
"""
from __future__ import annotations

import numpy as np
import torch

from coursekit import datasets, nn, set_seed
from coursekit import train as T

from . import Row, latency_ms, widget_step_rows

SIZES = [64, 256, 256, 10]
BATCH = 256


def _mlp_rows() -> list[Row]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], BATCH)
    model = nn.mlp(SIZES, "relu", rng=0)

    def ours():
        out, caches = model.forward(X)
        _, dout = nn.softmax_cross_entropy(out, y)
        model.backward(dout, caches)

    rows = []
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
        rows.append(Row("NumPy MLP (64-256-256-10, batch 256)", f"forward + backward / torch {name} on CPU", ratio,
                        "x", "<= 3x" if budget else "", (ratio <= 3) if budget else None,
                        f"{ours_ms:.2f} ms vs {torch_ms:.2f} ms ({torch.get_num_threads()} torch threads)"))
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
    rows = [Row(group, "seconds per epoch, CPU, threads='auto' (1 thread)", _epoch_seconds("cpu", "auto"), "s"),
            Row(group, f"seconds per epoch, CPU, torch's {torch.get_num_threads()} threads",
                _epoch_seconds("cpu", None), "s", note="the setting 'auto' replaces for small models")]
    if torch.cuda.is_available():
        rows.append(Row(group, "seconds per epoch, CUDA", _epoch_seconds("cuda", None), "s"))
    return rows


def _softmax_rows() -> list[Row]:
    from coursekit.widgets.softmax import SoftmaxExplorer

    widget = SoftmaxExplorer()
    canvas = widget.fig.canvas
    canvas._handle_message(canvas, {"type": "initialized"}, [])   # as with a browser attached
    canvas.draw()
    values = iter(np.tile(np.linspace(-3, 6, 25), 10))

    def move():
        widget.sliders[0].value = float(next(values))
        canvas.get_diff_image()

    median, worst = latency_ms(move, n=60)
    return [Row("softmax explorer", "slider move, median", median, "ms", "<= 50 ms", median <= 50),
            Row("softmax explorer", "slider move, worst", worst, "ms", "<= 150 ms", worst <= 150, "over 60 moves")]


def run() -> list[Row]:
    from coursekit.widgets.backprop import BackpropStepper

    return (_mlp_rows() + _train_rows()
            + widget_step_rows("backprop graph stepper (2-2-1 network)", BackpropStepper("2-2-1 network, squared error"))
            + _softmax_rows())
