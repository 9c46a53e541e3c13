"""The trust boundary for files: each known way a file broke the reader, the size bounds, the
relative-time refusal, and uploads kept by content and kind, written atomically, leaving nothing
behind when refused."""

from __future__ import annotations

import io
import os
import threading
import time
import warnings
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_core.datasets import load_dataset, tabular
from recsys_core.datasets.tabular.columns import Columns
from recsys_core.datasets.uploads import (
    MAX_UPLOAD_BYTES,
    display_name,
    load_upload,
    save_upload,
    upload_files,
    upload_key,
    upload_names,
)
from recsys_core.errors import DatasetError

LIKES = "user,item,weight\nu1,a,1\nu1,b,2\nu2,a,1\nu2,c,1\nu3,b,1\nu3,c,3\n"
ITEMS = "item_id,name,category\na,Alpha,x\nb,Beta,y\nc,Gamma,x\n"


def one_sentence(error: BaseException, *names: str) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith(".") and len(text) < 400, text
    for name in names:
        assert name in text, (name, text)
    return text


def load(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tabular.load_file(path, **kwargs)


# ------------------------------------------------------------------------ known tracebacks
def test_cr_only_line_endings_load_like_unix_ones(tmp_path):
    (tmp_path / "mac.csv").write_bytes(LIKES.replace("\n", "\r").encode())
    (tmp_path / "unix.csv").write_text(LIKES)
    (tmp_path / "items.csv").write_bytes(ITEMS.replace("\n", "\r").encode())
    mac = load(tmp_path / "mac.csv", items_path=tmp_path / "items.csv")
    assert mac.fingerprint == load(tmp_path / "unix.csv").fingerprint
    assert mac.item_name(mac.item_index("b")) == "Beta"


def test_dates_outside_pandas_nanosecond_range_load(tmp_path):
    (tmp_path / "old.csv").write_text(
        "user,item,timestamp\nu1,a,1600-01-01\nu2,b,2300-06-01T12:00:00Z\nu3,c,2021-03-04\n"
    )
    data = load(tmp_path / "old.csv")
    seconds = {
        item: data.timestamps[data.user_index(user), data.item_index(item)]
        for user, item in (("u1", "a"), ("u2", "b"), ("u3", "c"))
    }
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert seconds["a"] == (datetime(1600, 1, 1, tzinfo=UTC) - epoch).total_seconds()
    assert seconds["b"] == (datetime(2300, 6, 1, 12, tzinfo=UTC) - epoch).total_seconds()
    # dates pandas holds keep the exact value they always had (models keep their fingerprint)
    assert seconds["c"] == pd.Timestamp("2021-03-04", tz="UTC").timestamp()


def test_out_of_range_and_sub_microsecond_parquet_timestamps(tmp_path):
    stamps = pa.array([-(2**40), 2**40, 0], pa.timestamp("s", tz="+05:30"))
    pq.write_table(
        pa.table({"user": ["u1", "u2", "u3"], "item": ["a", "b", "c"], "ts": stamps}),
        tmp_path / "s.parquet",
    )
    data = load(tmp_path / "s.parquet")
    assert sorted(data.timestamps.data.tolist()) == [-(2.0**40), 0.0, 2.0**40]
    nanos = pa.array([1_614_852_000_123_456_789, 1_614_852_000_123_456_000], pa.timestamp("ns"))
    pq.write_table(
        pa.table({"user": ["u1", "u2"], "item": ["a", "a"], "ts": nanos}), tmp_path / "ns.parquet"
    )
    data = load(tmp_path / "ns.parquet")
    assert data.timestamps[data.user_index("u2"), 0] == 1_614_852_000_123_456 / 1e6
    assert abs(data.timestamps[data.user_index("u1"), 0] - 1_614_852_000.123456789) < 1e-6


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-be-bom", "utf-8-sig"])
def test_text_with_a_byte_order_mark_is_decoded(tmp_path, encoding):
    def encode(text: str) -> bytes:
        if encoding == "utf-16-be-bom":
            return b"\xfe\xff" + text.encode("utf-16-be")
        return text.encode(encoding)

    (tmp_path / "likes.csv").write_bytes(encode(LIKES.replace("u1", "Zoë")))
    (tmp_path / "items.csv").write_bytes(encode(ITEMS.replace("Alpha", "Ålpha")))
    data = load(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    assert data.n_interactions == 6 and "Zoë" in data.user_ids.tolist()
    assert data.item_name(data.item_index("a")) == "Ålpha"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-32-be"])
def test_utf16_without_a_byte_order_mark_gets_one_sentence(tmp_path, encoding):
    (tmp_path / "likes.csv").write_bytes(LIKES.encode(encoding))
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "likes.csv", label="My likes.csv")
    text = one_sentence(caught.value, "My likes.csv", "UTF-16")
    assert str(tmp_path) not in text
    (tmp_path / "good.csv").write_text(LIKES)
    (tmp_path / "items.csv").write_bytes(ITEMS.encode(encoding))
    with pytest.raises(DatasetError, match="items.csv has NUL bytes"):
        tabular.load_file(tmp_path / "good.csv", items_path=tmp_path / "items.csv")


def test_items_file_with_only_a_header(tmp_path):
    (tmp_path / "likes.csv").write_text(LIKES)
    (tmp_path / "items.csv").write_text("item_id,name\n")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    one_sentence(caught.value, "items.csv has a header but no rows")
    pq.write_table(pa.table({"item_id": pa.array([], pa.string())}), tmp_path / "items.parquet")
    with pytest.raises(DatasetError, match="items.parquet has a header but no rows"):
        tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.parquet")


def test_duplicate_column_names(tmp_path):
    (tmp_path / "likes.csv").write_text("user,item,user\nu1,a,u9\n")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "likes.csv")
    one_sentence(caught.value, "likes.csv has 2 columns named 'user'")
    # repeated columns the reader does not use are harmless
    (tmp_path / "notes.csv").write_text("user,item,note,note\nu1,a,x,y\n")
    assert load(tmp_path / "notes.csv").n_interactions == 1
    (tmp_path / "items.csv").write_text("item_id,name,name\na,x,y\n")
    with pytest.raises(DatasetError, match="items.csv has 2 columns named 'name'"):
        tabular.load_file(tmp_path / "notes.csv", items_path=tmp_path / "items.csv")
    table = pa.Table.from_arrays(
        [pa.array(["u1"]), pa.array(["a"]), pa.array(["b"])], names=["user", "item", "item"]
    )
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(DatasetError, match="dup.parquet has 2 columns named 'item'"):
        tabular.load_file(tmp_path / "dup.parquet")


def test_parquet_items_with_binary_nested_and_dictionary_columns(tmp_path):
    (tmp_path / "likes.csv").write_text(LIKES)
    table = pa.table(
        {
            "item_id": pa.array(["a", "b", "c"]).dictionary_encode(),
            "name": pa.array([b"Alpha", b"B\xffeta", None], pa.binary()),
            "tags": pa.array([["x", "y"], [], None], pa.list_(pa.string())),
            "added": pa.array([0, 2**30, None], pa.timestamp("s", tz="UTC")),
            "props": pa.array([{"k": 1}, {"k": 2}, None]),
        }
    )
    pq.write_table(table, tmp_path / "items.parquet")
    with pytest.warns(UserWarning) as caught:
        data = tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.parquet")
    notes = " ".join(str(w.message) for w in caught)
    assert "Column 'name' of items.parquet is not valid UTF-8" in notes
    assert "'props'" in notes and "left out" in notes
    meta = data.items.set_index("item_id")
    assert meta.at["a", "name"] == "Alpha" and meta.at["b", "name"] == "B\ufffdeta"
    assert meta.at["c", "name"] == "c"  # no name: shown by id
    assert meta.at["a", "tags"] == ["x", "y"]
    assert meta.at["b", "added"].startswith("2004-")
    nested = pa.table({"item_id": ["a"], "name": pa.array([["x"]], pa.list_(pa.string()))})
    pq.write_table(nested, tmp_path / "nested.parquet")
    with pytest.raises(DatasetError) as refused:
        tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "nested.parquet")
    one_sentence(refused.value, "Column 'name' of nested.parquet", "it needs text")


def test_weights_and_ids_at_the_edges(tmp_path):
    for value, wanted in (
        ("1e31", "a number up to 1e+30"),
        ("nan", "a finite number"),
        ("-2", "a number >= 0"),
    ):
        (tmp_path / "w.csv").write_text(f"user,item,weight\nu1,a,1\nu2,a,{value}\n")
        with pytest.raises(DatasetError) as caught:
            tabular.load_file(tmp_path / "w.csv")
        one_sentence(caught.value, "Row 2 of w.csv", "column 'weight'", wanted)
    # the largest weights add up without overflowing float32
    (tmp_path / "big.csv").write_text("user,item,weight\nu1,a,1e30\nu1,a,1e30\nu2,b,1\n")
    data = load(tmp_path / "big.csv", drop_duplicates=False)
    assert np.isfinite(data.interactions.data).all()
    # floats too large to be whole-number ids stay distinct ids
    pq.write_table(pa.table({"user": [1e300, 2e300], "item": [1.0, 2.0]}), tmp_path / "f.parquet")
    data = load(tmp_path / "f.parquet")
    assert data.n_users == 2 and sorted(data.item_ids.tolist()) == ["1", "2"]


# ------------------------------------------------------------------------ relative times
@pytest.mark.parametrize("value", ["now", "today", " Now ", "12:00", "12:00:30", "TODAY"])
def test_relative_timestamps_are_refused(tmp_path, value):
    (tmp_path / "t.csv").write_text(
        f"user,item,timestamp\nu1,a,2021-03-04\nu2,b,{value}\nu3,c,2021-03-05\n"
    )
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "t.csv")
    text = one_sentence(caught.value, "Row 2 of t.csv", "column 'timestamp'", "relative")
    assert value.strip()[:5] in text


def test_dates_of_today_written_in_full_are_not_relative(tmp_path):
    now = datetime.now(UTC)
    rows = [
        now.strftime("%Y-%m-%d %H:%M"),
        now.strftime("%d %B %Y %H:%M"),
        now.strftime("%Y-%m-%d"),
    ]
    (tmp_path / "t.csv").write_text(
        "user,item,timestamp\n" + "".join(f"u{i},a,{r}\n" for i, r in enumerate(rows))
    )
    first = load(tmp_path / "t.csv")
    time.sleep(1.1)
    assert load(tmp_path / "t.csv").fingerprint == first.fingerprint


# ------------------------------------------------------------------------ size bounds
def _constant_parquet(path, rows: int) -> None:
    pq.write_table(
        pa.table({"user": np.zeros(rows, np.int64), "item": np.zeros(rows, np.int64)}),
        path,
        compression="zstd",
    )


def test_row_limit_is_read_from_parquet_metadata_before_any_row(tmp_path, monkeypatch):
    _constant_parquet(tmp_path / "many.parquet", 200_000)
    assert (tmp_path / "many.parquet").stat().st_size < 20_000  # small on disk
    monkeypatch.setenv(tabular.ROWS_ENV, "100000")

    def never(*args, **kwargs):
        raise AssertionError("rows were read")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", never)
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "many.parquet", label="many.parquet")
    assert one_sentence(caught.value) == (
        "many.parquet has more than 100,000 rows, the limit here; use a sample of it."
    )
    monkeypatch.setenv(tabular.ROWS_ENV, "not a number")  # an operator's typo: the default
    assert tabular.row_limit() == tabular.MAX_ROWS


def test_row_limit_stops_a_csv_read(tmp_path, monkeypatch):
    (tmp_path / "big.csv").write_text(
        "user,item\n" + "".join(f"u{i},i{i % 7}\n" for i in range(300_000))
    )
    monkeypatch.setenv(tabular.ROWS_ENV, "1000")
    batches = []
    real = Columns.take
    monkeypatch.setattr(
        Columns, "take", lambda self, batch, *a: (batches.append(1), real(self, batch, *a))
    )
    with pytest.raises(DatasetError, match="big.csv has more than 1,000 rows, the limit here"):
        tabular.load_file(tmp_path / "big.csv")
    assert len(batches) == 1  # stopped at the first block past the limit


def test_decoded_size_is_bounded_before_memory_is_committed(tmp_path):
    # 40,000 rows of two int64 columns decode to 640 KB: over a 500 KB budget, from metadata
    _constant_parquet(tmp_path / "ints.parquet", 40_000)
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "ints.parquet", max_bytes=500 * 1024)
    assert "expands to more than 500 KB" not in str(caught.value)  # binary units, whole MB
    one_sentence(caught.value, "ints.parquet expands to more than", "the limit for one file")
    # one 100 KB name repeated 2,000 times: a 20 KB file that decodes to 200 MB
    names = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(2000, np.int32)), pa.array(["x" * 100_000])
    )
    pq.write_table(
        pa.table({"user": names, "item": np.zeros(2000, np.int64)}),
        tmp_path / "names.parquet",
        compression="zstd",
    )
    assert (tmp_path / "names.parquet").stat().st_size < 100_000
    with pytest.raises(DatasetError, match="names.parquet expands to more than 10 MB"):
        tabular.load_file(tmp_path / "names.parquet", max_bytes=10 * 1024**2)
    pq.write_table(
        pa.table({"item_id": ["a"] * 2000, "name": names}),
        tmp_path / "items.parquet",
        compression="zstd",
    )
    (tmp_path / "likes.csv").write_text(LIKES)
    with pytest.raises(DatasetError, match="items.parquet expands to more than 10 MB"):
        tabular.load_file(
            tmp_path / "likes.csv", items_path=tmp_path / "items.parquet", max_bytes=10 * 1024**2
        )


def test_items_rows_times_columns_limit(tmp_path, monkeypatch):
    (tmp_path / "likes.csv").write_text(LIKES)
    (tmp_path / "items.csv").write_text(ITEMS)
    monkeypatch.setenv(tabular.ITEM_CELLS_ENV, "6")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    one_sentence(caught.value, "items.csv has 3 rows of 3 columns", "6 values")
    pq.write_table(
        pa.table({"item_id": ["a", "b", "c"], "name": ["A", "B", "C"]}), tmp_path / "items.parquet"
    )
    monkeypatch.setenv(tabular.ITEM_CELLS_ENV, "5")
    with pytest.raises(DatasetError, match="items.parquet has 3 rows of 2 columns"):
        tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.parquet")
    monkeypatch.setenv(tabular.ITEM_CELLS_ENV, "9")
    assert load(tmp_path / "likes.csv", items_path=tmp_path / "items.csv").n_items == 3


# ------------------------------------------------------------------------ uploads
@pytest.fixture
def uploads(fresh_home):
    return fresh_home / "uploads"


def _entries(folder) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_upload_key_includes_both_kinds_and_the_items_file():
    data, items = b"user,item\nu,a\n", b"item_id\na\n"
    keys = {
        upload_key(data, ".csv"),
        upload_key(data, ".tsv"),
        upload_key(data, ".csv", items, ".csv"),
        upload_key(data, ".csv", items, ".tsv"),
        upload_key(data, ".csv", b"", ".csv"),
        # the boundary between the files is part of the key
        upload_key(data + b"x", ".csv", items[1:], ".csv"),
        upload_key(data, ".csv", b"x" + items[1:], ".csv"),
    }
    assert len(keys) == 7 and all(len(k) == 12 for k in keys)


def test_same_bytes_with_another_suffix_is_another_upload(uploads):
    tsv = LIKES.replace(",", "\t").encode()
    first = save_upload(tsv, "likes.tsv")
    with pytest.raises(DatasetError) as caught:  # as csv, those bytes have one column
        save_upload(tsv, "likes.csv")
    one_sentence(caught.value, "likes.csv has the column(s)")
    assert load_upload(first).n_interactions == 6  # the first upload is untouched
    psv = LIKES.replace(",", "|").encode()
    as_psv, as_txt = save_upload(psv, "likes.psv"), save_upload(psv, "likes.txt")
    assert as_psv != as_txt
    assert upload_files(as_psv)[0].suffix == ".psv" and upload_files(as_txt)[0].suffix == ".txt"
    assert load_upload(as_psv).fingerprint == load_upload(as_txt).fingerprint
    assert _entries(uploads) == {k[len("upload:") :] for k in (first, as_psv, as_txt)}


def test_items_file_is_part_of_the_key_and_of_the_upload(uploads):
    alone = save_upload(LIKES.encode(), "likes.csv")
    with_items = save_upload(LIKES.encode(), "likes.csv", ITEMS.encode(), "my items.csv")
    as_tsv = save_upload(
        LIKES.encode(), "likes.csv", ITEMS.replace(",", "\t").encode(), "my items.tsv"
    )
    assert len({alone, with_items, as_tsv}) == 3
    data = load_dataset(with_items)
    assert data.item_name(data.item_index("b")) == "Beta"
    assert upload_names(with_items) == ("likes.csv", "my items.csv")
    assert upload_names(alone) == ("likes.csv", None)
    assert load_dataset(alone).item_name(0) == "a"  # no items: names are the ids


def test_a_refused_upload_leaves_nothing_behind(uploads):
    kept = save_upload(LIKES.encode(), "likes.csv")
    before = _entries(uploads)
    cases = [
        (b"customer,sku\nu1,a\n", "bad.csv", None, None, "bad.csv has the column(s)"),
        (b"user,item\n", "head.csv", None, None, "head.csv has a header but no rows"),
        (
            LIKES.encode(),
            "likes.csv",
            b"item_id,name\n",
            "my items.csv",
            "my items.csv has a header but no rows",
        ),
        (
            LIKES.encode(),
            "likes.csv",
            b"item_id,name\nzz,Z\n",
            "my items.csv",
            "is in the id column of my items.csv",
        ),
        (LIKES.encode(), "likes.csv", b"\x00\x01\x02", "my items.csv", "my items.csv has NUL"),
        (LIKES.encode(), "likes.csv", b"", "my items.csv", "'my items.csv' is empty"),
        (b"PAR1garbage", "likes.parquet", None, None, "likes.parquet is not a readable"),
    ]
    for data, name, items, items_name, wanted in cases:
        with pytest.raises(DatasetError) as caught:
            save_upload(data, name, items, items_name)
        text = one_sentence(caught.value, wanted)
        assert str(uploads) not in text and "interactions." not in text, text
        assert _entries(uploads) == before, (name, items_name)
    assert load_upload(kept).n_interactions == 6


def test_a_refused_items_file_leaves_no_upload_that_loads_without_items(uploads):
    bad_items = b"item_id,name\nzz,Z\n"
    with pytest.raises(DatasetError):
        save_upload(LIKES.encode(), "likes.csv", bad_items, "items.csv")
    key = upload_key(LIKES.encode(), ".csv", bad_items, ".csv")
    with pytest.raises(DatasetError, match="is not here any more"):
        load_dataset(f"upload:{key}")
    assert _entries(uploads) == set()


def test_concurrent_identical_uploads_end_in_one_folder(uploads):
    start = threading.Barrier(8)
    results, errors = [], []

    def upload() -> None:
        start.wait()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results.append(
                    save_upload(LIKES.encode(), "likes.csv", ITEMS.encode(), "items.csv")
                )
        except BaseException as error:  # noqa: BLE001 - every failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 8 and len(set(results)) == 1
    assert _entries(uploads) == {results[0][len("upload:") :]}  # one folder, no temporary ones
    assert load_upload(results[0]).item_name(0) == "Alpha"


def test_a_stale_temporary_folder_is_swept(uploads):
    save_upload(LIKES.encode(), "likes.csv")
    stale = uploads / ".tmp-0123456789ab-deadbeef"
    stale.mkdir()
    (stale / "interactions.csv").write_text(LIKES)
    fresh = uploads / ".tmp-0123456789ab-cafecafe"
    fresh.mkdir()
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    save_upload(LIKES.replace("u3", "u4").encode(), "other.csv")
    assert not stale.exists() and fresh.exists()  # another upload may be writing that one


def test_upload_messages_name_the_file_as_uploaded(uploads, monkeypatch):
    assert display_name("../../etc/My Likes.csv") == "My Likes.csv"
    assert display_name("C:\\Users\\me\\likes\x00\x1b[31m.csv") == "likes[31m.csv"
    with pytest.raises(DatasetError) as caught:
        save_upload(b"user,item,weight\nu1,a,x\n", "../My Likes.csv")
    text = one_sentence(caught.value, "Row 1 of My Likes.csv", "column 'weight'")
    assert "interactions.csv" not in text and str(uploads) not in text
    with pytest.raises(DatasetError) as too_big:
        save_upload(b"user,item\n" * 20, "big.csv", max_bytes=100)
    text = one_sentence(too_big.value, "'big.csv'", "upload limit")
    assert "command line" not in text and "--" not in text
    # an upload kept earlier that no longer loads (a limit was lowered) names its own file too
    spec = save_upload(LIKES.encode(), "My Likes.csv")
    monkeypatch.setenv(tabular.ROWS_ENV, "2")
    with pytest.raises(DatasetError) as later:
        load_dataset(spec)
    assert one_sentence(later.value).startswith("My Likes.csv has more than 2 rows")


def test_a_parquet_upload_is_bounded_by_the_upload_limit(uploads):
    sink = io.BytesIO()
    rows = MAX_UPLOAD_BYTES // 16 + 1  # two int64 columns: just over the limit once decoded
    pq.write_table(
        pa.table(
            {"user": pa.array(np.zeros(rows, np.int64)), "item": pa.array(np.zeros(rows, np.int64))}
        ),
        sink,
        compression="zstd",
    )
    assert len(sink.getvalue()) < 1024**2
    with pytest.raises(DatasetError) as caught:
        save_upload(sink.getvalue(), "constant.parquet")
    one_sentence(caught.value, "constant.parquet expands to more than 200 MB")
    assert _entries(uploads) == set()


def test_the_same_files_again_keep_one_folder_and_the_newest_names(uploads):
    first = save_upload(LIKES.encode(), "likes.csv", ITEMS.encode(), "items.csv")
    again = save_upload(LIKES.encode(), "Renamed likes.csv", ITEMS.encode(), "Renamed items.csv")
    assert again == first and len(_entries(uploads)) == 1
    assert upload_names(first) == ("Renamed likes.csv", "Renamed items.csv")
    assert load_dataset(first).name == "Renamed likes.csv"


def test_a_file_whose_weights_are_all_zero_has_no_interactions(tmp_path):
    (tmp_path / "zero.csv").write_text("user,item,weight\nu1,a,0\nu2,b,0\n")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "zero.csv")
    one_sentence(caught.value, "zero.csv has no interactions, as every weight is 0")
    (tmp_path / "low.csv").write_text("user,item,rating\nu1,a,1\nu2,b,2\n")
    with pytest.raises(DatasetError, match="every rating is below the minimum of 3"):
        tabular.load_file(tmp_path / "low.csv", min_rating=3)


def test_a_missing_file_is_named_by_its_path_unless_it_has_a_label(tmp_path):
    with pytest.raises(DatasetError, match=f"There is no file at {tmp_path / 'nope.csv'};"):
        tabular.load_file(tmp_path / "nope.csv")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "nope.csv", label="My likes.csv")
    assert str(tmp_path) not in one_sentence(caught.value, "There is no file at My likes.csv")
    with pytest.raises(DatasetError, match="cannot be opened"):
        tabular.load_file(tmp_path / ("x" * 300 + ".csv"))
