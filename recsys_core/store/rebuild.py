"""A stored model rebuilt from its folder and checked against its meta and its dataset.

``arrays.npz`` is read member by member (:mod:`.arrays`) and each adapter's ``from_arrays``
checks dtypes, shapes, finiteness and sparse indices (:mod:`recsys_core.algorithms.stored`)
before scipy or implicit see them; the rebuilt model must agree with its meta's sizes and with
the dataset it is attached to. Every failure is one :class:`~recsys_core.errors.StoreError`
sentence ("Model X is damaged: ...; train it again.").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..algorithms import loader
from ..algorithms.base import Recommender
from ..algorithms.stored import DamagedArrays
from ..dataset import Dataset
from ..errors import StoreError, UserError
from .arrays import ARRAYS, Damaged, read_npz
from .damage import damaged_error
from .meta import META, params_problem, quoted


def rebuild(root: Path, model_id: str, meta: dict) -> Recommender:
    """The model of ``root / model_id`` from its checked arrays; it must agree with its
    (checked) ``meta``'s sizes.

    Raises
    ------
    StoreError
        An algorithm not available here, parameters its schema refuses, or arrays that are
        damaged, do not rebuild the model or hold other sizes than the meta says.
    """
    algorithm = meta["algorithm"]
    cls = loader(algorithm)
    if cls is None:
        raise StoreError(
            f"Model {model_id} was trained with algorithm {quoted(algorithm)}, which is not "
            "available here; install its library or delete the model."
        )
    problem = params_problem(cls, meta["params"])
    if problem is not None:
        raise damaged_error(root, model_id, problem)
    arrays = _read_arrays(root, model_id)
    try:
        model = cls.from_arrays(arrays, dict(meta["params"]))
    except DamagedArrays as error:
        raise damaged_error(root, model_id, str(error)) from None
    except (
        UserError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        OverflowError,
        MemoryError,
    ):
        reason = f"its arrays do not rebuild a {algorithm} model"
        raise damaged_error(root, model_id, reason) from None
    check_sizes(root, model_id, model, meta.get("n_users"), meta.get("n_items"), META)
    model.fit_seconds_ = meta.get("fit_seconds")
    return model


def check_fingerprint(model_id: str, meta: dict, dataset: Dataset) -> None:
    """StoreError unless ``dataset`` is the one the model was trained on."""
    if dataset.fingerprint == meta.get("fingerprint"):
        return
    trained_on = meta.get("dataset_label") or meta.get("dataset")
    raise StoreError(
        f"Model {model_id} was trained on {trained_on} (fingerprint "
        f"{meta.get('fingerprint')}), not on {dataset.label} (fingerprint "
        f"{dataset.fingerprint}); load the dataset it was trained on or train it again."
    )


def check_sizes(
    root: Path,
    model_id: str,
    model: Recommender,
    n_users: int | None,
    n_items: int | None,
    where: str,
) -> None:
    """The rebuilt model's user and item counts must be ``where``'s (None: not known)."""
    for count, expected, what in (
        (getattr(model, "n_users_", None), n_users, "users"),
        (model.n_items_, n_items, "items"),
    ):
        if count is not None and expected is not None and int(count) != int(expected):
            raise damaged_error(
                root,
                model_id,
                f"its arrays hold {int(count):,} {what} where {where} has {int(expected):,}",
            )


def _read_arrays(root: Path, model_id: str) -> dict[str, np.ndarray]:
    try:
        return read_npz(root / model_id / ARRAYS, data=True)
    except Damaged as error:
        raise damaged_error(root, model_id, str(error)) from None
