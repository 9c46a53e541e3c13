"""Scale: a MovieLens-20M-shaped file, parsed once, then used from the command line, evaluated
against implicit and browsed in the app (Chromium).

    python benchmarks/bench_scale.py                 # 138k users x 27k items x 20M ratings
    python benchmarks/bench_scale.py --scale 0.05    # 1M rows, for development
    python benchmarks/bench_scale.py --scale 0.05 --no-train   # the parse rows only
    python benchmarks/bench_scale.py --scale 0.05 --no-app     # no browser rows

Heavy at full size (about 15 minutes, at most about 25 with the maps' cap, and 3 GB); never run
two at once. Prints one set of tables, headed by the machine (cores, memory, load):

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
- **evaluation** (with ``--train``): that stored model on the file's ``holdout:5`` split (seed 0),
  k = 10: ``recsys_core.evaluation.evaluate`` against implicit's ``ranking_metrics_at_k``, each
  in a new process that opens the file (parse cache), the model and the split, then makes one
  call (bench_evaluation's ``measured``: wall, CPU, the call's own peak above its start); the
  processes alternate, best of ``min(--repeat, 2)``; the process's peak is its ``ru_maxrss``.
  The headline metrics are asserted equal to 1e-9 (bench_evaluation's ``metrics_equal``). The
  model has seen the held-out items (it was trained on the whole file): a timing comparison,
  not a quality figure. Progress (ours per tenth, implicit's own bar) goes to stderr.
- **the app** (with ``--train``, unless ``--no-app``; skipped with the reason when playwright or
  /usr/bin/chromium is absent), headless Chromium and bench_app's ``serve`` / ``visit``: first
  bench_app's floor page (title, caption, 12 images) on a new Streamlit server (its first visit,
  then the median of 3 warm ones); then ``streamlit run app.py`` as a new server process on the
  benchmark's ``RECSYS_HOME`` (the parse cache warm, as after the CLI rows): the first visit to
  ``/similar?dataset=FILE&model=ALS&item=...`` until its grid is drawn (a stored model records
  the file, so a link may open it), the same link again, and the Embeddings page's default map
  for items, then for users: seconds from navigation until a map's canvas has drawn its points
  (the first picture: a PCA of every point, labelled by a banner, above 20,000 points; else the
  map itself), then until the full map (t-SNE of at most 25,000 points, its sample labelled by a
  badge) replaced it, within ``--map-timeout`` seconds of the navigation (default 300: at full
  scale each t-SNE takes about a minute; past the cap the row says so, and the next map waits
  25 s for the app to stop the abandoned projection). Ratios are to the floor's first visit.
  Last, the server's VmRSS (anonymous and file-backed: the parsed arrays are memory-mapped) and
  VmHWM from ``/proc/<pid>/status``, with the dataset and the model loaded. ``--keep`` also
  keeps a screenshot of each map's first picture in the home.

Each measured step runs in a fresh process; times are the best of ``--repeat`` runs (other work
on the machine only adds to a time), wall and CPU (all the process's threads: steadier than wall
time when other work shares the cores), peaks are ``ru_maxrss`` of that process (``os.wait4``; the
parent imports no numpy, so a child's peak is its own), and "above imports" subtracts the
process's resident size after its imports (the same imports for raw and parse). ``--json FILE``
also writes every figure (``evaluation`` and ``app`` included).
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
    return (
        max(int(round(users * scale)), 50),
        max(int(round(items * scale**0.5)), 50),
        max(int(round(rows * scale)), 1_000),
    )


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
    stars = rng.choice(
        np.arange(1, 11), size=n, p=np.array([1, 3, 2, 7, 4, 20, 10, 25, 10, 18]) / 100
    )
    start = rng.integers(820_000_000, 1_420_000_000, n_users)
    stamps = start[users] + rng.integers(0, 86_400 * 400, n)
    user_names = pa.array([f"user-{v:06d}" for v in rng.permutation(n_users)])
    item_names = pa.array([f"movie-{v:05d}" for v in rng.permutation(n_items)])
    table = pa.table(
        {
            "user": pa.DictionaryArray.from_arrays(pa.array(users), user_names).cast(pa.string()),
            "item": pa.DictionaryArray.from_arrays(pa.array(items), item_names).cast(pa.string()),
            "rating": (stars / 2).astype(np.float32),
            "timestamp": stamps.astype(np.int64),
        }
    )
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
            factors=params["factors"],
            iterations=params["iterations"],
            regularization=0.01,
            alpha=40.0,
            random_state=0,
        )
        started = time.perf_counter()
        cpu = time.process_time()
        with threadpool_limits(1, "blas"):
            model.fit(matrix, show_progress=False)
    elif case in EVALUATORS:
        result.update(evaluation_child(case, json.loads(extra)))
    else:
        raise SystemExit(f"unknown case {case}")
    result.setdefault("seconds", result.get("returned", time.perf_counter() - started))
    result.setdefault("cpu", time.process_time() - cpu)
    result["base_mb"] = base
    result["hwm_mb"] = _status_mb("VmHWM")
    print(json.dumps(result))


EVALUATORS = ("evaluate", "ranking_metrics_at_k")
"""The two evaluation children: ours (recsys_core.evaluation) and implicit's."""


def evaluation_child(case: str, params: dict) -> dict:
    """Open the file and the stored ALS model, split ``holdout:5`` (seed 0), then one call of
    one evaluator at k, timed by bench_evaluation's ``measured`` (wall, CPU, and the call's own
    peak above the resident size at its start). The implicit child checks its headline metrics
    against ours (``params["ours"]``) with bench_evaluation's ``metrics_equal``."""
    import warnings

    from bench_evaluation import HEADLINE, measured, metrics_equal

    from recsys_core.datasets import load_dataset
    from recsys_core.split import make_split
    from recsys_core.store import ModelStore

    def say(message: str) -> None:
        print(f"    {case}: {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = load_dataset(params["spec"])
    model = ModelStore().load(params["model_id"], dataset)
    split = make_split(dataset, params["split"], random_state=0)
    prepared = time.perf_counter() - started
    say(f"dataset, model and {params['split']} split ready in {prepared:.1f} s; evaluating")
    k = int(params["k"])
    if case == "evaluate":
        from recsys_core.evaluation import evaluate

        shown = [-1]

        def progress(fraction: float, message: str) -> None:
            tenth = int(fraction * 10)
            if tenth > shown[0]:
                shown[0] = tenth
                say(f"{tenth * 10}%")

        def call():
            return evaluate(model, split.train, split.test, k, progress=progress)
    else:
        from implicit.evaluation import ranking_metrics_at_k

        def call():  # its own tqdm bar on stderr
            return ranking_metrics_at_k(
                model.model_, split.train, split.test, K=k, show_progress=True
            )

    base = _status_mb("VmRSS")
    wall, cpu, own_peak, value = measured(call)
    result = {
        "seconds": wall,
        "cpu": cpu,
        "call_peak_mb": own_peak,
        "call_base_mb": base,
        "prepared": prepared,
        "train_nnz": int(split.train.nnz),
        "test_nnz": int(split.test.nnz),
    }
    if case == "evaluate":
        result["metrics"] = {mine: float(value.metrics[mine]) for mine, _ in HEADLINE}
        result["test_users"] = int(value.protocol["n_users"])
    else:
        result["metrics"] = {theirs: float(value[theirs]) for _, theirs in HEADLINE}
        result["same"] = metrics_equal(params["ours"], value)
    say(f"{wall:.1f} s")
    return result


# ---------------------------------------------------------------------------- parent side
def _run_measured(
    command: list[str], env: dict, show_stderr: bool = False
) -> tuple[float, float, str]:
    """(wall seconds, ru_maxrss MB of exactly this child, stdout) via os.wait4; with
    ``show_stderr`` the child's stderr (its progress) goes to ours as it comes."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=None if show_stderr else subprocess.PIPE,
        cwd=ROOT,
    )
    import threading

    chunks: dict[str, bytes] = {}

    def drain(name, stream):
        chunks[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s))
        for n, s in (("out", process.stdout), ("err", process.stderr))
        if s is not None
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = chunks.get("out", b""), chunks.get("err", b"")
    if process.returncode != 0:
        raise SystemExit(
            f"{' '.join(map(str, command[:5]))} ... failed:\n"
            f"{err.decode(errors='replace')[-3000:] or '(its stderr is above)'}"
        )
    return wall, usage.ru_maxrss / 1024, out.decode()


def child_case(
    case: str, path: Path, env: dict, extra: str = "", show_stderr: bool = False
) -> tuple[dict, float]:
    wall, peak, out = _run_measured(
        [sys.executable, __file__, "--child", case, str(path), extra], env, show_stderr
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
    return (
        f"{cores} cores ({usable} usable){memory}{load}; Python {sys.version.split()[0]}, "
        f"numpy {version('numpy')}, pyarrow {version('pyarrow')}, "
        f"implicit {version('implicit')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Parse once, parse fast: a 20M-row benchmark.")
    parser.add_argument("--scale", type=float, default=1.0, help="of MovieLens 20M (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step")
    parser.add_argument("--cli-repeat", type=int, default=5, help="runs of each CLI verb")
    parser.add_argument("--work", default=None, help="folder for the file and the home")
    parser.add_argument(
        "--no-train",
        dest="train",
        action="store_false",
        help="skip the ALS and CLI rows (parse rows only)",
    )
    parser.add_argument(
        "--no-app", dest="app", action="store_false", help="skip the app rows (Chromium)"
    )
    parser.add_argument(
        "--map-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for an Embeddings map (default 300)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the cache, the models, the servers' logs and the Embeddings screenshots",
    )
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
    env = dict(os.environ, RECSYS_HOME=str(home), PYTHONWARNINGS="ignore", OPENBLAS_NUM_THREADS="1")
    print(f"machine: {machine()}", file=sys.stderr)
    path, info, made = ensure_file(work, args.scale, args.seed, env)
    print(
        f"file: {path.name}, {info['rows']:,} rows, {info['bytes'] / 1e6:,.0f} MB"
        + (f" (made in {info['seconds']:.0f} s)" if made else " (reused)"),
        file=sys.stderr,
    )
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
        cli_rows, fit_rows, big = run_cli(args, path, info, env, home, cold["seconds"], figures)
        run_evaluation(args, env, big, figures)
        if args.app:
            run_app(args, env, home, big, figures)
        else:
            figures["app"] = {"skipped": "--no-app"}
    print_table(args, info, figures, rows, cli_rows, fit_rows, entry_mb)


def run_cli(
    args, path: Path, info: dict, env: dict, home: Path, cold_seconds: float, figures: dict
):
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
            ["recommend", models["small"]["model_id"], examples["small"]["example_user"], "--json"],
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
        figures.setdefault("cli", {})[verb] = {
            "seconds": wall,
            "startup": startup,
            "peak_mb": peak,
            "budget": startup + 0.10 * cold_seconds,
        }
    print("  implicit's own ALS on the same matrix...", file=sys.stderr)
    raw_fits = [
        child_case("implicit", path, env, json.dumps(params))[0]["seconds"]
        for _ in range(min(repeat, 2))
    ]
    raw_fit = min(raw_fits)
    figures["fit"] = {
        "ours": fit,
        "implicit": raw_fit,
        "params": params,
        "runs": fits,
        "implicit_runs": raw_fits,
    }
    fit_rows = [
        (f"ALS fit, factors {params['factors']}, {params['iterations']} iterations", fit, raw_fit)
    ]
    model_id = models["big"]["model_id"]  # the last one trained (--force keeps the id)
    meta = json.loads((home / "models" / model_id / "meta.json").read_text())
    big = {
        "model_id": model_id,
        "spec": meta["dataset_source"]["spec"],
        "item": examples["big"]["example_item"],
        "user": examples["big"]["example_user"],
    }
    small_id = models["small"]["model_id"]
    small_meta = json.loads((home / "models" / small_id / "meta.json").read_text())
    big["small"] = {
        "model_id": small_id,
        "spec": small_meta["dataset_source"]["spec"],
        "item": examples["small"]["example_item"],
    }
    return cli_rows, fit_rows, big


# ---------------------------------------------------------------------------- evaluation
def run_evaluation(args, env: dict, big: dict, figures: dict) -> None:
    """Ours and implicit's evaluator on the same stored model and split, a new process each,
    alternated (best of ``min(--repeat, 2)``); headline metrics asserted equal (1e-9)."""
    params = {"spec": big["spec"], "model_id": big["model_id"], "split": "holdout:5", "k": 10}
    runs: dict[str, list[dict]] = {name: [] for name in EVALUATORS}
    for _ in range(min(max(args.repeat, 1), 2)):
        for case in EVALUATORS:
            print(f"  {case} (new process)...", file=sys.stderr, flush=True)
            if case == "ranking_metrics_at_k":
                params["ours"] = runs["evaluate"][-1]["metrics"]
            result = child_case(case, Path(big["spec"]), env, json.dumps(params), show_stderr=True)[
                0
            ]
            runs[case].append(result)
    chosen = {case: best(found) for case, found in runs.items()}
    for case, found in runs.items():
        chosen[case]["call_peak_mb"] = max(r["call_peak_mb"] for r in found)
        chosen[case]["walls"] = [round(r["wall"], 2) for r in found]
    ours, theirs = chosen["evaluate"], chosen["ranking_metrics_at_k"]
    same = all(r["same"] for r in runs["ranking_metrics_at_k"])
    figures["evaluation"] = {
        "split": params["split"],
        "k": params["k"],
        "same": same,
        "ours": ours,
        "implicit": theirs,
        "test_users": ours["test_users"],
    }
    assert same, (
        f"evaluate's headline metrics differ from implicit's: {ours['metrics']} vs "
        f"{theirs['metrics']}"
    )


# ---------------------------------------------------------------------------- the app
FIRST_PICTURE = """() => {
  const maps = [...document.querySelectorAll('[data-testid=stMain] .rx-scatter[data-state=drawn]')]
    .filter(m => Number(m.dataset.points) > 0);
  if (!maps.length) return null;
  const map = maps[0];
  const text = s => { const e = map.querySelector(s); return e && !e.hidden ? e.textContent : ''; };
  return {preview: map.classList.contains('rx-sc-preview'), points: Number(map.dataset.points),
          banner: text('.rx-sc-banner'), badge: text('.rx-sc-badge')};
}"""
"""A map in the main area whose canvas has drawn its points (scatter_component.js sets
``data-state=drawn`` and ``data-points`` after the frame that draws them): whether it is the
first picture (``rx-sc-preview``), its point count, banner and badge (the sample's label)."""
FULL_MAP = FIRST_PICTURE.replace(
    ".filter(m => Number(m.dataset.points) > 0)",
    ".filter(m => Number(m.dataset.points) > 0 && !m.classList.contains('rx-sc-preview'))",
)
SUMMARY = """() => [...document.querySelectorAll(
    '[data-testid=stMain] [data-testid=stCaptionContainer]')]
  .map(c => c.textContent).find(t => / · (computed in|read from the cache)/.test(t)) || ''"""
"""The caption under the full map: "t-SNE of 25,000 of 26,744 items, cosine · computed in..."."""
ABANDONED_AFTER = 25.0
"""Seconds to wait after leaving an unfinished map: the app stops a background projection nobody
polls for 20 s (``ABANDON_SECONDS``), so it no longer takes CPU."""


def app_unavailable() -> str:
    """Why the app rows cannot run here ('' when they can)."""
    import importlib.util

    from bench_app import CHROMIUM

    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is absent"
    return ""


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon and RssFile of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name = line.split(":")[0]
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            found[name] = float(line.split()[1]) / 1024
    return found


def map_visit(context, url: str, timeout: float, shot: Path | None = None) -> dict:
    """Seconds from opening ``url`` until the first map has drawn its points, then (within
    ``timeout`` seconds of the start) until the full map replaced a first picture."""
    from bench_app import PlaywrightTimeout

    tab = context.new_page()
    try:
        start = time.perf_counter()
        tab.goto(url, timeout=timeout * 1000)
        try:
            first = tab.wait_for_function(
                FIRST_PICTURE, timeout=timeout * 1000, polling=50
            ).json_value()
        except PlaywrightTimeout:
            return {
                "first": None,
                "full": None,
                "preview": False,
                "points": 0,
                "banner": "",
                "badge": "",
            }
        found = {"first": time.perf_counter() - start, **first}
        if shot is not None:
            tab.screenshot(path=str(shot))
        if first["preview"]:
            left = max(timeout - found["first"], 1.0)
            try:
                full = tab.wait_for_function(
                    FULL_MAP, timeout=left * 1000, polling=100
                ).json_value()
                found["full"] = time.perf_counter() - start
                found["full_points"], found["full_badge"] = full["points"], full["badge"]
            except PlaywrightTimeout:
                found["full"] = None
        else:
            found["full"] = found["first"]
            found["full_points"], found["full_badge"] = first["points"], first["badge"]
        if found["full"] is not None:
            try:
                found["summary"] = tab.wait_for_function(
                    SUMMARY, timeout=30_000, polling=100
                ).json_value()
            except PlaywrightTimeout:
                found["summary"] = ""
        if tab.locator("[data-testid=stException]").count():
            raise RuntimeError(f"{url} shows an exception")
        return found
    finally:
        tab.close()


def run_app(args, env: dict, home: Path, big: dict, figures: dict) -> None:
    """The floor, then the app in a new server process on the benchmark's home: the first visit
    to Similar, Embeddings' first pictures (items, users), the server's memory."""
    from urllib.parse import urlencode

    reason = app_unavailable()
    if reason:
        figures["app"] = {"skipped": reason}
        return
    from importlib.metadata import version

    from bench_app import CHROMIUM, CHROMIUM_ARGS, FLOOR_APP, SERVERS, serve, visit
    from playwright.sync_api import sync_playwright

    os.environ.update({key: env[key] for key in ("PYTHONWARNINGS", "OPENBLAS_NUM_THREADS")})
    floor_script = home / "floor_app.py"
    floor_script.write_text(FLOOR_APP)
    query = urlencode({"dataset": big["spec"], "model": big["model_id"], "item": big["item"]})
    users_query = urlencode({"dataset": big["spec"], "model": big["model_id"], "points": "users"})
    app: dict = {"streamlit": version("streamlit"), "map_timeout": args.map_timeout}
    figures["app"] = app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        print("  the floor page (a new Streamlit server)...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with serve(floor_script, str(home)) as floor_url:
            app["floor_start"] = time.perf_counter() - started
            app["floor_first"] = visit(context, floor_url)
            warm = [visit(context, floor_url) for _ in range(3)]
            app["floor_warm"] = sorted(warm)[1]
        print(
            "  the app's start-up (a new Streamlit server): /similar on the 2,000-row file...",
            file=sys.stderr,
            flush=True,
        )
        small = big["small"]
        small_query = urlencode(
            {"dataset": small["spec"], "model": small["model_id"], "item": small["item"]}
        )
        startups, firsts = [], []
        for _ in range(max(args.cli_repeat, 1)):  # alternated, a new server each: best of n
            with serve(ROOT / "app.py", str(home)) as url:
                startups.append(visit(context, f"{url}/similar?{small_query}"))
            with serve(ROOT / "app.py", str(home)) as url:
                firsts.append(visit(context, f"{url}/similar?{query}"))
        app["startup_first"], app["startup_runs"] = min(startups), startups
        app["first_runs"] = firsts
        print(
            "  the app (a new Streamlit server): /similar, first visit...",
            file=sys.stderr,
            flush=True,
        )
        started = time.perf_counter()
        with serve(ROOT / "app.py", str(home)) as url:
            app["start"] = time.perf_counter() - started
            pid = SERVERS[url]
            firsts.append(visit(context, f"{url}/similar?{query}"))
            app["similar_first"] = min(firsts)
            app["similar_again"] = visit(context, f"{url}/similar?{query}")
            for points, link in (
                ("items", f"{url}/embeddings?{query}"),
                ("users", f"{url}/embeddings?{users_query}"),
            ):
                print(
                    f"  /embeddings, {points}: first picture, then the full map (at most "
                    f"{args.map_timeout:g} s)...",
                    file=sys.stderr,
                    flush=True,
                )
                shot = home / f"embeddings-{points}.png" if args.keep else None
                found = map_visit(context, link, args.map_timeout, shot)
                app[f"map_{points}"] = found
                if found["full"] is None:  # its projection still runs: let the app stop it
                    time.sleep(ABANDONED_AFTER)
            app["server"] = proc_status(pid)
            app["pid"] = pid
        browser.close()


def print_table(args, info, figures, rows, cli_rows, fit_rows, entry_mb) -> None:
    n = info["rows"]
    print(
        f"\nbench_scale: {info['users']:,} users x {info['items']:,} items x {n:,} ratings "
        f"(scale {args.scale:g}), parquet {info['bytes'] / 1e6:,.0f} MB"
    )
    print(f"machine: {figures['machine']}")
    print(
        f"best of {max(args.repeat, 1)} runs (the least wall and the least CPU); CPU is the "
        "time of all of a process's threads (process_time), steadier than wall time on a shared "
        "machine; peaks are ru_maxrss of each process (the most of the runs)\n"
    )
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
            memory = (
                f"{result['peak_mb'] / raw['peak_mb']:.2f}x "
                f"({above / raw_above:.2f}x above imports)"
            )
        print(
            f"| {label} | {result['seconds']:.2f} | {ratio} | {result['cpu']:.2f} | {cpu_ratio} "
            f"| {result['peak_mb']:,.0f} | {above:,.0f} | {memory} |"
        )
    kept, kept_cpu = rows[1][1].get("kept"), rows[1][1].get("kept_cpu")
    if kept is not None:
        print(
            f"| parse, cold, until the kept arrays are written (a thread, after the load "
            f"returns) | {kept:.2f} | {kept / raw['seconds']:.2f}x raw | {kept_cpu:.2f} | "
            f"{kept_cpu / raw['cpu']:.2f}x raw | | | |"
        )
    print(f"| (the kept arrays on disk: {entry_mb:,.0f} MB) | | | | | | | |")
    cold = rows[1][1]["seconds"]
    if cli_rows:
        print(
            f"\n| CLI (new process each, best of {args.cli_repeat}) | seconds | start-up | "
            "budget: start-up + 0.10 x cold parse | within | peak MB |"
        )
        print("| --- | ---: | ---: | ---: | --- | ---: |")
        for verb, wall, startup, peak in cli_rows:
            budget = startup + 0.10 * cold
            print(
                f"| `{verb}` | {wall:.2f} | {startup:.2f} | {budget:.2f} | "
                f"{'yes' if wall <= budget else 'NO'} | {peak:,.0f} |"
            )
    for label, ours, implicit in fit_rows:
        print(f"\n| {label} (best of {min(max(args.repeat, 1), 2)}) | seconds |\n| --- | ---: |")
        print(f"| `train FILE als` (fit_seconds) | {ours:.1f} |")
        print(f"| implicit AlternatingLeastSquares.fit | {implicit:.1f} ({ours / implicit:.2f}x) |")
    if "evaluation" in figures:
        print_evaluation(args, figures["evaluation"])
    if "app" in figures:
        figures["app"]["cold_parse"] = cold
        print_app(figures["app"], info)


def print_evaluation(args, found: dict) -> None:
    ours, theirs = found["ours"], found["implicit"]
    runs = len(ours["walls"])
    print(
        f"\n| evaluation of the ALS model, {found['split']}, k={found['k']}, "
        f"{found['test_users']:,} test users (a new process each, best of {runs}) | seconds | "
        "vs implicit | CPU s | vs implicit | process peak MB | the call's own peak MB | "
        "process wall s (load, split, call) |"
    )
    print("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: |")
    for label, result in (
        ("`recsys_core.evaluation.evaluate` (every metric)", ours),
        ("implicit `ranking_metrics_at_k`", theirs),
    ):
        ratio = f"{result['seconds'] / theirs['seconds']:.2f}x"
        cpu = f"{result['cpu'] / theirs['cpu']:.2f}x"
        print(
            f"| {label} | {result['seconds']:.2f} | {ratio} | {result['cpu']:.2f} | {cpu} | "
            f"{result['peak_mb']:,.0f} | {result['call_peak_mb']:,.0f} | "
            f"{min(result['walls']):.1f} |"
        )
    metrics = ", ".join(f"{name} {value:.4f}" for name, value in ours["metrics"].items())
    print(
        f"\nHeadline metrics equal to implicit's (1e-9): {'yes' if found['same'] else 'NO'} "
        f"({metrics}). The model is the one trained above on the whole file: it has seen the "
        "held-out items, so these are not a measure of its quality; only the comparison counts. "
        "Our BLAS on one thread, implicit with its defaults."
    )


def print_app(app: dict, info: dict) -> None:
    if "skipped" in app:
        print(f"\nApp rows (Chromium) skipped: {app['skipped']}.")
        return
    floor = app["floor_first"]
    server = app["server"]
    print(
        f"\n| the app in Chromium (headless), Streamlit {app['streamlit']}, a new server "
        "process on this home | seconds | vs the floor's first visit |"
    )
    print("| --- | ---: | ---: |")

    def row(label: str, seconds: float | None, ratio: bool = True) -> None:
        if seconds is None:
            print(f"| {label} | not within {app['map_timeout']:g} s | |")
            return
        print(f"| {label} | {seconds:.2f} | {f'{seconds / floor:.2f}x' if ratio else ''} |")

    row(
        "floor (bench_app's title, caption and 12 images): server start until healthy",
        app["floor_start"],
        False,
    )
    row("floor: first visit", floor)
    row("floor: warm visit (median of 3)", app["floor_warm"])
    row("app: server start until healthy", app["start"], False)
    startup = app.get("startup_first")
    runs = len(app.get("startup_runs", [])) or 1
    if startup is not None:
        row(
            f"app: start-up, a new server's first visit to /similar on a model of the file's "
            f"first 2,000 rows (as the CLI rows' start-up; best of {runs})",
            startup,
        )
    row(
        f"app: first visit, /similar on the file (parse cache warm), until its grid is drawn "
        f"(a new server each; best of {len(app.get('first_runs', [])) or 1})",
        app["similar_first"],
    )
    if startup is not None:
        budget = startup + 0.10 * app["cold_parse"]
        within = "within" if app["similar_first"] <= budget else "NOT within"
        print(
            f"| (budget: start-up + 0.10 x cold parse = {budget:.2f} s: the first visit is "
            f"{within} it) | | |"
        )
    row("app: /similar again in a new tab", app["similar_again"])
    for points in ("items", "users"):
        found = app[f"map_{points}"]
        n = info[points]
        if found["preview"]:
            what = f'labelled "{found["banner"]}"' if found["banner"] else "NOT labelled"
            row(
                f"/embeddings, {n:,} {points}: first picture ({found['points']:,} points, {what})",
                found["first"],
            )
            label = found.get("full_badge") or "no sample label"
            row(
                f"/embeddings, {points}: the full map replacing it ({label}; "
                f"{found.get('summary') or 'no summary'})",
                found["full"],
            )
        elif found["first"] is None:
            row(f"/embeddings, {n:,} {points}: first picture", None)
        else:
            label = f'labelled "{found["badge"]}"' if found["badge"] else "not sampled"
            row(
                f"/embeddings, {n:,} {points}: first picture = the full map "
                f"({found['points']:,} points, {label}; {found.get('summary') or 'no summary'})",
                found["first"],
            )
    print(
        f"| server RSS after these visits (dataset and ALS model loaded): VmRSS "
        f"{server['VmRSS']:,.0f} MB (anonymous {server.get('RssAnon', 0):,.0f}, file-backed "
        f"{server.get('RssFile', 0):,.0f}), peak VmHWM {server['VmHWM']:,.0f} MB | | |"
    )


if __name__ == "__main__":
    main()
