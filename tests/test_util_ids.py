"""recsys_core.util.ids: id positions and id maps in index order."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_core.util.ids import MISSING, first_duplicate, in_index_order, positions


def _slow_positions(known, wanted):
    """The obvious reference: a linear search for each wanted id."""
    known = list(known)
    return [known.index(w) if w in known else -1 for w in wanted]


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_positions_match_a_linear_search(order):
    rng = np.random.default_rng(0)
    known = np.array(sorted(f"id-{i}" for i in rng.choice(1000, 200, replace=False)))
    if order == "shuffled":
        known = rng.permutation(known)
    wanted = np.concatenate([rng.choice(known, 50), np.array(["absent", "id-x", ""])])
    rng.shuffle(wanted)
    got = positions(known, wanted)
    assert got.dtype == np.int64 and got.shape == (len(wanted),)
    assert got.tolist() == _slow_positions(known, wanted)
    found = got >= 0
    assert (known[got[found]] == wanted[found]).all()
    assert int((got == MISSING).sum()) == 3


def test_positions_in_a_mapping_equal_those_in_the_array():
    known = np.array(["c", "a", "b"])
    lookup = {key: i for i, key in enumerate(known.tolist())}
    wanted = np.array(["b", "z", "c", "a", "b"])
    assert positions(lookup, wanted).tolist() == [2, -1, 0, 1, 2]
    assert positions(known, wanted).tolist() == [2, -1, 0, 1, 2]


def test_positions_compare_ids_as_given():
    """Numbers and their text are different ids: callers convert both sides to str."""
    assert positions(np.array([1, 2, 3]), np.array(["1", "2"])).tolist() == [-1, -1]
    assert positions(np.array([1, 2, 3]).astype(str), np.array(["3", "1"])).tolist() == [2, 0]


def test_positions_refuse_repeated_ids_and_name_one():
    with pytest.raises(ValueError, match="'b' more than once"):
        positions(np.array(["a", "b", "c", "b"]), np.array(["a"]))
    assert first_duplicate(np.array(["a", "b", "c", "b", "a"])) == "b"
    assert first_duplicate(np.array(["a", "b"])) is None
    assert first_duplicate(np.array([], dtype=str)) is None


def test_positions_of_nothing_and_in_nothing():
    assert positions(np.array(["a"]), np.array([], dtype=str)).tolist() == []
    assert positions(np.array([], dtype=str), np.array(["a", "b"])).tolist() == [-1, -1]
    assert positions({}, np.array(["a"])).tolist() == [-1]


def test_in_index_order_inverts_an_id_map():
    index = np.array([2, 0, 3, 1])
    ids = np.array(["c", "a", "d", "b"], dtype=object)
    out = in_index_order(index, ids)
    assert out.tolist() == ["a", "b", "c", "d"] and out.dtype.kind == "U"
    assert in_index_order(np.array([1, 0]), np.array([7, 5])).tolist() == ["5", "7"]
    assert positions(out, ids).tolist() == index.tolist()  # one is the inverse of the other
