"""Unit 09 in real JupyterLab (headless Chromium at 1280×800, the file browser open): Run All,
then the LSTM gate stepper: step a preset sequence and see the gates change on the canvas,
switch to the reset task, type a sequence, step onto the marker and read that the forget
gate closed; then save, shut the kernel down, reopen: the widget shows its saved picture.

Screenshots go to ``test-artifacts/`` (09_lstm_gate_stepper*.png). Run with
``COURSEKIT_BROWSER_TESTS=1`` to make the test mandatory (see conftest.py).
"""
from __future__ import annotations

import re
import time

import pytest

from browser_util import (WIDGET_TIMEOUT_MS, assert_no_console_errors, assert_no_widget_errors, assert_outputs_fit,
                          assert_ran_cleanly, assert_static_figures_are_images, blank_pixels, canvas, canvas_pixels,
                          click_button, open_file_browser, open_notebook, output_report, reopen_with_a_new_kernel,
                          require_notebook, run_all_cells, save_notebook, save_screenshot, wait_for_canvas_image,
                          wait_for_new_pixels, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "09_recurrent_networks.ipynb"
SYMBOL_LABEL = re.compile(r"symbol (\d+) / (\d+)")


def symbol_label(widget) -> tuple[int, int]:
    text = widget.locator(".widget-html").filter(has_text=SYMBOL_LABEL).first.inner_text()
    match = SYMBOL_LABEL.search(text)
    return int(match.group(1)), int(match.group(2))


def wait_for_symbol(page, widget, index: int, total: int | None = None) -> None:
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while True:
        now = symbol_label(widget)
        if now[0] == index and (total is None or now[1] == total):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the counter stayed at symbol {now[0]} / {now[1]}, expected {index}"
                        + (f" / {total}" if total is not None else ""))
        page.wait_for_timeout(100)


def test_lstm_gate_stepper_in_jupyterlab(page, jupyterlab_server):
    require_notebook(NAME)
    open_notebook(page, jupyterlab_server, NAME)
    open_file_browser(page)
    assert_ran_cleanly(page, run_all_cells(page))
    fit = assert_outputs_fit(page)
    assert fit["area"] >= 800, "the output area should be about 848 px wide here"
    assert_static_figures_are_images(page, at_least=4)

    widget = widget_output(page, SYMBOL_LABEL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert not widget.get_by_text("run the cell to use this widget").is_visible(), "a live widget has no note"
    index, total = symbol_label(widget)
    assert index == 0 and total >= 10, f"the stepper should start at symbol 0 of its example, shows {index} / {total}"

    # step the preset sequence: the counter, the sentence and the picture (the gate bars) change every time
    messages = []
    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_symbol(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)
        messages.append(wait_for_text(page, widget, re.compile(r"read “.”:.*the LSTM answers")))
    assert len(set(messages)) == 3, "each step should say what its gates did"
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "09_lstm_gate_stepper")

    # the reset task, a typed sequence, the step onto the marker
    widget.locator("select").filter(has=page.locator("option", has_text="since the last")).select_option(
        label="count a's since the last |")
    wait_for_text(page, widget, "symbols: a b |")
    box = widget.locator("input[type='text']").first
    box.fill("a a b | a")
    box.press("Enter")
    wait_for_symbol(page, widget, 0, 5)
    pixels = wait_for_new_pixels(page, figure, pixels)
    for i in range(1, 5):
        click_button(widget, "Step")
        wait_for_symbol(page, widget, i)
    wait_for_text(page, widget, re.compile(r"read “\|”: the forget gate closed"))
    pixels = wait_for_new_pixels(page, figure, pixels)
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "09_lstm_gate_stepper_reset")
    assert_no_widget_errors(page)
    assert_no_console_errors(page)

    # the next day: save, shut the kernel down, reopen
    save_notebook(page)
    page.console_errors.clear()
    reopen_with_a_new_kernel(page, jupyterlab_server, NAME)
    assert_no_widget_errors(page)
    assert_static_figures_are_images(page, at_least=4)
    report = output_report(page)
    assert report["widgets"] >= 1 and not report["deadWidgets"], (
        f"widget outputs of the reopened notebook that show no widget: {report['deadWidgets']}")
    widget = widget_output(page, SYMBOL_LABEL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    assert canvas_pixels(figure) != blank_pixels(figure), "the reopened widget should show its last picture"
    assert widget.get_by_text("run the cell to use this widget").is_visible()
    save_screenshot(page, "09_reopened")
    assert_no_console_errors(page)
