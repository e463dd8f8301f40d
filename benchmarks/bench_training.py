"""Unit 06: the network playground's epoch + redraw, seconds per epoch of the notebook's digits experiments,
the unit-06 notebook's kernel CPU time, and (when the browser test has run) click-to-pixels in JupyterLab.

The playground row is what one tick of Play costs in the kernel at 500 points and 2 × 8 units: one epoch of
training (25 mini-batches of 10) and its evaluation, the redraw (blitted) and the PNG frame ipympl sends.
Times are wall-clock medians (the benchmark table's convention) with the CPU time beside them in the note.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import nbformat
import numpy as np
import torch
from nbclient import NotebookClient
from torch import nn

from coursekit import datasets, deepnets, get_device, train as T
from coursekit import playground as P
from coursekit.widgets.playground import NetworkPlayground

from . import Row

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "06_training_deep_networks.ipynb"
BROWSER_TIMINGS = ROOT / "test-artifacts" / "browser_06_timings.json"
PLAYGROUND = P.PlaygroundConfig(dataset="spiral", n_points=500, features=("x1", "x2", "sin x1", "sin x2"),
                                hidden=(8, 8), activation="relu", optimizer="adam", lr=0.03, batch_size=10)


def _timed(action, n: int):
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def playground_rows(n: int = 60) -> list[Row]:
    widget = NetworkPlayground(PLAYGROUND)
    canvas = widget.fig.canvas
    canvas._handle_message(canvas, {"type": "initialized"}, [])   # as with a connected browser
    canvas.draw()

    def tick():
        widget.step_button.click()
        canvas.get_diff_image()

    for _ in range(3):
        tick()
    wall, cpu = _timed(tick, n)
    median, worst, cpu_median = statistics.median(wall), max(wall), statistics.median(cpu)
    note = f"{n} epochs of 250 training points in batches of 10, each with its redraw and PNG frame"
    return [Row("playground", "epoch + redraw, median (wall)", median, "ms", "<= 100 ms", median <= 100, note),
            Row("playground", "epoch + redraw, median (kernel CPU)", cpu_median, "ms", "<= 100 ms", cpu_median <= 100,
                "the fair measure on a shared machine"),
            Row("playground", "epoch + redraw, worst (wall)", worst, "ms", "", None,
                "includes the full redraws when the epoch axis doubles")]


def digits_rows(device) -> list[Row]:
    """Seconds per epoch of the notebook's two set-ups and its deepest network."""
    X_train, _, y_train, _ = datasets.load_digits()
    setups = [
        ("set-up A: 2×100 sigmoid, batch 20", lambda: deepnets.mlp(64, [100, 100], 10, activation="sigmoid",
                                                                           init="xavier_uniform"), X_train, y_train, 20),
        ("set-up A: 9×100 ReLU, batch 20",
         lambda: deepnets.mlp(64, [100] * 9, 10, activation="relu", init="xavier_uniform"), X_train, y_train, 20),
        ("set-up B: 200 digits, 2×256 ReLU, batch 32", lambda: deepnets.mlp(64, [256, 256], 10),
         X_train[:200], y_train[:200], 32),
    ]
    rows = []
    for label, make, X, y, batch in setups:
        model = make()
        cpu0 = time.process_time()
        history = T.train(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                          epochs=5, batch_size=batch, device=device, progress=False)
        cpu = (time.process_time() - cpu0) / 5
        rows.append(Row(f"digits ({device.type})", label, float(np.median(history.seconds)), "s/epoch",
                        note=f"CPU {cpu:.3f} s per epoch"))
    return rows


def notebook_rows() -> list[Row]:
    """The unit-06 notebook top to bottom in a fresh kernel: wall time and the kernel's CPU time."""
    import psutil

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        process = psutil.Process(client.km.provisioner.process.pid)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        times = process.cpu_times()
    wall = time.perf_counter() - start
    cpu = times.user + times.system
    return [Row("notebook 06", "kernel CPU time, top to bottom", cpu, "s", "<= 50 s (2 idle cores)", cpu <= 50,
                f"wall {wall:.1f} s on this machine, kernel start included")]


def browser_rows() -> list[Row]:
    if not BROWSER_TIMINGS.exists():
        return [Row("playground, browser", "click Step to new pixels", float("nan"), "ms",
                    note="run tests/test_browser_06.py (COURSEKIT_BROWSER_TESTS=1) to measure")]
    data = json.loads(BROWSER_TIMINGS.read_text())
    return [Row("playground, browser", "click Step to new pixels, median", data["median_ms"], "ms",
                note=f"{len(data['click_to_pixels_ms'])} clicks, measured by tests/test_browser_06.py at "
                     f"{data['measured']}; {data['epochs_in_2s_of_play']} epochs in 2 s of Play")]


def run() -> list[Row]:
    rows = playground_rows()
    rows += digits_rows(torch.device("cpu"))
    device = get_device()
    if device.type != "cpu":
        rows += digits_rows(device)
    rows += notebook_rows()
    rows += browser_rows()
    return rows
