"""Shared pytest set-up: the ``browser`` and ``gpu`` markers, a JupyterLab
server on a copy of the workbook, and a headless Chromium page to drive it.

Browser tests
-------------
Tests marked ``browser`` open JupyterLab in Debian's Chromium through
Playwright's Python API. Playwright's own browser download does not work on
the course machines, so the browser is always the system one
(``/usr/bin/chromium``, or ``$COURSEKIT_CHROMIUM``).

* ``COURSEKIT_BROWSER_TESTS=1`` (what ``.ci/run`` sets): the browser tests must
  run; a missing Chromium or Playwright fails them with a message saying what
  is missing.
* otherwise: they run when Chromium and Playwright are both there, and are
  skipped, saying how to enable them, when either is missing.

Pages are 1280×800, the window of a small laptop. On a failing browser test a
screenshot of the page (and its console errors) is saved under
``test-artifacts/`` at the repository root; the tests save their own
screenshots there too. The server, the page and the helpers that drive
JupyterLab live in ``browser_util.py``.
"""
from __future__ import annotations

import os
import re

import pytest

# shared with test_make_lab.py and the browser tests (conftest re-exports them)
from browser_util import (ARTIFACTS, CHROMIUM, NOTEBOOKS, REPO, free_port, http_get,  # noqa: F401
                          isolated_jupyter_env, jupyterlab, launch_chromium, new_page, stop_process_group,
                          wait_for_http)

BROWSER_ENV = "COURSEKIT_BROWSER_TESTS"
ENABLE_HINT = f"apt-get install chromium, then {BROWSER_ENV}=1 make test"



# ---- markers: browser and gpu ------------------------------------------------------
def browser_tests_required() -> bool:
    return os.environ.get(BROWSER_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium ({CHROMIUM})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright")
    return " and ".join(missing) + " not found" if missing else None


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if browser_items and not browser_tests_required():
        reason = browser_missing()
        if reason:
            skip = pytest.mark.skip(reason=f"browser test: {reason}; to run it: {ENABLE_HINT}")
            for item in browser_items:
                item.add_marker(skip)

    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if gpu_items:
        import torch  # only imported when some collected test needs a GPU

        if not torch.cuda.is_available():
            skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
            for item in gpu_items:
                item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so fixtures can see in their
    # teardown whether the test failed (and save a screenshot if so).
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


# ---- the JupyterLab server (helpers in browser_util.py, shared with test_make_lab.py) ----------------
@pytest.fixture(scope="session")
def jupyterlab_server(tmp_path_factory):
    """A JupyterLab server on a temporary copy of ``notebooks/``, with the
    workbook's lab settings. Yields ``(base_url, token, root_dir)``; ``base_url``
    ends with ``/``. The copy means the tests never change the real notebooks
    nor leave checkpoints in the repository."""
    with jupyterlab(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


# ---- Playwright: one Chromium per session, one page per test ---------------------------
@pytest.fixture(scope="session")
def chromium_browser():
    reason = browser_missing()
    if reason:
        # Only reached when the test was not skipped at collection, i.e. when
        # COURSEKIT_BROWSER_TESTS=1 says the browser tests must run.
        pytest.fail(f"browser tests are required ({BROWSER_ENV}=1) but {reason}; "
                    "install Chromium with `apt-get install chromium` and the dev "
                    "dependencies with `make install`", pytrace=False)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


@pytest.fixture
def page(chromium_browser, request):
    """A fresh page (own context, 1280×800) whose console errors and uncaught
    exceptions are collected in ``page.console_errors``; a screenshot is saved
    under ``test-artifacts/`` if the test fails."""
    page = new_page(chromium_browser)
    context = page.context
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        name = _artifact_name(request.node.nodeid)
        stale = [ARTIFACTS / f"{name}.failed.png", ARTIFACTS / f"{name}.console.txt"]
        for path in stale:  # a passing run removes what an earlier failure left
            path.unlink(missing_ok=True)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.failed.png"), full_page=True)
                (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(page.console_errors) + "\n")
            except Exception as err:  # the page may be gone; the test's own error matters more
                print(f"could not save the failure screenshot: {err}")
        context.close()
