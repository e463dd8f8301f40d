"""Unit 06 in real JupyterLab: run the notebook, play the network playground for two seconds, see it train.

Opens the student version of ``06_training_deep_networks.ipynb`` in headless Chromium at 1280×800 with the
file browser open, runs all cells (every check says "not attempted yet"), presses Play on the playground for
two seconds and then Pause, and checks that the epoch counter advanced, the decision surface was redrawn, every
output fits its area, static figures are images, and no widget or console error appeared. It times clicks on
Step until the new frame is on the canvas (click-to-pixels), saves screenshots and the timings to
``test-artifacts/`` (``benchmarks/bench_training.py`` reports the timings; nothing here asserts a time).
Then the notebook is saved, its kernel shut down and the page reloaded: the playground shows the picture of
its last epoch (not the epoch before) and says to run the cell (``check_reopened``, which also tells
JupyterLab's restore race from a lost widget state).

Run with ``COURSEKIT_BROWSER_TESTS=1`` to make it mandatory (see conftest.py).
"""
from __future__ import annotations

import json
import statistics
import time

import pytest

from browser_util import (ARTIFACTS, OUTPUTS, WIDGET_TIMEOUT_MS, assert_no_console_errors, assert_no_widget_errors,
                          canvas, canvas_pixels, check_reopened, click_button, click_to_canvas_ms, counter_pattern,
                          run_unit, save_screenshot, scroll_to, step_label, wait_for_canvas_image, wait_for_new_pixels,
                          wait_for_step)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "06_training_deep_networks.ipynb"
TIMINGS = ARTIFACTS / "browser_06_timings.json"
STATIC_FIGURES = 6
#: the playground's counter: "epoch 12"
EPOCH = counter_pattern("epoch")


def epoch_shown(widget) -> int:
    return step_label(widget, "epoch")[0]


_JS_SCROLL_TO_WIDGET = """
async () => {
  // JupyterLab renders cells far outside the window lazily: bring the widget's cell into view first
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const cells = notebook.model.cells;
  for (let i = cells.length - 1; i >= 0; i--) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      if ('application/vnd.jupyter.widget-view+json' in (cell.outputs.get(j).toJSON().data || {})) {
        await notebook.scrollToCell(notebook.widgets[i], 'start');
        return i;
      }
    }
  }
  return -1;
}
"""


def playground(page):
    """The playground's output: the one with the "epoch" counter and an optimizer choice offering Adam."""
    assert page.evaluate(_JS_SCROLL_TO_WIDGET) >= 0, "no widget output in the notebook"
    widget = page.locator(OUTPUTS).filter(has=page.locator(".coursekit-counter", has_text=EPOCH)).filter(
        has=page.locator("select").filter(has=page.locator("option", has_text="Adam"))).first
    widget.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    widget.scroll_into_view_if_needed()
    return widget


def test_network_playground_in_jupyterlab(page, jupyterlab_server):
    state = run_unit(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES)

    widget = playground(page)
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert epoch_shown(widget) == 0, "the playground should start at epoch 0"

    # Play for two seconds, then Pause: it trains epoch after epoch, and the picture changes
    click_button(widget, "Play")
    page.wait_for_timeout(2000)
    click_button(widget, "Pause")
    page.wait_for_timeout(500)   # the last tick's frame
    played = epoch_shown(widget)
    assert played >= 2, f"two seconds of Play trained only {played} epochs"
    pixels = wait_for_new_pixels(page, figure, pixels)
    message = widget.locator(".coursekit-message").first.inner_text()
    assert f"epoch {played}:" in message and "test loss" in message, message
    # the playground is taller than a 1280×800 window: the screenshot shows all of its figure, with the
    # Play/Step row above it (the controls above that row are scrolled off)
    scroll_to(page, figure, "end")
    save_screenshot(page, "06_network_playground")

    # click-to-pixels: a click on Step until the next epoch's frame is on the canvas
    samples = []
    for k in range(1, 6):
        earlier = canvas_pixels(figure)
        samples.append(click_to_canvas_ms(widget, "Step"))
        wait_for_step(page, widget, played + k, noun="epoch")
    last = wait_for_new_pixels(page, figure, earlier)
    ARTIFACTS.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps({"click_to_pixels_ms": samples, "median_ms": statistics.median(samples),
                                   "epochs_in_2s_of_play": played, "run_all_seconds": state["seconds"],
                                   "measured": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    print(f"click-to-pixels: median {statistics.median(samples):.0f} ms over {len(samples)} Steps; "
          f"{played} epochs in 2 s of Play")
    assert_no_widget_errors(page)
    assert_no_console_errors(page)

    # the next day: the playground shows its last epoch, not the one before
    check_reopened(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES, widget_text=EPOCH, last=last,
                   earlier=earlier)
