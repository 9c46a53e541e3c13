"""Train / test splits of an interaction matrix, described by a short spec string.

=================  ===========================================================================
``holdout:N``      The original WRMF post's per-user holdout: N random interactions of every
                   user with at least 2N move to test; other users keep everything in train.
``holdout:N:F``    The same for a random fraction F (0 < F <= 1) of those eligible users.
``random:P``       A random fraction P (0 < P < 1) of all interactions moves to test.
``leave-last:N``   The N latest interactions (by the Dataset's timestamps) of every user with at
                   least N + 1 move to test; ties are broken at random.
``NAME``           A predefined split shipped with the data (ml-100k's ``ua``, ``ub``, ``u1``..
                   ``u5``): ``dataset.extras["predefined_splits"][NAME]`` holds the int64 linear
                   keys ``user_index * n_items + item_index`` of the test pairs.
=================  ===========================================================================

Every split is vectorised over the CSR arrays (one sort, no per-user loop), seeded by
``random_state`` alone, and returns train and test of the input's shape that are disjoint
(checked) and add up to the input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .dataset import Dataset, as_csr
from .errors import DatasetError, ParameterError

SPEC_HELP = "holdout:N, holdout:N:F, random:P, leave-last:N or a predefined split name"
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Split:
    """A train / test split of one interaction matrix.

    Attributes
    ----------
    train, test : csr_matrix of float32, shape [n_users, n_items]
        Canonical CSR, disjoint; ``train + test`` equals the (canonical) input.
    test_mask : np.ndarray of bool, shape [nnz]
        Over the input CSR's ``.data`` entries: True = moved to test.
    spec : str
        The normalised spec, e.g. ``"holdout:5"``.
    random_state : int or None
        The seed the split was drawn with.
    n_test_users : int
        Users with at least one test interaction.
    n_users_without_train : int
        Users with test interactions but nothing left in train (counted, not an error).
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    test_mask: np.ndarray
    spec: str
    random_state: int | None
    n_test_users: int
    n_users_without_train: int
    _indptr: np.ndarray | None = field(default=None, repr=False, compare=False)
    _indices: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.train.shape

    @property
    def test_users(self) -> np.ndarray:
        """Indices of the users with at least one test interaction, int64 [n_test_users]."""
        return np.flatnonzero(np.diff(self.test.indptr) > 0)

    def apply(
        self, matrix: sp.csr_matrix, *, others: str = "train"
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Split another matrix with the same sparsity pattern (timestamps, ratings) the same way.

        Parameters
        ----------
        matrix : csr_matrix, shape [n_users, n_items]
            Holding an entry for every interaction of the split's input (explicit zeros count
            as entries, so a timestamps matrix with 0 for "unknown" lines up). It may hold more:
            ``Dataset.ratings`` keeps the pairs rated below ``min_rating`` that the implicit
            matrix left out.
        others : {"train", "drop"}
            Where entries that are not interactions of the input go. They are never test
            pairs; "train" keeps them as training data (the ratings below ``min_rating`` for an
            explicit model), "drop" leaves them out.

        Returns
        -------
        (train, test) : csr_matrix, same dtype as ``matrix``
            ``test`` is aligned entry for entry with ``self.test`` (same indptr and indices);
            so is ``train`` with ``self.train`` when ``matrix`` has the input's exact pattern.

        Raises
        ------
        ParameterError
            If ``matrix`` lacks some of the input's interactions, or has another shape.
        """
        if others not in ("train", "drop"):
            raise ParameterError(f"others must be 'train' or 'drop', got {others!r}.")
        if not (sp.issparse(matrix) and matrix.format == "csr"):
            raise ParameterError(
                f"Split.apply needs a CSR sparse matrix, not {type(matrix).__name__}."
            )
        matrix = _canonical(sp.csr_matrix(matrix))
        if matrix.shape != self.shape:
            raise ParameterError(
                f"Split.apply got a {matrix.shape[0]:,} x {matrix.shape[1]:,} matrix for a "
                f"{self.shape[0]:,} x {self.shape[1]:,} split; pass a matrix of the data's shape."
            )
        indptr, indices = self._input_pattern()
        if np.array_equal(matrix.indptr, indptr) and np.array_equal(matrix.indices, indices):
            return _take(matrix, ~self.test_mask), _take(matrix, self.test_mask)
        input_keys = _keys(
            sp.csr_matrix((np.ones(len(indices), np.int8), indices, indptr), shape=self.shape)
        )
        keys = _keys(matrix)
        position = np.searchsorted(keys, input_keys)
        present = np.zeros(len(input_keys), dtype=bool)
        if len(keys):
            present = (position < len(keys)) & (
                keys[np.minimum(position, len(keys) - 1)] == input_keys
            )
        if not present.all():
            raise ParameterError(
                f"The matrix to split lacks {int((~present).sum()):,} of the "
                f"{len(input_keys):,} interactions split by {self.spec!r}; split a matrix "
                "aligned with the interactions (such as the Dataset's timestamps or ratings)."
            )
        test = np.zeros(matrix.nnz, dtype=bool)
        test[position[self.test_mask]] = True
        if others == "train":
            train = ~test
        else:
            train = np.zeros(matrix.nnz, dtype=bool)
            train[position[~self.test_mask]] = True
        return _take(matrix, train), _take(matrix, test)

    def _input_pattern(self) -> tuple[np.ndarray, np.ndarray]:
        """indptr and indices of the split's (canonical) input."""
        if self._indptr is not None and self._indices is not None:
            return self._indptr, self._indices
        union = np.union1d(_keys(_canonical(self.train)), _keys(_canonical(self.test)))
        rows, cols = np.divmod(union, self.shape[1])
        indptr = np.zeros(self.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.shape[0]), out=indptr[1:])
        return indptr, cols.astype(np.int32)

    def __repr__(self) -> str:
        return (
            f"<Split {self.spec} (random_state={self.random_state}): {self.train.nnz:,} train, "
            f"{self.test.nnz:,} test interactions, {self.n_test_users:,} test users, "
            f"{self.n_users_without_train:,} without train>"
        )


# ---------------------------------------------------------------------------------- specs
def parse_split_spec(spec: str) -> tuple[str, tuple]:
    """Parse a split spec into ``(kind, parameters)``.

    Returns
    -------
    ("holdout", (n,)) or ("holdout", (n, fraction)), ("random", (p,)), ("leave-last", (n,)),
    or ("predefined", (name,)).

    Raises
    ------
    ParameterError
        For anything else, naming the spec and the accepted forms.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError(f"Split spec {spec!r} is empty; use {SPEC_HELP}.")
    text = spec.strip()
    parts = [p.strip() for p in text.split(":")]
    kind = parts[0].lower()
    args = parts[1:]

    def bad(why: str) -> ParameterError:
        return ParameterError(f"Split spec {text!r} {why}; use {SPEC_HELP}.")

    if kind == "holdout":
        if len(args) not in (1, 2):
            raise bad("needs N and an optional fraction, as in holdout:5 or holdout:5:0.5")
        n = _positive_int(args[0], bad)
        if len(args) == 1:
            return "holdout", (n,)
        fraction = _number(args[1], bad)
        if not 0 < fraction <= 1:
            raise bad(f"has a fraction of users {args[1]} outside (0, 1]")
        return ("holdout", (n,)) if fraction == 1 else ("holdout", (n, fraction))
    if kind == "random":
        if len(args) != 1:
            raise bad("needs the test fraction, as in random:0.2")
        p = _number(args[0], bad)
        if not 0 < p < 1:
            raise bad(f"has a test fraction {args[0]} outside (0, 1)")
        return "random", (p,)
    if kind in ("leave-last", "leave_last", "leavelast"):
        if len(args) != 1:
            raise bad("needs N, as in leave-last:1")
        return "leave-last", (_positive_int(args[0], bad),)
    if args or not _NAME.match(text):
        raise bad("is not a known kind of split")
    return "predefined", (text,)


def normalise_spec(spec: str) -> str:
    """The canonical text of a spec (``"Holdout: 5"`` -> ``"holdout:5"``)."""
    kind, args = parse_split_spec(spec)
    if kind == "predefined":
        return args[0]
    return ":".join([kind, *(_format(a) for a in args)])


def _format(value: Any) -> str:
    if isinstance(value, float):
        return repr(value).rstrip("0").rstrip(".") if "e" not in repr(value) else repr(value)
    return str(value)


def _positive_int(text: str, bad) -> int:
    try:
        value = int(text)
    except ValueError:
        raise bad(f"has {text!r} where a whole number is expected") from None
    if value < 1:
        raise bad(f"has N={value}, which must be at least 1")
    return value


def _number(text: str, bad) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad(f"has {text!r} where a number is expected") from None
    if not math.isfinite(value):
        raise bad(f"has {text!r} where a finite number is expected")
    return value


# ---------------------------------------------------------------------------------- splitting
def make_split(
    data: Dataset | sp.csr_matrix, spec: str = "holdout:5", *, random_state: int | None = 0
) -> Split:
    """Split interactions into train and test.

    Parameters
    ----------
    data : Dataset or csr_matrix, shape [n_users, n_items]
        A Dataset is needed for ``leave-last`` (timestamps) and predefined splits. A matrix
        that is not canonical (unsorted indices, duplicates, explicit zeros) is canonicalised
        first, and ``test_mask`` refers to the canonical entries.
    spec : str
        See the module docstring.
    random_state : int or None
        Seed of every random draw (None: fresh entropy, not reproducible).

    Returns
    -------
    Split

    Raises
    ------
    ParameterError
        A bad spec or seed, or a predefined split the data does not have.
    DatasetError
        The split would leave no test interactions, or leave-last on data without timestamps.
    """
    kind, args = parse_split_spec(spec)
    spec_text = normalise_spec(spec)
    if random_state is not None:
        if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
            raise ParameterError(
                f"random_state must be a whole number or None, got {random_state!r}."
            )
        random_state = int(random_state)
        if random_state < 0:
            raise ParameterError(f"random_state must be 0 or more, got {random_state}.")
    rng = np.random.default_rng(random_state)
    dataset = data if isinstance(data, Dataset) else None
    matrix = _input_matrix(data)
    name = dataset.label if dataset is not None else "the matrix"
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), counts)

    if kind == "holdout":
        mask = _holdout_mask(matrix, rows, counts, args, rng, name, spec_text)
    elif kind == "random":
        mask = _random_mask(matrix.nnz, args[0], rng, name, spec_text)
    elif kind == "leave-last":
        mask = _leave_last_mask(dataset, matrix, rows, counts, args[0], rng, name, spec_text)
    else:
        mask, spec_text = _predefined_mask(dataset, matrix, rows, args[0], name)

    train, test = _take(matrix, ~mask), _take(matrix, mask)
    check_split(train, test)
    test_per_user = np.diff(test.indptr)
    train_per_user = np.diff(train.indptr)
    mask.setflags(write=False)
    return Split(
        train=train,
        test=test,
        test_mask=mask,
        spec=spec_text,
        random_state=random_state,
        n_test_users=int(np.count_nonzero(test_per_user)),
        n_users_without_train=int(np.count_nonzero((test_per_user > 0) & (train_per_user == 0))),
        _indptr=matrix.indptr,
        _indices=matrix.indices,
    )


def check_split(train: sp.spmatrix, test: sp.spmatrix) -> None:
    """Raise if ``train`` and ``test`` differ in shape or share an interaction.

    Raises
    ------
    DatasetError
        ``"train and test share N interactions. This will cause incorrect evaluation, check
        your data split."``
    """
    if train.shape != test.shape:
        raise DatasetError(
            f"train is {train.shape[0]:,} x {train.shape[1]:,} but test is "
            f"{test.shape[0]:,} x {test.shape[1]:,}; split one matrix so both have its shape."
        )
    train_keys = _keys(_canonical(sp.csr_matrix(train)))
    test_keys = _keys(_canonical(sp.csr_matrix(test)))
    shared = 0
    if len(train_keys) and len(test_keys):  # both sorted: a binary search, no sort
        position = np.minimum(np.searchsorted(train_keys, test_keys), len(train_keys) - 1)
        shared = int(np.count_nonzero(train_keys[position] == test_keys))
    if shared:
        raise DatasetError(
            f"train and test share {shared:,} interactions. This will cause incorrect "
            "evaluation, check your data split."
        )


# ---------------------------------------------------------------------------------- helpers
def _input_matrix(data: Any) -> sp.csr_matrix:
    if isinstance(data, Dataset):
        matrix = data.interactions
    elif sp.issparse(data) and data.format == "csr":
        matrix = sp.csr_matrix(data)
    else:
        raise ParameterError(
            f"make_split needs a Dataset or a CSR sparse matrix, not {type(data).__name__}."
        )
    canonical = (
        matrix.dtype == np.float32 and matrix.has_canonical_format and np.all(matrix.data != 0)
    )
    return matrix if canonical else as_csr(matrix)


def _canonical(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """``matrix`` with sorted indices and no duplicates (a copy only if needed; zeros kept)."""
    if matrix.has_canonical_format:
        return matrix
    matrix = matrix.copy()
    matrix.sum_duplicates()
    return matrix


def _keys(matrix: sp.csr_matrix) -> np.ndarray:
    """Int64 linear keys ``row * n_cols + col`` of a canonical CSR's entries (sorted, distinct)."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows * matrix.shape[1] + matrix.indices


def _take(matrix: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """The entries of ``matrix`` where ``mask`` is True, same shape, pattern kept in order."""
    cumulative = np.zeros(matrix.nnz + 1, dtype=np.int64)
    np.cumsum(mask, out=cumulative[1:])
    indptr = cumulative[matrix.indptr].astype(matrix.indptr.dtype)
    out = sp.csr_matrix(
        (matrix.data[mask], matrix.indices[mask], indptr), shape=matrix.shape, copy=False
    )
    out.has_sorted_indices = matrix.has_sorted_indices
    return out


def _rank_within_rows(
    rows: np.ndarray, n_rows: int, indptr: np.ndarray, secondary: np.ndarray, bits: int
) -> np.ndarray:
    """Each entry's 0-based rank inside its row when ordered by ``secondary`` (ascending).

    ``secondary`` holds non-negative int64 values below ``2**bits``. Row and secondary are packed
    into one int64 key and argsorted once (a lexsort over two keys is about ten times slower).
    """
    row_bits = max(1, int(n_rows).bit_length())
    if row_bits + bits <= 63:
        order = np.argsort((rows << bits) | secondary)
    else:  # too many rows for one key: the slower two-key sort
        order = np.lexsort((secondary, rows))
    rank = np.empty(len(rows), dtype=np.int64)
    # rows are sorted, so rows[order] == rows: position minus the row start is the rank.
    rank[order] = np.arange(len(rows), dtype=np.int64) - indptr[rows]
    return rank


def _random_keys(rng: np.random.Generator, n_rows: int, size: int) -> tuple[np.ndarray, int]:
    """Random int64 sort keys using every bit the row number leaves free (at most 62)."""
    bits = max(1, min(62, 63 - max(1, int(n_rows).bit_length())))
    return rng.integers(0, 2**bits, size=size, dtype=np.int64), bits


def _holdout_mask(matrix, rows, counts, args, rng, name, spec) -> np.ndarray:
    n = args[0]
    eligible = counts >= 2 * n
    n_eligible = int(eligible.sum())
    if n_eligible == 0:
        raise DatasetError(
            f"No user of {name} has the {2 * n} interactions {spec!r} needs (at most "
            f"{int(counts.max(initial=0))}); use a smaller N, as in holdout:"
            f"{max(1, int(counts.max(initial=0)) // 2)}."
        )
    selected = eligible
    if len(args) == 2:
        size = max(1, int(np.floor(args[1] * n_eligible)))
        chosen = rng.choice(np.flatnonzero(eligible), size=size, replace=False)
        selected = np.zeros(len(counts), dtype=bool)
        selected[chosen] = True
    keys, bits = _random_keys(rng, len(counts), matrix.nnz)
    rank = _rank_within_rows(rows, len(counts), matrix.indptr, keys, bits)
    return selected[rows] & (rank < n)


def _random_mask(nnz, p, rng, name, spec) -> np.ndarray:
    if nnz < 2:
        raise DatasetError(
            f"{name} has {nnz} interaction(s), too few for {spec!r}; it needs at least 2."
        )
    size = min(max(1, int(round(p * nnz))), nnz - 1)
    mask = np.zeros(nnz, dtype=bool)
    mask[rng.choice(nnz, size=size, replace=False)] = True
    return mask


def _leave_last_mask(dataset, matrix, rows, counts, n, rng, name, spec) -> np.ndarray:
    if dataset is None or dataset.timestamps is None:
        raise DatasetError(
            f"{name} has no timestamps, so {spec!r} cannot order its interactions; "
            "use holdout:5 or random:0.2 instead."
        )
    stamps = _aligned_values(dataset.timestamps, matrix)
    eligible = counts >= n + 1
    if not eligible.any():
        raise DatasetError(
            f"No user of {name} has the {n + 1} interactions {spec!r} needs; use leave-last:1."
        )
    # latest first, ties at random: a global rank of (-timestamp, random), then per row
    latest_first = np.lexsort((rng.random(matrix.nnz), -stamps))
    global_rank = np.empty(matrix.nnz, dtype=np.int64)
    global_rank[latest_first] = np.arange(matrix.nnz, dtype=np.int64)
    bits = max(1, int(matrix.nnz).bit_length())
    rank = _rank_within_rows(rows, len(counts), matrix.indptr, global_rank, bits)
    return eligible[rows] & (rank < n)


def _aligned_values(values: sp.csr_matrix, pattern: sp.csr_matrix) -> np.ndarray:
    """``values.data`` lined up with ``pattern``'s entries (0 where ``values`` has none)."""
    values = _canonical(sp.csr_matrix(values))
    if np.array_equal(values.indptr, pattern.indptr) and np.array_equal(
        values.indices, pattern.indices
    ):
        return np.asarray(values.data, dtype=np.float64)
    value_keys, value_data = _keys(values), values.data
    if len(value_keys) == 0:
        return np.zeros(pattern.nnz, dtype=np.float64)
    pattern_keys = _keys(pattern)
    position = np.searchsorted(value_keys, pattern_keys)
    clipped = np.minimum(position, len(value_keys) - 1)
    found = (position < len(value_keys)) & (value_keys[clipped] == pattern_keys)
    out = np.zeros(pattern.nnz, dtype=np.float64)
    out[found] = value_data[clipped[found]]
    return out


def _predefined_mask(dataset, matrix, rows, split_name, name) -> tuple[np.ndarray, str]:
    """The test mask of a predefined split, and its name as the dataset spells it."""
    available = {} if dataset is None else dict(dataset.extras.get("predefined_splits") or {})
    if split_name not in available:
        lowered = {key.lower(): key for key in available}
        if split_name.lower() in lowered:
            split_name = lowered[split_name.lower()]
        else:
            names = ", ".join(sorted(available)) or "none"
            raise ParameterError(
                f"Split spec {split_name!r} is not a predefined split of {name} (it has: "
                f"{names}); use {SPEC_HELP}."
            )
    test_keys = np.unique(np.asarray(available[split_name], dtype=np.int64))
    entry_keys = rows * matrix.shape[1] + matrix.indices
    mask = np.isin(entry_keys, test_keys)
    if not mask.any():
        raise DatasetError(
            f"None of the {len(test_keys):,} test pairs of the predefined split {split_name!r} "
            f"is among {name}'s interactions; check the split belongs to this dataset."
        )
    return mask, split_name
