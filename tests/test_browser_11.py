"""Unit 11's attention explorer in real JupyterLab (headless Chromium, see tests/test_browser.py).

Open the notebook at 1280 x 800, run all cells, then drive the explorer: Step to the
next stage, click a token on the figure (the query changes and the run restarts at
stage 1), switch the head (the heat maps change), with no widget or console errors;
a screenshot of the explorer is saved to test-artifacts/.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

import test_browser as tb
from conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "11_attention_and_transformers.ipynb"
STAGE = re.compile(r"stage (\d) / 5")
VIEWPORT = {"width": 1280, "height": 800}


def stage_of(widget) -> int:
    text = widget.locator(".coursekit-counter").first.inner_text()
    match = STAGE.search(text)
    assert match, f"the explorer's counter does not show the stage: {text!r}"
    return int(match.group(1))


def wait_until(page, condition, what: str) -> None:
    deadline = time.monotonic() + tb.WIDGET_TIMEOUT_MS / 1000
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


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
    height = local.fig.bbox.height
    return float(x), float(height - y)


def test_attention_explorer_in_jupyterlab(page, jupyterlab_server, monkeypatch):
    tb.require_notebook(NAME)
    # the notebook trains two small models: leave room for a machine shared with other work
    monkeypatch.setattr(tb, "RUN_ALL_TIMEOUT_MS", 420_000)
    page.set_viewport_size(VIEWPORT)
    tb.open_notebook(page, jupyterlab_server, NAME)
    state = tb.run_all_cells(page)
    tb.assert_ran_cleanly(page, state)

    widget = tb.widget_output(page, STAGE)
    widget.scroll_into_view_if_needed()
    figure = tb.canvas(widget)
    pixels = tb.wait_for_canvas_image(page, figure)
    assert stage_of(widget) == 1, "the explorer should start at stage 1"
    message = widget.locator(".coursekit-message").first
    assert "query 10" in message.inner_text(), message.inner_text()

    # Step: the next stage, a new picture (the scaled scores)
    tb.click_button(widget, "Step")
    wait_until(page, lambda: stage_of(widget) == 2, "stage 2 after Step")
    pixels = tb.wait_for_new_pixels(page, figure, pixels)
    assert "√d_k" in message.inner_text()

    # Click token 14 of the head view: the query changes and the run restarts at stage 1
    x, y = token_position(13)
    box = figure.bounding_box()
    assert 0 < x < box["width"] and 0 < y < box["height"]
    figure.click(position={"x": x, "y": y})
    wait_until(page, lambda: "query 14" in message.inner_text(), "the message to name query 14")
    assert stage_of(widget) == 1
    pixels = tb.wait_for_new_pixels(page, figure, pixels)

    # Another head: the heat maps change
    head_row = widget.locator(".coursekit-row").filter(has_text="head").first
    head_buttons = head_row.locator(".widget-toggle-buttons").nth(2)
    head_buttons.locator("button").filter(has_text=re.compile(r"^\s*3\s*$")).click()
    pixels = tb.wait_for_new_pixels(page, figure, pixels)
    assert stage_of(widget) == 1

    # Play to the end: the weights, with the head view's lines
    tb.click_button(widget, "to end")
    wait_until(page, lambda: stage_of(widget) == 5, "stage 5 after 'to end'")
    tb.wait_for_new_pixels(page, figure, pixels)
    assert "comes from the value of key" in message.inner_text()

    tb.assert_no_widget_errors(page)
    tb.assert_no_console_errors(page)
    ARTIFACTS.mkdir(exist_ok=True)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser_11_attention_explorer.png"))
    assert np.isfinite(state["seconds"])
