"""Unit 07 in real JupyterLab: Run All, then the convolution explorer in headless Chromium at 1280×800.

Steps the window three times (the counter, the message and the canvas follow),
changes the stride (a new run from window 1, the feature map's shape changes
from 4×4 to 2×2), switches to filter 2, and checks what a student sees: every
output within its area, static figures as images, no widget or console errors,
and after save and reopen the widget's saved picture. Screenshots go to
``test-artifacts/07_*.png``.
"""
from __future__ import annotations

import pytest

from browser_util import (STEP_LABEL, assert_no_console_errors, assert_no_widget_errors, canvas, check_reopened,
                          click_button, run_unit, save_screenshot, step_label, wait_for_canvas_image,
                          wait_for_new_pixels, wait_for_step, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "07_convolutional_networks.ipynb"
STATIC_FIGURES = 7


def toggle(widget, row_label: str, which: int, option: str):
    """The ``option`` button of the ``which``-th toggle group in the control row labelled ``row_label``."""
    row = widget.locator(".coursekit-row").filter(has=widget.page.locator(".coursekit-row-label",
                                                                              has_text=row_label)).first
    group = row.locator(".widget-toggle-buttons").nth(which)
    found = group.locator("button").filter(has_text=option)
    assert found.count() == 1, f"expected one {option!r} button in the {row_label!r} row, found {found.count()}"
    return found


def test_convolution_explorer_in_jupyterlab(page, jupyterlab_server):
    run_unit(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES)

    widget = widget_output(page, STEP_LABEL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert not widget.get_by_text("run the cell to use this widget").is_visible(), "a live widget has no note"
    assert step_label(widget) == (0, 20), "position 0, the 16 windows of the 4×4 map, then 4 pooling windows"
    wait_for_text(page, widget, "of the 4×4 feature map")

    for position in (1, 2, 3, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, position)
        pixels = wait_for_new_pixels(page, figure, pixels)
    text = wait_for_text(page, widget, "Window 4: rows 0-2, columns 3-5")
    assert "window 4 of 16" in text
    save_screenshot(page, "07_explorer_window_4")

    # stride 2: a new run from position 0, and a 2×2 map (4 windows, 1 pooling window)
    toggle(widget, "stride", 0, "2").click()
    wait_for_step(page, widget, 0)
    assert step_label(widget) == (0, 5)
    wait_for_text(page, widget, "of the 2×2 feature map")
    pixels = wait_for_new_pixels(page, figure, pixels)
    click_button(widget, "to end")
    wait_for_text(page, widget, "pooling 1 of 1")
    pixels = wait_for_new_pixels(page, figure, pixels)

    # another kernel: filter 2, still at stride 2
    toggle(widget, "kernel", 0, "filter 2").click()
    wait_for_step(page, widget, 0)
    wait_for_text(page, widget, "with the kernel (filter 2)")
    earlier = wait_for_new_pixels(page, figure, pixels)
    click_button(widget, "Step")
    wait_for_step(page, widget, 1)
    wait_for_text(page, widget, "times the kernel (filter 2)")
    last = wait_for_new_pixels(page, figure, earlier)
    save_screenshot(page, "07_explorer_stride_2_filter_2")

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    # the next day: filter 2's first window, not position 0 before it
    check_reopened(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES, widget_text=STEP_LABEL, last=last,
                   earlier=earlier)
