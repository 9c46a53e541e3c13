"""Scale: a MovieLens-20M-shaped file, parsed once, then used from the command line.

    python benchmarks/bench_scale.py                 # 138k users x 27k items x 20M ratings
    python benchmarks/bench_scale.py --scale 0.05    # 1M rows, for development
    python benchmarks/bench_scale.py --scale 0.05 --no-train   # the parse rows only

Heavy at full size (a few minutes and about 3 GB); never run two at once. Prints one table,
headed by the machine (cores, memory, load):

- the file: seeded, ``user`` / ``item`` string ids (``user-012345``, ``movie-01234``), a ``rating``
  (0.5 to 5) and a ``timestamp``; activity log-normal (at least 20 ratings a user) and
  popularity Zipf-like, every (user, item) pair once, sorted by user as MovieLens is. ``--scale``
  multiplies users and ratings, and items by its square root. It is written once under
  ``--work`` (default ``RECSYS_HOME/cache/benchmarks/scale``) and reused.
- **raw**: what one writes by hand with pyarrow: ``pq.read_table`` of the four columns (threads
  on), ``dictionary_encode`` of user and item, and scipy's ``csr_matrix((rating, (row, col)))``.
- **parse, cold**: ``tabular.load_file`` with an empty cache: the parse (ids sorted, values
  checked, duplicates merged, ratings, likes and timestamps as three matrices) plus keeping the
  arrays (``datasets/parsed.py``). **parse, cached**: the same call in a new process.
- **CLI**: wall time of ``python -m recsys_core ...`` in a new process each (interpreter start
  included), against the start-up: the same verb on a model of the file's first 2,000 rows, run
  alternately with it (best of ``--cli-repeat``). The budget is start-up + 0.10 x the cold parse.
- **ALS fit** (with ``--train``, the default): ``train FILE als`` at reduced settings (factors
  32, 3 iterations; the fit time is the store's ``fit_seconds``) against implicit's own
  ``AlternatingLeastSquares`` fitted on the same matrix with the same settings.

Each measured step runs in a fresh process; times are the best of ``--repeat`` runs (other work
on the machine only adds to a time), wall and CPU (all the process's threads: steadier than wall
time when other work shares the cores), peaks are ``ru_maxrss`` of that process (``os.wait4``; the
parent imports no numpy, so a child's peak is its own), and "above imports" subtracts the
process's resident size after its imports (the same imports for raw and parse). The app's rows
(first visit, Embeddings' first picture, server RSS) and evaluation against implicit are
measured by other benchmarks; the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ML20M = (138_493, 26_744, 20_000_263)
"""Users, items and ratings of MovieLens 20M."""
GENERATOR_VERSION = 1
CHILD_IMPORTS = ("numpy", "scipy.sparse", "pyarrow.parquet", "recsys_core.datasets.tabular")


# ---------------------------------------------------------------------------- the file
def shape_for(scale: float) -> tuple[int, int, int]:
    users, items, rows = ML20M
    return (max(int(round(users * scale)), 50), max(int(round(items * scale**0.5)), 50),
            max(int(round(rows * scale)), 1_000))


def make_file(path: Path, scale: float, seed: int = 0) -> dict:
    """Write the MovieLens-20M-shaped parquet file; returns its figures."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_users, n_items, n_rows = shape_for(scale)
    activity = rng.lognormal(0.0, 1.2, n_users)
    activity = 20 + activity / activity.sum() * max(n_rows - 20 * n_users, 0)
    counts = np.floor(activity).astype(np.int64)
    counts[: max(n_rows - int(counts.sum()), 0)] += 1
    counts = np.minimum(counts, n_items // 2)
    popularity = 1.0 / (np.arange(n_items) + 5.0) ** 0.9
    cdf = np.cumsum(rng.permutation(popularity / popularity.sum()))
    # distinct pairs: draw, drop repeats, draw again for the users still short (3-4 rounds)
    keys = np.empty(0, np.int64)
    have = np.zeros(n_users, np.int64)
    want = counts.astype(np.float64)
    for _ in range(8):
        ask = np.ceil(want).astype(np.int64)
        users = np.repeat(np.arange(n_users, dtype=np.int64), ask)
        items = np.searchsorted(cdf, rng.random(len(users)) * cdf[-1]).astype(np.int64)
        keys = np.unique(np.concatenate([keys, users * n_items + np.minimum(items, n_items - 1)]))
        del users, items
        now = np.bincount(keys // n_items, minlength=n_users)
        gained, have = now - have, now
        short = counts - have
        rate = np.where(gained > 0, ask / np.maximum(gained, 1), 4.0)
        want = np.clip(short, 0, None) * np.clip(rate, 1, 8)
        if short.clip(0).sum() <= 0.0005 * n_rows:
            break
    if len(keys) > n_rows:
        keys = np.sort(rng.choice(keys, n_rows, replace=False))
    n = len(keys)
    users = (keys // n_items).astype(np.int32)
    items = (keys % n_items).astype(np.int32)
    del keys
    stars = rng.choice(np.arange(1, 11), size=n,
                       p=np.array([1, 3, 2, 7, 4, 20, 10, 25, 10, 18]) / 100)
    start = rng.integers(820_000_000, 1_420_000_000, n_users)
    stamps = start[users] + rng.integers(0, 86_400 * 400, n)
    user_names = pa.array([f"user-{v:06d}" for v in rng.permutation(n_users)])
    item_names = pa.array([f"movie-{v:05d}" for v in rng.permutation(n_items)])
    table = pa.table({
        "user": pa.DictionaryArray.from_arrays(pa.array(users), user_names).cast(pa.string()),
        "item": pa.DictionaryArray.from_arrays(pa.array(items), item_names).cast(pa.string()),
        "rating": (stars / 2).astype(np.float32),
        "timestamp": stamps.astype(np.int64),
    })
    del users, items, stars, stamps
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    pq.write_table(table, temp)
    os.replace(temp, path)
    return {"users": n_users, "items": n_items, "rows": n, "bytes": path.stat().st_size}


def write_files(path: Path, scale: float, seed: int) -> None:
    """The file, its figures (``.json``) and its first 2,000 rows (for the start-up)."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    info = make_file(path, scale, seed)
    info["seconds"] = time.perf_counter() - started
    pq.write_table(pq.read_table(path).slice(0, 2_000), small_file(path))
    path.with_suffix(".json").write_text(json.dumps(info))


def small_file(path: Path) -> Path:
    return path.with_name(path.stem + "-first2000.parquet")


def ensure_file(work: Path, scale: float, seed: int, env: dict) -> tuple[Path, dict, bool]:
    """(path, figures, made now): made in a child, so this process stays small."""
    path = work / f"ml20m-shaped-s{scale:g}-seed{seed}-v{GENERATOR_VERSION}.parquet"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists() and small_file(path).exists():
        return path, json.loads(info_path.read_text()), False
    _run_measured([sys.executable, __file__, "--make", str(path), repr(scale), str(seed)], env)
    return path, json.loads(info_path.read_text()), True


# ---------------------------------------------------------------------------- child side
def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child(case: str, path: str, extra: str) -> None:
    import importlib

    for module in CHILD_IMPORTS:
        importlib.import_module(module)
    base = _status_mb("VmRSS")
    started = time.perf_counter()
    cpu = time.process_time()  # every thread of the process
    result: dict = {}
    if case == "raw":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
        import scipy.sparse as sp

        table = pq.read_table(path, columns=["user", "item", "rating", "timestamp"])
        users = pc.dictionary_encode(table["user"]).combine_chunks()
        items = pc.dictionary_encode(table["item"]).combine_chunks()
        matrix = sp.csr_matrix(
            (table["rating"].to_numpy(), (users.indices.to_numpy(), items.indices.to_numpy())),
            shape=(len(users.dictionary), len(items.dictionary)),
        )
        result["nnz"] = int(matrix.nnz)
        result["shape"] = list(matrix.shape)
    elif case == "parse":
        import warnings

        from recsys_core.datasets import parsed, tabular

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = tabular.load_file(path)
        result["returned"] = time.perf_counter() - started
        result["cpu"] = time.process_time() - cpu
        parsed.wait()  # the entry is written by a thread once the parse is over
        result["kept"] = time.perf_counter() - started
        result["kept_cpu"] = time.process_time() - cpu
        result["nnz"] = dataset.n_interactions
        result["shape"] = list(dataset.interactions.shape)
        result["fingerprint"] = dataset.fingerprint
    elif case == "implicit":
        import warnings

        from threadpoolctl import threadpool_limits

        from recsys_core.datasets import tabular

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matrix = tabular.load_file(path).interactions
        params = json.loads(extra)
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=params["factors"], iterations=params["iterations"],
            regularization=0.01, alpha=40.0, random_state=0,
        )
        started = time.perf_counter()
        cpu = time.process_time()
        with threadpool_limits(1, "blas"):
            model.fit(matrix, show_progress=False)
    else:
        raise SystemExit(f"unknown case {case}")
    result["seconds"] = result.get("returned", time.perf_counter() - started)
    result.setdefault("cpu", time.process_time() - cpu)
    result["base_mb"] = base
    result["hwm_mb"] = _status_mb("VmHWM")
    print(json.dumps(result))


# ---------------------------------------------------------------------------- parent side
def _run_measured(command: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, ru_maxrss MB of exactly this child, stdout) via os.wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=ROOT)
    import threading

    chunks: dict[str, bytes] = {}

    def drain(name, stream):
        chunks[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s))
               for n, s in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = chunks.get("out", b""), chunks.get("err", b"")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command[:5]))} ... failed:\n"
                         f"{err.decode(errors='replace')[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def child_case(case: str, path: Path, env: dict, extra: str = "") -> tuple[dict, float]:
    wall, peak, out = _run_measured(
        [sys.executable, __file__, "--child", case, str(path), extra], env
    )
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak
    result["wall"] = wall
    return result, peak


def cli(args: list[str], env: dict) -> tuple[float, float, str]:
    return _run_measured([sys.executable, "-m", "recsys_core", *args], env)


def best(runs: list[dict], key: str = "seconds") -> dict:
    chosen = dict(min(runs, key=lambda r: r[key]))
    for cpu in ("cpu", "kept_cpu"):
        if cpu in chosen:
            chosen[cpu] = min(r[cpu] for r in runs)
    chosen["peak_mb"] = max(r["peak_mb"] for r in runs)
    chosen["runs"] = [round(r[key], 2) for r in runs]
    return chosen


def machine() -> str:
    from importlib.metadata import version

    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    memory = ""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory = f", {total / 1024**3:.0f} GiB"
    except (ValueError, OSError):
        pass
    load = ", load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return (f"{cores} cores ({usable} usable){memory}{load}; Python {sys.version.split()[0]}, "
            f"numpy {version('numpy')}, pyarrow {version('pyarrow')}, "
            f"implicit {version('implicit')}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Parse once, parse fast: a 20M-row benchmark.")
    parser.add_argument("--scale", type=float, default=1.0, help="of MovieLens 20M (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step")
    parser.add_argument("--cli-repeat", type=int, default=5, help="runs of each CLI verb")
    parser.add_argument("--work", default=None, help="folder for the file and the home")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="skip the ALS and CLI rows (parse rows only)")
    parser.add_argument("--keep", action="store_true", help="keep the cache and the models")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.make:
        write_files(Path(args.make[0]), float(args.make[1]), int(args.make[2]))
        return

    # no numpy, pandas or recsys_core in this process: a forked child's ru_maxrss starts from
    # the parent's resident size
    default_home = os.environ.get("RECSYS_HOME") or str(ROOT / "data")
    work = Path(args.work or Path(default_home) / "cache" / "benchmarks" / "scale")
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    env = dict(os.environ, RECSYS_HOME=str(home), PYTHONWARNINGS="ignore",
               OPENBLAS_NUM_THREADS="1")
    print(f"machine: {machine()}", file=sys.stderr)
    path, info, made = ensure_file(work, args.scale, args.seed, env)
    print(f"file: {path.name}, {info['rows']:,} rows, {info['bytes'] / 1e6:,.0f} MB"
          + (f" (made in {info['seconds']:.0f} s)" if made else " (reused)"), file=sys.stderr)
    figures: dict = {"machine": machine(), "scale": args.scale, "file": info}
    try:
        run_all(args, path, info, env, home, figures)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


def run_all(args, path: Path, info: dict, env: dict, home: Path, figures: dict) -> None:
    repeat = max(args.repeat, 1)
    cache = home / "cache" / "parsed"

    def step(label: str) -> None:
        print(f"  {label}...", file=sys.stderr, flush=True)

    step("raw pyarrow + CSR")
    raw = best([child_case("raw", path, env)[0] for _ in range(repeat)])
    step("parse, cold")
    colds = []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        colds.append(child_case("parse", path, env)[0])
    cold = best(colds)
    step("parse, cached")
    cached = best([child_case("parse", path, env)[0] for _ in range(repeat)])
    assert cached["fingerprint"] == cold["fingerprint"], "the cached dataset differs"
    entry_mb = sum(f.stat().st_size for f in cache.rglob("*.npy")) / 1e6
    figures.update(raw=raw, cold=cold, cached=cached, entry_mb=entry_mb)

    rows = [
        ("raw pyarrow: read_table + dictionary_encode + scipy CSR", raw, None, None),
        ("parse, cold (tabular.load_file: parse + keep)", cold, raw, raw),
        ("parse, cached (tabular.load_file again, new process)", cached, cold, raw),
    ]
    cli_rows: list[tuple[str, float, float, float]] = []
    fit_rows: list[tuple[str, float, float | None]] = []
    if args.train:
        cli_rows, fit_rows = run_cli(args, path, info, env, home, cold["seconds"], figures)
    print_table(args, info, figures, rows, cli_rows, fit_rows, entry_mb)


def run_cli(args, path: Path, info: dict, env: dict, home: Path, cold_seconds: float,
            figures: dict):
    repeat = max(args.repeat, 1)
    args.cli_repeat = max(args.cli_repeat, 1)
    params = {"factors": 32, "iterations": 3}
    param_args = [a for k, v in params.items() for a in ("--param", f"{k}={v}")]
    print("  train als (and on a 2,000-row file for the start-up)...", file=sys.stderr)
    small = small_file(path)
    models, examples = {}, {}
    for name, file in (("small", small), ("big", path)):
        _, _, out = cli(["train", str(file), "als", *param_args, "--json"], env)
        models[name] = json.loads(out)
        examples[name] = json.loads(cli(["info", str(file), "--json"], env)[2])
    fits = [models["big"]["fit_seconds"]]
    for _ in range(min(repeat, 2) - 1):  # trained again (--force) for a best of two
        out = cli(["train", str(path), "als", *param_args, "--force", "--json"], env)[2]
        fits.append(json.loads(out)["fit_seconds"])
    fit = min(fits)
    verbs = {
        "info": (["info", str(small), "--json"], ["info", str(path), "--json"]),
        "similar": (
            ["similar", models["small"]["model_id"], examples["small"]["example_item"], "--json"],
            ["similar", models["big"]["model_id"], examples["big"]["example_item"], "--json"],
        ),
        "recommend": (
            ["recommend", models["small"]["model_id"], examples["small"]["example_user"],
             "--json"],
            ["recommend", models["big"]["model_id"], examples["big"]["example_user"], "--json"],
        ),
    }
    cli_rows = []
    for verb, (tiny, full) in verbs.items():
        print(f"  {verb}...", file=sys.stderr)
        startups, runs = [], []
        for _ in range(args.cli_repeat):  # alternated, so both see the same load
            startups.append(cli(tiny, env)[0])
            runs.append(cli(full, env))
        startup = min(startups)
        wall = min(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        cli_rows.append((verb, wall, startup, peak))
        figures.setdefault("cli", {})[verb] = {"seconds": wall, "startup": startup,
                                               "peak_mb": peak,
                                               "budget": startup + 0.10 * cold_seconds}
    print("  implicit's own ALS on the same matrix...", file=sys.stderr)
    raw_fits = [child_case("implicit", path, env, json.dumps(params))[0]["seconds"]
                for _ in range(min(repeat, 2))]
    raw_fit = min(raw_fits)
    figures["fit"] = {"ours": fit, "implicit": raw_fit, "params": params, "runs": fits,
                      "implicit_runs": raw_fits}
    fit_rows = [(f"ALS fit, factors {params['factors']}, {params['iterations']} iterations",
                 fit, raw_fit)]
    return cli_rows, fit_rows


def print_table(args, info, figures, rows, cli_rows, fit_rows, entry_mb) -> None:
    n = info["rows"]
    print(f"\nbench_scale: {info['users']:,} users x {info['items']:,} items x {n:,} ratings "
          f"(scale {args.scale:g}), parquet {info['bytes'] / 1e6:,.0f} MB")
    print(f"machine: {figures['machine']}")
    print(f"best of {max(args.repeat, 1)} runs (the least wall and the least CPU); CPU is the "
          "time of all of a process's threads (process_time), steadier than wall time on a shared "
          "machine; peaks are ru_maxrss of each process (the most of the runs)\n")
    print("| step | seconds | vs | CPU s | vs | peak MB | above imports MB | vs raw |")
    print("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: |")
    raw = rows[0][1]
    raw_above = raw["peak_mb"] - raw["base_mb"]
    for label, result, against, memory_against in rows:
        ratio = cpu_ratio = ""
        if against is not None:
            name = "raw" if against is raw else "cold"
            ratio = f"{result['seconds'] / against['seconds']:.2f}x {name}"
            cpu_ratio = f"{result['cpu'] / against['cpu']:.2f}x {name}"
        above = result["peak_mb"] - result["base_mb"]
        memory = ""
        if memory_against is not None:
            memory = (f"{result['peak_mb'] / raw['peak_mb']:.2f}x "
                      f"({above / raw_above:.2f}x above imports)")
        print(f"| {label} | {result['seconds']:.2f} | {ratio} | {result['cpu']:.2f} | {cpu_ratio} "
              f"| {result['peak_mb']:,.0f} | {above:,.0f} | {memory} |")
    kept, kept_cpu = rows[1][1].get("kept"), rows[1][1].get("kept_cpu")
    if kept is not None:
        print(f"| parse, cold, until the kept arrays are written (a thread, after the load "
              f"returns) | {kept:.2f} | {kept / raw['seconds']:.2f}x raw | {kept_cpu:.2f} | "
              f"{kept_cpu / raw['cpu']:.2f}x raw | | | |")
    print(f"| (the kept arrays on disk: {entry_mb:,.0f} MB) | | | | | | | |")
    cold = rows[1][1]["seconds"]
    if cli_rows:
        print(f"\n| CLI (new process each, best of {args.cli_repeat}) | seconds | start-up | "
              "budget: start-up + 0.10 x cold parse | within | peak MB |")
        print("| --- | ---: | ---: | ---: | --- | ---: |")
        for verb, wall, startup, peak in cli_rows:
            budget = startup + 0.10 * cold
            print(f"| `{verb}` | {wall:.2f} | {startup:.2f} | {budget:.2f} | "
                  f"{'yes' if wall <= budget else 'NO'} | {peak:,.0f} |")
    for label, ours, implicit in fit_rows:
        print(f"\n| {label} (best of {min(max(args.repeat, 1), 2)}) | seconds |\n| --- | ---: |")
        print(f"| `train FILE als` (fit_seconds) | {ours:.1f} |")
        print(f"| implicit AlternatingLeastSquares.fit | {implicit:.1f} ({ours / implicit:.2f}x) |")
    print("\nNot measured here: the app's first visit and the Embeddings page's first picture "
          "(Chromium), the server's RSS, and evaluate against implicit's ranking_metrics_at_k.")


if __name__ == "__main__":
    main()
