"""Input normalisation: whatever the user passed to ``predict`` becomes ``Documents``.

Accepted: a ``str``; a list, tuple, numpy array, ``pd.Series`` or any other iterable of strings; a
``pd.DataFrame`` with a text column (``text`` unless ``text_column=`` names another, any label such as
``0`` included; its other columns are carried beside the output). ``None``, ``NaN``, ``pd.NA``, ``""`` and
whitespace-only entries are *empty*: they keep their row with null outputs. Anything else (numbers,
bytes, nested lists, dicts) raises ``InvalidInputError`` naming the value and its position. The caller's
objects are never modified.

The output is indexed by the input's index: a flat index is named ``origin_index``; a ``MultiIndex``
(of a DataFrame or Series) is kept level by level, unnamed levels named ``origin_index_0``,
``origin_index_1`` ... A DataFrame with two columns of the text column's name, or with a column named
``origin_index`` (the name the output index takes), is an error with the fix.

Lone surrogates (``'\ud800'``, e.g. from ``bytes.decode('utf-8', 'surrogateescape')``) cannot be encoded as
UTF-8, so spaCy, the wordpiece tokenizers, pandas' Arrow-backed ``str`` columns, Parquet and JSON all reject
them. Each text is read as ``sanitize(text)``: the same length with every surrogate replaced by U+FFFD, so
every row survives, offsets index the original text exactly, and the output's text shows U+FFFD where the
surrogate was (BERT-style tokenizers drop U+FFFD, so a token made only of surrogates has a NaN vector).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import pandas as pd

from ..errors import InvalidInputError

INDEX_NAME = "origin_index"
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Documents:
    """A run of input rows: each row's text (``None`` when empty), its index label, extra columns."""

    texts: list[str | None]
    raw: list[object]  # the values as given, for the document column
    index: pd.Index
    extras: pd.DataFrame | None  # other columns of an input DataFrame, positionally aligned


def sanitize(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD: same length, so offsets carry over unchanged.

    Returns ``text`` itself when it has none (the usual case; one regex scan).
    """
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value  # NaN


def _text(value: object, label: object) -> str | None:
    if isinstance(value, str):
        if type(value) is not str:  # np.str_ and other str subclasses: spaCy takes exact str only
            value = str.__str__(value)
        return sanitize(value) if value.strip() else None
    if _is_missing(value):
        return None
    fixes = {
        bytes: "decode it first, e.g. value.decode('utf-8')",
        bytearray: "decode it first, e.g. value.decode('utf-8')",
    }
    fix = fixes.get(type(value))
    if fix is None and isinstance(value, (list, tuple, dict, set, np.ndarray, pd.Series)):
        fix = "pass one string per row; join nested pieces first, e.g. ' '.join(parts)"
    if fix is None:
        fix = "convert the column to text first, e.g. series.astype(str), or drop the row"
    raise InvalidInputError("E005",
        f"Row {label!r} holds {value!r} of type {type(value).__name__}, but predict() needs a string "
        f"(or None/NaN for an empty row); {fix}."
    )


def _output_index(index: pd.Index) -> pd.Index:
    """The input's index named for the output: ``origin_index``, or per level for a MultiIndex."""
    if isinstance(index, pd.MultiIndex):
        names = [f"{INDEX_NAME}_{k}" if name is None else name for k, name in enumerate(index.names)]
        return index.set_names(names)
    return index.rename(INDEX_NAME)


def _from_values(values: Iterable[object], index: pd.Index, extras: pd.DataFrame | None) -> Documents:
    raw = list(values)
    texts = [_text(v, label) for v, label in zip(raw, index)]
    return Documents(texts=texts, raw=raw, index=_output_index(index), extras=extras)


def _check_frame(frame: pd.DataFrame, column: Hashable, named: bool) -> None:
    """Raise when the text column is absent or ambiguous, or a column would clash with the output index."""
    if column not in frame.columns:
        hint = "" if named else " Name the text column with predict(..., text_column='<name>')."
        raise InvalidInputError("E006",
            f"The DataFrame has no column {column!r}; its columns are {list(frame.columns)}.{hint}"
        )
    count = int((frame.columns == column).sum())
    if count > 1:
        raise InvalidInputError("E150",
            f"The DataFrame has {count} columns named {column!r}, so the text column is ambiguous; give them "
            f"distinct names first, e.g. df.columns = [f'{{c}}_{{i}}' for i, c in enumerate(df.columns)], "
            "then pass predict(..., text_column='<the text one>')."
        )
    if INDEX_NAME in frame.columns and frame.index.name in (None, INDEX_NAME):  # id_column= names the index
        raise InvalidInputError("E151",
            f"The DataFrame has a column named {INDEX_NAME!r}, the name nlu_lite gives the output's index (the "
            f"input row id); use it as the row id with predict(..., id_column={INDEX_NAME!r}), or rename it, "
            f"e.g. df.rename(columns={{{INDEX_NAME!r}: 'input_{INDEX_NAME}'}})."
        )


def _from_frame(frame: pd.DataFrame, text_column: Hashable | None) -> Documents:
    column = "text" if text_column is None else text_column
    _check_frame(frame, column, text_column is not None)
    extras = frame.drop(columns=[column]).reset_index(drop=True)
    return _from_values(frame[column].tolist(), frame.index, extras if len(extras.columns) else None)


def as_pandas(data: object) -> object:
    """``data`` with other libraries' tables as pandas: a polars DataFrame or Series, a pyarrow Table or
    RecordBatch (their ``to_pandas()``), and a 0-d numpy array as its one value; anything else as given."""
    if isinstance(data, np.ndarray) and data.ndim == 0:
        return data.item()
    module = type(data).__module__.split(".")[0]
    if module in ("polars", "pyarrow") and hasattr(data, "to_pandas"):
        try:
            return data.to_pandas()
        except ImportError as e:  # polars needs pyarrow for to_pandas()
            raise InvalidInputError("E004", f"A {module} {type(data).__name__} is read through pandas, which needs "
                                    f"pyarrow here: pip install pyarrow (or pass data.to_pandas()). ({e})") from e
    return data


def chunks(data: object, text_column: Hashable | None = None, chunk_size: int = 256) -> Iterator[Documents]:
    """Yield ``Documents`` of at most ``chunk_size`` rows from any accepted input, lazily for iterators."""
    data = as_pandas(data)
    if isinstance(data, pd.DataFrame):
        for start in range(0, max(len(data), 1), chunk_size):
            yield _from_frame(data.iloc[start:start + chunk_size], text_column)
        return
    if text_column is not None:
        raise InvalidInputError("E007",
            f"text_column={text_column!r} applies to DataFrames only, but the input is a "
            f"{type(data).__name__}; pass a DataFrame or drop text_column."
        )
    if isinstance(data, str) or _is_missing(data):
        yield _from_values([data], pd.RangeIndex(1), None)
        return
    if isinstance(data, pd.Series):
        for start in range(0, max(len(data), 1), chunk_size):
            part = data.iloc[start:start + chunk_size]
            yield _from_values(part.tolist(), part.index, None)
        return
    if isinstance(data, np.ndarray) and data.ndim != 1:
        raise InvalidInputError("E008",
            f"A numpy array of texts must be 1-D, got shape {data.shape}; flatten it with arr.ravel() "
            "or pass a DataFrame with a text column."
        )
    if isinstance(data, (bytes, bytearray, dict)) or not isinstance(data, Iterable):
        _text(data, 0)  # raises with the right advice
    iterator = iter(data)  # type: ignore[arg-type]
    start = 0
    while True:
        part = list(islice(iterator, chunk_size))
        if not part and start:
            return
        yield _from_values(part, pd.RangeIndex(start, start + len(part)), None)
        if not part:
            return
        start += len(part)


def present_texts(docs: Documents) -> tuple[np.ndarray, list[str]]:
    """The chunk positions of the rows that have text, and their texts (the rows every level works on)."""
    present = np.asarray([k for k, t in enumerate(docs.texts) if t is not None], dtype=np.int64)
    return present, [docs.texts[k] for k in present.tolist()]


def is_spark_dataframe(data: object) -> bool:
    """True for a ``pyspark.sql.DataFrame`` (classic or Connect), without importing pyspark."""
    return type(data).__module__.startswith("pyspark.sql") and hasattr(data, "mapInPandas")


def row_ids(data: object) -> list | None:
    """The ids spans can name, where the input shows them before it is read (None for iterators)."""
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.index.tolist()
    if isinstance(data, str):
        return [0]
    if isinstance(data, (list, tuple, np.ndarray)):
        return list(range(len(data)))
    return None
