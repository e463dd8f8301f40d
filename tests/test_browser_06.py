"""Unit 06 in real JupyterLab: run the notebook, play the network playground for two seconds, see it train.

Opens the student version of ``06_training_deep_networks.ipynb`` in headless Chromium at 1280×800 with the
file browser open, runs all cells (every check says "not attempted yet"), presses Play on the playground for
two seconds and then Pause, and checks that the epoch counter advanced, the decision surface was redrawn, every
output fits its area, static figures are images, and no widget or console error appeared. It times clicks on
Step until the new frame is on the canvas (click-to-pixels), saves screenshots and the timings to
``test-artifacts/`` (``benchmarks/bench_training.py`` reports the timings; nothing here asserts a time).

Not checked here: reopening the saved notebook with a new kernel. In 2 of 4 trials on a loaded machine
JupyterLab then showed "Error displaying widget: model not found" for the playground (the last output of a
long notebook, rendered only when scrolled to), although the saved widget state held its model each time:
a race in the widget manager's restore, not in the widget (reported to the coordinator).

Run with ``COURSEKIT_BROWSER_TESTS=1`` to make it mandatory (see conftest.py).
"""
from __future__ import annotations

import json
import re
import statistics
import time

import pytest

from browser_util import (ARTIFACTS, WIDGET_TIMEOUT_MS, assert_no_console_errors, assert_no_widget_errors,
                          assert_outputs_fit, assert_ran_cleanly, assert_static_figures_are_images, canvas, click_button,
                          click_to_canvas_ms, open_file_browser, open_notebook, require_notebook, run_all_cells,
                          save_screenshot, wait_for_canvas_image, wait_for_new_pixels)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "06_training_deep_networks.ipynb"
TIMINGS = ARTIFACTS / "browser_06_timings.json"
EPOCH = re.compile(r"epoch (\d+)")


def epoch_shown(widget) -> int:
    text = widget.locator(".coursekit-counter").first.inner_text()
    match = EPOCH.search(text)
    assert match, f"the playground's counter does not show an epoch: {text!r}"
    return int(match.group(1))


def wait_for_epoch(page, widget, epoch: int) -> None:
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while epoch_shown(widget) != epoch:
        if time.monotonic() > deadline:
            pytest.fail(f"the counter stayed at epoch {epoch_shown(widget)}, expected {epoch}")
        page.wait_for_timeout(50)


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
    widget = page.locator(".jp-OutputArea-output").filter(has=page.locator(".coursekit-counter")).filter(
        has=page.locator("select").filter(has=page.locator("option", has_text="Adam"))).first
    widget.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    widget.scroll_into_view_if_needed()
    return widget


def test_network_playground_in_jupyterlab(page, jupyterlab_server):
    require_notebook(NAME)
    open_notebook(page, jupyterlab_server, NAME)
    open_file_browser(page)
    state = run_all_cells(page)
    assert_ran_cleanly(page, state)
    assert_outputs_fit(page)
    assert_static_figures_are_images(page, at_least=6)

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
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "06_network_playground")

    # click-to-pixels: a click on Step until the next epoch's frame is on the canvas
    samples = []
    for k in range(1, 6):
        samples.append(click_to_canvas_ms(widget, "Step"))
        wait_for_epoch(page, widget, played + k)
    ARTIFACTS.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps({"click_to_pixels_ms": samples, "median_ms": statistics.median(samples),
                                   "epochs_in_2s_of_play": played, "run_all_seconds": state["seconds"],
                                   "measured": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    print(f"click-to-pixels: median {statistics.median(samples):.0f} ms over {len(samples)} Steps; "
          f"{played} epochs in 2 s of Play")
    assert_no_widget_errors(page)
    assert_no_console_errors(page)

