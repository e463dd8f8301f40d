"""Units 02 and 03 in real JupyterLab, driven by headless Chromium at 1280×800.

The unit tests drive each widget from Python; these tests show what a student
sees in the browser: Run All, the file browser open, every output within its
area, static figures as images, the widget's buttons, scrubber, Play/Pause and
"to end" reacting on the canvas, no "Error displaying widget" and no console
errors. Then the notebook is saved, its kernel shut down and the page
reloaded, as a student comes back the next day: the static figures are still
images and every widget shows its saved snapshot, never an error: the picture
of its last state, pixel for pixel the one seen before saving (not the one
before the last change, which ipympl alone would keep).

Screenshots go to ``test-artifacts/`` (open them: is the state obvious at a
glance, is anything cut off or crowded?). Run with ``COURSEKIT_BROWSER_TESTS=1``
to make the tests mandatory (see conftest.py). The helpers are in browser_util.py.
"""
from __future__ import annotations

import re

import pytest

from browser_util import (OUTPUTS, STEP_LABEL, WIDGET_TIMEOUT_MS, assert_no_console_errors, assert_no_widget_errors,
                          button, canvas, check_reopened, click_button, click_to_text_ms, drag_slider_to_end, run_unit,
                          save_screenshot, step_label, wait_for_new_pixels, wait_for_canvas_image, wait_for_step,
                          wait_for_text, widget_output)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_pla_stepper_in_jupyterlab(page, jupyterlab_server):
    name = "02_perceptron.ipynb"
    run_unit(page, jupyterlab_server, name, static_figures=6)

    widget = widget_output(page, STEP_LABEL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert not widget.get_by_text("run the cell to use this widget").is_visible(), "a live widget has no note"
    assert step_label(widget)[0] == 0, "the stepper should start at update 0"
    n_updates = step_label(widget)[1]
    assert n_updates >= 3, f"the example should need at least 3 PLA updates, the counter says {n_updates}"

    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)
    assert re.search(r"update 3: point #\d+ was misclassified", widget.inner_text())
    save_screenshot(page, "02_pla_stepper")

    # Play runs on; Pause stops where it is (Play's own stop button, which rewinds, is not shown).
    # At "slow" (a step a second) Pause lands well before the end even on a loaded machine: at
    # "fast" the run once reached its end before the click.
    speed = widget.locator("select").filter(has=page.locator("option", has_text="fastest"))
    speed.select_option(label="slow")
    page.wait_for_timeout(300)
    click_button(widget, "Play")
    wait_for_step(page, widget, 5, at_least=True)
    click_button(widget, "Pause")
    page.wait_for_timeout(1500)          # a step in flight lands
    paused = step_label(widget)[0]
    page.wait_for_timeout(1500)          # longer than a step at this speed
    assert step_label(widget)[0] == paused and 5 <= paused < n_updates, (
        f"after Pause the stepper stays where it is (paused at {paused}, now {step_label(widget)[0]})")
    assert button(widget, "Play").count() == 1

    # the scrubber jumps to the last update: PLA halts there
    drag_slider_to_end(page, widget)
    wait_for_step(page, widget, n_updates)
    wait_for_text(page, widget, "PLA halts")
    pixels = wait_for_new_pixels(page, figure, pixels)

    # noisy data: "to end" shows the update limit at once
    widget.locator("select").filter(has=page.locator("option", has_text="noisy")).select_option(label="noisy")
    wait_for_text(page, widget, re.compile(r"update 0 / 200"))
    elapsed = click_to_text_ms(widget, "to end", "stopped at the update limit")
    print(f"'to end' on noisy data: {elapsed:.0f} ms from the click to 'stopped at the update limit'")
    assert elapsed < 2000
    wait_for_step(page, widget, 200)
    pixels = wait_for_new_pixels(page, figure, pixels)
    save_screenshot(page, "02_pla_noisy_to_end")

    # Click on the data axes (the left part of the figure): the widget adds a
    # point there, recomputes the run and starts again from update 0.
    box = figure.bounding_box()
    figure.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.45})
    wait_for_step(page, widget, 0)
    pixels = wait_for_new_pixels(page, figure, pixels)
    assert re.search(r"added point", widget.inner_text()), widget.inner_text()

    # a control changes the run, then quick steps (the page may get a frame before it has drawn
    # the one before): the notebook is saved with the picture of the last step
    widget.locator("button").filter(has_text=re.compile(r"^\s*random\s*$")).click()
    wait_for_text(page, widget, "random cycle")
    wait_for_step(page, widget, 0)
    click_button(widget, "Step")
    wait_for_step(page, widget, 1)
    earlier = wait_for_new_pixels(page, figure, pixels)
    click_button(widget, "Step")
    click_button(widget, "Step")
    wait_for_step(page, widget, 3)
    last = wait_for_new_pixels(page, figure, earlier)
    widget.scroll_into_view_if_needed()
    save_screenshot(page, "02_pla_random_cycle")      # what the reopened notebook must show

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    check_reopened(page, jupyterlab_server, name, static_figures=6, widget_text=STEP_LABEL, last=last,
                   earlier=earlier)


def test_gd_explorer_in_jupyterlab(page, jupyterlab_server):
    import numpy as np

    from coursekit import optim
    from coursekit.widgets.gd import DEFAULT_START

    name = "03_logistic_regression_gd.ipynb"
    run_unit(page, jupyterlab_server, name, static_figures=5)

    # The explorer: the widget with an optimizer dropdown next to a step counter.
    widget = page.locator(OUTPUTS).filter(
        has=page.locator("select").filter(has=page.locator("option", has_text="Adam"))).filter(
        has=page.locator(".widget-html").filter(has_text=STEP_LABEL)).first
    widget.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    chooser = widget.locator("select").filter(has=page.locator("option", has_text="Adam"))
    # the message under the figure: "<optimizer>, η = <eta>, step <t>: w = <w>, b = <b>, loss = <loss>"
    status = widget.locator(".widget-html").filter(has_text=re.compile(r"loss = ")).first
    status_line = re.compile(r"^(?P<opt>.+?), η = (?P<eta>\S+), step (?P<step>\d+): w = (?P<w>\S+), "
                             r"b = (?P<b>\S+), loss = (?P<loss>[^,.\s]+(?:\.\d+)?(?:e[+-]\d+)?)")

    def status_fields() -> dict:
        text = status.inner_text().strip()
        match = status_line.match(text)
        assert match, f"the status line does not report the step's (w, b) and loss: {text!r}"
        return match.groupdict()

    chooser.select_option(label="Adam")
    wait_for_text(page, status, re.compile(r"^Adam, "))
    wait_for_step(page, widget, 0)  # a new run starts at step 0
    pixels = wait_for_new_pixels(page, figure, pixels)
    fields = status_fields()
    assert fields["opt"] == "Adam" and int(fields["step"]) == 0

    # The reference run, computed here from coursekit.optim: the widget must show exactly its states.
    eta = float(fields["eta"])
    reference = optim.optimize(optim.regression_20_problem(), optim.Adam(eta), DEFAULT_START["2d"], 3)
    shown = [fields]
    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)   # the trajectory grew: a new picture
        wait_for_text(page, status, re.compile(rf"step {i}:"))
        shown.append(status_fields())
    for fields, ref in zip(shown, reference):
        got = [float(fields["w"]), float(fields["b"]), float(fields["loss"])]
        np.testing.assert_allclose(got, [*ref.params, ref.loss], rtol=1e-3, atol=1e-4,
                                   err_msg=f"the status line at step {ref.step} does not show the Adam run")
    losses = [float(f["loss"]) for f in shown]
    assert losses[-1] < losses[0], f"Adam should lower the loss over its first steps: {losses}"

    # η from the menu of teaching values: 0.035 with plain GD diverges, and the plot says so
    chooser.select_option(label="GD (full batch)")
    wait_for_text(page, status, re.compile(r"^GD \(full batch\), "))
    eta_menu = widget.locator("select").filter(has=page.locator("option", has_text="0.035"))
    eta_menu.select_option(label="0.035")
    wait_for_text(page, status, re.compile(r"η = 0\.035, step 0:"))
    earlier = wait_for_new_pixels(page, figure, pixels)
    elapsed = click_to_text_ms(widget, "to end", "This run diverged")
    assert elapsed < 2000
    wait_for_step(page, widget, step_label(widget)[1])
    last = wait_for_new_pixels(page, figure, earlier)
    save_screenshot(page, "03_gd_explorer_diverged")

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
    # the notebook reopens with the diverged run on the plot, not the start of the run before it
    check_reopened(page, jupyterlab_server, name, static_figures=5, widget_text=re.compile(r"loss = "),
                   last=last, earlier=earlier)
