"""Projection speed and quality (issue #6): PCA, t-SNE (openTSNE and scikit-learn), UMAP.

For 5k and 25k items (a Sketchfab-sized catalogue) it generates the demo's planted-taste data at
that size, trains ALS (64 factors by default), and times on 2 cores:

- ``recsys_core.projection.project`` for PCA and t-SNE (openTSNE) with a cold cache, then again
  (read from the cache);
- scikit-learn's ``TSNE`` (Barnes-Hut, ``n_jobs=2``) on the same normalised vectors, in a child
  process stopped after ``--limit`` seconds (the issue's "about a minute"); at 25k it is only
  tried when it finished at 5k;
- UMAP where ``umap`` imports (it is not installed here: the row says so).

Each map's silhouette of the planted groups (in 2-D) says whether the speed cost quality. A first
table gives the "done when" figures: on the demo itself (3,000 items), the silhouette of the 24
planted groups for an ALS model's t-SNE and PCA maps.

Run: ``python benchmarks/bench_projection.py`` (about 3 minutes on 2 cores);
``--sizes 5000`` for a quick look. Everything is written to a temporary RECSYS_HOME.

``--umap`` (issue #13) asks instead whether UMAP earns its install, and skips with the reason when
``umap`` does not import. It measures, each in a fresh process: ``import umap`` alone and after
what the app has already imported; the first ``project(..., method="umap")`` call (numba's JIT
compile included, with an empty numba cache, as right after ``pip install umap-learn``) and a
second call in the same process; a later process with the numba cache filled; and our t-SNE
(``project(..., method="tsne")``, openTSNE) on the same vectors, with umap-learn hidden (as without
it) and, on the demo, visible (openTSNE then imports pynndescent on every fit). The vectors: the
demo's 3,000 items (ALS, the app's defaults) and the item and user factors of one ALS model (32
factors) on demo-style planted-taste data of the MovieLens-20M shape (138,493 users x 26,744 items,
``--umap-likes`` likes; ``--umap-scale 0.05`` for a quick run). Quality of each map: silhouette of
the planted groups, sklearn's trustworthiness on a sample, and how many of each point's ten nearest
neighbours (cosine, all points) stay among its ten nearest on the map. Try it without touching the
environment::

    pip install --target /tmp/umap_site --no-deps umap-learn pynndescent numba llvmlite
    PYTHONPATH=/tmp/umap_site python benchmarks/bench_projection.py --umap

(``--no-deps``: the app's requirements already hold umap-learn's other dependencies; without it
``--target`` copies numpy, scipy and scikit-learn again, in front of the installed ones)

About 45 minutes on 2 shared cores. Every fit runs once; the table gives CPU seconds beside
wall-clock ones, steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEED = 0
SILHOUETTE_SAMPLE = 5_000


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    sys.stdout.flush()


def _silhouette(coords: np.ndarray, groups: np.ndarray) -> float:
    size = min(SILHOUETTE_SAMPLE, len(coords))
    return float(silhouette_score(coords, groups, sample_size=size, random_state=SEED))


def _als_vectors(n_items: int, factors: int, iterations: int = 10):
    from recsys_core.algorithms import create
    from recsys_core.datasets.demo import generate

    n_users = max(8_000, n_items * 6 // 10)
    data = generate(SEED, n_users=n_users, n_items=n_items, n_likes=n_items * 22)
    model = create("als", factors=factors, iterations=iterations, random_state=SEED)
    with threadpool_limits(1, "blas"):
        model.fit(data.interactions)
    return model, data


# ------------------------------------------------------------------------- demo ("done when")
def demo_silhouettes() -> None:
    from recsys_core.datasets import load_dataset
    from recsys_core.projection import normalise, project_model

    demo = load_dataset("demo")
    groups = demo.items["group"].to_numpy()
    rows = []
    for label, params in (
        ("als, app defaults (64 factors, 15 it.)", {}),
        ("als, test fixture (24 factors, 6 it.)", {"factors": 24, "iterations": 6}),
    ):
        from recsys_core.algorithms import create

        model = create("als", random_state=SEED, **params)
        with threadpool_limits(1, "blas"):
            model.fit(demo.interactions)
        unit = normalise(model.item_vectors())
        scores = {"vectors": float(silhouette_score(unit, groups))}
        for method in ("pca", "tsne"):
            result = project_model(model, method, cache=False)
            scores[method] = float(silhouette_score(result.coords, groups))
        rows.append(
            [label, f"{scores['tsne']:.3f}", f"{scores['pca']:.3f}", f"{scores['vectors']:.3f}"]
        )
    _table(
        f"Demo ({demo.n_items:,} items): silhouette of the {len(set(groups))} planted groups",
        ["model", "t-SNE 2-D", "PCA 2-D", "vectors (cosine, d-D)"],
        rows,
    )


# -------------------------------------------------------------------------------- scikit-learn
def _sklearn_worker(path: str, perplexity: float) -> None:
    from sklearn.manifold import TSNE

    vectors = np.load(path)
    start = time.perf_counter()
    coords = TSNE(2, perplexity=perplexity, init="pca", random_state=SEED, n_jobs=2).fit_transform(
        vectors
    )
    seconds = time.perf_counter() - start
    np.save(path.replace(".npy", "-out.npy"), coords.astype(np.float32))
    print(f"{seconds:.3f}")


def sklearn_tsne(unit: np.ndarray, limit: float, folder: Path) -> tuple[float | None, np.ndarray]:
    path = folder / f"vectors-{len(unit)}.npy"
    np.save(path, unit)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--sklearn-worker", str(path)],
            capture_output=True,
            text=True,
            timeout=limit,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None, np.zeros((0, 2))
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"scikit-learn's TSNE failed:\n{error.stderr}") from None
    seconds = float(done.stdout.strip().splitlines()[-1])
    return seconds, np.load(str(path).replace(".npy", "-out.npy"))


# -------------------------------------------------------------------------- UMAP (issue #13)
ML20M_USERS, ML20M_ITEMS = 138_493, 26_744
UMAP_LIKES = 5_000_000
QUALITY_SAMPLE = 3_000
"""Rows drawn for sklearn's trustworthiness (it builds a full distance matrix)."""
RECALL_QUERIES = 1_000
NEIGHBOURS = 10
UMAP_PACKAGES = ("umap", "pynndescent", "numba", "llvmlite")
"""What ``pip install umap-learn`` adds to an environment that has the app's requirements."""


class _HideUmap(importlib.abc.MetaPathFinder):
    """Makes ``umap`` and ``pynndescent`` fail to import: this process as if never installed."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
        if name.partition(".")[0] in ("umap", "pynndescent"):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the benchmark)")
        return None


def _umap_worker(spec_json: str) -> None:
    """In a fresh process: import, then ``calls`` projections; prints one JSON line.

    Times are wall-clock seconds and CPU seconds (every thread of the process).
    """
    spec = json.loads(spec_json)
    if spec.get("hide_umap"):
        sys.meta_path.insert(0, _HideUmap())
    out: dict = {}
    if spec.get("bare"):
        start, cpu = time.perf_counter(), time.process_time()
        import umap  # noqa: F401

        out["import"] = [time.perf_counter() - start, time.process_time() - cpu]
        print(json.dumps(out))
        return
    import sklearn.decomposition  # noqa: F401  (the app has these before a map is asked for)

    from recsys_core import projection

    library = "umap" if spec["method"] == "umap" else "openTSNE"
    start, cpu = time.perf_counter(), time.process_time()
    importlib.import_module(library)
    out["import"] = [time.perf_counter() - start, time.process_time() - cpu]
    vectors = np.load(spec["vectors"], allow_pickle=False)
    out["calls"] = []
    for call in range(spec["calls"]):
        start, cpu = time.perf_counter(), time.process_time()
        result = projection.project(vectors, spec["method"], cache=False)
        out["calls"].append([time.perf_counter() - start, time.process_time() - cpu])
        if call == 0:
            np.save(spec["out"], result.coords)
    print(json.dumps(out))


def _seconds(pair: list[float] | None) -> str:
    """``"12.3 (20.1)"``: wall-clock seconds (CPU seconds)."""
    return "-" if pair is None else f"{pair[0]:.1f} ({pair[1]:.1f})"


def _child(spec: dict, cache_dir: Path | None = None) -> dict:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run(
        [sys.executable, __file__, "--umap-worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no message)"]
        raise RuntimeError(lines[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _folder_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files) / 2**20


def _install_mb() -> tuple[float, str]:
    """Size on disk of what umap-learn adds (its package and the three it brings)."""
    total, where = 0.0, ""
    for name in UMAP_PACKAGES:
        found = importlib.util.find_spec(name)
        if found is None or not found.submodule_search_locations:
            continue
        folder = Path(next(iter(found.submodule_search_locations)))
        where = str(folder.parent)
        total += _folder_mb(folder)
        total += sum(_folder_mb(info) for info in folder.parent.glob(f"{name}*.dist-info"))
    return total, where


def _neighbour_recall(unit: np.ndarray, coords: np.ndarray, rng: np.random.Generator) -> float:
    """Mean share of a query's 10 nearest (cosine, all points) among its 10 nearest on the map."""
    queries = rng.choice(len(unit), min(RECALL_QUERIES, len(unit)), replace=False)
    k, shares = NEIGHBOURS, []
    for block in np.array_split(queries, max(1, len(queries) // 100)):
        near = unit[block] @ unit.T
        near[np.arange(len(block)), block] = -np.inf
        high = np.argpartition(-near, k, axis=1)[:, :k]
        flat = ((coords[None, :, :] - coords[block][:, None, :]) ** 2).sum(-1)
        flat[np.arange(len(block)), block] = np.inf
        low = np.argpartition(flat, k, axis=1)[:, :k]
        shares += [len(np.intersect1d(h, lo)) / k for h, lo in zip(high, low)]
    return float(np.mean(shares))


def _quality(unit: np.ndarray, coords: np.ndarray, groups: np.ndarray) -> list[str]:
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(SEED)
    rows = rng.choice(len(unit), min(QUALITY_SAMPLE, len(unit)), replace=False)
    trust = trustworthiness(unit[rows], coords[rows], n_neighbors=NEIGHBOURS)
    return [
        f"{_silhouette(coords, groups):.3f}",
        f"{trust:.3f}",
        f"{_neighbour_recall(unit, coords, rng):.2f}",
    ]


def _umap_inputs(scale: float, likes: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, vectors, planted groups): the demo's items, then 20M-shaped items and users."""
    from recsys_core.algorithms import create
    from recsys_core.datasets import load_dataset
    from recsys_core.datasets.demo import generate

    demo = load_dataset("demo")
    model = create("als", random_state=SEED)
    with threadpool_limits(1, "blas"):
        model.fit(demo.interactions)
    inputs = [
        (
            f"demo items ({model.item_vectors().shape[1]} factors)",
            model.item_vectors(),
            demo.items["group"].to_numpy(),
        )
    ]
    n_users, n_items = round(ML20M_USERS * scale), round(ML20M_ITEMS * scale)
    start = time.perf_counter()
    data = generate(SEED, n_users=n_users, n_items=n_items, n_likes=round(likes * scale))
    model = create("als", factors=32, iterations=10, random_state=SEED)
    with threadpool_limits(1, "blas"):
        model.fit(data.interactions)
    print(
        f"20M-shaped data ({n_users:,} x {n_items:,}, {data.interactions.nnz:,} likes) + ALS "
        f"(32 factors, 10 iterations) in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    inputs.append(
        ("20M-shaped items (32 factors)", model.item_vectors(), data.items["group"].to_numpy())
    )
    inputs.append(
        ("20M-shaped users (32 factors)", model.user_vectors(), data.users["group"].to_numpy())
    )
    return inputs


def umap_comparison(scale: float, likes: int, folder: Path) -> None:
    """Print the table of ``--umap`` (see the module docstring)."""
    from recsys_core import projection

    cold = folder / "numba-cold-import"
    try:
        bare = _child({"bare": True}, cold)
    except RuntimeError as error:
        print(
            f"UMAP skipped: umap does not import here ({error}); "
            f"{projection.UMAP_HINT} (or --target a folder on PYTHONPATH) to measure it."
        )
        return
    bare_warm = _child({"bare": True}, cold)
    size, where = _install_mb()
    print(f"umap-learn adds {size:,.0f} MB ({', '.join(UMAP_PACKAGES)}; in {where})")
    print(
        f"import umap in a fresh process, wall s (CPU s): {_seconds(bare['import'])} with an "
        f"empty numba cache, {_seconds(bare_warm['import'])} once it is filled "
        f"({_folder_mb(cold):.1f} MB)",
        flush=True,
    )

    rows: list[list[str]] = []
    for number, (label, vectors, groups) in enumerate(_umap_inputs(scale, likes)):
        path = folder / f"vectors-{number}.npy"
        np.save(path, np.ascontiguousarray(vectors, dtype=np.float32))
        unit = projection.normalise(np.asarray(vectors, dtype=np.float32))
        points = f"{label}: {len(vectors):,}"
        cache_dir = folder / f"numba-{number}"
        # (name, method, calls, numba cache, hide umap): openTSNE imports pynndescent (which
        # umap-learn brings) on every fit where it is installed, so t-SNE is measured both ways
        plan = [
            ("UMAP, first process (empty numba cache)", "umap", 2, cache_dir, False),
            ("t-SNE (openTSNE, ours), umap-learn not installed", "tsne", 1, None, True),
        ]
        if number < 2:  # numba caches little of UMAP's compile: what a later process pays
            plan.insert(
                1, ("UMAP, a later process (numba cache filled)", "umap", 2, cache_dir, False)
            )
        if number == 0:
            plan.insert(
                2,
                (
                    "t-SNE (openTSNE, ours), umap-learn installed (cache filled)",
                    "tsne",
                    1,
                    cache_dir,
                    False,
                ),
            )
        for name, method, calls, numba_dir, hide in plan:
            out = folder / f"coords-{number}-{method}.npy"
            spec = {
                "vectors": str(path),
                "method": method,
                "calls": calls,
                "out": str(out),
                "hide_umap": hide,
            }
            result = _child(spec, numba_dir)
            times = result["calls"] + [None]
            row = [points, name, _seconds(result["import"]), _seconds(times[0]), _seconds(times[1])]
            rows.append(row + _quality(unit, np.load(out, allow_pickle=False), groups))
            print("  ", rows[-1], flush=True)
        print(f"   numba cache after {label}: {_folder_mb(cache_dir):.1f} MB", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    _table(
        "UMAP against our t-SNE, each in a fresh process, 2 cores: wall s (CPU s), "
        "quality of the first map",
        [
            "points",
            "method",
            "import",
            "1st call",
            "2nd call",
            "silhouette",
            f"trustworthiness ({QUALITY_SAMPLE:,} sample)",
            f"{NEIGHBOURS}-NN kept",
        ],
        rows,
    )


# ---------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 25_000])
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument(
        "--limit", type=float, default=60.0, help="seconds before scikit-learn's TSNE is stopped"
    )
    parser.add_argument("--sklearn-worker", help=argparse.SUPPRESS)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument(
        "--umap",
        action="store_true",
        help="measure whether UMAP earns its install (issue #13) instead",
    )
    parser.add_argument(
        "--umap-scale",
        type=float,
        default=1.0,
        help="fraction of the 20M shape for --umap (0.05 for a quick run)",
    )
    parser.add_argument(
        "--umap-likes",
        type=int,
        default=UMAP_LIKES,
        help="likes of the 20M-shaped data for --umap (before --umap-scale)",
    )
    parser.add_argument("--umap-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sklearn_worker:
        _sklearn_worker(args.sklearn_worker, 30.0)
        return
    if args.umap_worker:
        _umap_worker(args.umap_worker)
        return

    with tempfile.TemporaryDirectory() as home:
        os.environ["RECSYS_HOME"] = home
        from recsys_core import projection

        print(
            f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} "
            "(times are wall-clock; the machine may be shared)"
        )
        if args.umap:
            umap_comparison(args.umap_scale, args.umap_likes, Path(home))
            return
        if not args.skip_demo:
            demo_silhouettes()
        rows: list[list[str]] = []
        sklearn_ok = True
        for n in args.sizes:
            start = time.perf_counter()
            model, data = _als_vectors(n, args.factors)
            groups = data.items["group"].to_numpy()
            vectors = model.item_vectors()
            setup = time.perf_counter() - start
            print(
                f"\n{n:,} items x {vectors.shape[1]} factors: data + ALS in {setup:.1f} s",
                flush=True,
            )
            for method in ("pca", "tsne"):
                cold = projection.project(vectors, method, cache_name=f"bench-{n}")
                warm_start = time.perf_counter()
                warm = projection.project(vectors, method, cache_name=f"bench-{n}")
                warm_seconds = time.perf_counter() - warm_start
                assert warm.cached and np.array_equal(warm.coords, cold.coords)
                name = "PCA (scikit-learn)" if method == "pca" else "t-SNE (openTSNE, ours)"
                rows.append(
                    [
                        f"{n:,}",
                        name,
                        f"{cold.seconds:.2f}",
                        f"{warm_seconds:.3f}",
                        f"{_silhouette(cold.coords, groups):.3f}",
                    ]
                )
                print("  ", rows[-1], flush=True)
            unit = projection.normalise(vectors)  # rows of zeros (items nobody liked) stay zero
            if sklearn_ok:
                seconds, coords = sklearn_tsne(unit, args.limit, Path(home))
                if seconds is None:
                    sklearn_ok = False
                    rows.append(
                        [
                            f"{n:,}",
                            "t-SNE (scikit-learn)",
                            f"> {args.limit:.0f} (stopped)",
                            "-",
                            "-",
                        ]
                    )
                else:
                    rows.append(
                        [
                            f"{n:,}",
                            "t-SNE (scikit-learn)",
                            f"{seconds:.2f}",
                            "-",
                            f"{_silhouette(coords, groups):.3f}",
                        ]
                    )
            else:
                rows.append(
                    [
                        f"{n:,}",
                        "t-SNE (scikit-learn)",
                        "not run (over the limit at a smaller size)",
                        "-",
                        "-",
                    ]
                )
            print("  ", rows[-1], flush=True)
            if projection.umap_available():
                cold = projection.project(vectors, "umap", cache_name=f"bench-{n}")
                start = time.perf_counter()
                projection.project(vectors, "umap", cache_name=f"bench-{n}")
                rows.append(
                    [
                        f"{n:,}",
                        "UMAP",
                        f"{cold.seconds:.2f}",
                        f"{time.perf_counter() - start:.3f}",
                        f"{_silhouette(cold.coords, groups):.3f}",
                    ]
                )
            else:
                rows.append([f"{n:,}", "UMAP", "not installed (pip install umap-learn)", "-", "-"])
        _table(
            "Projection of ALS item vectors (cosine), 2 cores",
            ["items", "method", "seconds (no cache)", "seconds (cached)", "silhouette"],
            rows,
        )


if __name__ == "__main__":
    main()
