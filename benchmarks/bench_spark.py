"""spark-als against als on the same synthetic matrices: fit time and peak memory (issue #7).

For each size (default 0.5M, 5M and 20M interactions; 25 per user on average, a long-tailed item
popularity, from ``make_synthetic.synthetic_matrix``) the matrix is written once under
``RECSYS_HOME/cache/bench-spark`` and each algorithm trains on it in a fresh process, so that
peak memory is per run:

- ``als``: implicit's ALS through our adapter (all cores); peak RSS of the process
  (``ru_maxrss``);
- ``spark-als``: Spark MLlib ALS in local mode (``local[*]``, 2 blocks) through our adapter: the
  Python driver's peak RSS, the Spark JVM's peak RSS (``VmHWM`` in ``/proc/<pid>/status``: it
  grows towards the heap limit, ``--driver-memory``, so it is a ceiling more than a need) and the
  JVM's peak heap in use (the sum of its memory pools' peak usage, from JMX). Spark's start-up
  and a warm-up fit on a tiny matrix (the JVM compiling Spark's code) are timed apart from the
  fit, which includes handing the matrix to Spark and collecting the factors.

Both use the same rank, iterations, alpha (40) and regularisation (0.01; Spark's is scaled by
each row's count, see ``recsys_core/algorithms/spark_als.py``). At the end the script fits
``als`` peak memory = a + b * interactions over the sizes measured and prints the size at which
``als`` would no longer fit in ``--budget-gib`` (24 GiB: this machine).

Run: ``python benchmarks/bench_spark.py`` (about 8 minutes on 2 shared cores; the 20M case is
the last and the longest); ``--sizes 0.5M,5M`` for a quicker look. Needs pyspark and Java 17.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PER_USER = 25
ITEMS_PER_USER = 0.25  # n_items = n_users / 4 (at least 5,000)
SEED = 0
MIB = 1024**2


def _shape(n_interactions: int) -> tuple[int, int]:
    n_users = max(1000, n_interactions // PER_USER)
    return n_users, max(5000, int(n_users * ITEMS_PER_USER))


def _size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * scale)


def _label(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


# ------------------------------------------------------------------------------------ workers
def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _proc_status(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    except OSError:
        return None
    return None


def _jvm_peak_heap_mib(session) -> float | None:
    """Sum of the JVM heap pools' peak usage (JMX), MiB."""
    try:
        jvm = session.sparkContext._jvm
        pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        total = 0
        for pool in pools:
            if str(pool.getType().toString()) == "Heap memory":
                total += pool.getPeakUsage().getUsed()
        return total / MIB
    except Exception:  # noqa: BLE001
        return None


def worker(algorithm: str, path: str, rank: int, iterations: int) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        matrix = sp.csr_matrix(
            (npz["data"], npz["indices"], npz["indptr"]), shape=tuple(npz["shape"])
        )
    loaded_mib = _peak_rss_mib()
    from recsys_core.algorithms import create

    out: dict = {"algorithm": algorithm, "nnz": int(matrix.nnz), "loaded_mib": loaded_mib}
    if algorithm == "als":
        model = create(
            "als",
            factors=rank,
            iterations=iterations,
            regularization=0.01,
            alpha=40.0,
            random_state=SEED,
        )
        start = time.perf_counter()
        model.fit(matrix)
        out["fit_seconds"] = time.perf_counter() - start
    else:
        from recsys_core.spark import session as spark

        start = time.perf_counter()
        session = spark.get_session("local[*]")
        warm = sp.random(500, 200, density=0.05, format="csr", dtype=np.float32, random_state=SEED)
        warm.data[:] = 1.0
        create("spark-als", rank=rank, maxIter=2).fit(warm)  # JIT warm-up, timed as start-up
        out["start_seconds"] = time.perf_counter() - start
        model = create(
            "spark-als", rank=rank, maxIter=iterations, regParam=0.01, alpha=40.0, seed=SEED
        )
        start = time.perf_counter()
        model.fit(matrix)
        out["fit_seconds"] = time.perf_counter() - start
        pid = spark.jvm_pid(session)
        out["jvm_peak_mib"] = _proc_status(pid, "VmHWM") if pid else None
        out["jvm_heap_peak_mib"] = _jvm_peak_heap_mib(session)
        spark.stop_session()
    out["python_peak_mib"] = _peak_rss_mib()
    out["finite"] = bool(np.isfinite(model.item_vectors()).all())
    return out


# ------------------------------------------------------------------------------------ driver
def run_case(algorithm: str, path: Path, args, env) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        algorithm,
        str(path),
        "--rank",
        str(args.rank),
        "--iterations",
        str(args.iterations),
    ]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"algorithm": algorithm, "error": f"timed out after {args.timeout} s"}
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"algorithm": algorithm, "error": f"exit {done.returncode}: {tail[:160]}"}
    result = json.loads(lines[-1])
    result["wall_seconds"] = wall
    return result


def _fmt(value, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.5M,5M,20M")
    parser.add_argument("--rank", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--driver-memory", default="8g", help="Spark driver heap (local mode)")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per run")
    parser.add_argument("--budget-gib", type=float, default=24.0)
    parser.add_argument("--worker", nargs=2, metavar=("ALGO", "NPZ"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.rank, args.iterations)))
        return 0

    from make_synthetic import synthetic_matrix

    from recsys_core import config
    from recsys_core.spark import session as spark

    if not (spark.pyspark_available() and spark.find_java()):
        print("pyspark or Java is missing: pip install -r requirements-spark.txt (Java 17+).")
        return 1
    folder = config.cache_dir("bench-spark")
    env = dict(os.environ, SPARK_DRIVER_MEMORY=args.driver_memory)
    rows: list[dict] = []
    print(
        f"rank {args.rank}, {args.iterations} iterations, alpha 40, reg 0.01; "
        f"{os.cpu_count()} cores; Spark driver heap {args.driver_memory}",
        flush=True,
    )
    for size in sorted(_size(s) for s in args.sizes.split(",")):
        n_users, n_items = _shape(size)
        start = time.perf_counter()
        matrix = synthetic_matrix(n_users, n_items, size, SEED)
        path = folder / f"matrix-{size}.npz"
        np.savez(
            path,
            data=matrix.data,
            indices=matrix.indices,
            indptr=matrix.indptr,
            shape=np.asarray(matrix.shape),
        )
        print(
            f"{_label(size)}: {n_users:,} users x {n_items:,} items, generated in "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )
        del matrix
        for algorithm in ("als", "spark-als"):
            result = run_case(algorithm, path, args, env)
            result.update(size=size, n_users=n_users, n_items=n_items)
            rows.append(result)
            if "error" in result:
                print(f"  {algorithm}: {result['error']}", flush=True)
            else:
                print(
                    f"  {algorithm}: fit {result['fit_seconds']:.1f} s, python peak "
                    f"{result['python_peak_mib']:.0f} MiB, JVM peak "
                    f"{_fmt(result.get('jvm_peak_mib'))} MiB",
                    flush=True,
                )
        path.unlink(missing_ok=True)

    print()
    header = [
        "interactions",
        "users x items",
        "algorithm",
        "fit s",
        "spark start+warm-up s",
        "python peak MiB",
        "JVM peak RSS MiB",
        "JVM peak heap MiB",
        "total peak MiB",
    ]
    table = []
    for row in rows:
        if "error" in row:
            table.append(
                [
                    _label(row["size"]),
                    f"{row['n_users']:,} x {row['n_items']:,}",
                    row["algorithm"],
                    row["error"],
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )
            continue
        total = row["python_peak_mib"] + (row.get("jvm_peak_mib") or 0)
        table.append(
            [
                _label(row["size"]),
                f"{row['n_users']:,} x {row['n_items']:,}",
                row["algorithm"],
                f"{row['fit_seconds']:.1f}",
                _fmt(row.get("start_seconds"), ".1f"),
                _fmt(row["python_peak_mib"]),
                _fmt(row.get("jvm_peak_mib")),
                _fmt(row.get("jvm_heap_peak_mib")),
                f"{total:.0f}",
            ]
        )
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in table:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))

    als = [
        (r["nnz"], r["python_peak_mib"])
        for r in rows
        if r["algorithm"] == "als" and "error" not in r
    ]
    if len(als) >= 2:
        x = np.array([a for a, _ in als], dtype=float)
        y = np.array([b for _, b in als], dtype=float) * MIB
        slope, intercept = np.polyfit(x, y, 1)
        budget = args.budget_gib * 1024**3
        limit = (budget - intercept) / slope
        print()
        print(
            f"als peak memory ~ {intercept / MIB:.0f} MiB + {slope:.0f} bytes x interactions "
            f"(fit over {len(als)} sizes, {PER_USER} interactions per user, rank {args.rank});"
        )
        print(
            f"it would no longer fit in {args.budget_gib:g} GiB at about {limit / 1e6:,.0f}M "
            "interactions (the factors grow with users and items too: "
            f"{4 * args.rank * 2} bytes per user and item, with implicit's copies)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
