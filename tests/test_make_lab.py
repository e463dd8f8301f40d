"""`make lab` and `make install`, run the way a student runs them.

`make lab` is the workbook's front door: it must install (or find installed)
the pinned environment and start JupyterLab on notebooks/ with the widget
front-ends. The test starts it on a free port, with --no-browser and a known
token (through the Makefile's LAB_ARGS), checks what the server serves, and
stops it. A second `make install` must be a no-op, so that `make lab` starts
in seconds once the course is installed.
"""
from __future__ import annotations

import html
import json
import re
import secrets
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO, NOTEBOOKS, free_port, http_get, isolated_jupyter_env, stop_process_group, wait_for_http

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed"),
]

INSTALL_TIMEOUT_S = 900   # a real install (first run after pyproject/constraints change) downloads wheels
LAB_START_TIMEOUT_S = 120
NO_OP_SECONDS = 10.0      # "a second `make lab` starts within seconds"

WIDGET_FRONTENDS = {"@jupyter-widgets/jupyterlab-manager", "jupyter-matplotlib"}


def make(*args: str, timeout: float, env=None) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    result = subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True,
                            timeout=timeout, env=env)
    return result, time.monotonic() - t0


def test_second_make_install_is_a_no_op():
    first, _ = make("install", timeout=INSTALL_TIMEOUT_S)
    assert first.returncode == 0, f"make install failed:\n{first.stdout}\n{first.stderr}"
    second, seconds = make("install", timeout=60)
    assert second.returncode == 0, f"the second make install failed:\n{second.stdout}\n{second.stderr}"
    assert "Nothing to be done" in second.stdout + second.stderr, (
        f"the second make install did work again:\n{second.stdout}\n{second.stderr}")
    assert "pip" not in second.stdout, second.stdout
    assert seconds < NO_OP_SECONDS, f"the second make install took {seconds:.1f} s"


def test_a_failed_install_writes_no_stamp(tmp_path):
    """If pip fails, `make install` fails and leaves no stamp, so the next run tries again.
    The venv here is a fake one whose python fails every pip command."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake_python = venv / "bin" / "python"
    fake_python.write_text('#!/bin/sh\n[ "$1" = "-m" ] && [ "$2" = "pip" ] && { echo "pip: no network"; exit 1; }\n'
                           f'exec {sys.executable} "$@"\n')  # everything else works
    fake_python.chmod(0o755)
    result, _ = make("install", f"VENV={venv}", timeout=60)
    assert result.returncode != 0, f"make install succeeded although pip failed:\n{result.stdout}\n{result.stderr}"
    assert not (venv / ".installed").exists(), "a failed install wrote the stamp"


def lab_config(page_html: str) -> dict:
    """The JSON page config JupyterLab embeds in its HTML."""
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page_html, re.S)
    assert match, "the page has no jupyter-config-data: not a JupyterLab page"
    return json.loads(html.unescape(match.group(1)))


def test_make_lab_serves_the_workbook(tmp_path):
    port = free_port()
    token = secrets.token_hex(16)
    lab_args = ["--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                # no network on the test machines: no news feed, no update check
                "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    # as root (CI), the Makefile itself must add --allow-root, as it does for a student in a container
    env = isolated_jupyter_env(tmp_path)  # runtime files, settings, workspaces: not in $HOME
    log_path = tmp_path / "make-lab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"PORT={port}", "LAB_ARGS=" + " ".join(lab_args)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: make, jupyter and any kernel stop together
        try:
            t0 = time.monotonic()
            page = wait_for_http(f"http://127.0.0.1:{port}/lab?token={token}", process,
                                 INSTALL_TIMEOUT_S + LAB_START_TIMEOUT_S, log_path)
            print(f"make lab answered after {time.monotonic() - t0:.1f} s")
            assert "<title>JupyterLab</title>" in page
            config = lab_config(page)
            assert config.get("appName") == "JupyterLab", config.get("appName")
            extensions = {ext["name"] for ext in config.get("federated_extensions", [])}
            assert WIDGET_FRONTENDS <= extensions, (
                f"widget front-ends missing from JupyterLab: {sorted(WIDGET_FRONTENDS - extensions)}")

            # The server's root is notebooks/: its listing is the workbook.
            status, body = http_get(f"http://127.0.0.1:{port}/api/contents?token={token}")
            assert status == 200, status
            served = {item["name"] for item in json.loads(body)["content"] if item["type"] == "notebook"}
            assert served == {p.name for p in NOTEBOOKS.glob("*.ipynb")}

            # And the token is required: without it the API refuses.
            status, _ = http_get(f"http://127.0.0.1:{port}/api/contents")
            assert status == 403, f"the API answered {status} without the token"
        finally:
            stop_process_group(process)
    assert process.poll() is not None, "make lab is still running after being stopped"
    assert http_get(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)[0] == 0, (
        "JupyterLab still answers after make lab was stopped")
