"""Unit 11's attention explorer in real JupyterLab (headless Chromium at 1280 x 800, see browser_util.py).

Run All with the file browser open (every output fits its area, static figures are
images), then drive the explorer: Step to the next stage, click a token on the figure
(the query changes and the run restarts at stage 1), switch the head (the heat maps
change), jump to the end (the weights), with no widget or console errors; a screenshot
goes to test-artifacts/. Then save, shut the kernel down and reopen: the explorer shows
its last picture and says to run the cell.
"""
from __future__ import annotations

import re

import pytest

from browser_util import (assert_no_console_errors, assert_no_widget_errors, canvas, check_reopened, click_button,
                          counter_pattern, run_unit, save_screenshot, step_label, wait_for_canvas_image,
                          wait_for_new_pixels, wait_for_step, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "11_attention_and_transformers.ipynb"
#: the explorer's counter: "stage 1 / 5"
STAGE = counter_pattern("stage")
STATIC_FIGURES = 8


def stage_of(widget) -> int:
    return step_label(widget, "stage")[0]


def token_position(row: int, column: float = 1.1) -> tuple[float, float]:
    """Where token ``row`` of the head view is on the figure, in CSS pixels from its top left:
    the layout of an explorer built here with the same figure and sequence length."""
    import torch

    from coursekit import transformer
    from coursekit.widgets.attention import AttentionExplorer

    torch.manual_seed(0)
    model = transformer.TinyTransformer(10, 19, d_model=16, num_heads=4, num_layers=2, d_ff=32)
    local = AttentionExplorer.for_sorting({"trained": model, "untrained": model})
    local.fig.canvas.draw()
    x, y = local.ax_tokens.transData.transform((column, row))
    return float(x), float(local.fig.bbox.height - y)


def test_attention_explorer_in_jupyterlab(page, jupyterlab_server):
    run_unit(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES)

    widget = widget_output(page, STAGE)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert stage_of(widget) == 1, "the explorer should start at stage 1"
    message = widget.locator(".coursekit-message").first
    assert "query 10" in message.inner_text(), message.inner_text()

    # Step: the next stage (the scores scaled by 1/√d_k), a new picture
    click_button(widget, "Step")
    wait_for_step(page, widget, 2, noun="stage")
    pixels = wait_for_new_pixels(page, figure, pixels)
    assert "√d_k" in message.inner_text()

    # Click token 14 of the head view: the query changes and the run restarts at stage 1
    x, y = token_position(13)
    box = figure.bounding_box()
    assert 0 < x < box["width"] and 0 < y < box["height"]
    figure.click(position={"x": x, "y": y})
    wait_for_text(page, message, "query 14")
    assert stage_of(widget) == 1
    pixels = wait_for_new_pixels(page, figure, pixels)

    # Another head: the heat maps change, and the run restarts at stage 1
    head_row = widget.locator(".coursekit-row").filter(has_text="head").first
    head_buttons = head_row.locator(".widget-toggle-buttons").nth(2)
    head_buttons.locator("button").filter(has_text=re.compile(r"^\s*3\s*$")).click()
    earlier = wait_for_new_pixels(page, figure, pixels)
    assert stage_of(widget) == 1

    # "to end": the softmax weights and the output, with the head view's lines
    click_button(widget, "to end")
    wait_for_step(page, widget, 5, noun="stage")
    last = wait_for_new_pixels(page, figure, earlier)
    assert "comes from the value of key" in message.inner_text()

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "11_attention_explorer")

    # the next day: saved, kernel shut down, reopened: figures are images, the explorer shows its last
    # picture (the weights at stage 5, not stage 1 of head 3) and says to run the cell
    check_reopened(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES, widget_text=STAGE, last=last,
                   earlier=earlier)
