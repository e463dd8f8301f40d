"""Click-to-redraw latency of Step in the browser, for every step-through widget.

Measured in headless Chromium on JupyterLab (the set-up of the browser tests,
``tests/browser_util.py``): in the page, from the click on Step to the first
new frame drawn on the widget's canvas; that is the kernel's step, the frame's
trip over the websocket and the page's decoding and drawing together. The
widgets are built as in ``bench_widgets.py`` (the kernel rows), in a scratch
notebook, so the figures do not depend on a unit's other cells.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from . import Row

# (group, code that builds the widget as the notebook's last cell, text its step counter shows at step 0)
WIDGETS = [
    ("PLA stepper", "from coursekit.widgets.pla import PLAStepper\n"
                    "PLAStepper(dataset='noisy', algorithm='pocket')", "update 0 / "),
    ("GD explorer", "from coursekit.widgets.gd import GDExplorer\nGDExplorer()", "step 0 / "),
]
CLICKS = 25
WARMUP = 3
BUDGET_MEDIAN_MS, BUDGET_WORST_MS = 50.0, 150.0


def _skipped(reason: str) -> list[Row]:
    return [Row(group, "browser Step click -> canvas, median", float("nan"), "ms", f"<= {BUDGET_MEDIAN_MS:g} ms",
                None, f"not measured: {reason}") for group, _, _ in WIDGETS]


def _scratch_notebook(folder: Path) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(code) for _, code, _ in WIDGETS]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "bench_widgets.ipynb")
    return "bench_widgets.ipynb"


def _measure(B, page, widget) -> tuple[list[float], list[float]]:
    """Click Step CLICKS times (Reset when at the end); for each click the time to the new
    frame on the canvas, and the part of it spent in the page after the frame arrived."""
    B.wait_for_canvas_image(page, B.canvas(widget))
    total, in_page = [], []
    while len(total) < CLICKS + WARMUP:
        index, last = B.step_label(widget)
        if index >= last:
            B.click_button(widget, "Reset")
            B.wait_for_step(page, widget, 0)
            continue
        elapsed, arrived = B.click_to_canvas(widget, "Step")
        B.wait_for_step(page, widget, index + 1)  # the kernel is done with this click
        page.wait_for_timeout(50)
        total.append(elapsed)
        in_page.append(elapsed - arrived if arrived is not None else float("nan"))
    return total[WARMUP:], in_page[WARMUP:]


def run() -> list[Row]:
    try:
        return _run()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # the browser helpers fail through pytest's outcome exceptions
        raise RuntimeError(f"browser latency benchmark failed: {err}") from err


def _run() -> list[Row]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import browser_util as B

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return _skipped("Playwright is not installed")
    if not B.CHROMIUM.exists():
        return _skipped(f"no Chromium at {B.CHROMIUM}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        name = _scratch_notebook(tmp / "notebooks")
        with B.jupyterlab(tmp / "lab", notebooks=tmp / "notebooks", release=False) as server, sync_playwright() as playwright:
            browser = B.launch_chromium(playwright)
            try:
                page = B.new_page(browser)
                B.open_notebook(page, server, name)
                B.assert_ran_cleanly(page, B.run_all_cells(page))
                for group, _, marker in WIDGETS:
                    widget = B.widget_output(page, marker)
                    widget.scroll_into_view_if_needed()
                    samples, in_page = _measure(B, page, widget)
                    median, worst = statistics.median(samples), max(samples)
                    note = f"over {len(samples)} clicks, Chromium {browser.version}"
                    rows += [Row(group, "browser Step click -> canvas, median", median, "ms",
                                 f"<= {BUDGET_MEDIAN_MS:g} ms", median <= BUDGET_MEDIAN_MS, note),
                             Row(group, "browser Step click -> canvas, worst", worst, "ms",
                                 f"<= {BUDGET_WORST_MS:g} ms", worst <= BUDGET_WORST_MS, note),
                             Row(group, "  of it in the page (decode + draw), median", statistics.median(in_page),
                                 "ms", note="the rest: kernel step and websocket round trip")]
            finally:
                browser.close()
    return rows
