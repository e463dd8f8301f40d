"""Units 04 and 05 in real JupyterLab: the softmax explorer and the backprop graph stepper.

Each test opens its notebook, runs all cells as a student would, drives the
widget through the page (typed logits and a preset button; Step, "to end" and
the graph chooser), sees the figure and the text change, checks that no widget
failed and the console stayed clean, and saves a screenshot at 1280×800 under
``test-artifacts/``. The helpers are those of tests/test_browser.py.
"""
from __future__ import annotations

import re
import time

import pytest

from conftest import ARTIFACTS
from test_browser import (STEP_LABEL, WIDGET_TIMEOUT_MS, assert_no_console_errors, assert_no_widget_errors,
                          assert_ran_cleanly, canvas, click_button, open_notebook, require_notebook, run_all_cells,
                          step_label, wait_for_canvas_image, wait_for_new_pixels, wait_for_step, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_for_text(page, locator, pattern: re.Pattern) -> str:
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while not pattern.search(text := locator.inner_text()):
        if time.monotonic() > deadline:
            pytest.fail(f"expected {pattern.pattern!r} in the widget; it shows:\n{text}")
        page.wait_for_timeout(100)
    return text


def screenshot(page, widget, name: str) -> None:
    """The widget as a student sees it, in a 1280×800 window."""
    page.set_viewport_size({"width": 1280, "height": 800})
    widget.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def run_notebook_and_find_widget(page, server, name: str, marker):
    """Open ``name``, Run All, and return the widget whose text matches ``marker``, its figure
    and the figure's first picture."""
    require_notebook(name)
    open_notebook(page, server, name)
    assert_ran_cleanly(page, run_all_cells(page))
    widget = widget_output(page, marker)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    return widget, figure, wait_for_canvas_image(page, figure)


def test_softmax_explorer_in_jupyterlab(page, jupyterlab_server):
    widget, figure, pixels = run_notebook_and_find_widget(page, jupyterlab_server, "04_neural_networks.ipynb",
                                                          re.compile(r"softmax\(z / T\) at T ="))
    wait_for_text(page, widget, re.compile(r"most likely class is 1 \(p = 0\.757\)"))

    # type logits of ±1000: exact probabilities, and the naive formula shown failing
    box = widget.locator("input[type=text]").first
    box.fill("1000, -1000, 0")
    box.press("Enter")
    text = wait_for_text(page, widget, re.compile(r"overflows"))
    assert "nan" in text and re.search(r"CE = −ln p_r = 2000\b", text), text   # target 1: 1000 - (-1000)
    pixels = wait_for_new_pixels(page, figure, pixels)

    # a preset button: equal logits, the loss is ln 4
    click_button(widget, "equal")
    wait_for_text(page, widget, re.compile(r"CE = −ln p_r = 1\.386"))
    pixels = wait_for_new_pixels(page, figure, pixels)

    click_button(widget, "deck 000")
    wait_for_text(page, widget, re.compile(r"p = 0\.757"))
    wait_for_new_pixels(page, figure, pixels)
    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    screenshot(page, widget, "browser_04_softmax_explorer.png")


def test_backprop_stepper_in_jupyterlab(page, jupyterlab_server):
    widget, figure, pixels = run_notebook_and_find_widget(page, jupyterlab_server, "05_backpropagation.ipynb",
                                                          STEP_LABEL)
    assert step_label(widget) == (0, 17), "the neuron's trace: start, 10 forward, 6 backward, done"

    for i in range(1, 4):                              # the forward pass, node by node
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)
    wait_for_text(page, widget, re.compile(r"x₁w₁ = ×\(-1, 2\) = -2"))

    click_button(widget, "to end")                     # the backward pass, compared with torch
    wait_for_step(page, widget, 17)
    pixels = wait_for_new_pixels(page, figure, pixels)
    text = wait_for_text(page, widget, re.compile(r"torch\.autograd"))
    assert re.search(r"w₁\s", text) and "-0.1966" in text, text

    chooser = widget.locator("select").first            # another graph starts again at step 0
    chooser.select_option(label="2-2-1 network, squared error")
    wait_for_step(page, widget, 0)
    pixels = wait_for_new_pixels(page, figure, pixels)
    assert step_label(widget)[1] == 46
    for i in range(1, 3):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
    wait_for_new_pixels(page, figure, pixels)
    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    screenshot(page, widget, "browser_05_backprop_stepper.png")
