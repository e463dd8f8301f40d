"""Units 04 and 05 in real JupyterLab at 1280×800: the softmax explorer and the backprop graph stepper.

Each test opens its notebook with the file browser open, runs all cells as a
student would (every output fits its area, static figures are images), drives
the widget through the page (typed logits and the preset buttons; Step, "to
end" and the graph chooser), sees the figure and the text change, checks that
no widget failed and the console stayed clean, and saves screenshots under
``test-artifacts/``. Then the notebook is saved, its kernel shut down and the
page reloaded: the widget shows the picture of its last change (not the one
before) and says to run the cell. The helpers are those of ``browser_util.py``.
"""
from __future__ import annotations

import re

import pytest

from browser_util import (STEP_LABEL, assert_no_console_errors, assert_no_widget_errors, canvas, check_reopened,
                          click_button, run_unit, save_screenshot, scroll_to, step_label, wait_for_canvas_image,
                          wait_for_new_pixels, wait_for_step, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOFTMAX_MESSAGE = re.compile(r"softmax\(z / T\) at T =")
STATIC_FIGURES = {"04_neural_networks.ipynb": 10, "05_backpropagation.ipynb": 2}


def screenshot(page, widget, name: str) -> None:
    """The widget from its top, as a student scrolls to it, in the 1280×800 window."""
    scroll_to(page, widget)
    save_screenshot(page, name)


def live_widget(page, marker):
    """The widget whose text matches ``marker``, its figure and the figure's first picture."""
    widget = widget_output(page, marker)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    return widget, figure, wait_for_canvas_image(page, figure)


def test_softmax_explorer_in_jupyterlab(page, jupyterlab_server):
    name = "04_neural_networks.ipynb"
    run_unit(page, jupyterlab_server, name, static_figures=STATIC_FIGURES[name])
    widget, figure, pixels = live_widget(page, SOFTMAX_MESSAGE)
    wait_for_text(page, widget, re.compile(r"most likely class is 1 \(p = 0\.757\)"))
    screenshot(page, widget, "04_softmax_explorer")

    # typed logits of ±1000: exact values, and the naive formula shown failing
    box = widget.locator("input[type=text]").first
    box.fill("1000, -1000, 0")
    box.press("Enter")
    text = wait_for_text(page, widget, re.compile(r"overflows"))
    assert "nan" in text and re.search(r"CE = −ln p_r = 2000\b", text), text   # target 1: 1000 - (-1000)
    pixels = wait_for_new_pixels(page, figure, pixels)
    targets = widget.locator(".widget-toggle-buttons button")
    assert targets.all_inner_texts() == ["0", "1", "2"], "three classes, three target buttons"
    assert widget.locator(".widget-toggle-buttons button.mod-active").all_inner_texts() == ["1"]
    screenshot(page, widget, "04_softmax_explorer_1000")

    click_button(widget, "equal")                      # equal logits: the loss is ln 4
    wait_for_text(page, widget, re.compile(r"CE = −ln p_r = 1\.386"))
    earlier = wait_for_new_pixels(page, figure, pixels)
    click_button(widget, "deck 000")
    wait_for_text(page, widget, re.compile(r"p = 0\.757"))
    last = wait_for_new_pixels(page, figure, earlier)

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    # the next day: the deck's logits, not the equal ones before them
    check_reopened(page, jupyterlab_server, name, static_figures=STATIC_FIGURES[name], widget_text=SOFTMAX_MESSAGE,
                   last=last, earlier=earlier)


def test_backprop_stepper_in_jupyterlab(page, jupyterlab_server):
    name = "05_backpropagation.ipynb"
    run_unit(page, jupyterlab_server, name, static_figures=STATIC_FIGURES[name])
    widget, figure, pixels = live_widget(page, STEP_LABEL)
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
    screenshot(page, widget, "05_backprop_stepper_done")

    chooser = widget.locator("select").first            # another graph starts again at step 0
    chooser.select_option(label="2-2-1 network, squared error")
    wait_for_step(page, widget, 0)
    pixels = wait_for_new_pixels(page, figure, pixels)
    assert step_label(widget)[1] == 46
    for i in range(1, 3):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)
    screenshot(page, widget, "05_backprop_stepper_network")
    # one step changes a node's box and value only (0.35 % of the pixels): too little to tell the
    # saved picture from the one before; "to end" fills in every value and gradient
    earlier = pixels
    click_button(widget, "to end")
    wait_for_step(page, widget, 46)
    last = wait_for_new_pixels(page, figure, earlier)

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    # the next day: the network's graph with every gradient, not step 2 before it
    check_reopened(page, jupyterlab_server, name, static_figures=STATIC_FIGURES[name], widget_text=STEP_LABEL,
                   last=last, earlier=earlier)
