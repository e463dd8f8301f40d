"""Unit 13 in real JupyterLab: Run All, then the gridworld stepper in headless Chromium at 1280×800.

Steps an episode (the counter, the message and the canvas follow), drags the
training slider to the end of REINFORCE's training (the arrows and values on
the canvas change, the label says how far training got), plays the episode to
its end, clicks a cell of the grid to put up a wall, and checks what a student
sees: every output within its area, static figures as images, no widget or
console errors, and after save and reopen the widget's saved picture.
Screenshots go to ``test-artifacts/13_*.png``.
"""
from __future__ import annotations

import re

import pytest

from browser_util import (STEP_LABEL, assert_no_console_errors, assert_no_widget_errors, canvas, check_reopened,
                          click_button, drag_slider_to_end, run_unit, save_screenshot, step_label,
                          wait_for_canvas_image, wait_for_new_pixels, wait_for_step, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "13_reinforcement_learning.ipynb"
STATIC_FIGURES = 6


def cell_centre(figure, row: int, col: int) -> dict:
    """Where cell (row, col) of the grid is on the canvas: the grid's axes are laid out as in a
    stepper built here (same world, same figure size), scaled to the canvas the page shows."""
    from coursekit import rl
    from coursekit.widgets.gridworld import GridworldStepper

    local = GridworldStepper(rl.GridWorld(slip=0.1), mode="vi")
    x, y = local.ax.transData.transform((col, row))
    width, height = local.fig.bbox.width, local.fig.bbox.height
    box = figure.bounding_box()
    return {"x": box["width"] * x / width, "y": box["height"] * (1 - y / height)}


def test_gridworld_stepper_in_jupyterlab(page, jupyterlab_server):
    run_unit(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES)

    widget = widget_output(page, STEP_LABEL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert not widget.get_by_text("run the cell to use this widget").is_visible(), "a live widget has no note"
    assert step_label(widget)[0] == 0
    wait_for_text(page, widget, "after 0 episodes")            # the untrained network, a random walk
    assert step_label(widget)[1] >= 3

    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)
    assert re.search(r"step 3: the agent chose \w+", widget.inner_text()), widget.inner_text()
    save_screenshot(page, "13_gridworld_untrained")

    # the training slider (the widget's first slider) to the end: the trained policy's arrows and values
    drag_slider_to_end(page, widget, index=0)
    wait_for_text(page, widget, re.compile(r"after 600 episodes: greedy reaches G in \d+%"))
    wait_for_step(page, widget, 0)                              # a new episode starts at step 0
    pixels = wait_for_new_pixels(page, figure, pixels)
    click_button(widget, "to end")
    text = wait_for_text(page, widget, "The episode ends")
    assert "reached the goal" in text or "fell into the pit" in text or "cut off" in text
    earlier = wait_for_new_pixels(page, figure, pixels)
    save_screenshot(page, "13_gridworld_trained")

    # a click on cell (3, 1) puts up a wall: value iteration is redone, the episode restarts
    figure.click(position=cell_centre(figure, 3, 1))
    wait_for_text(page, widget, "cell (3, 1) is now a wall")
    wait_for_step(page, widget, 0)
    last = wait_for_new_pixels(page, figure, earlier)
    assert "trained on the old walls" in widget.inner_text()
    save_screenshot(page, "13_gridworld_wall")

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    # the next day: the grid with its new wall, not the episode before the click
    check_reopened(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES, widget_text=STEP_LABEL, last=last,
                   earlier=earlier)
