"""Input files of the command line (.csv, .jsonl, .parquet, .txt) read into a DataFrame, and checked.

Every way a file can be unusable (missing, a folder, unreadable, empty, not UTF-8, malformed, no such column,
a text column holding numbers) is an ``InvalidInputError`` naming the file, the place and the fix, raised
before any model is loaded. Texts are read exactly: a ``.txt`` file is decoded from bytes with its newlines
as they are (``\\r\\n`` stays two characters, so ``begin``/``end`` index the file's text), a UTF-8 byte order
mark is dropped, and a CSV cell reading ``NA`` or ``null`` in the text column stays that text. A CSV's
delimiter (``,`` ``;`` tab ``|``) is sniffed from its first lines. ``read_stdin`` reads standard input as one text,
as a ``.txt`` file is read. Light on purpose: pandas and the standard library only (pyarrow for .parquet), no torch.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from pathlib import Path

import pandas as pd

from ..errors import InvalidInputError
from ..pipeline._documents import INDEX_NAME as _RESERVED_INDEX  # the output's row-id column
from . import _paths as paths

# pandas' default NA spellings (read_csv docs); used for every column except the text column
_CSV_NA = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
           "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _utf8(data: bytes, path: Path | None) -> str:
    """``data`` decoded as UTF-8 without a leading byte order mark; non-UTF-8 bytes name their offset.

    ``path``: the file the bytes came from, ``None`` for standard input.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        fix = ("pipe it through `iconv -f latin1 -t utf-8`" if path is None else
               f"e.g. `iconv -f latin1 -t utf-8 '{path}' > converted{path.suffix}`")
        raise InvalidInputError("E100",
            f"{_where(path)} is not UTF-8: byte {data[e.start:e.start + 1]!r} at offset {e.start} ({e.reason}). "
            f"Convert it first, {fix}."
        ) from None


def _where(path: Path | None) -> str:
    return "Standard input" if path is None else f"Input '{path}'"


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidInputError("E102",
            f"Input '{path}' cannot be read ({e.strerror or e}); check its permissions, e.g. `chmod u+r '{path}'`."
        ) from None
    return data


def _not_empty(text: str, path: Path | None) -> str:
    if not text.strip():
        raise InvalidInputError("E103",
            f"{_where(path)} is empty ({len(text)} characters, nothing but whitespace); nothing to embed. "
            + ("Pipe the text in, e.g. `nlu-lite predict - < note.txt`." if path is None else
               "Pass the file that holds the texts.")
        )
    return text


def read_stdin() -> str:
    """All of standard input as one text (TEXT ``-``), read as bytes and decoded as a .txt file is."""
    stream = getattr(sys.stdin, "buffer", None)
    text = _utf8(stream.read(), None) if stream is not None else sys.stdin.read()
    return _not_empty(text, None)


def _read_txt(text: str, text_column: str) -> pd.DataFrame:
    return pd.DataFrame({text_column: [text]})


DELIMITERS = ",;\t|"  # the ones a .csv file may use; others are read as part of a cell


def _delimiter(text: str) -> str:
    """The delimiter of a CSV text: ``csv.Sniffer`` over the header and the first lines, among ``DELIMITERS``.

    Comma unless the sniffed one splits the header into more than one column (a one-column file whose texts
    hold semicolons stays one column).
    """
    sample = "\n".join(text[:65536].split("\n")[:20])
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","
    header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=found), [])
    return found if len(header) > 1 else ","


def _csv_header(text: str, path: Path, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration) as e:
        raise InvalidInputError("E104", f"Input '{path}' has no readable CSV header line ({e}); the first line "
                                "must name the columns, e.g. `note_id,text`.") from None


def _read_csv(text: str, path: Path, text_column: str) -> pd.DataFrame:
    delimiter = _delimiter(text)
    header = _csv_header(text, path, delimiter)
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise InvalidInputError("E105",
            f"Input '{path}' names the columns {duplicates} more than once; give every column of the header line "
            "its own name."
        )
    try:
        with warnings.catch_warnings():  # a row longer than the header: pandas warns and drops cells
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text, newline=""), sep=delimiter, dtype={text_column: str},
                               index_col=False, keep_default_na=False,
                               na_values={c: _CSV_NA for c in header if c != text_column}, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError, ValueError) as e:
        detail = " ".join(str(e).split())
        raise InvalidInputError("E106",
            f"Input '{path}' is not valid CSV: {detail[:300]}. Every row needs as many {delimiter!r}-separated cells "
            'as the header; quote cells that hold the delimiter, quotes or newlines ("a, b" and "say ""hi""").'
        ) from None


def _read_jsonl(text: str, path: Path) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):  # only \n ends a line (not U+2028 inside strings)
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise InvalidInputError("E107",
                f"Input '{path}' line {number} is not JSON ({e}): {line[:80]!r}. A .jsonl file holds one JSON "
                'object per line, e.g. {"note_id": 1, "text": "Chest pain."}.'
            ) from None
        if not isinstance(row, dict):
            raise InvalidInputError("E108",
                f"Input '{path}' line {number} holds a JSON {type(row).__name__}, not an object: {line[:80]!r}. "
                'Write one object per line, e.g. {"note_id": 1, "text": "Chest pain."}.'
            )
        rows.append(row)
    return pd.DataFrame.from_records(rows)


def _read_parquet(data: bytes, path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InvalidInputError("E109", f"Reading '{path}' needs pyarrow: pip install 'nlu-lite[parquet]' "
                                "(or pip install pyarrow).") from None
    import pyarrow as pa

    try:
        return pd.read_parquet(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidInputError("E110",
            f"Input '{path}' is not a readable Parquet file ({type(e).__name__}: {str(e)[:200]}); write it again, "
            "e.g. df.to_parquet(path), or pass a .csv/.jsonl file."
        ) from None


def _is_empty(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _check_texts(frame: pd.DataFrame, path: Path, text_column: str) -> None:
    """Every text cell is a string or empty; the first that is not names its row and type."""
    for position, value in enumerate(frame[text_column].tolist()):
        if isinstance(value, str) or _is_empty(value):
            continue
        raise InvalidInputError("E111",
            f"Input '{path}' row {position + 1} (after the header) has {str(value)[:80]!r} of type "
            f"{type(value).__name__} in the text column {text_column!r}; texts must be strings. Quote it in the file "
            "(JSON: \"text\": \"42\"), or name another column with --text-column."
        )


def _text_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that hold text: most of their non-empty cells are strings, and no delimiter in the name."""
    found = []
    for name in frame.columns:
        values = [v for v in frame[name].tolist() if not _is_empty(v)]
        strings = sum(isinstance(v, str) for v in values)
        if values and strings * 2 > len(values) and not any(d in str(name) for d in DELIMITERS):
            found.append(str(name))
    return found


def check_columns(frame: pd.DataFrame, path: Path, text_column: str, id_column: str | None,
                  output_columns: tuple[str, ...] = ()) -> None:
    """The text and id columns exist, and no other input column collides with a column of the output.

    ``output_columns``: the names the prediction writes (level, ``sentence_id``, ``begin``/``end``, vectors).
    """
    columns = [str(c) for c in frame.columns]
    if text_column not in columns:
        texts = _text_columns(frame)
        raise InvalidInputError("E112",
            f"Input '{path}' has no text column {text_column!r}; its columns are {columns}. "
            + (f"Name the column that holds the texts, e.g. --text-column {texts[0]}." if texts else
               "Yet none of them holds text (strings); pass the file that holds the texts, with a header like "
               "`note_id,text`.")
        )
    if id_column is not None and id_column not in columns:
        raise InvalidInputError("E113",
            f"Input '{path}' has no id column {id_column!r}; its columns are {columns}. Pass one of them to "
            "--id-column, or leave it out (rows are then numbered from 0)."
        )
    if id_column is not None and id_column == text_column:
        raise InvalidInputError("E114",
            f"--id-column {id_column!r} is also the text column; pass the column that identifies the rows, e.g. "
            "--id-column note_id."
        )
    kept = [c for c in columns if c not in (text_column, id_column)]
    index = [] if id_column is not None else [_RESERVED_INDEX]  # with an id column, the index takes its name
    clash = sorted(set(kept) & {*index, *output_columns})
    if clash:
        renames = ", ".join(f"{c!r}: 'input_{c}'" for c in clash)
        raise InvalidInputError("E115",
            f"Input '{path}' has the columns {clash}, which the output also writes (origin_index is the row id, "
            f"the others are prediction columns); rename them first, e.g. df.rename(columns={{{renames}}}), "
            + ("or make it the id with --id-column origin_index." if clash == [_RESERVED_INDEX] else "")
        )


def read_input(path: Path, text_column: str = "text") -> pd.DataFrame:
    """Read an input file into a DataFrame whose ``text_column`` holds only strings and empty cells.

    ``.txt``: the whole file is one text (one row). Raises ``InvalidInputError`` (one line, with the fix) for
    every way the file can be unusable; see the module docstring.
    """
    paths.check_input(path)
    data = _read_bytes(path)
    if path.suffix == ".parquet":
        frame = _read_parquet(data, path)
    else:
        text = _not_empty(_utf8(data, path), path)
        if path.suffix == ".txt":
            frame = _read_txt(text, text_column)
        elif path.suffix == ".csv":
            frame = _read_csv(text, path, text_column)
        else:
            frame = _read_jsonl(text, path)
    if len(frame) == 0:
        raise InvalidInputError("E116",
            f"Input '{path}' has no rows (columns: {list(frame.columns)}); nothing to embed. Add rows below the "
            "header, or pass the file that holds the texts."
        )
    columns = [str(c) for c in frame.columns]
    if text_column in columns:
        _check_texts(frame, path, text_column)
    return frame
