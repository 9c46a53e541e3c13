"""The app's speed on the demo: rerun cost next to the core call, and time to first render.

1. With a stored model loaded (warm caches), a rerun of the Similar items page after picking a new
   item, timed server-side (the script run itself, in AppTest's script thread), against the core
   ``similar_items`` call alone.
2. Time to first render of each page in Debian's Chromium, cold (a fresh ``streamlit run``, empty
   caches) and warm (the same page again in a new tab), from navigation to the end of the script
   run with the page's content on screen.

    python benchmarks/bench_app.py            # both parts (needs /usr/bin/chromium for part 2)
    python benchmarks/bench_app.py --no-browser

Prints two tables. One run each, on this machine; everything goes to a temporary RECSYS_HOME.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
APP_IDLE = (  # the script run is over, the server connected, every element drawn
    "() => { const app = document.querySelector('[data-testid=stApp]');"
    " return app && app.dataset.testScriptState === 'notRunning'"
    " && app.dataset.testConnectionState === 'CONNECTED'"
    " && !document.querySelector('[data-testid=stSkeleton]'); }"
)
PAGES = ["start", "similar", "compare", "users", "embeddings", "evaluate", "data"]


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


script_seconds: list[float] = []


def _time_script_runs() -> None:
    """Record the wall time of each script run in the script thread (not AppTest's polling)."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            script_seconds.append(time.perf_counter() - start)

    ScriptRunner._run_script = timed

    # AppTest starts every run in Streamlit's legacy pages/ mode (a real server leaves it after
    # the first session); keep the server's steady state so the numbers are a real rerun's.
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def steady(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = steady
    from streamlit import config

    config.set_option("runner.magicEnabled", False)


def rerun_cost(models: dict[str, str], repeats: int = 15) -> None:
    import numpy as np
    from streamlit.testing.v1 import AppTest

    _time_script_runs()

    from recsys_core.datasets import load_dataset
    from recsys_core.store import ModelStore

    demo = load_dataset("demo")
    popular = demo.item_ids[np.argsort(-demo.item_counts)[: repeats + 1]]
    rows = []
    for algorithm, model_id in models.items():
        model = ModelStore().load(model_id, demo)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params.update({"dataset": "demo", "model": model_id, "item": popular[0]})
        at.switch_page("pages/similar.py")
        at.run()  # loads the dataset and the model into the caches
        page_times, core_times = [], []
        for item in popular[1:]:
            at.query_params["item"] = item
            script_seconds.clear()
            at.run()
            page_times.append(sum(script_seconds))
            assert not at.exception, at.exception
            index = demo.item_index(item)
            start = time.perf_counter()
            model.similar_items(index, 12)
            core_times.append(time.perf_counter() - start)
        page = statistics.median(page_times) * 1e3
        core = statistics.median(core_times) * 1e3
        rows.append([algorithm, f"{page:.1f}", f"{core:.2f}", f"{page - core:.1f}"])
    _table(
        "Similar items: a rerun after picking a new item (median of "
        f"{repeats}, milliseconds, k=12)",
        ["model", "page script run", "core similar_items", "page overhead"],
        rows,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_render(models: dict[str, str], home: str) -> None:
    import requests
    from playwright.sync_api import sync_playwright

    from recsys_core.datasets import load_dataset

    if not Path("/usr/bin/chromium").exists():
        print("\n(time to first render skipped: /usr/bin/chromium is absent)")
        return
    demo = load_dataset("demo")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=dict(os.environ, RECSYS_HOME=home),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        query = f"dataset=demo&model={models['als']}&item={demo.example_item}"
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            for page_name in PAGES:
                path = "" if page_name == "start" else page_name
                times = []
                for _ in ("cold", "warm"):
                    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                    start = time.perf_counter()
                    tab.goto(f"{url}/{path}?{query}")
                    tab.wait_for_selector("h1", timeout=180_000)
                    tab.wait_for_function(APP_IDLE, timeout=180_000)
                    times.append(time.perf_counter() - start)
                    tab.close()
                rows.append([f"/{path}", f"{times[0]:.2f}", f"{times[1]:.2f}"])
            browser.close()
        _table(
            "Time to first render in Chromium (seconds; cold = first visit after the server "
            "started, warm = the same page again)",
            ["page", "cold", "warm"],
            rows,
        )
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-app-")
    os.environ["RECSYS_HOME"] = home
    from threadpoolctl import threadpool_limits

    from recsys_core.datasets import load_dataset
    from recsys_core.training import train

    demo = load_dataset("demo")
    with threadpool_limits(1, "blas"):
        models = {
            "als": train(demo, "als", {"factors": 64}).model_id,
            "item-knn": train(demo, "item-knn", {}).model_id,
            "ease": train(demo, "ease", {}).model_id,
        }
    print(f"cores: {os.cpu_count()}, RECSYS_HOME: {home}")
    rerun_cost(models)
    if not args.no_browser:
        first_render(models, home)


if __name__ == "__main__":
    main()
