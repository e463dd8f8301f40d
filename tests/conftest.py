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

On a failing browser test a screenshot of the page (and its console errors)
is saved under ``test-artifacts/`` at the repository root.
"""
from __future__ import annotations

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
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"

BROWSER_ENV = "COURSEKIT_BROWSER_TESTS"
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
ENABLE_HINT = f"apt-get install chromium, then {BROWSER_ENV}=1 make test"

SERVER_START_TIMEOUT_S = 120


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


# ---- helpers shared by the server fixtures and test_make_lab.py -----------------------
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


# ---- the JupyterLab server -----------------------------------------------------------
# Front-end plugins that would ask a question or fetch from the network on
# first start: the "get Jupyter news?" toast and the update check.
DISABLED_LAB_PLUGINS = [
    "@jupyterlab/apputils-extension:announcements",
]


@pytest.fixture(scope="session")
def jupyterlab_server(tmp_path_factory):
    """A JupyterLab server on a temporary copy of ``notebooks/``.

    Yields ``(base_url, token, root_dir)``; ``base_url`` ends with ``/``. The copy
    means the tests never change the real notebooks nor leave checkpoints in
    the repository.
    """
    base = tmp_path_factory.mktemp("jupyterlab")
    root_dir = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = isolated_jupyter_env(base)
    labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in DISABLED_LAB_PLUGINS}})
    )
    settings_dir = base / "lab-settings"
    workspaces_dir = base / "lab-workspaces"
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
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={workspaces_dir}",
        # window.jupyterapp: lets a test ask the app (kernel status, commands).
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log_path = base / "jupyterlab.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(f"{base_url}api/status?token={token}", process, SERVER_START_TIMEOUT_S, log_path)
        yield base_url, token, root_dir
    finally:
        stop_process_group(process)
        log.close()


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
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
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
    """A fresh page (own context) whose console errors and uncaught exceptions
    are collected in ``page.console_errors``; a screenshot is saved under
    ``test-artifacts/`` if the test fails."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(f"console.{msg.type}: {msg.text} ({msg.location})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(f"uncaught: {exc}"))
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        name = _artifact_name(request.node.nodeid)
        stale = [ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}.console.txt"]
        for path in stale:  # a passing run removes what an earlier failure left
            path.unlink(missing_ok=True)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(page.console_errors) + "\n")
            except Exception as err:  # the page may be gone; the test's own error matters more
                print(f"could not save the failure screenshot: {err}")
        context.close()
