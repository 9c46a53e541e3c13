"""Fuzzing the upload and the file readers: every file loads or gets one DatasetError sentence.

Malformed interactions and items files (random bytes, encodings, line endings, delimiters,
quoting, odd weights and timestamps, duplicate columns, empty and header-only files, parquet
files of odd types) go through ``save_upload`` and ``tabular.load_file``. Each either loads or
raises a ``DatasetError`` whose message is one line that names the file as the user named it,
quotes no traceback and no server path, and the reader's last-resort net (which turns an
unforeseen error into a sentence and logs it) never fires. A refused upload leaves nothing
behind.
"""

from __future__ import annotations

import io
import logging
import math
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_core.datasets import tabular
from recsys_core.datasets.tabular import load as tabular_load
from recsys_core.datasets.uploads import save_upload
from recsys_core.errors import DatasetError

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    derandomize=True,  # the same files on every run; explore more by raising max_examples
)


# ---------------------------------------------------------------------------- delimited text
def _mostly(good: list, odd: list) -> st.SearchStrategy:
    """A value from ``good`` four times in five, else one from ``odd``."""
    return st.integers(0, 4).flatmap(lambda n: st.sampled_from(good) if n else st.sampled_from(odd))


# every column kind: (values that load, values that do not or that load only just)
VALUES = {
    "user": (
        ["u1", "u2", "7", "é", "u 3"],
        ["", " 8 ", "a,b", 'q"x', "line\nbreak", "1e400", "\t", "x" * 300],
    ),
    "item": (["i1", "i2", "10", "10.0"], ["", "x|y", "\\", "<b>", "nan", "9" * 30, "-0"]),
    "weight": (
        ["1", "2.5", "0.5", "3"],
        [
            "0",
            "-1",
            "1e400",
            "1e38",
            "1e30",
            "nan",
            "NaN",
            "NA",
            "null",
            "inf",
            "-inf",
            "abc",
            "",
            "  3 ",
            "1,5",
            "true",
            "0x10",
            "9" * 40,
            "1e-320",
        ],
    ),
    "date": (
        [
            "2021-03-04",
            "2021-03-04T10:00:00Z",
            "2021-03-04 10:00:00+02:00",
            "03/04/2021",
            "4 March 2021 10:00",
        ],
        [
            "1600-01-01",
            "2300-01-01",
            "9999-12-31",
            "10000-01-01",
            "0001-01-01",
            "1677-09-21",
            "2262-04-12",
            "now",
            "today",
            "Now",
            "12:00",
            "12:00:00 PM",
            "Monday",
            "March 5",
            "",
            "2021-02-30",
            "yesterday",
            "1e20",
            "2021-03-04T10:00:00+25:00",
            "T12",
            "1600000000",
        ],
    ),
    "seconds": (
        ["1600000000", "1614852000.5", "0", "-86400"],
        ["-1e300", "1e300", "nan", "", "2021-03-04", "now", "1e400"],
    ),
}
KIND = {
    "user": "user",
    "user_id": "user",
    "userId": "user",
    "customer": "user",
    "item": "item",
    "item_id": "item",
    "movieId": "item",
    "sku": "item",
    "weight": "weight",
    "count": "weight",
    "rating": "weight",
    "timestamp": "date",
    "ts": "seconds",
}
HEADERS = [
    ["user", "item"],
    ["user", "item", "weight"],
    ["user", "item", "timestamp"],
    ["user", "item", "rating", "timestamp"],
    ["user_id", "item_id", "count", "ts"],
    ["userId", "movieId", "rating"],
]
ODD_HEADERS = [["customer", "sku"], ["user"], ["User", "ITEM"], ["", "item"], ["user", "item", ""]]
MUTATIONS = ["value"] * 6 + [
    "duplicate-column",
    "header",
    "ragged",
    "quoting",
    "delimiter",
    "encoding",
    "flip",
    "truncate",
]
ENCODINGS = ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1"]
NEWLINES = st.sampled_from(["\n", "\r\n", "\r", "mixed"])
SUFFIXES = st.sampled_from([".csv", ".tsv", ".psv", ".txt"])
_DELIMITER = {".csv": ",", ".tsv": "\t", ".psv": "|", ".txt": ";"}


@st.composite
def delimited_files(draw) -> tuple[str, bytes]:
    """(file name, bytes) of a valid text table with up to three mutations, or junk."""
    kind = draw(st.sampled_from(["table"] * 8 + ["random", "empty", "header-only"]))
    suffix = draw(SUFFIXES)
    name = draw(st.sampled_from(["likes", "my data", "données", "x"])) + suffix
    if kind == "random":
        return name, draw(st.binary(min_size=0, max_size=200))
    columns = list(draw(st.sampled_from(HEADERS)))
    kinds = [KIND[c] for c in columns]
    rows = (
        []
        if kind != "table"
        else [
            [draw(st.sampled_from(VALUES[k][0])) for k in kinds]
            for _ in range(draw(st.integers(1, 8)))
        ]
    )
    mutations = draw(st.lists(st.sampled_from(MUTATIONS), max_size=3))
    delimiter, quoting, encoding = _DELIMITER[suffix], "minimal", "utf-8"
    for mutation in mutations:
        if mutation == "value" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            column = draw(st.integers(0, len(columns) - 1))
            rows[row][column] = draw(st.sampled_from(VALUES[kinds[column]][1]))
        elif mutation == "duplicate-column":
            column = draw(st.integers(0, len(columns) - 1))
            columns.append(columns[column])
            kinds.append(kinds[column])
            for row in rows:
                row.append(row[column])
        elif mutation == "header":
            columns = list(draw(st.sampled_from(ODD_HEADERS))) + columns[2:]
        elif mutation == "ragged" and rows:
            rows[draw(st.integers(0, len(rows) - 1))].append("extra")
        elif mutation == "quoting":
            quoting = draw(st.sampled_from(["all", "none", "broken"]))
        elif mutation == "delimiter":
            delimiter = draw(st.sampled_from([",", "\t", "|", ";", " "]))
        elif mutation == "encoding":
            encoding = draw(st.sampled_from(ENCODINGS))

    def cell(text: str) -> str:
        if quoting == "all" or (
            quoting == "minimal" and any(ch in text for ch in (delimiter, '"', "\n", "\r"))
        ):
            return '"' + text.replace('"', '""') + '"'
        if quoting == "broken":
            return '"' + text
        return text

    lines = [] if kind == "empty" else [delimiter.join(cell(c) for c in columns)]
    lines += [delimiter.join(cell(value) for value in row) for row in rows]
    newline = draw(NEWLINES)
    if newline == "mixed":
        text = "".join(line + ("\n", "\r\n", "\r")[i % 3] for i, line in enumerate(lines))
    else:
        text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    data = text.encode(encoding, errors="replace")
    if "flip" in mutations and data:
        position = draw(st.integers(0, len(data) - 1))
        data = data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]
    if "truncate" in mutations and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    return name, data


ITEM_HEADERS = st.sampled_from(
    [
        ["item_id", "name"],
        ["id", "title", "tags"],
        ["item_id", "name", "name"],
        ["item_id", "image_url", "category", "tags", "price"],
        ["sku", "name"],
        ["item"],
    ]
)


@st.composite
def items_files(draw) -> tuple[str, bytes]:
    """(file name, bytes) of an items table: good, odd or broken."""
    if draw(st.integers(0, 3)) == 0:
        return draw(parquet_items())
    columns = draw(ITEM_HEADERS)
    n = draw(st.integers(0, 4))
    rows = [
        [
            draw(st.sampled_from(VALUES["item"][0] + VALUES["item"][1]))
            if c in ("item_id", "id", "item", "sku")
            else draw(
                st.sampled_from(["Red Fox", "", "a|b;c", "[x](http://h/)", "é", '"q', "1e400"])
            )
            for c in columns
        ]
        for _ in range(n)
    ]
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    newline = draw(NEWLINES.filter(lambda n: n != "mixed"))
    text = newline.join(delimiter.join(row) for row in [columns] + rows) + newline
    data = text.encode(draw(_mostly(["utf-8"], ENCODINGS)), errors="replace")
    return draw(st.sampled_from(["items.csv", "items.tsv", "meta.txt"])), data


# ---------------------------------------------------------------------------- parquet
def _odd_array(draw, n: int) -> pa.Array:
    kind = draw(
        _mostly(
            ["small-int", "dictionary", "float"],
            [
                "string",
                "int",
                "binary",
                "bad-binary",
                "large-string",
                "list",
                "struct",
                "timestamp-tz",
                "timestamp-ns",
                "date",
                "bool",
                "null",
                "decimal",
                "nan-float",
                "huge-float",
                "time",
                "map",
            ],
        )
    )
    values = [draw(st.sampled_from(["a", "b", "7", " c "])) for _ in range(n)]
    if kind == "small-int":
        return pa.array([draw(st.integers(0, 5)) for _ in range(n)], pa.int64())
    if kind == "string":
        return pa.array(values)
    if kind == "int":
        return pa.array([draw(st.integers(-(2**63), 2**63 - 1)) for _ in range(n)], pa.int64())
    if kind == "float":
        return pa.array([float(draw(st.integers(0, 5))) for _ in range(n)])
    if kind == "binary":
        return pa.array([v.encode() for v in values], pa.binary())
    if kind == "bad-binary":
        return pa.array([b"\xff\xfe" + v.encode() for v in values], pa.binary())
    if kind == "large-string":
        return pa.array(values, pa.large_string())
    if kind == "dictionary":
        codes = [draw(st.sampled_from(["1", "2", "x"])) for _ in range(n)]
        return pa.array(codes).dictionary_encode()
    if kind == "list":
        return pa.array([[v, v] for v in values], pa.list_(pa.string()))
    if kind == "struct":
        return pa.array([{"x": v} for v in values])
    if kind == "timestamp-tz":
        return pa.array(
            [draw(st.integers(-(2**40), 2**40)) for _ in range(n)], pa.timestamp("s", tz="+05:30")
        )
    if kind == "timestamp-ns":
        return pa.array(
            [draw(st.integers(-(2**62), 2**62)) for _ in range(n)], pa.timestamp("ns", tz="UTC")
        )
    if kind == "date":
        return pa.array([draw(st.integers(-700000, 2900000)) for _ in range(n)], pa.date32())
    if kind == "bool":
        return pa.array([draw(st.booleans()) for _ in range(n)])
    if kind == "null":
        return pa.nulls(n)
    if kind == "decimal":
        import decimal

        return pa.array([decimal.Decimal("1.5")] * n, pa.decimal128(5, 2))
    if kind == "nan-float":
        return pa.array([math.nan] * n)
    if kind == "huge-float":
        return pa.array([1e300, -1e300, 2.0**60, 1e38][:1] * n)
    if kind == "time":
        return pa.array([3600] * n, pa.time32("s"))
    return pa.array([[("k", v)] for v in values], pa.map_(pa.string(), pa.string()))


@st.composite
def parquet_files(draw, items: bool = False) -> tuple[str, bytes]:
    """(file name, bytes) of a parquet table whose columns have odd types."""
    n = draw(st.integers(0, 5))
    if items:
        names = draw(
            st.sampled_from(
                [
                    ["item_id", "name"],
                    ["item_id", "name", "tags"],
                    ["id", "title", "extra"],
                    ["item_id", "item_id"],
                    ["item_id", "category", "image_url"],
                ]
            )
        )
    else:
        names = draw(
            st.sampled_from(
                [
                    ["user", "item"],
                    ["user", "item", "weight"],
                    ["user", "item", "timestamp"],
                    ["user", "item", "rating"],
                    ["user", "user"],
                    ["user", "item", "extra"],
                ]
            )
        )
    arrays = [_odd_array(draw, n) for _ in names]
    sink = io.BytesIO()
    table = pa.Table.from_arrays(arrays, names=names)
    if draw(st.booleans()):
        pq.write_table(table, sink, row_group_size=max(n // 2, 1))
    else:
        pq.write_table(table, sink, use_dictionary=False, compression="zstd")
    data = sink.getvalue()
    if draw(st.integers(0, 7)) == 0:  # damaged: a cut or a flipped byte in the middle
        position = draw(st.integers(0, len(data) - 1))
        data = (
            data[:position]
            if draw(st.booleans())
            else (data[:position] + bytes([data[position] ^ 0x5A]) + data[position + 1 :])
        )
    return ("items.parquet" if items else "likes.parquet"), data


def parquet_items() -> st.SearchStrategy:
    return parquet_files(items=True)


# ---------------------------------------------------------------------------- the property
@pytest.fixture
def fuzz_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("RECSYS_HOME", str(home))
    return home


def _check_refusal(error: DatasetError, names: list[str], home, tmp_path) -> None:
    text = str(error)
    assert "\n" not in text and "\r" not in text, text
    assert "Traceback" not in text and 'File "' not in text, text
    assert str(home) not in text and str(tmp_path) not in text and ".tmp-" not in text, text
    assert "/tmp" not in text and "interactions." not in text, text
    assert any(name in text for name in names), (names, text)
    assert len(text) < 600, text


def _no_net(caplog) -> None:
    fired = [
        r.getMessage()
        for r in caplog.records
        if r.name == tabular_load.logger.name and r.levelno >= logging.ERROR
    ]
    assert not fired, fired  # the last-resort net caught an error nothing else foresaw


def _run_upload(data, name, items, items_name, home, tmp_path, caplog):
    caplog.clear()
    uploads = home / "uploads"
    before = set(uploads.iterdir()) if uploads.exists() else set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            spec = save_upload(data, name, items, items_name)
        except DatasetError as error:
            _check_refusal(error, [n for n in (name, items_name) if n], home, tmp_path)
            after = set(uploads.iterdir()) if uploads.exists() else set()
            assert after == before, after - before  # a refused upload leaves nothing
        else:
            assert spec.startswith("upload:")
            assert (uploads / spec[len("upload:") :]).is_dir()
            assert not [p for p in uploads.iterdir() if p.name.startswith(".")]
    _no_net(caplog)


def _run_reader(data, name, items, items_name, tmp_path, caplog):
    caplog.clear()
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    items_path = None
    if items is not None:
        items_path = folder / ("other-" + items_name)
        items_path.write_bytes(items)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data_set = tabular.load_file(
                folder / name,
                items_path=items_path,
                label=name,
                items_label=items_name if items is not None else None,
            )
        except DatasetError as error:
            _check_refusal(error, [name, items_name or name], tmp_path / "nowhere", folder)
        else:
            assert data_set.n_interactions > 0
            assert len(data_set.items) == data_set.n_items
    _no_net(caplog)


@FUZZ
@given(main=delimited_files(), items=st.none() | items_files())
def test_delimited_uploads_load_or_get_one_sentence(main, items, fuzz_home, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=tabular_load.logger.name)
    name, data = main
    items_data, items_name = (items[1], items[0]) if items else (None, None)
    _run_upload(data, name, items_data, items_name, fuzz_home, tmp_path, caplog)
    _run_reader(data, name, items_data, items_name, tmp_path, caplog)


@settings(FUZZ, max_examples=150)
@given(main=parquet_files(), items=st.none() | parquet_items() | items_files())
def test_parquet_uploads_load_or_get_one_sentence(main, items, fuzz_home, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=tabular_load.logger.name)
    name, data = main
    items_data, items_name = (items[1], items[0]) if items else (None, None)
    _run_upload(data, name, items_data, items_name, fuzz_home, tmp_path, caplog)
    _run_reader(data, name, items_data, items_name, tmp_path, caplog)
