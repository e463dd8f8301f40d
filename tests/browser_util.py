"""Driving the workbook in real JupyterLab with headless Chromium: the helpers
every browser test shares (``tests/test_browser.py``, ``tests/test_browser_NN.py``)
and the browser benchmark (``benchmarks/bench_browser.py``).

* a JupyterLab server on a copy of the notebooks, with the workbook's lab
  settings (``jupyterlab-settings/overrides.json``, what ``make lab`` installs),
  isolated from the user's Jupyter configuration;
* Chromium at the size of a small laptop, 1280×800 (:data:`VIEWPORT`), with
  the file browser open, as a student has it;
* opening a notebook, Run All, reading the kernel and the cells' state from
  ``window.jupyterapp`` rather than from pixels;
* a widget's output, its step counter (any counter word: "update 3 / 13",
  "symbol 3 / 5", "epoch 3"; :func:`counter_pattern`), its buttons, its ipympl canvas;
* saving, shutting the kernel down and reopening (what a student sees the next
  day: :func:`check_reopened`), static figures as images, each widget's picture
  compared pixel by pixel with the last one seen before saving, outputs that
  fit their area;
* the time from a click to the canvas change, and screenshots under
  ``test-artifacts/``.

A unit's browser test, in outline::

    from browser_util import *

    pytestmark = [pytest.mark.browser, pytest.mark.slow]

    def test_unit_05_in_jupyterlab(page, jupyterlab_server):
        open_notebook(page, jupyterlab_server, "05_conv.ipynb")
        assert_ran_cleanly(page, run_all_cells(page))
        widget = widget_output(page, counter_pattern("window"))  # the output showing "window 3 / 24"
        figure = canvas(widget)
        pixels = wait_for_canvas_image(page, figure)
        click_button(widget, "Step")
        wait_for_step(page, widget, 1)                           # reads "window 1 / 24"
        earlier = wait_for_new_pixels(page, figure, pixels)
        widget.locator("select").first.select_option(index=1)   # a control: a new run, at step 0
        wait_for_step(page, widget, 0)
        click_button(widget, "Step")
        wait_for_step(page, widget, 1)
        last = wait_for_new_pixels(page, figure, earlier)
        assert_outputs_fit(page)
        save_screenshot(page, "05_conv")                         # then open it and look at it
        assert_no_widget_errors(page)
        assert_no_console_errors(page)
        # the next day: the widget shows `last` (not `earlier`) and "run the cell to use this widget"
        check_reopened(page, jupyterlab_server, "05_conv.ipynb", static_figures=3,
                       widget_text=counter_pattern("window"), last=last, earlier=earlier)
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"
#: The JupyterLab settings the workbook needs; ``make lab`` installs the same file
#: into the environment (``.venv/share/jupyter/lab/settings/overrides.d/``).
LAB_OVERRIDES = REPO / "jupyterlab-settings" / "overrides.json"

CHROMIUM = Path(os.environ.get("COURSEKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: A small laptop's window: with the file browser open, JupyterLab's output area is about 848 px wide.
VIEWPORT = {"width": 1280, "height": 800}
#: What every figure and widget must fit (coursekit.widgets.base.OUTPUT_WIDTH_PX).
OUTPUT_WIDTH_PX = 840

SERVER_START_TIMEOUT_S = 120
LOAD_TIMEOUT_MS = 120_000      # JupyterLab's first load on 2 busy cores
KERNEL_TIMEOUT_MS = 120_000    # kernel start
#: A notebook runs in < 60 s of CPU (nbval holds it to that); in the browser it shares two cores with
#: JupyterLab, Chromium and other work: units 11 and 12 took over 3 minutes on a loaded machine.
RUN_ALL_TIMEOUT_MS = 600_000
WIDGET_TIMEOUT_MS = 30_000     # one kernel round trip (button -> kernel -> redraw)



def counter_pattern(noun: str | None = None) -> re.Pattern:
    """The text of a widget's step counter (``coursekit.widgets.base``): its word (the
    widget's ``counter_noun``), the step shown and, where the run has a known end, " / "
    and the last step: "step 3 / 40", "update 3 / 13", "symbol 3 / 5", "window 7 / 16",
    "epoch 3", "step 120 (D steps 240)". Any word by default, or only ``noun`` (to pick one
    widget among several). Groups: the step, the last step (None without one). The text starts
    with it; after "N / M" more may follow (the PLA stepper names its run there), while
    "epoch 3" must be all of it, or be followed by one remark in parentheses only (the GAN
    lab's "(D steps 240)"), so that sentences such as "update 3: point #5 ...", "after 0
    episodes" or "halted after 13 updates" are no counters."""
    word = re.escape(noun) if noun else r"[^\s\d/:.,;]+"
    return re.compile(rf"^\s*{word} (\d+)(?: / (\d+)(?![\w:/.,])|\s*(?:\([^()]*\)\s*)?$)")


#: Any widget's step counter: ``counter_pattern()``.
STEP_LABEL = counter_pattern()

# Console errors that are not the workbook's doing, as regular expressions.
# None so far: JupyterLab 4.6 with the widget and ipympl front-ends logs no
# error on these pages. Add an entry only with a comment saying why it is harmless.
BENIGN_CONSOLE_ERRORS: list[re.Pattern] = []


# ---- processes and HTTP ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """(status, body) of a GET; status 0 when nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout):
        return 0, ""


def wait_for_http(url: str, process: subprocess.Popen, timeout: float, log: Path | None = None) -> str:
    """Poll ``url`` until it answers 200; return the body. Fails early if the
    process dies, quoting the end of its log."""
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"the server exited with code {process.returncode} before {url} answered:\n{tail}")
        status, body = http_get(url)
        if status == 200:
            return body
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s (last status {status}):\n{tail}")


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group the server leads, then SIGKILL what is left."""
    if process.poll() is not None:
        return
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    # Jupyter asks for confirmation on the first SIGINT; SIGTERM shuts it down
    # at once, kernels included.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # The kernels are in the same group: make sure none outlives the server.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def isolated_jupyter_env(base: Path) -> dict[str, str]:
    """Environment for a Jupyter server whose runtime, config, data and IPython
    directories are under ``base``, so it neither reads the user's Jupyter
    settings nor leaves files in their home. (Matplotlib's font cache stays
    where it is: rebuilding it would cost every kernel seconds.)"""
    env = dict(os.environ)
    dirs = {
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "IPYTHONDIR": base / "ipython",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("JUPYTER_PATH", None)  # no stray data directories from the caller
    # The kernel must import the working tree's coursekit, wherever Jupyter starts it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


# ---- the JupyterLab server ---------------------------------------------------------------------
# Front-end plugins that would ask a question or fetch from the network on
# first start: the "get Jupyter news?" toast and the update check.
DISABLED_LAB_PLUGINS = [
    "@jupyterlab/apputils-extension:announcements",
]


def release_into(notebooks: Path, root_dir: Path) -> None:
    """Write the student version of every notebook of ``notebooks`` into ``root_dir``
    (``coursekit release``: solutions stubbed, hidden tests removed)."""
    import nbformat

    from coursekit.grading import release_notebook

    root_dir.mkdir(parents=True)
    for path in sorted(notebooks.glob("*.ipynb")):
        student = release_notebook(nbformat.read(str(path), as_version=4), path.name)
        nbformat.write(student, str(root_dir / path.name))


@contextlib.contextmanager
def jupyterlab(base: Path, notebooks: Path = NOTEBOOKS, release: bool = True):
    """A JupyterLab server on a copy of ``notebooks`` in ``base`` (a fresh, empty
    folder), with the workbook's lab settings. Yields ``(base_url, token,
    root_dir)``; ``base_url`` ends with ``/``. The copy means a test never
    changes the real notebooks nor leaves checkpoints in the repository.

    With ``release=True`` (the tests) the copies are the *student versions*, what a
    student opens: a browser test's Run All is then also the one run of that
    student version in ``make test`` (``tests/test_release_notebooks.py`` leaves it
    to the browser), and :func:`run_all_cells` checks that every check cell says
    "not attempted yet"."""
    root_dir = base / "notebooks"
    if release:
        release_into(notebooks, root_dir)
    else:
        shutil.copytree(notebooks, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = isolated_jupyter_env(base)
    labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in DISABLED_LAB_PLUGINS}}))
    # The settings `make lab` puts into the environment, here in a folder of the test's own.
    app_settings = base / "app-settings"
    (app_settings / "overrides.d").mkdir(parents=True)
    shutil.copy(LAB_OVERRIDES, app_settings / "overrides.d" / "coursekit.json")
    settings_dir, workspaces_dir = base / "lab-settings", base / "lab-workspaces"
    settings_dir.mkdir()
    workspaces_dir.mkdir()

    port = free_port()
    token = secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.terminals_enabled=False",
        # No network: no news feed, no update check, no PyPI extension manager.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.app_settings_dir={app_settings}",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={workspaces_dir}",
        # window.jupyterapp: lets a test ask the app (kernel status, commands).
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log_path = base / "jupyterlab.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(f"{base_url}api/status?token={token}", process, SERVER_START_TIMEOUT_S, log_path)
        yield base_url, token, root_dir
    finally:
        stop_process_group(process)
        log.close()


# ---- Chromium ----------------------------------------------------------------------------------
def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def new_page(browser):
    """A page in a context of its own, at :data:`VIEWPORT`, whose console errors and
    uncaught exceptions are collected in ``page.console_errors``."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(f"console.{msg.type}: {msg.text} ({msg.location})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(f"uncaught: {exc}"))
    return page


def save_screenshot(page, name: str, full_page: bool = False) -> Path:
    """A screenshot under ``test-artifacts/`` (open it and look: is the state obvious, is
    anything cut off or crowded?)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# ---- driving JupyterLab ------------------------------------------------------------------------
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
  let code = 0, done = 0, errors = 0, firstError = null, checks = 0;
  const attempted = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code += 1;
    if (cell.executionCount !== null && cell.executionCount !== undefined) done += 1;
    const grader = cell.getMetadata ? cell.getMetadata('nbgrader') : (cell.metadata || {}).nbgrader;
    if (grader && grader.grade && cell.executionCount !== null && cell.executionCount !== undefined) {
      checks += 1;
      let printed = '';
      for (let j = 0; j < cell.outputs.length; j++) {
        const o = cell.outputs.get(j).toJSON();
        if (o.output_type === 'stream') printed += Array.isArray(o.text) ? o.text.join('') : o.text;
      }
      if (!printed.includes('not attempted yet')) attempted.push(`${grader.grade_id}: ${printed.slice(0, 200)}`);
    }
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
    dirty: panel.context.model.dirty,
    code, done, errors, firstError, running, checks, attempted,
  };
}
"""


def notebook_state(page) -> dict | None:
    return page.evaluate(_JS_NOTEBOOK_STATE)


def open_notebook(page, server, name: str) -> None:
    """Open ``name`` in JupyterLab, alone in a new workspace, and wait until its kernel is idle."""
    base_url, token, _root = server
    # A workspace of its own: JupyterLab would otherwise reopen every notebook an earlier
    # test left in the default workspace, each with a kernel of its own
    workspace = f"test-{secrets.token_hex(4)}"
    page.goto(f"{base_url}lab/workspaces/{workspace}/tree/{name}?token={token}", timeout=LOAD_TIMEOUT_MS)
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
    print(f"{state['path']}: ran {state['done']}/{state['code']} code cells ({state['checks']} check cells) "
          f"in {state['seconds']:.1f} s")
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
    # The server shows student versions (see jupyterlab()): every check must say so, and this
    # Run All is the student version's one run in `make test`.
    assert not state["attempted"], (f"{state['path']}: in the student version every check should say "
                                    f"'not attempted yet'; these did not: {state['attempted']}")


def assert_no_widget_errors(page) -> None:
    assert page.get_by_text("Error displaying widget").count() == 0, "a widget failed to render"
    assert page.get_by_text("Loading widget...").count() == 0, "a widget never finished rendering"


def assert_no_console_errors(page) -> None:
    errors = [e for e in page.console_errors if not any(p.search(e) for p in BENIGN_CONSOLE_ERRORS)]
    assert not errors, "console errors in the page:\n" + "\n".join(errors)


def require_notebook(name: str) -> None:
    if not (NOTEBOOKS / name).exists():
        pytest.skip(f"notebooks/{name} does not exist yet")


def run_unit(page, server, name: str, static_figures: int) -> dict:
    """What every unit's browser test starts with: open the notebook with the file browser
    open, Run All (the one run of its student version in ``make test``), and check what the
    outputs look like: each fits its area (about 848 px here), at least ``static_figures``
    static figures, all of them images. Returns the notebook's state after Run All
    (``state["seconds"]``: how long Run All took)."""
    require_notebook(name)
    open_notebook(page, server, name)
    open_file_browser(page)
    state = run_all_cells(page)
    assert_ran_cleanly(page, state)
    fit = assert_outputs_fit(page)
    print(f"{name}: widest output area {fit['area']} px at 1280×800 with the file browser open")
    assert fit["area"] >= 800, "the output area should be about 848 px wide here"
    assert_static_figures_are_images(page, at_least=static_figures)
    return state


# ---- one widget --------------------------------------------------------------------------------
#: The outputs of the notebook in front (other notebooks may be open in hidden tabs).
OUTPUTS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output"


def widget_output(page, marker):
    """The output area that holds the widget whose step counter (or other text) matches
    ``marker`` now: the first such output of the notebook in front, pinned by its
    position, so that it stays the same widget when its text changes later."""
    outputs = page.locator(OUTPUTS)
    match = outputs.filter(has=page.locator(".widget-html, .widget-label").filter(has_text=marker))
    match.first.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    index = match.first.evaluate("(el, outputs) => Array.from(document.querySelectorAll(outputs)).indexOf(el)",
                                 OUTPUTS)
    return outputs.nth(index)


def _counter(widget, noun: str | None):
    """The widget's step counter: the base classes' ``.coursekit-counter``, else any text like one."""
    pattern = counter_pattern(noun)
    counter = widget.locator(".coursekit-counter").filter(has_text=pattern)
    return (counter if counter.count() else widget.locator(".widget-html").filter(has_text=pattern)).first


def step_label(widget, noun: str | None = None) -> tuple[int, int | None]:
    """(step, last step) of the widget's counter ("symbol 3 / 5": (3, 5); "epoch 3": (3, None));
    ``noun``: only a counter with that word."""
    text = _counter(widget, noun).inner_text()
    match = counter_pattern(noun).search(text)
    return int(match.group(1)), None if match.group(2) is None else int(match.group(2))


def wait_for_step(page, widget, index: int, total: int | None = None, noun: str | None = None,
                  at_least: bool = False) -> int:
    """Wait until the counter shows step ``index`` (or, with ``at_least``, any later step; and
    ``total`` as its last step, if given). Returns the step shown."""
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while True:
        now = step_label(widget, noun)
        if (now[0] >= index if at_least else now[0] == index) and (total is None or now[1] == total):
            return now[0]
        if time.monotonic() > deadline:
            pytest.fail(f"the counter stayed at {_counter(widget, noun).inner_text()!r}, expected step "
                        f"{'at least ' if at_least else ''}{index}" + (f" / {total}" if total is not None else ""))
        page.wait_for_timeout(100)


def wait_for_text(page, widget, pattern, timeout_ms: int = WIDGET_TIMEOUT_MS) -> str:
    """Wait until the widget's text matches ``pattern`` (a str or compiled regex); return the text."""
    regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + timeout_ms / 1000
    while not regex.search(text := widget.inner_text()):
        if time.monotonic() > deadline:
            pytest.fail(f"the widget never showed {regex.pattern!r}; it shows:\n{text}")
        page.wait_for_timeout(100)
    return text


_JS_SCROLL_VERTICALLY = """
(el, where) => {
  // the nearest ancestor that scrolls vertically (the notebook's window), scrolled so that the
  // element's top (or bottom) is at the top (bottom) of it; never sideways, unlike scrollIntoView
  let box = el.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY)))
    box = box.parentElement;
  if (!box) return;
  const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
  box.scrollTop += where === 'end' ? r.bottom - b.bottom + 8 : r.top - b.top - 8;
}
"""


def scroll_to(page, element, where: str = "start") -> None:
    """Scroll the notebook so that the element's top (``where="start"``: a widget from its top, as
    a student scrolls to it) or its bottom (``"end"``: all of a figure under a tall widget's
    controls) is at the edge of the window, for a screenshot."""
    element.evaluate(_JS_SCROLL_VERTICALLY, where)
    page.wait_for_timeout(300)  # the scroll settles (JupyterLab may render more cells) before the picture


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


def blank_pixels(figure) -> str:
    """What the canvas would look like with nothing drawn on it."""
    return figure.evaluate(
        "div => { const c = div.querySelector('canvas'); const b = document.createElement('canvas');"
        " b.width = c.width; b.height = c.height; return b.toDataURL(); }")


def wait_for_canvas_image(page, figure) -> str:
    """Wait until ipympl has drawn a figure (a blank canvas has no content yet)."""
    return wait_for_new_pixels(page, figure, blank_pixels(figure))


def button(widget, name: str):
    # Matched on the button's text, not its accessible name: the Font Awesome
    # icon's glyph (CSS generated content) is part of the accessible name.
    found = widget.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    assert found.count() == 1, f"expected one {name!r} button in the widget, found {found.count()}"
    return found


def click_button(widget, name: str) -> None:
    button(widget, name).click()


def drag_slider_to_end(page, widget, index: int = 0) -> None:
    """Drag the handle of the widget's ``index``-th slider to the right end of its track."""
    slider = widget.locator(".widget-slider").nth(index)
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-target, .noUi-base").first
    box, end = handle.bounding_box(), track.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] + 20, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()


# ---- timing: from a click to the canvas change -------------------------------------------------
_JS_CLICK_TO_CANVAS = """
async (root, [buttonText, timeoutMs]) => {
  // Every canvas draw is recorded, and every frame ipympl receives (it makes an object URL
  // of each PNG): ipympl draws each new frame onto the widget's visible canvas.
  const canvas = root.querySelector('.jupyter-matplotlib-canvas-div canvas');
  if (!window.__coursekitDraws) {
    window.__coursekitDraws = [];
    window.__coursekitFrames = [];
    const draw = CanvasRenderingContext2D.prototype.drawImage;
    CanvasRenderingContext2D.prototype.drawImage = function (...args) {
      window.__coursekitDraws.push([this.canvas, performance.now()]);
      return draw.apply(this, args);
    };
    const objectURL = URL.createObjectURL;
    URL.createObjectURL = function (...args) {
      window.__coursekitFrames.push(performance.now());
      return objectURL.apply(this, args);
    };
  }
  const button = Array.from(root.querySelectorAll('button')).find(b => b.textContent.trim() === buttonText);
  if (!button || button.disabled) return null;
  window.__coursekitDraws = [];
  window.__coursekitFrames = [];
  const t0 = performance.now();
  button.click();
  while (performance.now() - t0 < timeoutMs) {
    const hit = window.__coursekitDraws.find(([c, t]) => c === canvas && t > t0);
    if (hit) {
      const frame = window.__coursekitFrames.find(t => t > t0);
      return [hit[1] - t0, frame === undefined ? null : frame - t0];
    }
    await new Promise(r => setTimeout(r, 1));
  }
  return [-1, null];
}
"""


def click_to_canvas(widget, button_text: str = "Step",
                    timeout_ms: int = WIDGET_TIMEOUT_MS) -> tuple[float, float | None] | None:
    """Milliseconds from a click on the button to the first new frame drawn on the widget's
    canvas, and to the arrival of that frame in the page (the rest is the page's decoding and
    drawing); None when the button is disabled (at the end)."""
    timing = widget.evaluate(_JS_CLICK_TO_CANVAS, [button_text, timeout_ms])
    if timing is not None and timing[0] < 0:
        pytest.fail(f"no new frame within {timeout_ms} ms of a click on {button_text!r}")
    return None if timing is None else (timing[0], timing[1])


def click_to_canvas_ms(widget, button_text: str = "Step", timeout_ms: int = WIDGET_TIMEOUT_MS) -> float | None:
    """Milliseconds from a click on the button to the first new frame on the widget's canvas."""
    timing = click_to_canvas(widget, button_text, timeout_ms)
    return None if timing is None else timing[0]


_JS_CLICK_TO_TEXT = """
async (root, [buttonText, text, timeoutMs]) => {
  const button = Array.from(root.querySelectorAll('button')).find(b => b.textContent.trim() === buttonText);
  const t0 = performance.now();
  button.click();
  while (performance.now() - t0 < timeoutMs) {
    if (root.innerText.includes(text)) return performance.now() - t0;
    await new Promise(r => setTimeout(r, 5));
  }
  return -1;
}
"""


def click_to_text_ms(widget, button_text: str, text: str, timeout_ms: int = WIDGET_TIMEOUT_MS) -> float:
    """Milliseconds from a click on the button until the widget shows ``text``."""
    elapsed = widget.evaluate(_JS_CLICK_TO_TEXT, [button_text, text, timeout_ms])
    if elapsed < 0:
        pytest.fail(f"the widget did not show {text!r} within {timeout_ms} ms of a click on {button_text!r}")
    return elapsed


# ---- saved notebooks, figures and widths -------------------------------------------------------
def save_notebook(page) -> None:
    """File → Save, and wait until the file on disk is up to date."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(f"() => {{ const s = ({_JS_NOTEBOOK_STATE})(); return s && !s.dirty; }}",
                           timeout=WIDGET_TIMEOUT_MS)


# The widget manager's restore of the widget state saved in the notebook (ipywidgets 8,
# python/jupyterlab_widgets/src/manager.ts) and the widget outputs' renderer (renderer.ts):
#
# * when the manager is made, ``restoreWidgets`` loads the kernel's widgets and then the saved
#   state (``set_state``, which first asks the kernel for its comms: the saved models are
#   registered only after that round trip), then sets ``restoredStatus`` and emits ``restored``;
# * each time the kernel's connection becomes "connected", a second ``restoreWidgets`` runs that
#   loads the kernel's widgets only, and it too sets ``restoredStatus`` and emits ``restored``.
#
# When the second one ends first, ``restoredStatus`` is true while the saved models are not yet
# registered. A widget output that renders in that window finds no model, and since the manager
# says it is restored, it shows "Error displaying widget: model not found" and logs "Error: widget
# model not found" to the console. An output that was waiting for the restore (all those on the
# page when the notebook opened) renders again at the next ``restored`` and then shows its widget;
# one that first renders inside the window (JupyterLab renders a long notebook's cells lazily, as
# they come into view) keeps the error. So a test waits until the manager has made the model of
# every widget output and no output shows the error any more, before it scrolls to a widget: the
# right condition, not a pause. The console error of an output that recovered is the race's, not
# the workbook's (:data:`RESTORE_RACE_CONSOLE_ERROR`). The saved state itself is checked on disk
# (:func:`widgets_missing_from_saved_state`).
_JS_WIDGET_RESTORE = """
async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  const mime = 'application/vnd.jupyter.widget-view+json';
  const ids = [];
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      const view = (cell.outputs.get(j).toJSON().data || {})[mime];
      if (view && view.model_id) ids.push(view.model_id);
    }
  }
  // The notebook's widget manager: the one its renderers get (the plugin binds it to the
  // notebook's rendermime once the kernel is ready; until then the renderer has none).
  let manager = null;
  try {
    const renderer = panel.content.rendermime.createRenderer(mime);
    const promise = renderer._manager && renderer._manager.promise;
    manager = promise ? await Promise.race([promise, new Promise(r => setTimeout(() => r(null), 50))]) : null;
    renderer.dispose();
  } catch (err) {
    return {ready: false, why: `no widget renderer yet (${err})`};
  }
  if (!manager) return {ready: false, why: 'the notebook has no widget manager yet'};
  if (!manager.restoredStatus) return {ready: false, why: 'the widget manager has not restored the widgets yet'};
  const missing = ids.filter(id => !manager.has_model(id));
  if (missing.length) return {ready: false, why: `models not registered yet: ${missing.join(', ')}`};
  // registered models are promises: wait until each one is made (then the restore emits `restored`)
  const made = await Promise.race([Promise.all(ids.map(id => manager.get_model(id))).then(() => true, () => true),
                                   new Promise(r => setTimeout(() => r(false), 200))]);
  if (!made) return {ready: false, why: 'models registered, not all made yet'};
  // an output rendered while `restoredStatus` was true too early shows "model not found" until the
  // renderer renders again at the next `restored`
  const failed = Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')).filter(
    o => o.textContent.includes('Error displaying widget')).length;
  if (failed) return {ready: false, why: `outputs still show "Error displaying widget" (${failed})`, failed};
  return {ready: true, widgets: ids.length};
}
"""


#: What the widget renderer logs when it renders during the restore race (see above).
RESTORE_RACE_CONSOLE_ERROR = re.compile(r"^console\.error: Error: widget model not found\b")


def wait_for_widget_restore(page, timeout_ms: int = KERNEL_TIMEOUT_MS) -> int:
    """Wait until the widget manager of the notebook in front has restored its widgets: it says
    so, and it has the model of every widget output (see the note above :data:`_JS_WIDGET_RESTORE`).
    Returns how many widget outputs the notebook has."""
    t0 = time.monotonic()
    seen = set()  # the states passed through on the way (the race shows as "models not registered yet")
    while not (status := page.evaluate(_JS_WIDGET_RESTORE))["ready"]:
        seen.add(status["why"].split(":")[0].split(" (")[0])
        if time.monotonic() > t0 + timeout_ms / 1000:
            if status.get("failed"):
                pytest.fail(f"{status['failed']} widget outputs of the reopened notebook show \"Error displaying "
                            "widget: model not found\" although the widget manager has made their models: they "
                            "rendered inside the restore race of JupyterLab's widget manager (see "
                            "_JS_WIDGET_RESTORE in browser_util.py); a reload shows them", pytrace=False)
            pytest.fail(f"the widget manager did not restore the notebook's widgets within {timeout_ms / 1000:.0f} "
                        f"s: {status['why']}", pytrace=False)
        page.wait_for_timeout(100)
    # an output that recovered logged the race's error to the console: not the workbook's
    raced = [e for e in page.console_errors if RESTORE_RACE_CONSOLE_ERROR.search(e)]
    page.console_errors[:] = [e for e in page.console_errors if not RESTORE_RACE_CONSOLE_ERROR.search(e)]
    if raced:
        seen.add(f"{len(raced)} outputs rendered inside the restore race and recovered")
    print(f"widget restore: {status['widgets']} widget outputs ready after {time.monotonic() - t0:.1f} s"
          + (f" (waited while: {'; '.join(sorted(seen))})" if seen else ""))
    return status["widgets"]


def reopen_with_a_new_kernel(page, server, name: str) -> None:
    """What a student sees the next day: shut the notebook's kernel down (so no widget
    lives on anywhere), reload JupyterLab, open the notebook again (a fresh kernel starts),
    and wait until the widget manager has restored the saved widgets and none still loads."""
    base_url, token, _root = server
    page.evaluate("""async ([base, token]) => {
      const sessions = await (await fetch(`${base}api/sessions?token=${token}`)).json();
      for (const s of sessions) await fetch(`${base}api/sessions/${s.id}?token=${token}`, {method: 'DELETE'});
    }""", [base_url, token])
    open_notebook(page, server, name)
    wait_for_widget_restore(page)
    page.wait_for_function("() => !document.body.innerText.includes('Loading widget...')", timeout=WIDGET_TIMEOUT_MS)


def widgets_missing_from_saved_state(server, name: str) -> list[str]:
    """The widget outputs of the notebook file on disk whose model is not in the widget state
    saved with it (what JupyterLab shows as "Error displaying widget: model not found")."""
    nb = json.loads((Path(server[2]) / name).read_text())
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    saved = set(state.get("state", {}))
    missing = []
    for i, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view and view.get("model_id") not in saved:
                missing.append(f"cell {i}: model {view.get('model_id')}")
    return missing


def png_pixels(data_url: str):
    """The RGBA pixels (a NumPy array) of a PNG data URL, such as :func:`canvas_pixels` returns."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    head, _, data = data_url.partition(",")
    assert head == "data:image/png;base64", f"not a PNG data URL: {data_url[:40]!r}"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))


def pixel_difference(a: str, b: str) -> float:
    """The fraction of pixels that differ between two pictures (PNG data URLs), over the
    part they share; 1 when their sizes differ by more than a pixel or two. (ipympl gives
    a live canvas the figure's width rounded down, a reopened one the width of its saved
    PNG: an 8.2 in figure is 819 px wide live and 820 px reopened.)"""
    pa, pb = png_pixels(a), png_pixels(b)
    if any(abs(x - y) > 2 for x, y in zip(pa.shape, pb.shape)):
        return 1.0
    h, w = min(pa.shape[0], pb.shape[0]), min(pa.shape[1], pb.shape[1])
    return float((abs(pa[:h, :w].astype(int) - pb[:h, :w].astype(int)) > 8).any(axis=-1).mean())


def save_picture(data_url: str, name: str) -> Path:
    """A picture (a PNG data URL) under ``test-artifacts/``."""
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    Image.fromarray(png_pixels(data_url)).save(path)
    return path


def assert_shows_picture(figure, last: str, earlier: str | None = None, tolerance: float = 0.002,
                         name: str = "canvas") -> float:
    """The canvas shows ``last`` (a picture taken with :func:`canvas_pixels`, up to
    ``tolerance`` of its pixels), and clearly not ``earlier`` (the picture before the last
    change, so that an off-by-one picture cannot pass). Returns the difference. On a
    failure the pictures go to ``test-artifacts/<name>_{shown,last,earlier}.png``."""
    now = canvas_pixels(figure)
    difference = pixel_difference(now, last)
    problems = []
    if earlier is not None:
        step = pixel_difference(earlier, last)
        if step <= 2 * tolerance:
            problems.append(f"the last change altered only {step:.2%} of the pixels: too little to tell the last "
                            "picture from the one before")
        if pixel_difference(now, earlier) <= tolerance:
            problems.append("the canvas shows the picture before the last change")
    if difference > tolerance:
        sizes = f"{png_pixels(now).shape[1::-1]} against {png_pixels(last).shape[1::-1]}"
        problems.append(f"the canvas differs from the last picture seen in {difference:.2%} of its pixels (at most "
                        f"{tolerance:.2%} allowed; sizes {sizes})")
    if problems:
        for kind, picture in (("shown", now), ("last", last), ("earlier", earlier)):
            if picture is not None:
                save_picture(picture, f"{name}_{kind}")
        pytest.fail("; ".join(problems) + f"; see test-artifacts/{name}_*.png", pytrace=False)
    return difference


def check_reopened(page, server, name: str, static_figures: int, widget_text, last: str | None = None,
                   earlier: str | None = None) -> None:
    """What a student finds the next day: save, shut the kernel down, reopen. Static figures
    are images, no widget shows an error, and the widget found by ``widget_text`` (a marker
    for :func:`widget_output`) shows the picture it showed when the notebook was saved
    (``last``, not ``earlier``: pictures taken with :func:`canvas_pixels` after the last
    change and before it; see :func:`assert_shows_picture`) and the line "run the cell to
    use this widget". Without ``last`` only a picture is required (and a warning asks for
    ``last``). Saves ``test-artifacts/NN_reopened.png``."""
    save_notebook(page)
    missing = widgets_missing_from_saved_state(server, name)
    assert not missing, f"{name} was saved without the state of widgets its outputs show: {missing}"
    page.console_errors.clear()
    reopen_with_a_new_kernel(page, server, name)
    assert not (missing := widgets_missing_from_saved_state(server, name)), (
        f"{name} lost the state of widgets its outputs show while it was reopened: {missing}")
    assert_no_widget_errors(page)
    assert_static_figures_are_images(page, at_least=static_figures)
    report = output_report(page)
    assert report["widgets"] >= 1 and not report["deadWidgets"], (
        f"widget outputs of the reopened notebook that show no widget: {report['deadWidgets']}")
    widget = widget_output(page, widget_text)
    widget.scroll_into_view_if_needed()
    figure = canvas(widget)
    wait_for_canvas_image(page, figure)
    if last is None:
        warnings.warn(f"{name}: check_reopened without last=: pass the picture seen before saving "
                      "(canvas_pixels) to check that the reopened widget shows it", stacklevel=2)
    else:
        difference = assert_shows_picture(figure, last, earlier, name=f"{name.split('_')[0]}_reopened")
        print(f"{name}: the reopened widget's picture differs from the last one seen in {difference:.3%} "
              "of its pixels")
    note = widget.get_by_text("run the cell to use this widget")
    assert note.is_visible(), "a reopened widget says that it is a picture until its cell runs again"
    # the screenshot shows the note at the top and the picture under it, as far as the window reaches
    scroll_to(page, widget)
    save_screenshot(page, f"{name.split('_')[0]}_reopened")
    assert_no_console_errors(page)


_JS_OUTPUT_REPORT = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const report = {staticFigures: 0, staticImages: 0, missing: [], widgets: 0, widgetViews: 0, deadWidgets: []};
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs;
    for (let j = 0; j < outputs.length; j++) {
      const data = outputs.get(j).toJSON().data || {};
      const node = cell.outputArea.widgets[j] && cell.outputArea.widgets[j].node;
      if (data['application/vnd.jupyter.widget-view+json']) {
        report.widgets += 1;
        if (node && node.querySelector('.jupyter-widgets:not(.jp-OutputArea-output)')) report.widgetViews += 1;
        else report.deadWidgets.push(`cell ${i}: ${node ? node.innerText.slice(0, 80) : 'not rendered'}`);
      } else if (data['image/png']) {
        report.staticFigures += 1;
        if (node && node.querySelector('img')) report.staticImages += 1;
        else report.missing.push(`cell ${i}, output ${j}`);
      }
    }
  });
  return report;
}
"""


def output_report(page) -> dict:
    """Counts over the open notebook's outputs: static figures (PNG outputs) and how many
    show as an <img>; widget outputs and how many show a widget view."""
    return page.evaluate(_JS_OUTPUT_REPORT)


def assert_static_figures_are_images(page, at_least: int) -> dict:
    report = output_report(page)
    assert report["staticFigures"] >= at_least, (
        f"expected at least {at_least} static figures (PNG outputs), found {report['staticFigures']}: is the "
        "notebook still in %matplotlib widget mode?")
    assert not report["missing"], f"static figures that do not show as images: {report['missing']}"
    ipympl_outside_widgets = page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jupyter-matplotlib'))"
        ".filter(e => !e.closest('.coursekit-widget') && !e.closest('.widget-vbox')).length")
    assert ipympl_outside_widgets == 0, f"{ipympl_outside_widgets} figures are live canvases, not images"
    return report


def open_file_browser(page) -> None:
    """Show the file browser in the left sidebar, as a student usually has it."""
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    page.wait_for_function("() => { const f = document.querySelector('.jp-FileBrowser');"
                           " return f && f.getBoundingClientRect().width > 100; }", timeout=WIDGET_TIMEOUT_MS)


_JS_WIDE_OUTPUTS = """
() => {
  const wide = [];
  let area = 0;
  document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output').forEach((out, i) => {
    const box = out.getBoundingClientRect();
    if (box.width === 0) return;
    area = Math.max(area, box.width);
    let right = box.right;
    let clipped = false;
    out.querySelectorAll('img, canvas, .jupyter-widgets, .widget-box, .widget-hbox, button').forEach(el => {
      const r = el.getBoundingClientRect();
      if (r.width === 0) return;
      right = Math.max(right, r.right);
      // a box between it and the output area that hides what overflows it cuts a canvas off unseen
      for (let a = el.parentElement; a && a !== out; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible' && r.right > a.getBoundingClientRect().right + 1) clipped = true;
      }
    });
    if (out.scrollWidth > out.clientWidth + 1 || right > box.right + 1 || clipped) {
      wide.push({output: i, area: Math.round(box.width), content: Math.round(Math.max(out.scrollWidth,
                 right - box.left)), text: out.innerText.slice(0, 60)});
    }
  });
  return {area, wide};
}
"""


def outputs_wider_than_their_area(page) -> dict:
    """``{"area": widest output area in px, "wide": [outputs whose content is wider than it]}``."""
    return page.evaluate(_JS_WIDE_OUTPUTS)


def assert_outputs_fit(page) -> dict:
    """No output (figure, widget, text) is wider than its output area."""
    report = outputs_wider_than_their_area(page)
    assert not report["wide"], f"outputs wider than their area ({report['area']} px): {report['wide']}"
    return report
