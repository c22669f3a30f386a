"""From a predict() DataFrame to plain arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InvalidInputError


def embedding_column(frame: pd.DataFrame, column: str | None = None) -> str:
    """The name of the embedding column: ``column`` if given, else the one column ending in ``_embeddings``."""
    if column is not None:
        if column not in frame.columns:
            raise InvalidInputError("E023",
                f"Column {column!r} is not in the DataFrame; its columns are {list(frame.columns)}.")
        return column
    found = [c for c in frame.columns if str(c).endswith("_embeddings")]
    if len(found) != 1:
        raise InvalidInputError("E024",
            f"Expected exactly one column ending in '_embeddings', found {found}; name it with column='...'.")
    return found[0]


def to_numpy(frame: pd.DataFrame, column: str | None = None) -> np.ndarray:
    """An ``(n_rows, dim)`` float32 matrix of a predict() DataFrame's vectors, aligned with its rows.

    Rows whose embedding is null (empty inputs) are NaN rows, so row ``k`` of the matrix is always row ``k``
    of the DataFrame.
    """
    name = embedding_column(frame, column)
    cells = frame[name].to_list()
    dims = {len(v) for v in cells if v is not None}
    if len(dims) > 1:
        raise InvalidInputError(
            "E025", f"Column {name!r} mixes vector lengths {sorted(dims)}; select one model's rows.")
    dim = dims.pop() if dims else 0
    out = np.full((len(cells), dim), np.nan, dtype=np.float32)
    for k, v in enumerate(cells):
        if v is not None:
            out[k] = v
    return out
