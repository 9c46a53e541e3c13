"""Factors with original ids put in a Dataset's index order, and the checks that they line up.

:func:`align_factors` reorders factor rows (each with its original id) to a Dataset's ids;
:func:`check_alignment` refuses, in one sentence, factors that share no id with the dataset or
(unless allowed) leave some of its ids without a vector; :func:`ids_of_indices` reads factor ids
that are the dataset's own matrix indices. Nothing here needs Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..util.ids import first_duplicate, positions


class IdAlignmentError(UserError, ValueError):
    """Factors whose ids do not line up with the dataset they are meant for."""


@dataclass
class Aligned:
    """Vectors in a dataset's index order: ``vectors[i]`` belongs to the dataset's id ``i``.

    ``found[i]`` says whether id ``i`` had a vector (others are zero); ``n_extra`` counts the
    factor rows whose id the dataset does not have (left out).
    """

    vectors: np.ndarray
    found: np.ndarray
    n_extra: int

    @property
    def n_missing(self) -> int:
        return int((~self.found).sum())


def align_factors(ids: np.ndarray, vectors: np.ndarray, dataset_ids: np.ndarray) -> Aligned:
    """Reorder factor rows (with original ``ids``) to ``dataset_ids``' order.

    Parameters
    ----------
    ids : array of str, shape [n]
    vectors : float32 array, shape [n, rank]
    dataset_ids : array of str, shape [m]

    Returns
    -------
    Aligned
        ``vectors`` of shape [m, rank]; rows of ids the factors lack are zero.
    """
    ids = np.asarray(ids).astype(str)
    duplicated = first_duplicate(ids)
    if duplicated is not None:
        raise IdAlignmentError(
            f"The factors hold id {duplicated!r} more than once; they come from a damaged or "
            "merged folder."
        )
    position = positions(ids, np.asarray(dataset_ids).astype(str))
    found = position >= 0
    out = np.zeros((len(dataset_ids), vectors.shape[1]), dtype=np.float32)
    out[found] = vectors[position[found]]
    return Aligned(out, found, int(len(ids) - found.sum()))


def check_alignment(
    aligned: Aligned,
    dataset_ids: np.ndarray,
    factor_ids: np.ndarray,
    what: str,
    label: str,
    *,
    allow_missing: bool,
) -> None:
    """Raise IdAlignmentError when no id, or (unless ``allow_missing``) not every id, matches."""
    n = len(dataset_ids)
    if n and not aligned.found.any():
        sample_ours = str(dataset_ids[0])
        sample_theirs = str(factor_ids[0]) if len(factor_ids) else "none"
        raise IdAlignmentError(
            f"None of the {n:,} {what} ids of {label} (e.g. {sample_ours!r}) are among the "
            f"{len(factor_ids):,} ids of the factors (e.g. {sample_theirs!r}); align them with "
            "the dataset they were trained on (or use --ids index for matrix indices)."
        )
    if aligned.n_missing and not allow_missing:
        example = str(dataset_ids[np.flatnonzero(~aligned.found)[0]])
        raise IdAlignmentError(
            f"{aligned.n_missing:,} of the {n:,} {what}s of {label} have no factors (e.g. "
            f"{example!r}); train on interactions that cover the dataset, or pass "
            "--allow-missing to give them zero vectors."
        )


def ids_of_indices(
    indices: np.ndarray, dataset_ids: np.ndarray, what: str, label: str
) -> np.ndarray:
    """The dataset ids of factor ids that are its matrix indices (``--ids index``).

    Parameters
    ----------
    indices : array of str or int, shape [n]
        Factor ids, each a row (``what="user"``) or column (``"item"``) of the dataset.
    dataset_ids : array of str, shape [m]
    what, label : str
        "user" or "item", and the dataset's label, for the error.

    Raises
    ------
    IdAlignmentError
        An index outside ``0..m-1``: the factors were trained on other data.
    """
    numbers = np.asarray(indices).astype(np.int64)
    n = len(dataset_ids)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= n):
        raise IdAlignmentError(
            f"The {what} factors have index {int(numbers.max())} but {label} has "
            f"{n:,} {what}s; these factors were trained on other data."
        )
    return dataset_ids[numbers]
