"""Speed of our adapters against the libraries they wrap (issue #3, "Speed").

On a Sketchfab-sized synthetic matrix (15k users x 25k items x 550k likes, long-tailed item
popularity and user activity, seeded), it measures:

- ``fit``: our adapter against the raw library call with the same settings, for als, bpr and
  lightfm (best of ``--repeats`` runs each, alternating; ratio goal <= 1.05);
- ``similar_items`` and ``recommend`` latency for one item / user (ALS factors): ours against
  implicit's own and against a plain numpy brute force on pre-normalised vectors;
- batch recommend for every user (ours in chunks, implicit's batch call, numpy in chunks),
  with the peak of numpy allocations (tracemalloc) during each.

Run: ``python benchmarks/bench_algorithms.py`` (about 2 minutes on 2 cores); ``--scale 0.1`` for a
quick look. Algorithms not registered yet are skipped with a note.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_core.algorithms import algorithms, create  # noqa: E402
from recsys_core.util.topk import top_k as top_k_rows  # noqa: E402

SEED = 0
K = 10
ROWS: list[list[str]] = []
NOTES: list[str] = []


# ------------------------------------------------------------------------------------ data
def synthetic_likes(
    n_users: int = 15_000, n_items: int = 25_000, n_likes: int = 550_000, random_state: int = SEED
) -> sp.csr_matrix:
    """A binary float32 CSR [n_users, n_items] with ``n_likes`` distinct likes.

    Item popularity follows a Zipf-like law (p ~ 1 / (rank + 10) ** 1.05) and user activity a
    log-normal, so a few items and users hold most likes, as in the Sketchfab data. Users and
    items also belong to one of 20 taste groups; 70 % of a user's likes fall in their group, so
    the factors have structure to find.
    """
    helper = Path(__file__).with_name("make_synthetic.py")
    if helper.exists():  # another script may provide the shared generator
        import importlib.util

        spec = importlib.util.spec_from_file_location("make_synthetic", helper)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in ("synthetic_likes", "make_matrix", "synthetic_matrix"):
            if hasattr(module, name):
                try:
                    matrix = getattr(module, name)(
                        n_users=n_users, n_items=n_items, n_likes=n_likes, random_state=random_state
                    )
                    NOTES.append(f"matrix from benchmarks/make_synthetic.py:{name}")
                    return sp.csr_matrix(matrix, dtype=np.float32)
                except TypeError:
                    break
    rng = np.random.default_rng(random_state)
    groups = 20
    item_weight = 1.0 / (rng.permutation(n_items) + 10.0) ** 1.05
    item_group = rng.integers(0, groups, n_items)
    user_weight = rng.lognormal(0.0, 1.0, n_users)
    user_group = rng.integers(0, groups, n_users)
    per_group = [np.flatnonzero(item_group == g) for g in range(groups)]
    group_p = [item_weight[ix] / item_weight[ix].sum() for ix in per_group]
    all_p = item_weight / item_weight.sum()
    user_p = user_weight / user_weight.sum()
    keys = np.zeros(0, np.int64)
    while len(keys) < n_likes:
        batch = int((n_likes - len(keys)) * 1.3) + 1000
        users = rng.choice(n_users, size=batch, p=user_p)
        in_group = rng.random(batch) < 0.7
        items = rng.choice(n_items, size=batch, p=all_p)
        for g in range(groups):
            pick = in_group & (user_group[users] == g)
            items[pick] = rng.choice(per_group[g], size=int(pick.sum()), p=group_p[g])
        keys = np.unique(np.concatenate([keys, users.astype(np.int64) * n_items + items]))
    keys = rng.choice(keys, size=n_likes, replace=False)
    rows, cols = np.divmod(keys, n_items)
    matrix = sp.csr_matrix(
        (np.ones(n_likes, np.float32), (rows, cols)), shape=(n_users, n_items), dtype=np.float32
    )
    matrix.sort_indices()
    return matrix


# ---------------------------------------------------------------------------------- timing
def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def alternate(ours: Callable, raw: Callable, repeats: int) -> tuple[list, list, Any, Any]:
    """Best (wall, cpu) seconds of each, runs interleaved (raw, ours, raw, ours ...).

    CPU time (all threads of this process) is reported beside wall time because the machine may
    be shared: it is far less sensitive to other processes than wall time.
    """
    best = {"ours": [float("inf")] * 2, "raw": [float("inf")] * 2}
    models = {}
    for _ in range(repeats):
        for key, fn in (("raw", raw), ("ours", ours)):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            models[key] = fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[key] = [min(best[key][0], wall), min(best[key][1], cpu)]
    return best["ours"], best["raw"], models["ours"], models["raw"]


def per_call(fn: Callable[[int], Any], ids: np.ndarray) -> float:
    """Median seconds of ``fn(id)`` over ``ids`` (after one warm-up call)."""
    fn(int(ids[0]))
    times = np.empty(len(ids))
    for n, i in enumerate(ids):
        start = time.perf_counter()
        fn(int(i))
        times[n] = time.perf_counter() - start
    return float(np.median(times))


def traced(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(seconds, peak MB of traced allocations, result)."""
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, result


def row(what: str, ours: str, implicit: str = "", numpy_: str = "", ratio: str = "", peak=""):
    ROWS.append([what, ours, implicit, numpy_, ratio, peak])
    others = f"  numpy {numpy_}" if numpy_ else ""
    print(f"  {what}: ours {ours}  implicit/raw {implicit}{others}  ratio {ratio}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.1 else f"{seconds:.2f} s"


# --------------------------------------------------------------------------------- benches
def bench_fit(matrix, registered, repeats) -> dict:
    fitted: dict[str, tuple[Any, Any]] = {}
    configs = {
        "als": (
            {"factors": 40, "regularization": 0.1, "alpha": 50.0, "iterations": 22},
            "sketchfab-best preset, 22 iterations",
        ),
        "bpr": ({"factors": 40, "iterations": 20, "num_threads": 1}, "40 factors, 20 epochs"),
        "lightfm": (
            {"loss": "warp", "no_components": 30, "epochs": 3, "num_threads": 1},
            "warp, 30 components, 3 epochs",
        ),
    }
    for name, (params, label) in configs.items():
        if name not in registered:
            NOTES.append(f"{name}: not registered yet, fit row skipped")
            continue
        raw = raw_fit(name, params, matrix)
        t_ours, t_raw, ours_model, raw_model = alternate(
            lambda n=name, p=params: create(n, **p).fit(matrix), raw, repeats
        )
        fitted[name] = (ours_model, raw_model)
        row(
            f"fit {name} ({label}), wall / cpu",
            f"{t_ours[0]:.2f} / {t_ours[1]:.2f} s",
            f"{t_raw[0]:.2f} / {t_raw[1]:.2f} s",
            "",
            f"{t_ours[0] / t_raw[0]:.3f} / {t_ours[1] / t_raw[1]:.3f}",
        )
    return fitted


def raw_fit(name: str, params: dict, matrix: sp.csr_matrix) -> Callable[[], Any]:
    """The library call a user would write by hand, with the same settings."""
    if name == "als":
        from implicit.cpu.als import AlternatingLeastSquares

        def run():
            with threadpool_limits(1, "blas"):
                model = AlternatingLeastSquares(
                    factors=params["factors"],
                    regularization=params["regularization"],
                    alpha=params["alpha"],
                    iterations=params["iterations"],
                    random_state=0,
                )
                model.fit(matrix, show_progress=False)
            return model

        return run
    if name == "bpr":
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        def run():
            with threadpool_limits(1, "blas"):
                model = BayesianPersonalizedRanking(
                    factors=params["factors"],
                    iterations=params["iterations"],
                    num_threads=params["num_threads"],
                    random_state=0,
                )
                model.fit(matrix, show_progress=False)
            return model

        return run
    if name == "lightfm":
        from lightfm import LightFM

        def run():
            model = LightFM(
                no_components=params["no_components"],
                loss=params["loss"],
                random_state=np.random.RandomState(0),
            )
            model.fit(matrix.tocoo(), epochs=params["epochs"], num_threads=params["num_threads"])
            return model

        return run
    raise KeyError(name)


def bench_queries(matrix, ours, raw, n_queries: int) -> None:
    rng = np.random.default_rng(SEED)
    n_users, n_items = matrix.shape
    items = rng.integers(0, n_items, n_queries)
    users = rng.integers(0, n_users, n_queries)
    vectors = np.asarray(ours.item_vectors(), np.float32)
    user_vectors = np.asarray(ours.user_vectors(), np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normed = vectors / np.where(norms == 0, 1, norms)

    def numpy_similar(i: int):
        scores = normed @ normed[i]
        scores[i] = -np.inf
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    def numpy_recommend(u: int):
        scores = vectors @ user_vectors[u]
        start, end = matrix.indptr[u], matrix.indptr[u + 1]
        scores[matrix.indices[start:end]] = -np.inf
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    with threadpool_limits(1, "blas"):
        t_ours = per_call(lambda i: ours.similar_items(i, K), items)
        t_raw = per_call(lambda i: raw.similar_items(i, N=K + 1), items)
        t_np = per_call(numpy_similar, items)
        row(
            "similar_items, one item (als, median)",
            ms(t_ours),
            ms(t_raw),
            ms(t_np),
            f"{t_ours / min(t_raw, t_np):.2f} x best",
        )
        t_ours = per_call(lambda u: ours.recommend(u, K), users)
        t_raw = per_call(lambda u: raw.recommend(u, matrix[u], N=K), users)
        t_np = per_call(numpy_recommend, users)
        row(
            "recommend, one user, seen excluded (als, median)",
            ms(t_ours),
            ms(t_raw),
            ms(t_np),
            f"{t_ours / min(t_raw, t_np):.2f} x best",
        )


def bench_batch(matrix, ours, raw, chunk: int) -> None:
    n_users = matrix.shape[0]
    vectors = np.asarray(ours.item_vectors(), np.float32)
    user_vectors = np.asarray(ours.user_vectors(), np.float32)

    def ours_all():  # one call: the adapter bounds memory itself
        return ours.recommend(np.arange(n_users), K)[0]

    def raw_all():
        with threadpool_limits(1, "blas"):
            return raw.recommend(np.arange(n_users), matrix, N=K)[0]

    def numpy_all():
        out = np.empty((n_users, K), np.int64)
        for start in range(0, n_users, chunk):
            stop = min(start + chunk, n_users)
            scores = user_vectors[start:stop] @ vectors.T
            seen = matrix[start:stop].tocoo()
            scores[seen.row, seen.col] = -np.inf
            out[start:stop] = top_k_rows(scores, K)[0]
        return out

    with threadpool_limits(1, "blas"):
        t_ours, m_ours, _ = traced(ours_all)
        t_raw, m_raw, _ = traced(raw_all)
        t_np, m_np, _ = traced(numpy_all)
    row(
        f"recommend all {n_users:,} users, seen excluded (als; numpy in chunks of {chunk})",
        ms(t_ours),
        ms(t_raw),
        ms(t_np),
        f"{t_ours / min(t_raw, t_np):.2f} x best",
        f"{m_ours:.0f} / {m_raw:.0f} / {m_np:.0f} MB",
    )


# ------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--repeats", type=int, default=2, help="fit runs of each (best kept)")
    parser.add_argument("--queries", type=int, default=300, help="single-query samples")
    parser.add_argument("--chunk", type=int, default=1000, help="users per batch chunk")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    registered = algorithms()
    shape = (int(15_000 * args.scale), int(25_000 * args.scale), int(550_000 * args.scale))
    print(f"generating {shape[0]:,} users x {shape[1]:,} items x {shape[2]:,} likes", flush=True)
    t_data, matrix = best_of(lambda: synthetic_likes(*shape), 1)
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
    top = np.sort(counts)[::-1]
    NOTES.append(
        f"matrix {matrix.shape[0]:,} x {matrix.shape[1]:,}, {matrix.nnz:,} likes, generated in "
        f"{t_data:.1f} s; top 1% of items hold {top[: len(top) // 100].sum() / matrix.nnz:.0%} "
        f"of likes, {np.mean(counts == 0):.0%} items unliked"
    )
    print("fitting (ours vs raw, interleaved)", flush=True)
    fitted = bench_fit(matrix, registered, args.repeats)
    if "als" in fitted:
        ours, raw = fitted["als"]
        print("single queries", flush=True)
        bench_queries(matrix, ours, raw, args.queries)
        print("batch recommend", flush=True)
        bench_batch(matrix, ours, raw, args.chunk)
    else:
        NOTES.append("als: not registered yet, latency and batch rows skipped")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    NOTES.append(f"process peak RSS {rss:.0f} MB; total run {time.perf_counter() - start:.0f} s")

    headers = ["measure", "ours", "implicit / raw lib", "numpy brute force", "ratio", "peak"]
    widths = [
        max(len(h), *(len(r[i]) for r in ROWS)) if ROWS else len(h) for i, h in enumerate(headers)
    ]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in ROWS:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    print()
    for note in NOTES:
        print(f"- {note}")
    print(
        "- ratio: fit rows ours / raw, wall / cpu (goal <= 1.05); query rows ours / the faster "
        "of implicit and numpy (goal <= 1); peak: traced numpy allocations "
        "(ours / implicit / numpy)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
