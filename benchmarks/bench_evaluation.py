"""How fast is ``recsys_core.evaluation.evaluate``? Against implicit's own Cython evaluation and
against a per-user loop like the original WRMF post's.

Data: a synthetic Sketchfab-sized matrix (default 15,000 users x 25,000 items x ~550,000 likes with
long-tailed item popularity), split ``holdout:5``; model: ALS (factors 40) through the ``als``
adapter. Every evaluator scores all test users at k = 10 with training items excluded.

- ``recsys_core``: :func:`recsys_core.evaluation.evaluate` (every metric, blocks of users).
- ``implicit``: ``implicit.evaluation.ranking_metrics_at_k`` on the adapter's implicit model.
- ``per-user loop``: the WRMF post's ``precision_at_k`` (score the catalogue, ``argsort`` it,
  ``getrow`` the test items, intersect sets), training items masked; timed on a sample of users
  and scaled to all of them.

Goals (issue #4): recsys_core / implicit <= 1.2, per-user loop / recsys_core >= 20.

    python benchmarks/bench_evaluation.py                 # Sketchfab size (~1-2 minutes)
    python benchmarks/bench_evaluation.py --users 3000 --items 5000 --likes 100000   # quick

At scale (issue #13: ``evaluate`` of ALS on a 20M-interaction file within 1.0x of implicit, memory
bounded by blocks): ``--scales`` runs MovieLens-20M-shaped matrices (``make_synthetic``'s
``synthetic_matrix``: users and interactions times the scale, items times its square root; 1.0 is
138,493 x 26,744 x 20M), each in a fresh process that builds the matrix, splits it ``holdout:5``,
fits ALS once (``--scale-iterations``, default 3: the cost of an evaluation does not depend on
the fit's quality) and then times both evaluators alternately on the same model and split (best
of ``--repeats``). Peak memory is the evaluator's own: the process's peak resident size is reset
(``/proc/self/clear_refs``) before one more call of each, after the timed ones, and the table
shows the peak above the resident size at the call (glibc's mmap threshold fixed and its free
memory trimmed first, so what earlier steps freed is not counted nor reused), beside
tracemalloc's peak of one more call (numpy's arrays, steadier than the resident size). The last
line extrapolates to the 20M shape (scores to compute grow with users x items, scale^1.5) and
gives the command that measures it (about 4 GB and 5 minutes)::

    python benchmarks/bench_evaluation.py --scales 0.05,0.1,0.25      # 1M, 2M, 5M (~2 minutes)
    python benchmarks/bench_evaluation.py --scales 1                  # the 20M shape itself
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def synthetic_likes(n_users: int, n_items: int, n_likes: int, seed: int = 0) -> sp.csr_matrix:
    """Binary likes: user activity log-normal (at least 10), item popularity Zipf-like."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=n_users)
    activity = np.maximum(10, np.round(activity / activity.sum() * n_likes * 1.05)).astype(int)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    weights = rng.permutation(weights / weights.sum())
    rows = np.repeat(np.arange(n_users), activity)
    cols = rng.choice(n_items, size=len(rows), p=weights)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def per_user_loop(model, train, test, k: int, users: np.ndarray) -> float:
    """The original post's ``precision_at_k`` loop: per user, ``argsort`` the whole row of
    predictions, ``getrow`` the test items, intersect sets. Two changes, both in its favour or
    needed for a like-for-like result: the row is computed per user (the post's dense
    ``predict_for_customers()`` is users x items of float64, 3 GB here) and training items are
    masked (the post ranked them too)."""
    user_factors, item_factors = model.user_vectors(), model.item_vectors()
    precisions = []
    for user in users:
        predictions = user_factors[user] @ item_factors.T
        predictions[train.getrow(user).indices] = -np.inf
        top_k = np.argsort(-predictions)[:k]
        labels = test.getrow(user).indices
        precisions.append(float(len(set(top_k) & set(labels))) / float(k))
    return float(np.mean(precisions))


def best_of(repeats: int, call):
    """(best wall seconds, best CPU seconds of this process, last value)."""
    walls, cpus, value = [], [], None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        value = call()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), value


ML20M = (138_493, 26_744, 20_000_263)
"""Users, items and interactions of MovieLens 20M (the shape ``--scales 1`` builds)."""


def ml20m_shape(scale: float) -> tuple[int, int, int]:
    """Users and interactions times ``scale``, items times its square root."""
    users, items, rows = ML20M
    return (
        max(int(round(users * scale)), 50),
        max(int(round(items * scale**0.5)), 50),
        max(int(round(rows * scale)), 1_000),
    )


def _memory_kb() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in kB."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = int(line.split()[1])
    return found


def _reset_peak() -> bool:
    """Reset this process's peak resident size (Linux >= 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _release_freed_memory() -> None:
    """glibc only: map every allocation over 64 kB (returned to the system when freed) and
    release what the heap keeps free; nothing elsewhere."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 65536)  # M_MMAP_THRESHOLD, which also stops its dynamic growth
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measured(call) -> tuple[float, float, float, object]:
    """(wall s, CPU s, peak MB above the resident size at the call, value) of one call."""
    import gc

    gc.collect()
    resettable = _reset_peak()
    before = _memory_kb()["VmRSS"]
    start, cpu = time.perf_counter(), time.process_time()
    value = call()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _memory_kb()["VmHWM"] if resettable else float("nan")
    return wall, cpu, (peak - before) / 1024, value


HEADLINE = (("precision_implicit", "precision"), ("map", "map"), ("ndcg", "ndcg"), ("auc", "auc"))
"""(our metric, implicit's ``ranking_metrics_at_k`` key) pairs that must agree."""


def metrics_equal(ours: dict, reference: dict, tolerance: float = 1e-9) -> bool:
    """Whether our headline metrics equal implicit's (``reference``) within ``tolerance``."""
    return all(
        abs(float(ours[mine]) - float(reference[theirs])) <= tolerance for mine, theirs in HEADLINE
    )


def scale_child(scale: float, k: int, factors: int, iterations: int, repeats: int) -> dict:
    """One scale in this process: build, split, fit, then both evaluators on the same model."""
    import pandas as pd
    from implicit.evaluation import ranking_metrics_at_k

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_synthetic import synthetic_matrix

    from recsys_core.dataset import Dataset
    from recsys_core.evaluation import evaluate
    from recsys_core.evaluation.blocks import block_rows
    from recsys_core.split import make_split
    from recsys_core.training import fit_model

    n_users, n_items, n_rows = ml20m_shape(scale)
    start = time.perf_counter()
    likes = synthetic_matrix(n_users, n_items, n_rows, random_state=0)
    dataset = Dataset(
        name="bench",
        interactions=likes,
        user_ids=np.arange(n_users).astype(str),
        item_ids=np.arange(n_items).astype(str),
        items=pd.DataFrame({"item_id": np.arange(n_items).astype(str)}),
    )
    split = make_split(dataset, "holdout:5", random_state=0)
    made = time.perf_counter() - start
    model = fit_model(
        dataset,
        "als",
        {"factors": factors, "iterations": iterations, "regularization": 0.1, "alpha": 50.0},
        interactions=split.train,
    )
    del dataset, likes
    runs: dict[str, list] = {"ours": [], "implicit": []}
    calls = {
        "ours": lambda: evaluate(model, split.train, split.test, k),
        "implicit": lambda: ranking_metrics_at_k(
            model.model_, split.train, split.test, K=k, show_progress=False
        ),
    }
    values = {}
    for _ in range(repeats):  # alternate, so load from other work falls on both
        for name, call in calls.items():
            wall, cpu, _, values[name] = measured(call)
            runs[name].append((wall, cpu))
    # then one untimed call each for memory, glibc's mmap threshold fixed and its free memory
    # trimmed: every large array is mapped when made and returned when freed, so what an
    # earlier step freed is not resident and a call's peak is its own
    _release_freed_memory()
    peaks = {name: measured(call)[2] for name, call in calls.items()}
    traced = {}
    for name, call in calls.items():  # and numpy's allocations, as tracemalloc sees them
        tracemalloc.start()
        call()
        traced[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    ours, reference = values["ours"], values["implicit"]
    same = metrics_equal(ours.metrics, reference)
    block = block_rows(n_items, None)
    return {
        "scale": scale,
        "users": n_users,
        "items": n_items,
        "interactions": int(split.train.nnz + split.test.nnz),
        "test_users": int(ours.protocol["n_users"]),
        "made": made,
        "fit": float(model.fit_seconds_),
        "implicit_threads": model.model_.num_threads,
        "block_rows": block,
        "block_mb": block * n_items * 4 / 2**20,
        **{
            f"{name}_{what}": min(run[i] for run in runs[name])
            for name in runs
            for i, what in enumerate(("wall", "cpu"))
        },
        **{f"{name}_peak_mb": peaks[name] for name in runs},
        **{f"{name}_traced_mb": traced[name] for name in runs},
        "same": same,
    }


def run_scales(args) -> None:
    """Each scale in a child process; one table."""
    scales = [float(part) for part in args.scales.split(",") if part.strip()]
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "library default")
    print(
        f"# evaluate vs implicit ranking_metrics_at_k at scale: {os.cpu_count()} cores, "
        f"load {load}; BLAS threads {blas}; ALS factors {args.factors}, "
        f"{args.scale_iterations} iterations; holdout:5, k={args.k}, best of {args.repeats}"
    )
    print()
    print(
        "| scale | users x items | interactions | test users | block (rows, MB) | "
        "ours wall s | implicit wall s | ours / implicit | ours CPU / implicit CPU | "
        "traced peak MB, ours / implicit | resident peak MB, ours / implicit | "
        "equal (1e-9) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    rows = []
    for scale in scales:
        command = [
            sys.executable,
            __file__,
            "--child-scale",
            str(scale),
            "-k",
            str(args.k),
            "--factors",
            str(args.factors),
            "--scale-iterations",
            str(args.scale_iterations),
            "--repeats",
            str(args.repeats),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"| {scale:g} | failed: {done.stderr.strip().splitlines()[-1:]} |")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"| {scale:g} | {row['users']:,} x {row['items']:,} | {row['interactions']:,} | "
            f"{row['test_users']:,} | {row['block_rows']:,}, {row['block_mb']:.1f} | "
            f"{row['ours_wall']:.2f} | {row['implicit_wall']:.2f} | "
            f"{row['ours_wall'] / row['implicit_wall']:.2f} | "
            f"{row['ours_cpu'] / row['implicit_cpu']:.2f} | {row['ours_traced_mb']:.0f} / "
            f"{row['implicit_traced_mb']:.0f} | {row['ours_peak_mb']:.0f} / "
            f"{row['implicit_peak_mb']:.0f} | {'yes' if row['same'] else 'NO'} |",
            flush=True,
        )
    if not rows:
        return
    print()
    implicit_threads = rows[-1]["implicit_threads"] or "all cores"
    print(
        f"implicit's threads: {implicit_threads}; ours scores with one BLAS call per block. "
        "Peak memory above the call's start: traced = tracemalloc's peak (numpy's arrays; "
        "buffers a library allocates in C++ are not seen), resident = peak RSS."
    )
    largest = max(rows, key=lambda row: row["scale"])
    if largest["scale"] < 1:
        grow = (1 / largest["scale"]) ** 1.5  # users x items
        from recsys_core.evaluation.blocks import block_rows

        users, items, n_rows = ml20m_shape(1.0)
        block = block_rows(items, None)
        print(
            f"20M shape ({users:,} x {items:,} x {n_rows:,}), extrapolated from scale "
            f"{largest['scale']:g} by users x items (x{grow:.1f}): ours ~"
            f"{largest['ours_wall'] * grow:.0f} s, implicit ~"
            f"{largest['implicit_wall'] * grow:.0f} s; blocks of {block:,} rows keep our "
            f"scores at {block * items * 4 / 2**20:.0f} MB. Measure it with: "
            "python benchmarks/bench_evaluation.py --scales 1 (about 4 GB, 5 minutes)."
        )
    goal = all(row["ours_wall"] <= row["implicit_wall"] for row in rows)
    print(f"goal ours <= 1.0x implicit at every scale: {'met' if goal else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=15_000)
    parser.add_argument("--items", type=int, default=25_000)
    parser.add_argument("--likes", type=int, default=550_000)
    parser.add_argument("--factors", type=int, default=40)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument(
        "--loop-sample",
        type=int,
        default=1000,
        help="users timed in the per-user loop (scaled to all)",
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS and implicit threads while evaluating (0: library defaults)",
    )
    parser.add_argument(
        "--scales",
        default="",
        help="comma-separated MovieLens-20M shape scales (1 = 20M) to compare "
        "with implicit at, each in a fresh process, e.g. 0.05,0.1,0.25",
    )
    parser.add_argument(
        "--scale-iterations",
        type=int,
        default=3,
        help="ALS iterations of the model evaluated at each scale",
    )
    parser.add_argument("--child-scale", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_scale is not None:
        print(
            json.dumps(
                scale_child(
                    args.child_scale, args.k, args.factors, args.scale_iterations, args.repeats
                )
            )
        )
        return
    if args.scales:
        run_scales(args)
        return
    from threadpoolctl import threadpool_limits

    limit = threadpool_limits(args.threads, "blas") if args.threads else None

    from implicit.evaluation import ranking_metrics_at_k

    from recsys_core.dataset import Dataset
    from recsys_core.evaluation import evaluate
    from recsys_core.split import make_split
    from recsys_core.training import fit_model

    start = time.perf_counter()
    likes = synthetic_likes(args.users, args.items, args.likes)
    dataset = Dataset(
        name="bench",
        interactions=likes,
        user_ids=np.arange(args.users).astype(str),
        item_ids=np.arange(args.items).astype(str),
        items=__import__("pandas").DataFrame({"item_id": np.arange(args.items).astype(str)}),
    )
    split = make_split(dataset, "holdout:5", random_state=0)
    made = time.perf_counter() - start
    model = fit_model(
        dataset,
        "als",
        {
            "factors": args.factors,
            "iterations": args.iterations,
            "regularization": 0.1,
            "alpha": 50.0,
        },
        interactions=split.train,
    )
    if args.threads:
        model.model_.num_threads = args.threads
    test_users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    print(
        f"data: {args.users:,} users x {args.items:,} items x {likes.nnz:,} likes "
        f"({made:.1f}s), split holdout:5: {split.train.nnz:,} train / {split.test.nnz:,} test, "
        f"{len(test_users):,} test users; ALS factors {args.factors}, fit "
        f"{model.fit_seconds_:.1f}s; {os.cpu_count()} cores, evaluation threads: "
        f"{args.threads or 'library defaults'}"
    )

    ours_time, ours_cpu, ours = best_of(
        args.repeats, lambda: evaluate(model, split.train, split.test, args.k)
    )
    implicit_time, implicit_cpu, reference = best_of(
        args.repeats,
        lambda: ranking_metrics_at_k(
            model.model_, split.train, split.test, K=args.k, show_progress=False
        ),
    )
    rng = np.random.default_rng(0)
    sample = np.sort(
        rng.choice(test_users, size=min(args.loop_sample, len(test_users)), replace=False)
    )
    loop_sample_time, loop_sample_cpu, _ = best_of(
        1, lambda: per_user_loop(model, split.train, split.test, args.k, sample)
    )
    loop_time = loop_sample_time * len(test_users) / len(sample)
    loop_cpu = loop_sample_cpu * len(test_users) / len(sample)

    print()
    print(
        f"| evaluator (k={args.k}, {len(test_users):,} users) | wall s | CPU s | "
        "wall vs recsys_core |"
    )
    print("|---|---:|---:|---:|")
    print(
        f"| recsys_core.evaluation.evaluate (all metrics) | {ours_time:.2f} | {ours_cpu:.2f} | "
        "1.00 |"
    )
    print(
        f"| implicit ranking_metrics_at_k | {implicit_time:.2f} | {implicit_cpu:.2f} | "
        f"{implicit_time / ours_time:.2f} |"
    )
    print(
        f"| per-user argsort loop (scaled from {len(sample):,} users) | {loop_time:.2f} | "
        f"{loop_cpu:.2f} | {loop_time / ours_time:.1f} |"
    )
    print()
    ratio = ours_time / implicit_time
    speedup = loop_time / ours_time
    print(
        f"recsys_core / implicit = {ratio:.2f} wall, {ours_cpu / implicit_cpu:.2f} CPU "
        f"(goal <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'})"
    )
    print(
        f"per-user loop / recsys_core = {speedup:.1f}x wall, {loop_cpu / ours_cpu:.1f}x CPU "
        f"(goal >= 20: {'met' if speedup >= 20 else 'MISSED'})"
    )
    same = all(
        abs(ours.metrics[ours_name] - reference[name]) <= 1e-9
        for ours_name, name in (
            ("precision_implicit", "precision"),
            ("map", "map"),
            ("ndcg", "ndcg"),
            ("auc", "auc"),
        )
    )
    print(
        "metrics equal to implicit's (1e-9): "
        + ("yes" if same else "NO: " + str({n: (ours.metrics[n], reference[n]) for n in reference}))
    )
    if limit is not None:
        limit.restore_original_limits()


if __name__ == "__main__":
    main()
