"""Bad input, one test each: every message is one sentence naming the problem and the fix."""

from __future__ import annotations

import csv

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_core.datasets import load_dataset, sketchfab, tabular
from recsys_core.errors import DatasetError, UserError

HTML = "<img src=x onerror=alert(1)>"


def one_sentence(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith(".") and len(text) < 400, text
    return text


def test_missing_required_column_names_found_and_wanted(tmp_path):
    (tmp_path / "likes.csv").write_text("person,thing,when\na,b,1\n")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "likes.csv")
    text = one_sentence(caught.value)
    assert "'person', 'thing', 'when'" in text  # found
    assert "a user column (user, user_id, uid or userId)" in text  # wanted
    assert "an item column (item, item_id, mid, movieId or itemId)" in text
    assert text.endswith("rename them in the header.")  # no Python advice for a CLI or app user
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "likes.csv", columns={})
    assert "columns={'user': ..., 'item': ...}" in one_sentence(caught.value)


def test_missing_item_column_only(tmp_path):
    (tmp_path / "likes.csv").write_text("user_id,stuff\na,b\n")
    with pytest.raises(DatasetError, match="needs an item column") as caught:
        tabular.load_file(tmp_path / "likes.csv")
    assert "user column" not in str(caught.value)


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty.csv is empty") as caught:
        load_dataset(str(tmp_path / "empty.csv"))
    one_sentence(caught.value)
    (tmp_path / "blank.csv").write_text("\n\n  \n")
    with pytest.raises(DatasetError, match="is empty"):
        tabular.load_file(tmp_path / "blank.csv")


def test_header_only(tmp_path):
    (tmp_path / "head.csv").write_text("user,item,weight\n")
    with pytest.raises(DatasetError, match="has a header but no rows") as caught:
        tabular.load_file(tmp_path / "head.csv")
    one_sentence(caught.value)
    pq.write_table(
        pa.table({"user": pa.array([], pa.string()), "item": pa.array([], pa.string())}),
        tmp_path / "head.parquet",
    )
    with pytest.raises(DatasetError, match="has a header but no rows"):
        tabular.load_file(tmp_path / "head.parquet")


def test_non_utf8_names_in_a_legacy_file(tmp_path):
    (tmp_path / "likes.csv").write_text("user,item\nu1,1\nu2,2\n")
    (tmp_path / "items.csv").write_bytes("item_id,name\n1,Café “Noir”\n2,Plain\n".encode("cp1252"))
    note = r"items.csv is not valid UTF-8 \(first bad byte on line 2\)"
    with pytest.warns(UserWarning, match=note):
        data = tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    assert data.item_name(data.item_index(1)) == "Café “Noir”"
    assert "cp1252" in data.extras["warnings"][0]


def test_non_utf8_bytes_in_a_mostly_utf8_file(tmp_path):
    body = "user,item\nu1,Crème\n".encode() + b"u2,bad\xff\xfename\n" + "u3,Crème\n".encode()
    (tmp_path / "likes.csv").write_bytes(body)
    with pytest.warns(UserWarning, match="shown as \ufffd"):
        data = tabular.load_file(tmp_path / "likes.csv")
    assert set(data.item_ids) == {"Crème", "bad\ufffd\ufffdname"}
    assert data.n_interactions == 3


def test_names_with_pipes_quotes_backslashes_newlines_and_html(tmp_path):
    names = ["A | pipe", 'A "quoted" name', "Back\\slash\\", "two\nlines", HTML, "comma, too"]
    (tmp_path / "likes.csv").write_text(
        "user,item\n" + "".join(f"u{i},{i}\n" for i in range(len(names)))
    )
    with open(tmp_path / "items.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "name", "tags"])
        for index, name in enumerate(names):
            writer.writerow([index, name, "x"])
    data = tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    assert [data.item_name(data.item_index(i)) for i in range(len(names))] == names
    # the same names as ids of a pipe-separated file
    with open(tmp_path / "names.psv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|")
        writer.writerow(["user", "item"])
        writer.writerows([["u1", name] for name in names])
    data = tabular.load_file(tmp_path / "names.psv")
    assert sorted(data.item_ids.tolist()) == sorted(names)


def test_sketchfab_names_keep_html_verbatim(tmp_path):
    with open(tmp_path / sketchfab.LIKES_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|", quotechar="\\", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["modelname", "mid", "uid"])
        writer.writerow([HTML + ' | \\ "x"\nend', "m1", "u1"])
    data = sketchfab.load(data_dir=tmp_path)
    assert data.item_name(0) == HTML + ' | \\ "x"\nend'


def test_duplicate_rows_count_once(tmp_path):
    (tmp_path / "dup.csv").write_text("user,item\na,x\na,x\na,x\nb,x\n")
    with pytest.warns(UserWarning, match="2 duplicate rows"):
        data = tabular.load_file(tmp_path / "dup.csv")
    assert data.interactions.data.tolist() == [1.0, 1.0]
    assert data.extras["duplicates_dropped"] == 2
    # rows that differ in time are separate events and add up
    (tmp_path / "events.csv").write_text("user,item,ts\na,x,1\na,x,1\na,x,2\n")
    with pytest.warns(UserWarning):
        events = tabular.load_file(tmp_path / "events.csv")
    assert events.interactions.data.tolist() == [2.0]
    assert events.timestamps.data.tolist() == [2.0]
    kept = tabular.load_file(tmp_path / "dup.csv", drop_duplicates=False)
    assert sorted(kept.interactions.data.tolist()) == [1.0, 3.0]


def test_ids_numeric_in_one_file_and_text_in_the_other(tmp_path):
    pq.write_table(
        pa.table({"user": [1, 2, 2], "item": pa.array([7, 7, 8], pa.int64())}),
        tmp_path / "likes.parquet",
    )
    (tmp_path / "items.csv").write_text('item_id,name\n" 7",Seven\n8,Eight\n')
    data = tabular.load_file(tmp_path / "likes.parquet", items_path=tmp_path / "items.csv")
    assert data.item_name(data.item_index("7")) == "Seven"
    assert data.item_name(data.item_index(8)) == "Eight"
    # and the other way round, with float ids in parquet metadata
    (tmp_path / "likes.csv").write_text("user,item\nu,7\nu,8\n")
    pq.write_table(
        pa.table({"id": [7.0, 8.0], "name": ["Seven", "Eight"]}), tmp_path / "items.parquet"
    )
    data = tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.parquet")
    assert data.item_name(data.item_index("8")) == "Eight"


def test_items_file_with_none_of_the_ids(tmp_path):
    (tmp_path / "likes.csv").write_text("user,item\nu,a1\n")
    (tmp_path / "items.csv").write_text("item_id,name\nzz,Other\n")
    with pytest.raises(DatasetError, match="None of the 1 item ids") as caught:
        tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    one_sentence(caught.value)


def test_corrupted_parquet(tmp_path):
    frame = pd.DataFrame({"user": ["a", "b"] * 50, "item": ["x", "y"] * 50})
    frame.to_parquet(tmp_path / "good.parquet")
    raw = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "bad.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetError, match="not a readable parquet file") as caught:
        load_dataset(str(tmp_path / "bad.parquet"))
    one_sentence(caught.value)
    (tmp_path / "text.parquet").write_text("user,item\na,b\n")
    with pytest.raises(DatasetError, match="parquet"):
        tabular.load_file(tmp_path / "text.parquet")


def test_bad_value_names_row_and_column(tmp_path):
    (tmp_path / "w.csv").write_text("user,item,weight\na,x,1\nb,y,2\nc,z,abc\n")
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "w.csv")
    assert one_sentence(caught.value).startswith(
        "Row 3 of w.csv has 'abc' in column 'weight', which is not a number"
    )
    (tmp_path / "neg.csv").write_text("user,item,weight\na,x,1\nb,y,-2\n")
    with pytest.raises(DatasetError, match="Row 2 of neg.csv has -2 in column 'weight'.*>= 0"):
        tabular.load_file(tmp_path / "neg.csv")
    (tmp_path / "gap.csv").write_text("user,item\na,x\n,y\n")
    with pytest.raises(DatasetError, match="Row 2 of gap.csv has no value in column 'user'"):
        tabular.load_file(tmp_path / "gap.csv")
    (tmp_path / "when.csv").write_text("user,item,timestamp\na,x,2020-01-01\nb,y,soon\n")
    with pytest.raises(DatasetError, match="Row 2 of when.csv has 'soon' in column 'timestamp'"):
        tabular.load_file(tmp_path / "when.csv")


def test_row_with_wrong_number_of_fields(tmp_path):
    (tmp_path / "ragged.csv").write_text('user,item\na,x\nb,"two\nlines"\nc,y,extra\n')
    with pytest.raises(DatasetError) as caught:
        tabular.load_file(tmp_path / "ragged.csv")
    text = one_sentence(caught.value)
    assert text.startswith("Row 3 of ragged.csv has 3 field(s) where the header has 2")


def test_unknown_mapping_column_and_options(tmp_path):
    (tmp_path / "a.csv").write_text("user,item\na,b\n")
    with pytest.raises(DatasetError, match="has no column 'sku' \\(mapped to item\\)"):
        tabular.load_file(tmp_path / "a.csv", columns={"item": "sku"})
    with pytest.raises(DatasetError, match="Unknown column role"):
        tabular.load_file(tmp_path / "a.csv", columns={"price": "item"})
    with pytest.raises(DatasetError, match="Unknown option"):
        tabular.load_file(tmp_path / "a.csv", seed=3)


def test_missing_and_oversized_files(tmp_path):
    with pytest.raises(DatasetError, match="There is no file at"):
        tabular.load_file(tmp_path / "nope.csv")
    (tmp_path / "big.csv").write_text("user,item\n" + "a,b\n" * 1000)
    with pytest.raises(DatasetError, match="above the .* limit") as caught:
        tabular.load_file(tmp_path / "big.csv", max_bytes=1000)
    assert isinstance(caught.value, UserError)
