"""Each notebook's execution time, top to bottom in a fresh kernel, as shipped."""
from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import Row

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def time_notebook(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run() -> list[Row]:
    rows, total = [], 0.0
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        seconds = time_notebook(path)
        total += seconds
        rows.append(Row("notebooks", f"{path.name} (kernel start included)", seconds, "s", "<= 60 s", seconds <= 60))
    rows.append(Row("notebooks", "whole workbook", total, "s", "<= 480 s", total <= 480))
    return rows
