"""The workbook's performance table: ``make bench`` (``python -m benchmarks``).

Each ``bench_*.py`` module has ``run() -> list[Row]``. Figures are measured on
the machine that runs the command and reported, never asserted in the tests.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass


@dataclass
class Row:
    group: str
    name: str
    value: float
    unit: str
    budget: str = ""  # the target from design.md, as text
    ok: bool | None = None  # whether the value meets the budget (None: no budget)
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def latency_ms(action, n: int = 60, warmup: int = 3) -> tuple[float, float]:
    """Median and worst wall time of ``action()`` over ``n`` calls, in ms."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def widget_step_rows(group: str, widget, n: int = 60) -> list[Row]:
    """Step latency of a step-through widget: state update + redraw + the PNG frame.

    One full draw first, as when the browser first shows the widget; then each
    step is what a click on Step costs in the kernel: the new state, the
    blitted redraw, and the PNG image ipympl sends to the browser (at a device
    pixel ratio of 1; a HiDPI screen asks for 4 times the pixels).
    """
    canvas = widget.fig.canvas
    # What a connected browser says first: from then on ipympl sends only the
    # frames (without a front-end it also keeps a second PNG, for static export).
    canvas._handle_message(canvas, {"type": "initialized"}, [])
    canvas.draw()

    def one_step():
        if widget.index >= widget.last_index:
            widget.reset()
        widget.step_button.click()
        canvas.get_diff_image()  # encodes the frame unless the blit already did

    median, worst = latency_ms(one_step, n=n)
    return [
        Row(group, "widget step, median", median, "ms", "<= 50 ms", median <= 50),
        Row(group, "widget step, worst", worst, "ms", "<= 150 ms", worst <= 150, f"over {n} steps"),
    ]
