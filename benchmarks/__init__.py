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


NO_GPU = "no GPU here"


def gpu_devices() -> list[str]:
    """The GPU devices to measure on: ["cuda"] where torch sees one, else none."""
    import torch

    return ["cuda"] if torch.cuda.is_available() else []


def no_gpu_row(group: str, name: str, unit: str = "s", budget: str = "") -> Row:
    """The row of a GPU figure on a machine without a GPU: printed, so the table shows it is missing."""
    return Row(group, name, float("nan"), unit, budget, None, NO_GPU)


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
