"""Each notebook's execution time, top to bottom in a fresh kernel, as shipped: wall time (kernel start
included; inflated when other work shares the cores) and the kernel's CPU time (user + system, all
threads: what the notebook costs, the budget's measure on a shared machine). Every unit's notebook
figures are these rows."""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import Row

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
BUDGET_S = 60


def time_notebook(path: Path) -> tuple[float, float]:
    """(wall seconds, kernel CPU seconds) of running the notebook top to bottom."""
    import psutil

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        process = psutil.Process(client.km.provisioner.process.pid)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        cpu = process.cpu_times()
    return time.perf_counter() - start, cpu.user + cpu.system


def run() -> list[Row]:
    rows, total_wall, total_cpu = [], 0.0, 0.0
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        wall, cpu = time_notebook(path)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        rows += [Row("notebooks", f"{path.name}, wall (kernel start included)", wall, "s", f"<= {BUDGET_S} s",
                     wall <= BUDGET_S),
                 Row("notebooks", f"{path.name}, kernel CPU", cpu, "s", f"<= {BUDGET_S} s", cpu <= BUDGET_S)]
    rows += [Row("notebooks", "whole workbook, wall", total_wall, "s"),
             Row("notebooks", "whole workbook, kernel CPU", total_cpu, "s")]
    return rows
