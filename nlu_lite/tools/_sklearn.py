"""A scikit-learn transformer: texts in, one document vector per text out (``pip install scikit-learn``).

``EmbeddingTransformer`` holds only the model's name and options, so ``clone`` and pickling are cheap and
never copy weights: the pipeline is loaded on first ``fit``/``transform`` in each process and shared by every
transformer with the same model and load options (cross-validation clones load it once).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..pipeline._pipeline import Pipeline

try:
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils.validation import check_is_fitted
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("EmbeddingTransformer needs scikit-learn: pip install 'nlu-lite[sklearn]' "
                      "(or pip install scikit-learn).") from e

_PIPELINES: dict[str, Pipeline] = {}
_LOCK = threading.Lock()


def _pipeline(model: str | None, load_options: dict | None) -> Pipeline:
    """The loaded pipeline for ``model`` and ``load_options``, loaded once per process."""
    key = json.dumps([model, load_options or {}], sort_keys=True, default=str)
    with _LOCK:
        if key not in _PIPELINES:
            from ..pipeline._load import load

            _PIPELINES[key] = load(model, **(load_options or {}))
        return _PIPELINES[key]


def _texts(X: object, text_column: str | None) -> list[object]:
    """The texts of ``X``: a DataFrame's text column, a Series, a list/tuple, or a 1-D (or one-column) array."""
    if isinstance(X, pd.DataFrame):
        column = text_column if text_column is not None else ("text" if "text" in X.columns or X.shape[1] != 1
                                                              else X.columns[0])
        if column not in X.columns:
            raise InvalidInputError(
                "E210", f"The DataFrame has no column {column!r}; its columns are {list(X.columns)}. Name the text "
                        f"column: EmbeddingTransformer(text_column={str(X.columns[0])!r}).")
        return X[column].tolist()
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray) and (X.ndim == 1 or (X.ndim == 2 and X.shape[1] == 1)):
        return X.ravel().tolist()
    if isinstance(X, (list, tuple)):
        return list(X)
    shape = getattr(X, "shape", None)
    raise InvalidInputError(
        "E211", f"EmbeddingTransformer takes texts: a DataFrame with a text column, a Series, a list or a 1-D "
                f"array; got {type(X).__name__}{'' if shape is None else f' of shape {shape}'}. Select the "
                f"column first, e.g. transformer.fit_transform(df['note']).")


class EmbeddingTransformer(TransformerMixin, BaseEstimator):
    """Texts to document vectors, for scikit-learn pipelines.

    >>> from sklearn.linear_model import LogisticRegression                         # doctest: +SKIP
    >>> from sklearn.pipeline import make_pipeline                                  # doctest: +SKIP
    >>> clf = make_pipeline(EmbeddingTransformer(), LogisticRegression(max_iter=1000))  # doctest: +SKIP
    >>> notes = nlu_lite.sample_notes()                                             # doctest: +SKIP
    >>> clf.fit(notes["text"], notes["specialty"])                                  # doctest: +SKIP

    Args:
        model: what ``nlu_lite.load`` takes as name: a catalog name, an alias or a model folder
            (default: the packaged all-MiniLM-L6-v2).
        text_column: the text column of DataFrame inputs (default ``text``, or the only column).
        load_options: keyword arguments of ``nlu_lite.load`` (``device``, ``precision``, ``threads``, ``path`` ...).
        predict_options: per-call options of ``predict`` (``pooling``, ``normalize``, ``max_wordpieces`` ...).

    Empty texts (``None``, ``NaN``, ``""``) give NaN rows: the output always has one row per input row.
    """

    def __init__(self, model: str | None = None, *, text_column: str | None = None,
                 load_options: dict | None = None, predict_options: dict | None = None) -> None:
        self.model = model
        self.text_column = text_column
        self.load_options = load_options
        self.predict_options = predict_options

    def _pipe(self) -> Pipeline:
        return _pipeline(self.model, self.load_options)

    def fit(self, X: object, y: object = None) -> EmbeddingTransformer:
        """Load the model (once per process) and record the output width; nothing is learnt from ``X``."""
        _texts(X, self.text_column)
        pipe = self._pipe()
        self.n_features_out_ = pipe.encoder.dim
        self.column_name_ = pipe.column_name
        return self

    def transform(self, X: object) -> np.ndarray:
        """An ``(n, dim)`` float32 array, row ``k`` = the document vector of text ``k`` (NaN for empty texts)."""
        from ._vectors import embed

        check_is_fitted(self, "n_features_out_")
        options = {"progress": False, **(self.predict_options or {})}
        return embed(self._pipe(), _texts(X, self.text_column), **options)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names ``dim_0 ... dim_{d-1}`` (the names ``nlu_lite.to_wide`` writes)."""
        from ._vectors import WIDE_PREFIX

        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"{WIDE_PREFIX}{i}" for i in range(self.n_features_out_)], dtype=object)
