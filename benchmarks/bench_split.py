"""Split and k-core speed on Sketchfab-sized synthetic data; prints a table.

    python benchmarks/bench_split.py            # 15k users x 25k items x ~550k likes
    python benchmarks/bench_split.py --scale 0.1

Compares ``make_split(matrix, "holdout:5")`` with the original WRMF post's per-user loop (copy to
LIL, ``np.random.choice`` per user, assign zeros) and with a per-user loop over the CSR that only
builds a mask (no LIL), and times the iterative k-core (``kcore_preview`` and ``kcore``) against
the post's pandas loop (``groupby`` counts and ``isin`` until stable) on a raw-Sketchfab-sized
matrix (62,583 users x 28,806 items x ~632k likes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recsys_core.dataset import Dataset, as_csr, normalise_items  # noqa: E402
from recsys_core.preprocess import kcore, kcore_preview  # noqa: E402
from recsys_core.split import make_split  # noqa: E402


def synthetic_likes(
    n_users: int,
    n_items: int,
    n_likes: int,
    *,
    min_per_user: int,
    seed: int,
    sigma: float = 1.1,
    overdraw: float = 1.12,
) -> sp.csr_matrix:
    """Long-tailed user activity (lognormal, at least ``min_per_user``) and item popularity
    (Zipf-like, exponent 0.9); duplicates merged, weights 1. ``overdraw`` makes up for the
    repeated pairs, so that nnz comes out close to n_likes."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, sigma, n_users)
    activity = np.round(activity / activity.sum() * n_likes * overdraw)
    activity = np.maximum(min_per_user, activity)
    activity = np.minimum(activity, n_items // 4).astype(np.int64)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity = rng.permutation(popularity / popularity.sum())
    rows = np.repeat(np.arange(n_users), activity)
    cols = rng.choice(n_items, size=len(rows), p=popularity)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    matrix = as_csr(matrix)
    matrix.data[:] = 1.0
    return matrix


def post_holdout(ratings: sp.csr_matrix, split_count: int, rng: np.random.Generator):
    """The WRMF post's train_test_split (with a Generator instead of the global np.random)."""
    train = ratings.copy().tocoo()
    test = sp.lil_matrix(train.shape)
    counts = np.diff(ratings.indptr)
    user_index = np.flatnonzero(counts >= 2 * split_count)  # the users our split holds out
    train = train.tolil()
    for user in user_index:
        test_ratings = rng.choice(ratings.getrow(user).indices, size=split_count, replace=False)
        train[user, test_ratings] = 0.0
        test[user, test_ratings] = ratings[user, test_ratings]
    assert train.multiply(test).nnz == 0
    return train.tocsr(), test.tocsr(), user_index


def loop_mask_holdout(ratings: sp.csr_matrix, split_count: int, rng: np.random.Generator):
    """A tidier per-user loop: choose positions per user into a mask, build both matrices once."""
    mask = np.zeros(ratings.nnz, dtype=bool)
    indptr = ratings.indptr
    for user in range(ratings.shape[0]):
        start, end = indptr[user], indptr[user + 1]
        if end - start >= 2 * split_count:
            mask[start + rng.choice(end - start, size=split_count, replace=False)] = True
    coo = ratings.tocoo()
    test = sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=ratings.shape)
    train = sp.csr_matrix((coo.data[~mask], (coo.row[~mask], coo.col[~mask])), shape=ratings.shape)
    return train, test


def post_threshold(df: pd.DataFrame, uid_min: int, mid_min: int) -> pd.DataFrame:
    """The WRMF post's threshold_likes loop (users need mid_min likes, items uid_min users)."""
    while True:
        starting = df.shape[0]
        mid_counts = df.groupby("uid").mid.count()
        df = df[~df.uid.isin(mid_counts[mid_counts < mid_min].index.tolist())]
        uid_counts = df.groupby("mid").uid.count()
        df = df[~df.mid.isin(uid_counts[uid_counts < uid_min].index.tolist())]
        if starting == df.shape[0]:
            return df


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def as_dataset(matrix: sp.csr_matrix) -> Dataset:
    item_ids = np.arange(matrix.shape[1]).astype(str)
    return Dataset(
        name="synthetic",
        interactions=matrix,
        user_ids=np.arange(matrix.shape[0]).astype(str),
        item_ids=item_ids,
        items=normalise_items(None, item_ids),
        synthetic=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every size (e.g. 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each fast method")
    args = parser.parse_args()
    s = args.scale

    matrix = synthetic_likes(
        int(15_274 * s), int(25_655 * s), int(550_000 * s), min_per_user=5, seed=args.seed
    )
    print(
        f"holdout:5 on {matrix.shape[0]:,} users x {matrix.shape[1]:,} items x "
        f"{matrix.nnz:,} likes (synthetic, seed {args.seed})"
    )
    ours_s, split = timed(lambda: make_split(matrix, "holdout:5", random_state=1), args.repeat)
    loop_s, (_, loop_test) = timed(
        lambda: loop_mask_holdout(matrix, 5, np.random.default_rng(1)), max(1, args.repeat // 2)
    )
    post_s, (_, post_test, _) = timed(lambda: post_holdout(matrix, 5, np.random.default_rng(1)), 1)
    assert post_test.nnz == loop_test.nnz == split.test.nnz, "the three splits differ in size"
    rows = [
        ("make_split holdout:5 (vectorised)", ours_s, 1.0),
        ("per-user loop, CSR mask", loop_s, loop_s / ours_s),
        ("per-user loop, LIL (the post's)", post_s, post_s / ours_s),
    ]
    print(f"{'method':<38}{'seconds':>10}{'x ours':>10}")
    for name, seconds, ratio in rows:
        print(f"{name:<38}{seconds:>10.3f}{ratio:>10.1f}")
    print(f"test: {split.test.nnz:,} likes of {split.n_test_users:,} users")
    small_s, small = timed(lambda: kcore_preview(matrix, 10, 10), args.repeat)
    print(f"kcore_preview on it: {small_s:.3f} s for {small}")

    raw = synthetic_likes(
        int(62_583 * s),
        int(28_806 * s),
        int(632_832 * s),
        min_per_user=1,
        seed=args.seed + 1,
        sigma=1.8,
        overdraw=1.1,
    )
    print(
        f"\nk-core (users >= 5, items >= 5) on {raw.shape[0]:,} users x {raw.shape[1]:,} items x "
        f"{raw.nnz:,} likes (raw-Sketchfab-sized, synthetic)"
    )
    dataset = as_dataset(raw)
    preview_s, report = timed(lambda: kcore_preview(raw, 5, 5), args.repeat)
    full_s, _ = timed(lambda: kcore(dataset, 5, 5), args.repeat)
    coo = raw.tocoo()
    frame = pd.DataFrame({"uid": coo.row, "mid": coo.col})
    pandas_s, reference = timed(lambda: post_threshold(frame, 5, 5), 1)
    assert len(reference) == report.interactions_after, "k-core differs from the post's loop"
    print(f"{'method':<38}{'seconds':>10}{'x preview':>10}")
    for name, seconds in (
        ("kcore_preview (figures only)", preview_s),
        ("kcore (figures + Dataset.subset)", full_s),
        ("the post's pandas groupby loop", pandas_s),
    ):
        print(f"{name:<38}{seconds:>10.3f}{seconds / preview_s:>10.1f}")
    print(report)


if __name__ == "__main__":
    main()
