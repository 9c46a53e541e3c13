"""Delimited text files (csv / tsv / psv / txt): their encoding, delimiter, header and rows.

Text is UTF-8 (UTF-16 / UTF-32 with a byte-order mark are decoded too; a file that is not UTF-8
is read in the legacy encoding :func:`sniff_encoding` picks, with a note); any line endings.
``.csv`` is comma-separated, ``.tsv`` tab-, ``.psv`` pipe-separated; other suffixes are sniffed
from the header line. Rec-a-Sketch files (pipe-separated, with their known headers) quote with
``\\``. Rows are read with pyarrow in batches (:class:`.columns.Columns`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from ...errors import DatasetError
from ..progress import Progress
from .columns import Columns, resolve_columns
from .limits import BLOCK_SIZE
from .messages import empty_file, safe_detail
from .values import TEXT_IDS

DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|"}
RECASKETCH_HEADERS = ({"modelname", "mid", "uid"}, {"mid", "type", "value"})
"""Rec-a-Sketch files: pipe-separated with ``\\`` as the quote character."""


# ---------------------------------------------------------------------- text encodings
def _replace_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != "recsys_utf_8_replace":
        return None
    utf8 = codecs.lookup("utf-8")

    class Decoder(codecs.BufferedIncrementalDecoder):
        def _buffer_decode(self, data, errors, final):  # noqa: ANN001
            return codecs.utf_8_decode(data, "replace", final)

    return codecs.CodecInfo(
        name="recsys-utf-8-replace",
        encode=utf8.encode,
        decode=lambda data, errors="replace": codecs.utf_8_decode(data, "replace", True),
        incrementalencoder=utf8.incrementalencoder,
        incrementaldecoder=Decoder,
    )


codecs.register(_replace_codec)
UTF8_REPLACE = "recsys-utf-8-replace"


def sniff_encoding(path: Path) -> tuple[str, int | None]:
    """Pick a text encoding for a file: ``("utf-8", None)`` when it is valid UTF-8.

    Otherwise returns the encoding to read it with and the line of the first byte that is not
    UTF-8: ``cp1252`` (or ``latin-1``) when the file has no UTF-8 multi-byte characters at all (a
    legacy export), else UTF-8 with the bad bytes replaced by U+FFFD (a mostly-UTF-8 file).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    first_bad: int | None = None
    lines = 1
    has_multibyte = False
    cp1252_ok = True
    cp1252 = codecs.getincrementaldecoder("cp1252")("strict")
    with open(path, "rb") as handle:
        while True:
            block = handle.read(1 << 20)
            final = not block
            if first_bad is None:
                try:
                    text = decoder.decode(block, final)
                    lines += text.count("\n")
                    has_multibyte = has_multibyte or any(ord(c) > 127 for c in text)
                except UnicodeDecodeError as error:
                    # pending bytes from the previous block were not counted yet: close enough
                    first_bad = lines + block[: max(error.start, 0)].count(b"\n")
                    text = codecs.decode(block, "utf-8", "replace")
                    has_multibyte = has_multibyte or any(127 < ord(c) != 0xFFFD for c in text)
            else:
                try:
                    text = codecs.decode(block, "utf-8", "replace")
                    has_multibyte = has_multibyte or any(127 < ord(c) != 0xFFFD for c in text)
                except UnicodeDecodeError:  # pragma: no cover - "replace" never raises
                    pass
            if cp1252_ok:
                try:
                    cp1252.decode(block, final)
                except UnicodeDecodeError:
                    cp1252_ok = False
            if final:
                break
    if first_bad is None:
        return "utf-8", None
    if has_multibyte:
        return UTF8_REPLACE, first_bad
    return ("cp1252" if cp1252_ok else "latin-1"), first_bad


def encoding_note(label: str, encoding: str, line: int | None) -> str:
    how = "with the bad bytes shown as \ufffd" if encoding == UTF8_REPLACE else f"as {encoding}"
    where = f" (first bad byte on line {line})" if line else ""
    return f"{label} is not valid UTF-8{where}; it was read {how}."


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM it starts with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_encoding(path: Path, label: str | None = None) -> str | None:
    """The encoding a byte-order mark names (``"utf-16"`` / ``"utf-32"``), else None (UTF-8 or
    a legacy 8-bit encoding, see :func:`sniff_encoding`).

    Raises ``DatasetError`` for a file with NUL bytes and no byte-order mark: UTF-16 or UTF-32
    text without its mark, or not text at all.
    """
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        raise DatasetError(
            f"{label or path.name} has NUL bytes, so it is not UTF-8 text (it may be UTF-16 or "
            "UTF-32 without a byte-order mark, or not a text file); save it as UTF-8 csv."
        )
    return None


# ---------------------------------------------------------------------- header and delimiter
def sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter the file's suffix names, else the one its first line has most of (of tab,
    ``|``, ``,`` and ``;``; a comma when it has none)."""
    known = DELIMITERS.get(path.suffix.lower())
    if known:
        return known
    lines = header_text(path, encoding).splitlines()
    first_line = lines[0] if lines else ""
    counts = {sep: first_line.count(sep) for sep in ("\t", "|", ",", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def header_text(path: Path, encoding: str) -> str:
    """The first 64 KB of the file as text (a byte-order mark dropped)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    codec = "utf-8" if encoding in ("utf-8", "utf8", UTF8_REPLACE) else encoding
    return head.decode(codec, errors="replace").lstrip("\ufeff")


def header_names(path: Path, sep: str, encoding: str, quote: str = '"') -> list[str]:
    """The column names of the first line that has any (``[]`` when none can be read)."""
    text = header_text(path, encoding)
    try:  # newline="": a header ended by a lone CR (an old Mac file) is a line too
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar=quote):
            if any(cell.strip() for cell in record):
                return record
    except csv.Error:  # e.g. a header longer than the csv module's field limit
        pass
    return []


def locate_bad_record(
    path: Path, sep: str, encoding: str, expected: int, header: bool, quote: str = '"'
) -> tuple[int | None, str | None]:
    """(row, text) of the first record whose field count differs from ``expected``."""
    codec = "utf-8" if encoding == UTF8_REPLACE else encoding
    with open(path, encoding=codec, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep, quotechar=quote)
        try:
            for number, record in enumerate(reader):
                if header and number == 0:
                    continue
                if record and len(record) != expected:
                    return number + (0 if header else 1), sep.join(record)
        except csv.Error:  # a field over the csv module's limit, a NUL byte: no location
            pass
    return None, None


def arrow_encoding(encoding: str) -> str:
    """The name pyarrow's csv reader knows an encoding by."""
    return encoding if encoding not in ("utf-8", "utf8") else "utf8"


# ---------------------------------------------------------------------- interactions
def read_delimited(
    path: Path,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    sep: str | None,
    encoding: str | None,
    progress: Progress | None,
    notes: list[str],
    quotechar: str | None = None,
    *,
    label: str | None = None,
    max_rows: int | None = None,
) -> tuple[Columns, dict[str, str]]:
    """Read the role columns batch by batch, at most ``max_rows`` rows.

    Numbers are parsed by Arrow directly (fast, compact); if a value does not parse, the file is
    read again with those columns as text, which finds the bad row or parses dates. A file with
    a UTF-16 / UTF-32 byte-order mark is decoded as such; a file that is not UTF-8 is read again
    in the encoding :func:`sniff_encoding` picks.
    """
    source = label or path.name
    marked = None if encoding is not None else text_encoding(path, source)
    chosen = encoding or marked or "utf-8"
    typed = True  # weight / rating / timestamp parsed as numbers by Arrow
    retried_encoding = encoding is not None or marked is not None
    header = not (isinstance(columns, Sequence) and not isinstance(columns, str))
    while True:
        delimiter = sep if sep is not None else sniff_delimiter(path, chosen)
        names, roles = _roles(path, columns, header, delimiter, chosen, source)
        quote = quotechar if quotechar is not None else _default_quote(delimiter, names)
        options = _csv_options(roles, names, header, delimiter, quote, chosen, typed)
        try:
            return _read_batches(path, options, roles, source, max_rows, progress), roles
        except (pa.ArrowException, UnicodeError) as error:
            message = str(error)
            # a header that is not UTF-8 reads differently here and in header_names
            unreadable = "UTF8" in message or isinstance(error, pa.ArrowKeyError)
            if unreadable and not retried_encoding:
                retried_encoding = True
                chosen, line = sniff_encoding(path)
                if chosen != "utf-8":
                    notes.append(encoding_note(source, chosen, line))
                    continue
            if "conversion error" in message and typed:
                typed = False
                continue
            raise _read_error(error, path, source, delimiter, chosen, header, quote) from None


def _roles(
    path: Path,
    columns: Mapping[str, str | None] | Sequence[str] | None,
    header: bool,
    delimiter: str,
    encoding: str,
    source: str,
) -> tuple[list[str], dict[str, str]]:
    """The file's column names (from its header, or ``columns`` for a header-less file) and
    which of them holds each role."""
    if header:
        names = header_names(path, delimiter, encoding)
        if not names:
            raise empty_file(source)
        return names, resolve_columns(names, columns, source=source)  # type: ignore[arg-type]
    names = [str(c) for c in columns]  # type: ignore[union-attr]
    return names, resolve_columns(names, None, source=source)


def _default_quote(delimiter: str, names: Sequence[str]) -> str:
    """``\\`` for a Rec-a-Sketch file, else ``"``."""
    recasketch = delimiter == "|" and any(
        wanted <= {n.strip() for n in names} for wanted in RECASKETCH_HEADERS
    )
    return "\\" if recasketch else '"'


def _csv_options(
    roles: Mapping[str, str],
    names: list[str],
    header: bool,
    delimiter: str,
    quote: str,
    encoding: str,
    typed: bool,
) -> dict:
    """pyarrow's read, parse and convert options for the role columns."""
    # ids as dictionaries: each distinct id is one string, each row a small integer code
    types = {
        column: TEXT_IDS if role in ("user", "item") else (pa.float64() if typed else pa.string())
        for role, column in roles.items()
    }
    return {
        "read_options": pa_csv.ReadOptions(
            block_size=BLOCK_SIZE,
            encoding=arrow_encoding(encoding),
            column_names=None if header else names,
        ),
        "parse_options": pa_csv.ParseOptions(
            delimiter=delimiter,
            quote_char=quote,
            newlines_in_values=True,
        ),
        "convert_options": pa_csv.ConvertOptions(
            include_columns=list(dict.fromkeys(roles.values())),
            column_types=types,
            null_values=[""],  # "NA", "nan", "null" are values to report as they are
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }


def _read_batches(
    path: Path,
    options: dict,
    roles: Mapping[str, str],
    source: str,
    max_rows: int | None,
    progress: Progress | None,
) -> Columns:
    state = Columns(max_rows=max_rows)
    size = max(path.stat().st_size, 1)
    with open(path, "rb") as handle:
        reader = pa_csv.open_csv(handle, **options)
        for batch in reader:
            state.take(batch, roles, source)
            if progress is not None:
                done = min(handle.tell() / size, 1.0)
                progress(0.9 * done, f"read {state.n_rows:,} rows")
    return state


def _read_error(
    error: BaseException,
    path: Path,
    source: str,
    delimiter: str,
    encoding: str,
    header: bool,
    quote: str,
) -> DatasetError:
    """The sentence for a read that failed in a way no retry mends."""
    message = str(error)
    # (no invalid_row_handler: Arrow decodes the row's text for it and prints a
    # traceback when that text is not UTF-8; the message has the counts)
    counts = re.search(r"Expected (\d+) columns, got (\d+)", message)
    if counts:
        expected, actual = int(counts[1]), int(counts[2])
        row, text = locate_bad_record(path, delimiter, encoding, expected, header, quote)
        where = f"Row {row:,} of {source}" if row else f"A row of {source}"
        shown = f" ({text[:60]!r})" if text else ""
        return DatasetError(
            f"{where} has {actual} field(s) where the header has {expected}{shown}; fix "
            "that row or check the delimiter and quoting."
        )
    if "Empty CSV" in message:
        return empty_file(source)
    if isinstance(error, UnicodeError):
        return DatasetError(f"{source} is not valid {encoding} text; save it again as UTF-8 csv.")
    return DatasetError(
        f"{source} could not be read ({safe_detail(error, path, source)}); check that it is "
        "a csv, tsv or psv file with a header line."
    )
