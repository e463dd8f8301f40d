"""Unit 12 in real JupyterLab (headless Chromium at 1280×800, the file browser open): Run All, then
the GAN lab: Play for two seconds and see the samples and the discriminator's heat map move, pause,
switch the generator's loss (a new run, from step 0), step once; every output fits its area, static
figures are images, no widget or console error. Then the notebook is saved, its kernel shut down and
the page reloaded: the lab shows the picture of its last step (not the new run's step 0 before it)
and says to run the cell (``check_reopened``).

Screenshots go to ``test-artifacts/`` (12_gan_lab.png, 12_gan_lab_minimax.png, 12_reopened.png). Run
with ``COURSEKIT_BROWSER_TESTS=1`` to make the test mandatory (see conftest.py).
"""
from __future__ import annotations

import re
import time

import pytest

from browser_util import (assert_no_console_errors, assert_no_widget_errors, canvas, canvas_pixels, check_reopened,
                          click_button, run_unit, save_screenshot, step_label, wait_for_canvas_image,
                          wait_for_new_pixels, wait_for_step, wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "12_generative_models.ipynb"
STATIC_FIGURES = 10
#: the GAN lab's counter, "step 120 (D steps 240)": a step counter that also counts D's steps
LAB = re.compile(r"^\s*step \d+\s*\(D steps \d+\)")


def lab_step(widget) -> int:
    return step_label(widget, "step")[0]


def test_gan_lab_in_jupyterlab(page, jupyterlab_server):
    run_unit(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES)

    widget = widget_output(page, LAB)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert not widget.get_by_text("run the cell to use this widget").is_visible(), "a live widget has no note"
    assert lab_step(widget) == 0, "the lab should start at step 0"
    wait_for_text(page, widget, re.compile(r"ring of 8, adam.*nonsaturating: step 0"))

    # Play for two seconds: the kernel trains frame after frame, and the picture keeps changing
    click_button(widget, "Play")
    start, pictures = time.monotonic(), {pixels}
    while time.monotonic() - start < 2.0:
        page.wait_for_timeout(120)
        pictures.add(canvas_pixels(figure))
    click_button(widget, "Pause")
    steps = wait_for_step(page, widget, 20, noun="step", at_least=True)   # 2 frames of 10 steps
    print(f"GAN lab in the browser: {steps} training steps and {len(pictures) - 1} new pictures in 2 s of Play")
    assert len(pictures) >= 3, "the samples and the heat map should move while the lab plays"
    page.wait_for_timeout(800)           # a tick in flight lands
    paused_at = lab_step(widget)
    page.wait_for_timeout(800)
    assert lab_step(widget) == paused_at, "Pause should stop the training"
    paused = wait_for_new_pixels(page, figure, pixels)
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "12_gan_lab")

    # switch the generator's loss: a new run from step 0 that says which loss it trains with
    widget.locator("button").filter(has_text=re.compile(r"^\s*minimax\s*$")).first.click()
    wait_for_text(page, widget, re.compile(r"minimax: step 0 "))
    wait_for_step(page, widget, 0, noun="step")
    earlier = wait_for_new_pixels(page, figure, paused)
    click_button(widget, "Step")
    wait_for_step(page, widget, 10, noun="step")                          # one frame
    last = wait_for_new_pixels(page, figure, earlier)
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "12_gan_lab_minimax")
    assert_no_widget_errors(page)
    assert_no_console_errors(page)

    # the next day: the lab shows step 10 of the minimax run, not its step 0
    check_reopened(page, jupyterlab_server, NAME, static_figures=STATIC_FIGURES, widget_text=LAB, last=last,
                   earlier=earlier)
