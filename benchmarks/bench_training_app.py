"""Training from the app while others browse: click latency on Similar items, in Chromium.

One browser session trains ALS from the sidebar on a large synthetic play log (made with
``make_synthetic.synthetic_events``); a second session of the same server clicks thumbnails on
Similar items (the demo, with a small ALS model) and times each click until the new grid has
settled (``bench_app.clicks``). Three conditions:

- ``idle``: no training;
- ``job``: the training runs in a job (``recsys_core.training_jobs``: its own process, nice
  10, a thread budget of cores - 1), as the app does for a dataset of at least
  ``RECSYS_BACKGROUND_TRAINING`` interactions;
- ``in the script run``: the old way, ALS inside the training session's script run (the server
  process, every core), forced with ``RECSYS_BACKGROUND_TRAINING`` set very high.

Two servers run side by side (one trains in jobs, the other in the script run) and the
conditions alternate over ``--rounds`` rounds (idle then job on the first, idle then in-script
on the second), so a change in the machine's load touches every condition alike. The clicks
start once the training session's sidebar shows an epoch (the data is loaded, ALS iterates);
the training is cancelled after them (``--finish`` lets the job finish). The table gives the
click times (median, 90th percentile, max), their ratio to idle, the seconds per ALS epoch
during the clicks, how long each training took to show its first epoch and to stop. The header
has the core count and load average: Chromium runs on the same machine (in real use the
browsers are elsewhere), and the machine may be shared, so compare the ratios of one run.

    python benchmarks/bench_training_app.py                     # 3M rows, ALS 64 factors
    python benchmarks/bench_training_app.py --rows 1000000 --clicks 6 --no-inprocess
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_app import CHROMIUM, CHROMIUM_ARGS, SETTLED, TIMEOUT_MS, clicks, serve  # noqa: E402

NEVER = str(10**15)
"""RECSYS_BACKGROUND_TRAINING for the old behaviour: no dataset is that large."""


def _cli(home: str, *args: str) -> str:
    env = dict(os.environ, RECSYS_HOME=home, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "recsys_core", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _epoch(sidebar) -> int | None:
    """The epoch the sidebar's progress bar says (job: 'Epoch 3 of 15', in-script: 'Epoch 3/15')."""
    import re

    for text in sidebar.locator("[data-testid='stProgress']").all_inner_texts():
        found = re.search(r"Epoch (\d+)", text)
        if found:
            return int(found[1])
    return None


def _start_training(context, url: str, data_file: Path, factors: int, iterations: int):
    """Open the large dataset in a tab, train ALS from the sidebar, wait for the first epoch."""
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(f"{url}/similar?dataset={quote(str(data_file), safe='')}", timeout=TIMEOUT_MS)
    tab.wait_for_function(SETTLED, timeout=TIMEOUT_MS, polling=100)
    sidebar = tab.locator("section[data-testid='stSidebar']")
    if not sidebar.get_by_label("Latent factors", exact=True).is_visible():
        sidebar.get_by_text("Train a model").click()
    sidebar.get_by_label("Latent factors", exact=True).fill(str(factors))
    sidebar.get_by_label("Training passes", exact=True).fill(str(iterations))
    began = time.perf_counter()
    sidebar.get_by_role("button", name="Train", exact=True).click()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while _epoch(sidebar) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if _epoch(sidebar) is None:
        raise RuntimeError("the training never showed an epoch")
    return tab, sidebar, time.perf_counter() - began


def _stop_training(tab, sidebar, finish: bool) -> float | None:
    """Cancel the training (or wait until the job is done); seconds it took to stop/finish."""
    began = time.perf_counter()
    if finish:
        tab.wait_for_function(
            "() => !document.querySelector(\"section[data-testid='stSidebar'] "
            "[data-testid='stProgress']\")",
            timeout=24 * 3600 * 1000,
            polling=500,
        )
    else:
        sidebar.get_by_role("button", name="Cancel").first.click()
        tab.wait_for_function(
            "() => !document.querySelector(\"section[data-testid='stSidebar'] "
            "[data-testid='stProgress']\")",
            timeout=TIMEOUT_MS,
            polling=100,
        )
    tab.close()
    return time.perf_counter() - began


def measure(args: argparse.Namespace, home: str, data_file: Path, similar_url: str) -> dict:
    """Click times per condition, and per training condition the epochs done during its clicks
    and how long the training took to show its first epoch / to stop.

    Two servers run side by side (one that trains in jobs, one that trains in the script run),
    and the conditions alternate in ``--rounds`` rounds (idle and job on the first, idle and
    in-script on the second), so a change in the machine's load touches every condition alike.
    """
    from contextlib import ExitStack

    from playwright.sync_api import sync_playwright

    found: dict[str, dict] = {}
    servers = [("job", "1")] + ([("in the script run", NEVER)] if args.inprocess else [])
    with sync_playwright() as playwright, ExitStack() as stack:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        urls = {}
        for name, threshold in servers:
            os.environ["RECSYS_BACKGROUND_TRAINING"] = threshold  # read by the server it starts
            urls[name] = stack.enter_context(serve(ROOT / "app.py", home))
        browsing = browser.new_context(viewport={"width": 1400, "height": 1000})
        for url in urls.values():
            clicks(browsing, f"{url}/{similar_url}", 2)  # warm: the demo and its model loaded
        for _ in range(args.rounds):
            for name, url in urls.items():
                idle = found.setdefault("idle", {"times": [], "notes": []})
                idle["times"] += clicks(browsing, f"{url}/{similar_url}", args.clicks)
                training = browser.new_context(viewport={"width": 1400, "height": 1000})
                tab, sidebar, first = _start_training(
                    training, url, data_file, args.factors, args.iterations
                )
                before, began = _epoch(sidebar), time.perf_counter()
                times = clicks(browsing, f"{url}/{similar_url}", args.clicks)
                after, took = _epoch(sidebar), time.perf_counter() - began
                finish = args.finish and name == "job"
                stopped = _stop_training(tab, sidebar, finish)
                row = found.setdefault(
                    name, {"times": [], "epochs": 0, "seconds": 0.0, "first": [], "stop": []}
                )
                row["times"] += times
                row["epochs"] += (after or 0) - (before or 0)
                row["seconds"] += took
                row["first"].append(first)
                row["stop"].append(stopped)
                training.close()
        browsing.close()
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000, help="play-log rows (3M)")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--clicks", type=int, default=6, help="clicks per condition and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every condition")
    parser.add_argument(
        "--no-inprocess",
        dest="inprocess",
        action="store_false",
        help="skip the old in-script training",
    )
    parser.add_argument("--finish", action="store_true", help="let the job finish")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is absent: this benchmark needs Chromium.")
    with tempfile.TemporaryDirectory(prefix="bench_training_app_") as home:
        data_dir = Path(home) / "shared"
        data_file = data_dir / "plays.parquet"
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "make_synthetic.py"),
                "events",
                str(data_file),
                "--rows",
                str(args.rows),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        made = time.perf_counter() - began
        os.environ["RECSYS_DATA_DIRS"] = str(data_dir)
        os.environ["RECSYS_FIRST_MODEL"] = "off"
        began = time.perf_counter()
        info = _cli(home, "info", str(data_file))  # parsed once, into the shared cache
        parsed = time.perf_counter() - began
        model = _cli(
            home, "train", "demo", "als", "--param", "factors=32", "--param", "iterations=5"
        )
        similar_url = f"similar?dataset=demo&model={model}"
        found = measure(args, home, data_file, similar_url)
    from recsys_core.training_jobs import NICE, cores, thread_budget

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nTraining from the app while another session browses — {cores()} cores, "
        f"load average {load}"
    )
    counts = dict(
        line.split()[:2]
        for line in info.splitlines()
        if line.split()[:1] in (["users"], ["items"], ["interactions"])
    )
    shape = " x ".join(f"{counts.get(k, '?')} {k}" for k in ("users", "items", "interactions"))
    print(
        f"data: {args.rows:,} play-log rows ({shape}); made in {made:.1f} s, "
        f"parsed in {parsed:.1f} s"
    )
    print(
        f"training: ALS, {args.factors} factors, {args.iterations} passes; a job runs at "
        f"nice {NICE} with {thread_budget()} thread(s), the script run with every core"
    )
    print("clicks: a thumbnail on /similar (the demo) until the new grid has settled\n")
    idle = statistics.median(found["idle"]["times"])
    header = [
        "condition",
        "clicks",
        "median s",
        "p90 s",
        "max s",
        "median / idle",
        "s per epoch",
        "first epoch after",
        "stopped in",
    ]
    table = [header]
    for name, row in found.items():
        times = row["times"]
        median = statistics.median(times)
        per_epoch = row["seconds"] / row["epochs"] if row.get("epochs") else None
        table.append(
            [
                name,
                str(len(times)),
                f"{median:.2f}",
                f"{_percentile(times, 0.9):.2f}",
                f"{max(times):.2f}",
                f"{median / idle:.2f}x",
                "" if per_epoch is None else f"{per_epoch:.1f}",
                " / ".join(f"{x:.1f} s" for x in row.get("first", [])),
                " / ".join(f"{x:.1f} s" for x in row.get("stop", [])),
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "\n'first epoch after': from pressing Train until the sidebar shows an epoch (a job "
        "starts a process and loads the dataset first); 'stopped in': from Cancel until the "
        "progress bar is gone" + (" (the job: until it finished)" if args.finish else "")
    )


if __name__ == "__main__":
    main()
