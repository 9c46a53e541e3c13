"""The app's speed in Chromium, against Streamlit's own floor, on the demo.

The floor is a trivial page (a title, a caption and 12 small images) served by the same
Streamlit on the same machine and opened in the same Chromium. Then, for the app:

- each of the seven pages, cold (the first visit after the server started) and warm (the same
  link again in a new tab of the same browser, median of ``--repeats``, each warm visit right
  after a visit of the floor, so the floor is measured under the same load);
- a thumbnail click on Similar items, until the new grid has settled (median of five clicks in
  a row);
- a model switch in the sidebar on Similar items, until the new grid has settled (median of
  five switches in a row);
- a colouring change on Embeddings (a fragment rerun), until the map is redrawn (median of 3).

"Settled" is the condition the browser tests wait for (tests/browser/conftest.py APP_IDLE): the
script run is over, the server connected, no skeleton left, every canvas map (the Embeddings
page's, recsys_core/ui/scatter_component.py) drawn; plus every Plotly chart drawn and every
image in view loaded. Every time is divided by the floor's warm time. Goals (issue 11): a
click at most 0.75x the floor, each page warm at most 2x.

    python benchmarks/bench_app.py                 # the browser table (needs /usr/bin/chromium)
    python benchmarks/bench_app.py --pages embeddings,similar   # some pages (the floor always)
    python benchmarks/bench_app.py --rerun-cost    # also the server-side rerun table (AppTest)

One run, on this machine, everything in a temporary RECSYS_HOME: the models are trained and the
Embeddings map (t-SNE) computed before the servers start, so "cold" is a fresh server process
with the disk caches a previous session would leave (models, projections), and empty memory
caches. The machine's core count and load average are printed in the header: the machine may be
shared, and the ratios to the floor (measured in the same run) are the numbers to compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
]
PAGES = ["start", "similar", "compare", "users", "embeddings", "evaluate", "data"]
CLICK_GOAL, PAGE_GOAL = 0.75, 2.0
TIMEOUT_MS = 300_000

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser table says it is skipped
    PlaywrightTimeout = TimeoutError

SETTLED = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.dataset.testScriptState !== 'notRunning'
      || app.dataset.testConnectionState !== 'CONNECTED'
      || document.querySelector('[data-testid=stSkeleton]')) return false;
  const main = document.querySelector('[data-testid=stMain]');
  if (!main || !main.querySelector('h1')) return false;
  const charts = [...main.querySelectorAll('[data-testid=stPlotlyChart]')];
  if (!charts.every(c => c.querySelector('.main-svg'))) return false;
  const maps = [...main.querySelectorAll('[class*="st-key-scatter_"]')];
  if (!maps.every(c => c.querySelector('.rx-scatter[data-state=drawn]'))) return false;
  const parts = [...main.querySelectorAll('.stBidiComponent')];  // components v2: mounted
  if (!parts.every(c => c.querySelector('[data-testid^=stBidiComponent] > *'))) return false;
  const inView = img => { const r = img.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.width > 0; };
  return [...main.querySelectorAll('img')].every(img => img.complete || !inView(img));
}"""
"""tests/browser/conftest.py APP_IDLE (which also waits for every canvas map to have drawn its
data), plus: a title drawn, every Plotly chart drawn, every image in view loaded (cards load
lazily: those below the fold are not waited for)."""

GRID = """() => [...document.querySelectorAll('[data-testid=stMain] .rx-grid a[href]')]
  .map(a => a.getAttribute('href')).join(' ')"""

FLOOR_APP = textwrap.dedent('''
    """Streamlit's floor: a title, a caption and 12 small images."""
    import numpy as np
    import streamlit as st

    st.title("Floor")
    st.caption("A trivial page served by the same Streamlit: a title, a caption, 12 images.")
    columns = st.columns(6)
    for i in range(12):
        image = np.zeros((120, 120, 3), dtype=np.uint8)
        image[..., i % 3] = 40 + 17 * i
        image[30:90, 30:90] = 255 - 15 * i
        columns[i % 6].image(image, caption=f"image {i + 1}")
''')
PLOTLY_FLOOR_APP = FLOOR_APP.replace(
    'st.title("Floor")',
    'st.title("Floor")\nimport plotly.graph_objects as go\n\n'
    "st.plotly_chart(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2])))",
)
"""The floor plus one tiny Plotly chart: what loading Plotly alone costs (Embeddings draws its
map with it; Data's and Evaluate's charts too)."""


# ------------------------------------------------------------------------------------ helpers
def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVERS: dict[str, int] = {}
"""The process id of each running :func:`serve` server, by URL (bench_scale reads its RSS)."""


@contextmanager
def serve(script: Path, home: str):
    """``streamlit run script`` on a free loopback port; yields its URL."""
    import requests

    port = _free_port()
    log = open(Path(home) / f"streamlit-{script.stem}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=dict(os.environ, RECSYS_HOME=home),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = server.pid
    try:
        for _ in range(300):
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield url
    finally:
        SERVERS.pop(url, None)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


GRIDS = {"similar": 1, "compare": 2, "users": 2}
"""Thumbnail grids each page draws: a visit has settled only once they are in the page (a
components v2 element mounts after the script run ends, so SETTLED alone could pass before)."""


def _grids_drawn(tab, url: str) -> None:
    page = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    if GRIDS.get(page):
        tab.wait_for_function(
            "n => document.querySelectorAll('[data-testid=stMain] .rx-grid .rx-card').length >= n",
            arg=GRIDS[page],
            timeout=TIMEOUT_MS,
            polling=20,
        )


def visit(context, url: str) -> float:
    """Seconds from opening ``url`` in a new tab until the page has settled (its grids drawn)."""
    tab = context.new_page()
    try:
        start = time.perf_counter()
        tab.goto(url, timeout=TIMEOUT_MS)
        _grids_drawn(tab, url)
        tab.wait_for_function(SETTLED, timeout=TIMEOUT_MS, polling=50)
        seconds = time.perf_counter() - start
        errors = tab.locator("[data-testid=stException]").count()
        if errors:
            raise RuntimeError(f"{url} shows an exception")
        return seconds
    finally:
        tab.close()


def _wait_changed(
    tab, param: str, before: str, grid_before: str, timeout: int = TIMEOUT_MS
) -> None:
    """Wait for the URL's ``param`` to change, the grid to show other cards, the page settled."""
    tab.wait_for_function(
        "([p, v]) => (new URLSearchParams(location.search).get(p) || '') !== v",
        arg=[param, before],
        timeout=timeout,
        polling=20,
    )
    tab.wait_for_function(f"g => ({GRID})() !== g", arg=grid_before, timeout=timeout, polling=20)
    tab.wait_for_function(SETTLED, timeout=timeout, polling=20)


def _param(tab, name: str) -> str:
    return tab.evaluate(f"() => new URLSearchParams(location.search).get('{name}') || ''")


def clicks(context, url: str, n: int = 5) -> list[float]:
    """Click the first thumbnail of the grid ``n`` times in a row; seconds until each settled."""
    tab = context.new_page()
    times = []
    try:
        tab.goto(url, timeout=TIMEOUT_MS)
        tab.wait_for_function(SETTLED, timeout=TIMEOUT_MS, polling=50)
        for _ in range(n):
            item, grid = _param(tab, "item"), tab.evaluate(GRID)
            card = tab.locator("[data-testid=stMain] .rx-grid a.rx-thumb").first
            start = time.perf_counter()
            card.click()
            _wait_changed(tab, "item", item, grid)
            times.append(time.perf_counter() - start)
            tab.wait_for_timeout(300)
    finally:
        tab.close()
    return times


def model_switches(context, url: str, n: int) -> list[float]:
    """Pick another model in the sidebar ``n`` times; seconds until each grid settled (a pick
    that does not take effect within a minute counts as infinite)."""
    tab = context.new_page()
    times = []
    try:
        tab.goto(url, timeout=TIMEOUT_MS)
        tab.wait_for_function(SETTLED, timeout=TIMEOUT_MS, polling=50)
        sidebar = tab.get_by_test_id("stSidebar")
        for _ in range(n):
            model, grid = _param(tab, "model"), tab.evaluate(GRID)
            sidebar.get_by_role("combobox", name="Model").click()
            other = tab.locator("[role=option]:not([aria-selected=true])")
            other.first.wait_for()
            start = time.perf_counter()
            other.first.click()
            try:
                _wait_changed(tab, "model", model, grid, timeout=60_000)
                times.append(time.perf_counter() - start)
            except PlaywrightTimeout:
                times.append(float("inf"))
            tab.wait_for_timeout(300)
    finally:
        tab.close()
    return times


MAP = """() => { const map = document.querySelector('[data-testid=stMain] .rx-scatter');
  return map && map.dataset.state === 'drawn'
    ? map.querySelector('.rx-sc-legend').textContent : ''; }"""
"""The Embeddings map's legend once drawn (its title and entries change with the colouring)."""


def colourings(context, url: str) -> list[float]:
    """Colour the Embeddings map three other ways in a row; seconds until each map is redrawn."""
    tab = context.new_page()
    times = []
    try:
        tab.goto(url, timeout=TIMEOUT_MS)
        tab.wait_for_function(SETTLED, timeout=TIMEOUT_MS, polling=50)
        main = tab.get_by_test_id("stMain")
        for label in ("Popularity", "Category", "Taste group"):
            before = tab.evaluate(MAP)
            main.get_by_role("combobox", name="Colour by").click()
            option = tab.get_by_role("option", name=label, exact=True)
            option.wait_for()
            start = time.perf_counter()
            option.click()
            tab.wait_for_function(
                f"m => ({MAP})() !== m", arg=before, timeout=TIMEOUT_MS, polling=20
            )
            tab.wait_for_function(SETTLED, timeout=TIMEOUT_MS, polling=20)
            times.append(time.perf_counter() - start)
            tab.wait_for_timeout(300)
    finally:
        tab.close()
    return times


# -------------------------------------------------------------------------------- the table
def browser_table(
    models: dict[str, str], home: str, repeats: int, pages: list[str] | None = None
) -> None:
    import streamlit
    from playwright.sync_api import sync_playwright

    from recsys_core.datasets import load_dataset

    if not Path(CHROMIUM).exists():
        print(f"\n(browser table skipped: {CHROMIUM} is absent)")
        return
    demo = load_dataset("demo")
    floor_script = Path(home) / "floor_app.py"
    floor_script.write_text(FLOOR_APP)
    plotly_script = Path(home) / "floor_plotly_app.py"
    plotly_script.write_text(PLOTLY_FLOOR_APP)
    query = f"dataset=demo&model={models['als']}&item={demo.example_item}"
    compare = f"dataset=demo&model={models['als']},{models['ease']}&item={demo.example_item}"
    rows: list[list] = []
    load_before = os.getloadavg()[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        with (
            serve(floor_script, home) as floor_url,
            serve(plotly_script, home) as plotly_url,
            serve(ROOT / "app.py", home) as url,
        ):
            floor_cold = visit(context, floor_url)
            floor_warm = []
            plotly_cold, plotly_warm = visit(context, plotly_url), []
            for _ in range(repeats):
                floor_warm.append(visit(context, floor_url))
                plotly_warm.append(visit(context, plotly_url))
            rows.append(
                [
                    "floor + one tiny Plotly chart",
                    f"{plotly_cold:.2f}",
                    statistics.median(plotly_warm),
                    None,
                ]
            )
            for name in pages or PAGES:
                path = "" if name == "start" else name
                link = f"{url}/{path}?{compare if name == 'compare' else query}"
                cold = visit(context, link)
                warm = []
                for _ in range(repeats):  # the floor in between: both see the same load
                    floor_warm.append(visit(context, floor_url))
                    warm.append(visit(context, link))
                rows.append([f"/{path}", f"{cold:.2f}", statistics.median(warm), PAGE_GOAL])
                print(
                    f"  /{path}: cold {cold:.2f} s, warm {statistics.median(warm):.2f} s",
                    flush=True,
                )
            for page, label, measure, goal in (
                (
                    "similar",
                    "thumbnail click on /similar",
                    lambda: clicks(context, f"{url}/similar?{query}"),
                    CLICK_GOAL,
                ),
                (
                    "similar",
                    "model switch in the sidebar",
                    lambda: model_switches(context, f"{url}/similar?{query}", 5),
                    None,
                ),
                (
                    "embeddings",
                    "colouring change on /embeddings (a fragment)",
                    lambda: colourings(context, f"{url}/embeddings?{query}"),
                    None,
                ),
            ):
                if page not in (pages or PAGES):
                    continue
                floor_warm.append(visit(context, floor_url))
                seconds = statistics.median(measure())
                rows.append([label, "", seconds, goal])
                print(f"  {label}: {seconds:.2f} s", flush=True)
        browser.close()
    floor = statistics.median(floor_warm)
    table = [["floor (title, caption, 12 images)", f"{floor_cold:.2f}", f"{floor:.2f}", "1.00", ""]]
    for name, cold, seconds, goal in rows:
        ratio = seconds / floor
        verdict = "" if goal is None else f"<= {goal:g}x {'ok' if ratio <= goal else 'MISSED'}"
        table.append([name, cold, f"{seconds:.2f}", f"{ratio:.2f}", verdict])
    _table(
        f"Chromium, Streamlit {streamlit.__version__}, {os.cpu_count()} cores (os.cpu_count), "
        f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; seconds "
        f"until settled (warm: median of {repeats}, each after a floor visit; interactions: "
        "median of 3-5 in a row)",
        ["view", "cold", "warm", "warm / floor", "goal"],
        table,
    )


# ---------------------------------------------------------------- the server-side rerun cost
script_seconds: list[float] = []


def _time_script_runs() -> None:
    """Record the wall time of each script run in the script thread (not AppTest's polling)."""
    from streamlit import config
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            script_seconds.append(time.perf_counter() - start)

    ScriptRunner._run_script = timed
    config.set_option("runner.magicEnabled", False)


def rerun_cost(models: dict[str, str], repeats: int = 15) -> None:
    """Similar items: a script run after picking a new item, against ``similar_items`` alone."""
    import numpy as np
    from streamlit.testing.v1 import AppTest

    from recsys_core.datasets import load_dataset
    from recsys_core.store import ModelStore

    _time_script_runs()
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
            start = time.perf_counter()
            model.similar_items(demo.item_index(item), 12)
            core_times.append(time.perf_counter() - start)
        page = statistics.median(page_times) * 1e3
        core = statistics.median(core_times) * 1e3
        rows.append([algorithm, f"{page:.1f}", f"{core:.2f}", f"{page - core:.1f}"])
    _table(
        f"Similar items: a script run after picking a new item (median of {repeats}, "
        "milliseconds, k=12)",
        ["model", "page script run", "core similar_items", "page overhead"],
        rows,
    )


def _pages(raw: str) -> list[str]:
    """``--pages embeddings,similar``: known page names, in the table's order."""
    wanted = [name.strip().strip("/") or "start" for name in raw.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in PAGES]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"unknown page {', '.join(unknown) or '(none)'}; choose from {', '.join(PAGES)}"
        )
    return [name for name in PAGES if name in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm visits per page")
    parser.add_argument(
        "--rerun-cost", action="store_true", help="also time Similar's script run in AppTest"
    )
    parser.add_argument(
        "--pages",
        type=_pages,
        default=None,
        help=f"comma-separated pages to measure (default all: {','.join(PAGES)});"
        " the floor is always measured, and a page's interactions with it",
    )
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary RECSYS_HOME (servers' logs included)",
    )
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-app-")
    try:
        run(args, home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: str) -> None:
    os.environ["RECSYS_HOME"] = home
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from threadpoolctl import threadpool_limits

    from recsys_core import projection
    from recsys_core.datasets import load_dataset
    from recsys_core.training import train

    demo = load_dataset("demo")
    with threadpool_limits(1, "blas"):
        models = {
            "als": train(demo, "als", {"factors": 64}).model_id,
            "item-knn": train(demo, "item-knn", {}).model_id,
            "ease": train(demo, "ease", {}).model_id,
        }
        projection.project_model(models["als"], "tsne")  # the Embeddings page's default map
    print(f"{os.cpu_count()} cores; RECSYS_HOME {home}", flush=True)
    if args.rerun_cost:
        rerun_cost(models)
    if not args.no_browser:
        browser_table(models, home, args.repeats, args.pages)


if __name__ == "__main__":
    main()
