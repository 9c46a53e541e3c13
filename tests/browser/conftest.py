"""Browser tests: the app served by a real `streamlit run`, driven in Debian's Chromium.

Skipped, with the reason, where /usr/bin/chromium or playwright is absent (.ci/run installs
Chromium with apt, so CI always runs them). Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is absent (apt-get install -y chromium; .ci/run does this)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(home: Path, log_name: str = "streamlit.log", **env_changes: str):
    """A `streamlit run app.py` on a free loopback port with ``RECSYS_HOME=home`` (and
    ``env_changes``); yields its URL and stops it after. The health check goes straight to the
    server (no proxy from the environment)."""
    port = _free_port()
    env = dict(os.environ, RECSYS_HOME=str(home), **env_changes)
    log = open(home / log_name, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with requests.Session() as session:
            session.trust_env = False
            while time.monotonic() < deadline:
                try:
                    if session.get(f"{url}/_stcore/health", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.3)
                if process.poll() is not None:
                    raise RuntimeError((home / log_name).read_text())
            else:
                raise RuntimeError("streamlit did not start within 60 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url(app_models, session_home):
    """A `streamlit run app.py` on a free loopback port, with the session's RECSYS_HOME."""
    with serve_app(session_home) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs  # alerts raised by the page (an XSS would show up here)
    yield tab
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


APP_IDLE = (
    "() => { const app = document.querySelector('[data-testid=stApp]');"
    " return app && app.dataset.testScriptState === 'notRunning'"
    " && app.dataset.testConnectionState === 'CONNECTED'"
    " && !document.querySelector('[data-testid=stSkeleton]')"
    # every canvas map (recsys_core/ui/scatter_component.py) has drawn its data
    " && [...document.querySelectorAll('[class*=\"st-key-scatter_\"]')]"
    ".every(c => c.querySelector('.rx-scatter[data-state=drawn]')); }"
)


def wait_for_app(page) -> None:
    """Wait until the script run is over, the server connected and every element drawn."""
    page.wait_for_selector("[data-testid='stAppViewContainer']")
    page.wait_for_function(APP_IDLE, timeout=90_000)
    page.wait_for_timeout(200)


def loaded_thumbnails(page) -> int:
    """How many card images have actually loaded (not broken)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.rx-grid img')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length"
    )
