"""Step latency of each step-through widget in the kernel (state update + redraw + the PNG frame).

Two figures per widget: wall time (what a student waits for, inflated on a
busy machine) and the kernel's CPU time (what the widget costs; the budget is
judged on it where other work shares the cores). The browser's side, from the
click to the new frame on the canvas, is in ``bench_browser.py``.
"""
from __future__ import annotations

import importlib
import statistics
import time

from . import Row, widget_step_rows

# (group, module, class, constructor arguments)
WIDGETS = [
    ("PLA stepper", "coursekit.widgets.pla", "PLAStepper", {"dataset": "noisy", "algorithm": "pocket"}),
    ("GD explorer", "coursekit.widgets.gd", "GDExplorer", {}),
]
STEPS = 60


def cpu_step_rows(group: str, widget, n: int = STEPS) -> list[Row]:
    """CPU time of a click on Step (with Reset at the end), as widget_step_rows measures wall time."""
    canvas = widget.fig.canvas
    samples = []
    for _ in range(n + 3):
        if widget.index >= widget.last_index:
            widget.reset()
        start = time.process_time()
        widget.step_button.click()
        canvas.get_diff_image()
        samples.append((time.process_time() - start) * 1000)
    samples = samples[3:]
    median, worst = statistics.median(samples), max(samples)
    return [Row(group, "widget step CPU, median", median, "ms", "<= 50 ms", median <= 50),
            Row(group, "widget step CPU, worst", worst, "ms", "<= 150 ms", worst <= 150, f"over {n} steps")]


def run() -> list[Row]:
    rows = []
    for group, module, cls, kwargs in WIDGETS:
        widget = getattr(importlib.import_module(module), cls)(**kwargs)
        rows += widget_step_rows(group, widget, n=STEPS)
        rows += cpu_step_rows(group, widget)
    return rows
