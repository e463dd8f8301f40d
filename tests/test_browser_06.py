"""Unit 06 in real JupyterLab: run the notebook, play the network playground for two seconds, see it train.

Opens ``06_training_deep_networks.ipynb`` in headless Chromium at 1280×800, runs all cells, presses Play on
the playground for two seconds and then Pause, and checks that the epoch counter advanced, the decision
surface was redrawn, and no widget or console error appeared. It then times a click on Step until the new
picture is on the canvas (click-to-pixels) and saves a screenshot and the timings to ``test-artifacts/``
(``benchmarks/bench_training.py`` reports the timings; nothing here asserts a time).

Run with ``COURSEKIT_BROWSER_TESTS=1`` to make it mandatory (see conftest.py).
"""
from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

import pytest

from test_browser import (WIDGET_TIMEOUT_MS, assert_no_console_errors, assert_no_widget_errors, assert_ran_cleanly,
                          canvas, canvas_pixels, click_button, open_notebook, require_notebook, run_all_cells,
                          wait_for_canvas_image, wait_for_new_pixels)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "06_training_deep_networks.ipynb"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
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


def test_network_playground_in_jupyterlab(page, jupyterlab_server):
    require_notebook(NAME)
    page.set_viewport_size({"width": 1280, "height": 800})
    open_notebook(page, jupyterlab_server, NAME)
    state = run_all_cells(page)
    assert_ran_cleanly(page, state)

    # the playground: the output with the "epoch" counter and an optimizer choice offering Adam
    widget = page.locator(".jp-OutputArea-output").filter(has=page.locator(".coursekit-counter")).filter(
        has=page.locator("select").filter(has=page.locator("option", has_text="Adam"))).first
    widget.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    widget.scroll_into_view_if_needed()
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
    headline = widget.locator(".coursekit-message").first.inner_text()
    assert f"epoch {played}:" in headline and "test loss" in headline, headline

    # click-to-pixels: a click on Step until the canvas shows the next epoch
    samples = []
    for k in range(1, 6):
        start = time.perf_counter()
        click_button(widget, "Step")
        wait_for_epoch(page, widget, played + k)
        pixels = wait_for_new_pixels(page, figure, pixels)
        samples.append((time.perf_counter() - start) * 1000)
    ARTIFACTS.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps({"click_to_pixels_ms": samples, "median_ms": statistics.median(samples),
                                   "epochs_in_2s_of_play": played, "run_all_seconds": state["seconds"],
                                   "measured": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    print(f"click-to-pixels: median {statistics.median(samples):.0f} ms over {len(samples)} Steps; "
          f"{played} epochs in 2 s of Play")

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "06_network_playground.png"))
