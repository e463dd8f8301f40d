"""Unit 09 in real JupyterLab (headless Chromium at 1280×800, the file browser open): Run All,
then the LSTM gate stepper: step a preset sequence and see the gates change on the canvas,
switch to the reset task, type a sequence, step onto the marker and read that the forget
gate closed; then save, shut the kernel down, reopen: the widget shows the picture of its
last step (not the one before it) and says to run the cell.

Screenshots go to ``test-artifacts/`` (09_lstm_gate_stepper*.png). Run with
``COURSEKIT_BROWSER_TESTS=1`` to make the test mandatory (see conftest.py).
"""
from __future__ import annotations

import re

import pytest

from browser_util import (assert_no_console_errors, assert_no_widget_errors, canvas, check_reopened, click_button,
                          counter_pattern, run_unit, save_screenshot, scroll_to, step_label, wait_for_canvas_image,
                          wait_for_new_pixels, wait_for_step, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "09_recurrent_networks.ipynb"
STATIC_FIGURES = 4
#: the stepper's counter: "symbol 3 / 5"
SYMBOL = counter_pattern("symbol")


def test_lstm_gate_stepper_in_jupyterlab(page, jupyterlab_server):
    run_unit(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES)

    widget = widget_output(page, SYMBOL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert not widget.get_by_text("run the cell to use this widget").is_visible(), "a live widget has no note"
    index, total = step_label(widget, "symbol")
    assert index == 0 and total >= 10, f"the stepper should start at symbol 0 of its example, shows {index} / {total}"

    # step the preset sequence: the counter, the sentence and the picture (the gate bars) change every time
    messages = []
    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i, noun="symbol")
        pixels = wait_for_new_pixels(page, figure, pixels)
        messages.append(wait_for_text(page, widget, re.compile(r"read “.”:.*the LSTM answers")))
    assert len(set(messages)) == 3, "each step should say what its gates did"
    scroll_to(page, widget)   # from its top, as a student scrolls to it
    save_screenshot(page, "09_lstm_gate_stepper")

    # the reset task, a typed sequence, the step onto the marker
    widget.locator("select").filter(has=page.locator("option", has_text="since the last")).select_option(
        label="count a's since the last |")
    wait_for_text(page, widget, "symbols: a b |")
    box = widget.locator("input[type='text']").first
    box.fill("a a b | a")
    box.press("Enter")
    wait_for_step(page, widget, 0, total=5, noun="symbol")
    pixels = wait_for_new_pixels(page, figure, pixels)
    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i, noun="symbol")
    earlier = wait_for_new_pixels(page, figure, pixels)
    click_button(widget, "Step")                      # onto the marker
    wait_for_step(page, widget, 4, noun="symbol")
    wait_for_text(page, widget, re.compile(r"read “\|”: the forget gate closed"))
    last = wait_for_new_pixels(page, figure, earlier)
    scroll_to(page, widget)   # from its top, as a student scrolls to it
    save_screenshot(page, "09_lstm_gate_stepper_reset")
    assert_no_widget_errors(page)
    assert_no_console_errors(page)

    # the next day: the stepper shows the step onto the marker, not the step before it
    check_reopened(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES, widget_text=SYMBOL, last=last,
                   earlier=earlier)
