"""Shared fixtures: every test runs against a temporary RECSYS_HOME and without the internet."""

from __future__ import annotations

import socket

import pytest

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory):
    """One RECSYS_HOME for the whole session (the demo is generated into it once).

    Set in the environment before any other fixture runs, so module- and session-scoped
    fixtures never write into the project's data/ folder.
    """
    import os

    home = tmp_path_factory.mktemp("recsys_home")
    previous = os.environ.get("RECSYS_HOME")
    os.environ["RECSYS_HOME"] = str(home)
    # the app trains a first model on a fresh store's demo by itself: never in a test that does
    # not ask for it (tests/app/test_first_visit.py and its browser test turn it back on)
    os.environ["RECSYS_FIRST_MODEL"] = "off"
    yield home
    if previous is None:
        os.environ.pop("RECSYS_HOME", None)
    else:
        os.environ["RECSYS_HOME"] = previous


@pytest.fixture(scope="session", autouse=True)
def _scan_component_manifests_once():
    """Scan the installed packages for components v2 manifests once per test session.

    Every new ``AppTest`` builds its own component manager on its first ``run()``, and that
    walks the metadata of every installed distribution (``streamlit.components.v2.
    manifest_scanner.scan_component_manifests``, imported by name inside
    ``BidiComponentManager.discover_and_register_components`` at each call): most of an app
    test's own time. The installed packages do not change during a session, so the first
    result is kept and returned (as a new list) to every later AppTest. Only this process is
    patched: a served app (``streamlit run``, the browser tests) scans as it always does.

    Patched when streamlit was imported while the tests were collected (every tests/app module
    imports AppTest); otherwise no test of the session needs it yet and importing streamlit
    here would cost a non-app run half a second.
    """
    import sys

    if "streamlit" not in sys.modules:
        yield
        return
    from streamlit.components.v2 import manifest_scanner

    real = manifest_scanner.scan_component_manifests
    found: list = []

    def scan_once(*args, **kwargs):
        if not found:
            found.append(real(*args, **kwargs))
        return list(found[0])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", scan_once)
        yield


@pytest.fixture(autouse=True)
def _isolated_home(session_home, monkeypatch):
    monkeypatch.setenv("RECSYS_HOME", str(session_home))
    yield


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    """A RECSYS_HOME of the test's own (nothing cached yet)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("RECSYS_HOME", str(home))
    from recsys_core import datasets

    datasets.clear_memo()
    yield home
    datasets.clear_memo()


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Tests never touch the internet: a connection to anything but loopback fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
            if host not in _LOOPBACK and not host.startswith("127."):
                raise OSError(f"tests must not use the network (tried {address!r})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


# ------------------------------------------------------------------------------------ app tests
APP_MODELS = {
    "als": {"factors": 24, "iterations": 6, "random_state": 0},
    "item-knn": {"K": 30},
    "lightfm": {"no_components": 16, "epochs": 5, "use_item_features": True, "random_state": 0},
    "popularity": {},
}


@pytest.fixture(scope="session")
def app_models(session_home):
    """Models trained once on the demo into the session's RECSYS_HOME: {algorithm: model id}.

    The app reads them from the same store as the CLI.
    """
    from recsys_core.datasets import load_dataset
    from recsys_core.training import train

    demo = load_dataset("demo")
    return {name: train(demo, name, params).model_id for name, params in APP_MODELS.items()}
