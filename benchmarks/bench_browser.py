"""Click-to-redraw latency of every widget in the browser.

Measured in headless Chromium on JupyterLab (the set-up of the browser tests,
``tests/browser_util.py``): in the page, from the click on a widget's button (Step,
or a preset) to the first new frame drawn on the widget's canvas; that is the
kernel's step, the frame's trip over the websocket and the page's decoding and
drawing together. ``run(widgets)`` takes :class:`bench_widgets.WidgetSpec` entries
(default: all of :data:`bench_widgets.WIDGETS`, the list whose kernel side
``bench_widgets`` measures) and builds them in one scratch notebook, one cell each,
so the figures do not depend on a unit's other cells.
"""
from __future__ import annotations

import re
import statistics
import sys
import tempfile
from pathlib import Path

from . import Row
from .bench_widgets import WIDGETS, WidgetSpec

CLICKS = 25
WARMUP = 3
BUDGET_MEDIAN_MS, BUDGET_WORST_MS = 50.0, 150.0   # the default budget (a spec may carry its own)
NAME = "browser {what}: click -> canvas"


def _skipped(widgets: list[WidgetSpec], reason: str) -> list[Row]:
    return [Row(spec.group, NAME.format(what=spec.what) + ", median", float("nan"), "ms",
                f"<= {spec.median_ms:g} ms", None, f"not measured: {reason}") for spec in widgets]


def _scratch_notebook(folder: Path, widgets: list[WidgetSpec]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(spec.code) for spec in widgets]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "bench_widgets.ipynb")
    return "bench_widgets.ipynb"


def _counter_area(widget):
    """The widget's step counter (the base classes' ``.coursekit-counter``), else all its text."""
    counter = widget.locator(".coursekit-counter")
    return counter.first if counter.count() else widget


def _counter(widget, noun: str) -> tuple[int, int | None]:
    """(step, last step or None) from the widget's counter: "step 3 / 40", "epoch 3", "step 3 (D steps 3)"."""
    match = re.search(rf"\b{re.escape(noun)} (\d+)(?: / (\d+))?", _counter_area(widget).inner_text())
    return int(match.group(1)), None if match.group(2) is None else int(match.group(2))


def _wait_for_step(B, page, widget, noun: str, index: int) -> None:
    B.wait_for_text(page, _counter_area(widget), re.compile(rf"\b{re.escape(noun)} {index}(?!\d)"))


def _outputs(B, page, widgets: list[WidgetSpec]) -> list:
    """Each widget's output area, in the order of the cells (the n-th output that holds a widget's
    figure is the n-th widget: cells print nothing else with a canvas)."""
    figures = page.locator(B.OUTPUTS).filter(has=page.locator(".jupyter-matplotlib-canvas-div"))
    figures.nth(len(widgets) - 1).wait_for(state="visible", timeout=B.WIDGET_TIMEOUT_MS)
    if figures.count() != len(widgets):
        raise RuntimeError(f"{figures.count()} widget outputs on the page, {len(widgets)} widgets built")
    return [figures.nth(i) for i in range(len(widgets))]


def _measure(B, page, widget, spec: WidgetSpec) -> tuple[list[float], list[float]]:
    """Click CLICKS times (Reset when at the end of a trace); for each click the time to the new
    frame on the canvas, and the part of it spent in the page after the frame arrived."""
    B.wait_for_canvas_image(page, B.canvas(widget))
    first = _counter(widget, spec.noun)[0] if spec.noun is not None else None   # what step 0 shows (1 for stages)
    total, in_page = [], []
    while len(total) < CLICKS + WARMUP:
        if spec.noun is not None:
            index, last = _counter(widget, spec.noun)
            if last is not None and index >= last:
                B.click_button(widget, "Reset")
                _wait_for_step(B, page, widget, spec.noun, first)
                continue
        elapsed, arrived = B.click_to_canvas(widget, spec.clicks[len(total) % len(spec.clicks)])
        if spec.noun is not None:
            _wait_for_step(B, page, widget, spec.noun, index + 1)  # the kernel is done with this click
        page.wait_for_timeout(50 if spec.noun is not None else 150)
        total.append(elapsed)
        in_page.append(elapsed - arrived if arrived is not None else float("nan"))
    return total[WARMUP:], in_page[WARMUP:]


def _rows(spec: WidgetSpec, samples: list[float], in_page: list[float], note: str) -> list[Row]:
    median, worst = statistics.median(samples), max(samples)
    name = NAME.format(what=spec.what)
    return [Row(spec.group, f"{name}, median", median, "ms", f"<= {spec.median_ms:g} ms", median <= spec.median_ms,
                note),
            Row(spec.group, f"{name}, worst", worst, "ms", f"<= {spec.worst_ms:g} ms", worst <= spec.worst_ms, note),
            Row(spec.group, "  of it in the page (decode + draw), median", statistics.median(in_page), "ms",
                note="the rest: kernel step and websocket round trip")]


def run(widgets: list[WidgetSpec] | None = None) -> list[Row]:
    """The browser rows of ``widgets`` (default: every widget of the workbook)."""
    widgets = list(WIDGETS if widgets is None else widgets)
    try:
        return _run(widgets)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # the browser helpers fail through pytest's outcome exceptions
        raise RuntimeError(f"browser latency benchmark failed: {err}") from err


def _run(widgets: list[WidgetSpec]) -> list[Row]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import browser_util as B

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return _skipped(widgets, "Playwright is not installed")
    if not B.CHROMIUM.exists():
        return _skipped(widgets, f"no Chromium at {B.CHROMIUM}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        name = _scratch_notebook(tmp / "notebooks", widgets)
        with B.jupyterlab(tmp / "lab", notebooks=tmp / "notebooks", release=False) as server, \
                sync_playwright() as playwright:
            browser = B.launch_chromium(playwright)
            try:
                page = B.new_page(browser)
                B.open_notebook(page, server, name)
                B.assert_ran_cleanly(page, B.run_all_cells(page))
                for spec, widget in zip(widgets, _outputs(B, page, widgets)):
                    widget.scroll_into_view_if_needed()
                    samples, in_page = _measure(B, page, widget, spec)
                    rows += _rows(spec, samples, in_page, f"over {len(samples)} clicks, Chromium {browser.version}")
            finally:
                browser.close()
    return rows
