"""Units 04/05: the NumPy MLP against PyTorch, the training loop on the digits, and the two widgets.

* forward + backward of a 64-256-256-10 ReLU MLP on a batch of 256 with softmax
  cross-entropy: coursekit.nn (NumPy, float64) vs the same network in PyTorch on
  the CPU (float64, and float32 for reference); the budget is a ratio <= 3x;
* coursekit.train's seconds per epoch on the digits (a 64-64-10 MLP, batch 32,
  Adam): on the CPU with the "auto" thread setting and with torch's own, and on
  a GPU where one is lent;
* the step latency of the backprop graph stepper (a Step click) and of the
  softmax explorer (a slider move), in the kernel (wall and CPU time, frame
  encoding included), and in the browser: from a click (Step; a preset button)
  to the new frame on the canvas, with the helpers of bench_browser.py.
(Both notebooks' run times are rows of bench_notebooks.)
"""
from __future__ import annotations

import numpy as np
import torch

import statistics
import sys
import tempfile
import time
from pathlib import Path

from coursekit import datasets, nn, set_seed
from coursekit import train as T
from coursekit.device import cpu_threads

from . import Row, latency_ms, widget_step_rows
from .bench_browser import BUDGET_MEDIAN_MS, BUDGET_WORST_MS, CLICKS, WARMUP, _measure
from .bench_widgets import cpu_step_rows

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


BROWSER_CELLS = ["from coursekit.widgets.backprop import BackpropStepper\n"
                 "BackpropStepper('2-2-1 network, squared error')",
                 "from coursekit.widgets.softmax import SoftmaxExplorer\nSoftmaxExplorer()"]


def _browser_rows() -> list[Row]:
    """Click to new frame in JupyterLab + Chromium (the set-up of bench_browser.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    try:
        import nbformat
        from playwright.sync_api import sync_playwright

        import browser_util as B
    except ImportError as err:
        return [Row("units 04/05 widgets", "browser click -> canvas", float("nan"), "ms", note=f"not measured: {err}")]
    if not B.CHROMIUM.exists():
        return [Row("units 04/05 widgets", "browser click -> canvas", float("nan"), "ms",
                    note=f"not measured: no Chromium at {B.CHROMIUM}")]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notebooks"
        folder.mkdir()
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(code) for code in BROWSER_CELLS]
        nbformat.write(nb, folder / "bench_0405.ipynb")
        with B.jupyterlab(Path(tmp) / "lab", notebooks=folder) as server, sync_playwright() as playwright:
            browser = B.launch_chromium(playwright)
            try:
                page = B.new_page(browser)
                B.open_notebook(page, server, "bench_0405.ipynb")
                B.assert_ran_cleanly(page, B.run_all_cells(page))
                note = f"Chromium {browser.version}"
                stepper = B.widget_output(page, B.STEP_LABEL)
                stepper.scroll_into_view_if_needed()
                samples, _ = _measure(B, page, stepper)
                rows += _click_rows("backprop graph stepper (2-2-1 network)", "browser Step click -> canvas", samples,
                                    f"over {len(samples)} clicks, {note}")
                explorer = B.widget_output(page, "softmax(z / T) at T")
                explorer.scroll_into_view_if_needed()
                B.wait_for_canvas_image(page, B.canvas(explorer))
                samples = []
                for k in range(CLICKS + WARMUP):
                    elapsed, _ = B.click_to_canvas(explorer, ("equal", "deck 000")[k % 2])
                    page.wait_for_timeout(150)
                    samples.append(elapsed)
                rows += _click_rows("softmax explorer", "browser preset click -> canvas", samples[WARMUP:],
                                    f"over {CLICKS} clicks, {note}")
            finally:
                browser.close()
    return rows


def _click_rows(group: str, name: str, samples: list[float], note: str) -> list[Row]:
    median, worst = statistics.median(samples), max(samples)
    return [Row(group, f"{name}, median", median, "ms", f"<= {BUDGET_MEDIAN_MS:g} ms", median <= BUDGET_MEDIAN_MS,
                note),
            Row(group, f"{name}, worst", worst, "ms", f"<= {BUDGET_WORST_MS:g} ms", worst <= BUDGET_WORST_MS, note)]


def run() -> list[Row]:
    from coursekit.widgets.backprop import BackpropStepper

    group = "backprop graph stepper (2-2-1 network)"
    stepper = BackpropStepper("2-2-1 network, squared error")
    wall = widget_step_rows(group, stepper)   # attaches the canvas as a browser would, then steps
    return _mlp_rows() + _train_rows() + wall + cpu_step_rows(group, stepper) + _softmax_rows() + _browser_rows()
