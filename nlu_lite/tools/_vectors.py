"""From a predict() DataFrame to group means and wide tables; texts straight to an array (``embed``).

``to_numpy`` (a frame's vectors as a matrix) lives with the frames, in ``pipeline/_frames.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..pipeline._frames import embedding_column, to_numpy, usable_rows

if TYPE_CHECKING:
    from ..pipeline._pipeline import Pipeline


WIDE_PREFIX = "dim_"


def embed(pipe: Pipeline, texts: object, **options: object) -> np.ndarray:
    """One document vector per text as an ``(n, dim)`` float32 array (row ``k`` is ``texts[k]``): ``pipe.embed``.

    Each text is encoded as one sequence (windowed when longer than the model's limit), as
    ``pipe.predict(texts, output_level="document")``; empty texts (``None``, ``NaN``, ``""``) give NaN rows, so
    the row count always equals the input's. ``options`` are ``predict`` options (``pooling``, ``normalize``,
    ``progress`` ...).

    >>> X = nlu_lite.embed(pipe, ["Chest pain.", "No fever."])   # doctest: +SKIP
    >>> X.shape, X.dtype                                          # doctest: +SKIP
    ((2, 384), dtype('float32'))
    """
    return pipe.embed(texts, **options)


def _grouping_keys(frame: pd.DataFrame, by: str | list[str]) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    names = set(frame.columns) | {n for n in frame.index.names if n is not None}
    unknown = [k for k in keys if k not in names]
    if not keys or unknown:
        raise InvalidInputError(
            "E201", f"Cannot group by {unknown or keys!r}: group by columns or index levels of the DataFrame, "
                    f"one of {sorted(map(str, names))}; e.g. nlu_lite.aggregate(df, by='origin_index').")
    return keys


def _group_sums(vectors: np.ndarray, codes: np.ndarray, n_groups: int, rows_per_block: int = 65536) -> np.ndarray:
    """Float64 sum of the rows of each group ``0 .. n_groups-1`` (rows coded ``-1`` left out), in sorted blocks."""
    sums = np.zeros((n_groups, vectors.shape[1]), dtype=np.float64)
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]
    for start in range(0, len(order), rows_per_block):
        rows = order[start:start + rows_per_block]
        group = codes[rows]
        first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        sums[group[first]] += np.add.reduceat(vectors[rows].astype(np.float64), first, axis=0)  # groups unique here
    return sums


def aggregate(frame: pd.DataFrame, by: str | list[str], column: str | None = None) -> pd.DataFrame:
    """Mean vector per group of rows: e.g. one vector per note from its sentences, or per specialty.

    Args:
        frame: a predict() DataFrame (any level), or any DataFrame with a vector column.
        by: column(s) or index level name(s) to group by (``"origin_index"``, ``"specialty"``, ...). Rows with a
            null key form their own group (nothing is dropped).
        column: the vector column, if the frame has several ``*_embeddings`` columns.

    Returns:
        One row per group, indexed by the group keys under their own names (so ``notes.merge(result,
        on="specialty")`` or ``notes.join(result)`` joins it back), with the mean vector in a column of the same
        name as the input's (1-D float32 arrays), ``n_vectors`` (rows averaged) and ``n_null`` (rows skipped
        because their vector is null or NaN). A group with no vector at all keeps its row with a ``None`` vector.
    """
    name = embedding_column(frame, column)
    keys = _grouping_keys(frame, by)
    vectors = to_numpy(frame, name)
    usable = usable_rows(vectors)
    grouped = frame.groupby(keys, sort=True, dropna=False)
    codes = grouped.ngroup().to_numpy()
    groups = grouped.size().index
    n_groups = len(groups)
    sums = _group_sums(vectors, np.where(usable, codes, -1), n_groups)
    n_vectors = np.bincount(codes[usable], minlength=n_groups)
    n_null = np.bincount(codes[~usable], minlength=n_groups)
    means = (sums / np.maximum(n_vectors, 1)[:, None]).astype(np.float32)
    cells = [means[g] if n_vectors[g] else None for g in range(n_groups)]
    return pd.DataFrame({name: cells, "n_vectors": n_vectors, "n_null": n_null}, index=groups)


def to_wide(frame: pd.DataFrame, column: str | None = None, prefix: str = WIDE_PREFIX,
            vectors_only: bool = False) -> pd.DataFrame:
    """The DataFrame with its vector column spread into one float32 column per dimension.

    Columns ``dim_0 ... dim_{d-1}`` (``prefix`` changes the name) replace the vector column; the index (names
    included) and, unless ``vectors_only``, the other columns are kept, so the result joins back to the input
    with one ``merge``. Rows without a vector are NaN rows, never dropped.
    """
    name = embedding_column(frame, column)
    vectors = to_numpy(frame, name)
    names = [f"{prefix}{i}" for i in range(vectors.shape[1])]
    rest = frame.iloc[:, 0:0] if vectors_only else frame.drop(columns=[name])
    clash = sorted(set(names) & set(map(str, rest.columns)))
    if clash:
        raise InvalidInputError(
            "E202", f"to_wide() would write columns {clash[:5]} that the DataFrame already has; pass another "
                    f"prefix, e.g. nlu_lite.to_wide(df, prefix='vec_').")
    wide = pd.DataFrame(vectors, columns=names, copy=False)
    wide.index = rest.index  # positional: indexes of predict() frames repeat labels
    return pd.concat([rest, wide], axis=1)
