"""The workbook's widgets in real JupyterLab, driven by headless Chromium.

The unit tests drive each widget from Python; these tests show that it also
renders and reacts in the browser a student uses: open the notebook, run all
cells, press the widget's buttons, click on its ipympl figure, and watch the
step label and the canvas change, with no "Error displaying widget" and no
console errors.

Run with ``COURSEKIT_BROWSER_TESTS=1`` to make them mandatory (see conftest.py).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_TIMEOUT_MS = 120_000      # JupyterLab's first load on 2 busy cores
KERNEL_TIMEOUT_MS = 120_000    # kernel start
RUN_ALL_TIMEOUT_MS = 180_000   # a notebook must run in < 60 s; leave room for a loaded machine
WIDGET_TIMEOUT_MS = 30_000     # one kernel round trip (button -> kernel -> redraw)

STEP_LABEL = re.compile(r"(?:step|update) (\d+) / (\d+)")

# Console errors that are not the workbook's doing, as regular expressions.
# None so far: JupyterLab 4.6 with the widget and ipympl front-ends logs no
# error on these pages. Add an entry only with a comment saying why it is harmless.
BENIGN_CONSOLE_ERRORS: list[re.Pattern] = []


# ---- driving JupyterLab ----------------------------------------------------------------
# JavaScript run in the page. The server exposes the app as window.jupyterapp
# (--LabApp.expose_app_in_browser), which lets a test read the notebook model
# and the kernel status rather than guess them from pixels.
_JS_NOTEBOOK_STATE = """
() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.content.model) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.model.cells;
  let code = 0, done = 0, errors = 0, firstError = null;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code += 1;
    if (cell.executionCount !== null && cell.executionCount !== undefined) done += 1;
    for (let j = 0; j < cell.outputs.length; j++) {
      const out = cell.outputs.get(j).toJSON();
      if (out.output_type !== 'error') continue;
      errors += 1;
      if (firstError === null) firstError = `code cell ${code}: ${out.ename}: ${out.evalue}`;
    }
  }
  const running = Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')).filter(p => p.textContent.includes('*')).length;
  return {
    path: panel.context.path,
    ready: panel.sessionContext.isReady,
    kernel: kernel ? kernel.status : null,
    code, done, errors, firstError, running,
  };
}
"""


def notebook_state(page) -> dict | None:
    return page.evaluate(_JS_NOTEBOOK_STATE)


def open_notebook(page, server, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    base_url, token, _root = server
    page.goto(f"{base_url}lab/tree/{name}?token={token}", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(
        "(name) => { const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
        " return !!(w && w.context && w.context.path === name && w.content && w.content.model); }",
        arg=name, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const k = w.sessionContext.session && w.sessionContext.session.kernel;"
        " return w.sessionContext.isReady && k && k.status === 'idle'; }",
        timeout=KERNEL_TIMEOUT_MS)


def run_all_cells(page) -> dict:
    """Run -> Run All Cells, as a student would, and wait until every code cell
    has run (or one has failed) and the kernel is idle again."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
    t0 = time.monotonic()
    page.wait_for_function(
        f"() => {{ const s = ({_JS_NOTEBOOK_STATE})(); return s && s.kernel === 'idle' && s.running === 0"
        " && (s.done === s.code || s.errors > 0); }",
        timeout=RUN_ALL_TIMEOUT_MS, polling=250)
    state = notebook_state(page)
    state["seconds"] = time.monotonic() - t0
    print(f"{state['path']}: ran {state['done']}/{state['code']} code cells in {state['seconds']:.1f} s")
    return state


def show_first_error(page) -> None:
    page.evaluate("""async () => {
      const notebook = window.jupyterapp.shell.currentWidget.content;
      const cells = notebook.model.cells;
      for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        for (let j = 0; j < cell.outputs.length; j++) {
          if (cell.outputs.get(j).type === 'error') {
            notebook.activeCellIndex = i;
            await notebook.scrollToCell(notebook.widgets[i], 'start');
            return;
          }
        }
      }
    }""")
    page.wait_for_timeout(300)


def assert_ran_cleanly(page, state: dict) -> None:
    if state["errors"]:
        show_first_error(page)  # so that the failure screenshot shows it
        pytest.fail(f"{state['path']}: Run All stopped at an error: {state['firstError']}", pytrace=False)
    assert state["done"] == state["code"], f"{state['path']}: only {state['done']} of {state['code']} code cells ran"


def assert_no_widget_errors(page) -> None:
    assert page.get_by_text("Error displaying widget").count() == 0, "a widget failed to render"
    assert page.get_by_text("Loading widget...").count() == 0, "a widget never finished rendering"


def assert_no_console_errors(page) -> None:
    errors = [e for e in page.console_errors if not any(p.search(e) for p in BENIGN_CONSOLE_ERRORS)]
    assert not errors, "console errors in the page:\n" + "\n".join(errors)


def widget_output(page, marker):
    """The output area that holds the widget whose step label (or other text) matches ``marker``."""
    output = page.locator(".jp-OutputArea-output").filter(
        has=page.locator(".widget-html, .widget-label").filter(has_text=marker))
    output.first.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    return output.first  # the notebook's first such widget


def step_label(widget) -> tuple[int, int]:
    text = widget.locator(".widget-html").filter(has_text=STEP_LABEL).first.inner_text()
    match = STEP_LABEL.search(text)
    return int(match.group(1)), int(match.group(2))


def wait_for_step(page, widget, index: int) -> None:
    label = widget.locator(".widget-html").filter(has_text=STEP_LABEL).first
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while step_label(widget)[0] != index:
        if time.monotonic() > deadline:
            pytest.fail(f"the step label stayed at {label.inner_text()!r}, expected step {index}")
        page.wait_for_timeout(100)


def canvas(widget):
    """The ipympl figure of a widget (its drawing canvas is the first <canvas>)."""
    figure = widget.locator(".jupyter-matplotlib-canvas-div").first
    figure.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    return figure


def canvas_pixels(figure) -> str:
    """The figure as the browser shows it, as a PNG data URL."""
    return figure.evaluate("div => div.querySelector('canvas').toDataURL()")


def wait_for_new_pixels(page, figure, before: str) -> str:
    """Wait until the canvas differs from ``before`` and stops changing."""
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    now = canvas_pixels(figure)
    while now == before:
        if time.monotonic() > deadline:
            pytest.fail("the figure did not redraw")
        page.wait_for_timeout(100)
        now = canvas_pixels(figure)
    # draw_idle may deliver more than one image; take the settled one.
    settled = now
    page.wait_for_timeout(300)
    while (now := canvas_pixels(figure)) != settled:
        settled = now
        page.wait_for_timeout(300)
    return settled


def wait_for_canvas_image(page, figure) -> str:
    """Wait until ipympl has drawn a figure (a blank canvas has no content yet)."""
    blank = figure.evaluate(
        "div => { const c = div.querySelector('canvas'); const b = document.createElement('canvas');"
        " b.width = c.width; b.height = c.height; return b.toDataURL(); }")
    return wait_for_new_pixels(page, figure, blank)


def click_button(widget, name: str) -> None:
    # Matched on the button's text, not its accessible name: the Font Awesome
    # icon's glyph (CSS generated content) is part of the accessible name.
    button = widget.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    assert button.count() == 1, f"expected one {name!r} button in the widget, found {button.count()}"
    button.click()


def require_notebook(name: str) -> None:
    if not (NOTEBOOKS / name).exists():
        pytest.skip(f"notebooks/{name} does not exist yet")


# ---- the tests ---------------------------------------------------------------------------
def test_pla_stepper_in_jupyterlab(page, jupyterlab_server):
    name = "02_perceptron.ipynb"
    require_notebook(name)
    open_notebook(page, jupyterlab_server, name)
    state = run_all_cells(page)
    assert_ran_cleanly(page, state)

    widget = widget_output(page, STEP_LABEL)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    assert step_label(widget)[0] == 0, "the stepper should start at step 0"
    n_steps = step_label(widget)[1]
    assert n_steps >= 3, f"the example should need at least 3 PLA steps, the label says {n_steps}"

    for i in range(1, 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)
    assert step_label(widget)[0] == 3

    # Click on the data axes (the left part of the figure): the widget adds a
    # point there, recomputes the trace and starts again from step 0.
    message_before = widget.inner_text()
    box = figure.bounding_box()
    figure.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    wait_for_step(page, widget, 0)
    pixels = wait_for_new_pixels(page, figure, pixels)
    message = widget.inner_text()
    assert message != message_before and re.search(r"added (a )?point", message, re.I), (
        f"the widget should say that a point was added; it shows:\n{message}")

    assert_no_widget_errors(page)
    assert_no_console_errors(page)


def test_gd_explorer_in_jupyterlab(page, jupyterlab_server):
    import numpy as np

    from coursekit import optim
    from coursekit.widgets.gd import DEFAULT_START

    name = "03_logistic_regression_gd.ipynb"
    require_notebook(name)
    open_notebook(page, jupyterlab_server, name)
    state = run_all_cells(page)
    assert_ran_cleanly(page, state)

    # The explorer: the widget with an optimizer dropdown next to a step label.
    widget = page.locator(".jp-OutputArea-output").filter(
        has=page.locator("select").filter(has=page.locator("option", has_text="Adam"))).filter(
        has=page.locator(".widget-html").filter(has_text=STEP_LABEL)).first
    widget.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    pixels = wait_for_canvas_image(page, figure)
    chooser = widget.locator("select").filter(has=page.locator("option", has_text="Adam"))
    # the status line under the figure: "<optimizer>, η = <eta>, step <t>: w = <w>, b = <b>, loss = <loss>"
    status = widget.locator(".widget-html").filter(has_text=re.compile(r"loss = ")).first
    status_line = re.compile(r"^(?P<opt>.+?), η = (?P<eta>\S+), step (?P<step>\d+): w = (?P<w>\S+), "
                             r"b = (?P<b>\S+), loss = (?P<loss>[^,.\s]+(?:\.\d+)?(?:e[+-]\d+)?)")
    start = step_label(widget)[0]
    assert step_label(widget)[1] >= start + 3, "the explorer's run should have at least 3 more steps"

    def status_fields() -> dict:
        text = status.inner_text().strip()
        match = status_line.match(text)
        assert match, f"the status line does not report the step's (w, b) and loss: {text!r}"
        return match.groupdict()

    def settled_pixels() -> str:
        """The canvas once it has stopped changing (the same image over three polls, about 1 s)."""
        deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
        last, quiet = canvas_pixels(figure), 0
        while quiet < 3:
            if time.monotonic() > deadline:
                pytest.fail("the figure kept changing")
            page.wait_for_timeout(300)
            now = canvas_pixels(figure)
            quiet = quiet + 1 if now == last else 0
            last = now
        return last

    # Switch to Adam first and take a fresh, settled picture of the Adam run, so that each "the
    # trajectory grew" check below compares two pictures of the Adam run: the optimizer change alone
    # must not be what makes the first Step look different. If Adam is already selected, selecting
    # it again changes nothing, so the picture is only re-read.
    selected = chooser.evaluate("s => s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].textContent.trim()")
    if selected != "Adam":
        chooser.select_option(label="Adam")
        deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
        while status_fields()["opt"] != "Adam":   # the kernel has recomputed the run
            if time.monotonic() > deadline:
                pytest.fail(f"the status line never reported Adam: {status.inner_text()!r}")
            page.wait_for_timeout(100)
    pixels = settled_pixels()
    fields = status_fields()
    assert fields["opt"] == "Adam" and int(fields["step"]) == start

    # The reference run, computed here from coursekit.optim: the widget must show exactly its states.
    eta = float(fields["eta"])
    reference = optim.optimize(optim.regression_20_problem(), optim.Adam(eta), DEFAULT_START["2d"], start + 3)
    shown = [fields]
    for i in range(start + 1, start + 4):
        click_button(widget, "Step")
        wait_for_step(page, widget, i)
        pixels = wait_for_new_pixels(page, figure, pixels)   # the trajectory grew: a new picture
        deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
        while int(status_fields()["step"]) != i:
            if time.monotonic() > deadline:
                pytest.fail(f"the status line stayed at {status.inner_text()!r}, expected step {i}")
            page.wait_for_timeout(100)
        shown.append(status_fields())
    for fields, ref in zip(shown, reference[start:]):
        got = [float(fields["w"]), float(fields["b"]), float(fields["loss"])]
        np.testing.assert_allclose(got, [*ref.params, ref.loss], rtol=1e-3, atol=1e-4,
                                   err_msg=f"the status line at step {ref.step} does not show the Adam run")
    points = [(f["w"], f["b"]) for f in shown]
    assert len(set(points)) == len(points), f"each step should move (w, b): {points}"
    losses = [float(f["loss"]) for f in shown]
    assert losses[-1] < losses[0], f"Adam should lower the loss over its first steps: {losses}"
    said_with_adam = widget.inner_text()

    # Another optimizer: a new run, so the kernel got the dropdown's value (the
    # trajectory and the numbers change), and like every new run it starts at step 0.
    other = next(label.strip() for label in chooser.locator("option").all_inner_texts() if label.strip() != "Adam")
    chooser.select_option(label=other)
    pixels = wait_for_new_pixels(page, figure, pixels)
    wait_for_step(page, widget, 0)
    assert widget.inner_text() != said_with_adam, "the status line did not change with the optimizer"

    assert_no_widget_errors(page)
    assert_no_console_errors(page)
