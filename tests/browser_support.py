"""What every browser test shares: finding Chromium, and starting a real JupyterLab.

The browser tests themselves are collected in ``test_browser.py`` (its fixtures give
them one Playwright and one Chromium), so that they all run on one worker, one after
the other: two browsers and two servers at once starve each other on two cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_TIMEOUT = 90.0

# JupyterLab settings overrides (the plugin ids and keys are those of the installed
# JupyterLab 4 schemas, .venv/share/jupyter/lab/schemas/@jupyterlab/...).
SETTINGS_OVERRIDES = {
    # No news or update-check toast over the page.
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Every cell is attached to the page (content-visibility skips painting off-screen
    # cells but keeps them in the DOM; "full" windowing would detach them). This is the
    # default of JupyterLab 4.6, pinned here; the test checks that it sees every cell.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "contentVisibility"},
}


def find_chromium() -> tuple[str | None, str]:
    """The Chromium to drive, and where the test looked for it."""
    explicit = os.environ.get("RW_CHROMIUM")
    if explicit:
        return shutil.which(explicit), f"RW_CHROMIUM={explicit!r}"
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM, DEFAULT_CHROMIUM
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found, f"{name} on PATH"
    return None, f"{DEFAULT_CHROMIUM}, chromium or chromium-browser on PATH"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    """Stop the server by its PID: SIGTERM (it shuts its kernels down), then SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def start_lab(root: Path, work: Path):
    """A real ``jupyter lab`` from this venv serving ``root``, on a free port with a random token.

    Its config, data, runtime, settings and workspace folders and its log are in
    ``work``, with the news and update checks off so that no dialog covers the page.
    Yields a :class:`LabServer` once ``/api/status`` answers; stops the server after.
    """
    config = work / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "default_setting_overrides.json").write_text(
        json.dumps(SETTINGS_OVERRIDES, indent=2)
    )
    port, token = free_port(), secrets.token_hex(24)
    env = dict(
        os.environ,
        JUPYTER_TOKEN=token,
        JUPYTER_CONFIG_DIR=str(config),
        # The kernel spec still resolves to this venv's python3: jupyter_path("kernels")
        # also searches sys.prefix/share/jupyter, and jupyter_client runs the "python" of
        # the spec as the server's own sys.executable.
        JUPYTER_DATA_DIR=str(work / "data"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
    )
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
    command += [f"--port={port}", "--ServerApp.port_retries=0"]
    command += [f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = work / "jupyter-lab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with status {process.returncode} before answering; "
                    f"its log ({log}):\n{server.log_tail()}"
                )
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab did not answer /api/status within {SERVER_TIMEOUT:.0f} s; "
                    f"its log ({log}):\n{server.log_tail()}"
                )
            time.sleep(0.25)
        specs = server.api("/api/kernelspecs")["kernelspecs"]
        assert "python3" in specs, f"no python3 kernel spec, only {sorted(specs)}"
        yield server
    finally:
        _stop(process)


@contextlib.contextmanager
def served(root: Path, work: Path, playwright, chromium: str):
    """:func:`start_lab` on ``root`` and a new Chromium page: yields ``(page, server)``.

    ``playwright`` is the run's one Playwright (the ``playwright`` fixture of
    ``test_browser.py``: its sync API allows one per thread). On a failure inside, a
    screenshot is saved as ``work/failure.png``.
    """
    with start_lab(root, work) as server:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            yield page, server
        except Exception:
            page.screenshot(path=str(work / "failure.png"))
            raise
        finally:
            browser.close()
