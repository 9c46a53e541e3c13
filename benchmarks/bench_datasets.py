"""Load time and peak memory of the dataset sources; prints a table.

    python benchmarks/bench_datasets.py               # full sizes (about two minutes)
    python benchmarks/bench_datasets.py --quick       # small sizes, for development
    python benchmarks/bench_datasets.py --compare     # also pandas.read_csv + Dataset.from_frame

Each case runs in a fresh subprocess so its peak resident memory is its own: the peak is the
process's high-water mark (``VmHWM``, reset after the imports through ``/proc/self/clear_refs``
where the kernel allows, else ``resource.getrusage``) minus the resident size before loading.
That covers numpy, pandas and Arrow's own allocator alike (``tracemalloc`` misses the latter).
``CSR MB`` is the implicit matrix (data + indices + indptr); ``data MB`` adds timestamps, ratings,
ids and the items table, that is everything the loaded Dataset holds.

Cases: the demo (cold: generated and cached; warm: from its cache), a Sketchfab-sized synthetic
set (15k users x 25k items x 550k likes) read by the sketchfab loader from Rec-a-Sketch-format
files and by the tabular loader from a csv, and a 5-million-row play log as csv and parquet.
Input files are written under ``RECSYS_HOME/cache/benchmarks`` and removed afterwards unless
``--keep`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


# ---------------------------------------------------------------------- child side
def _status(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024  # kB -> MB
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _dataset_mb(dataset) -> tuple[float, float]:
    seen: set[int] = set()

    def csr_bytes(matrix) -> int:
        if matrix is None:
            return 0
        total = 0
        for part in (matrix.data, matrix.indices, matrix.indptr):
            base = part.base if part.base is not None else part
            if id(base) not in seen:  # timestamps may share the interactions' index arrays
                seen.add(id(base))
                total += part.nbytes
        return total

    csr = csr_bytes(dataset.interactions)
    total = csr + csr_bytes(dataset.timestamps) + csr_bytes(dataset.ratings)
    total += dataset.user_ids.nbytes + dataset.item_ids.nbytes
    total += int(dataset.items.memory_usage(deep=True).sum())
    return csr / 1e6, total / 1e6


def child(case: str, path: str) -> None:
    import numpy as np  # noqa: F401  (imports count in the baseline, not in the peak)
    import pandas as pd
    import pyarrow as pa

    from recsys_core.dataset import Dataset
    from recsys_core.datasets import load_dataset, sketchfab, tabular

    resettable = _reset_peak()
    before = _status("VmRSS") or 0.0
    baseline_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pool = pa.default_memory_pool()
    started = time.perf_counter()
    if case.startswith("demo"):
        dataset = load_dataset("demo")
    elif case == "sketchfab":
        dataset = sketchfab.load(data_dir=path)
    elif case == "pandas":
        frame = pd.read_csv(path).rename(columns={"count": "weight"})
        dataset = Dataset.from_frame(Path(path).name, frame)
        dataset.extras["n_rows"] = len(frame)
        del frame
    else:
        items = str(Path(path).with_name("items.csv"))
        dataset = tabular.load_file(path, items_path=items if Path(items).exists() else None)
    seconds = time.perf_counter() - started
    if resettable:
        peak = (_status("VmHWM") or 0.0) - before
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - max(before, 0)
        peak = (
            max(peak, 0.0)
            if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 > (baseline_max)
            else float("nan")
        )
    csr_mb, data_mb = _dataset_mb(dataset)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "arrow_mb": pool.max_memory() / 1e6 if pool.max_memory() else 0.0,
                "csr_mb": csr_mb,
                "data_mb": data_mb,
                "shape": list(dataset.interactions.shape),
                "nnz": dataset.n_interactions,
                "rows": dataset.extras.get("n_rows", dataset.n_interactions),
                "exact_peak": resettable,
            }
        )
    )


# ---------------------------------------------------------------------- parent side
def run_case(case: str, path: str, home: Path) -> dict:
    env = dict(os.environ, RECSYS_HOME=str(home), PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [sys.executable, __file__, "--child", case, path],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(work: Path, quick: bool, rows: int) -> dict[str, str]:
    import make_synthetic as synth
    import numpy as np

    shape = (1_500, 2_500, 55_000) if quick else synth.SKETCHFAB_SHAPE
    n_rows = 200_000 if quick else rows
    started = time.perf_counter()
    likes = synth.synthetic_likes(*shape, seed=0)
    items = synth.synthetic_items(np.unique(likes["item"]), seed=0)
    synth.write_sketchfab(work / "sketchfab", likes, items)
    synth.write_file(work / "likes" / "likes.csv", likes, ["user", "item", "timestamp"])
    synth.write_file(work / "likes" / "items.csv", items)
    del likes, items
    events = synth.synthetic_events(n_rows, n_users=max(n_rows // 50, 100), seed=0)
    synth.write_file(work / "events" / "events.csv", events)
    synth.write_file(work / "events_pq" / "events.parquet", events)
    del events
    print(f"wrote the input files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return {
        "sketchfab": str(work / "sketchfab"),
        "likes": str(work / "likes" / "likes.csv"),
        "events": str(work / "events" / "events.csv"),
        "events_pq": str(work / "events_pq" / "events.parquet"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Dataset load time and peak memory.")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the play log")
    parser.add_argument("--compare", action="store_true", help="add pandas + from_frame")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from recsys_core import config

    work = config.cache_dir("benchmarks", "datasets")
    demo_home = work / "demo_home"
    shutil.rmtree(demo_home, ignore_errors=True)
    demo_home.mkdir(parents=True)
    try:
        paths = prepare(work, args.quick, args.rows)
        n_rows = 200_000 if args.quick else args.rows
        cases = [
            ("demo, cold (generate + cache)", "demo", "", demo_home),
            ("demo, warm (from its cache)", "demo2", "", demo_home),
            ("Sketchfab-sized, sketchfab loader (psv)", "sketchfab", paths["sketchfab"], work),
            ("Sketchfab-sized, tabular csv + items", "tabular", paths["likes"], work),
            (f"{n_rows / 1e6:g}M-row log, tabular csv", "tabular", paths["events"], work),
            (f"{n_rows / 1e6:g}M-row log, tabular parquet", "tabular", paths["events_pq"], work),
        ]
        if args.compare:
            cases.append(
                (f"{n_rows / 1e6:g}M-row log, pandas + from_frame", "pandas", paths["events"], work)
            )
        header = (
            f"{'case':<42} {'rows':>10} {'users x items':>16} {'nnz':>10} {'load s':>7} "
            f"{'peak MB':>8} {'CSR MB':>7} {'data MB':>8} {'peak/data':>9}"
        )
        print(header)
        print("-" * len(header))
        for label, case, path, home in cases:
            result = run_case(case, path, home)
            users, items = result["shape"]
            ratio = result["peak_mb"] / result["data_mb"] if result["data_mb"] else float("nan")
            print(
                f"{label:<42} {result['rows']:>10,} {f'{users:,} x {items:,}':>16} "
                f"{result['nnz']:>10,} {result['seconds']:>7.2f} {result['peak_mb']:>8.0f} "
                f"{result['csr_mb']:>7.1f} {result['data_mb']:>8.1f} {ratio:>9.1f}",
                flush=True,
            )
        print(
            "\npeak MB: resident-memory high-water mark of the load minus the resident size "
            "before it; data MB: everything the Dataset keeps (matrices, ids, items table)."
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            for parent in (work.parent, work.parent.parent):  # cache/benchmarks, cache
                try:
                    parent.rmdir()  # only if empty
                except OSError:
                    break


if __name__ == "__main__":
    main()
