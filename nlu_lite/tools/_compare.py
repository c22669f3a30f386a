"""Which model for my data: each model embeds the user's texts once, then one row of scores and costs per model.

``compare(models, texts, labels=...)`` scores classification (cross-validated k-NN and logistic regression,
silhouette); ``compare(models, texts, queries=..., relevant=...)`` scores retrieval (recall@k, MRR). Both add the
vector width, the seconds and wordpieces per second of the embedding, and its peak memory. Needs scikit-learn
(``pip install 'nlu-lite[sklearn]'``); ``nlu_lite.plot_compare`` draws the table.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, InvalidOptionError
from ..pipeline import _documents as documents
from ..pipeline._frames import to_numpy, usable_rows
from ..pipeline._pooling import l2_normalize
from ._vectors import aggregate

if TYPE_CHECKING:
    from ..pipeline._engine import Engine

CLASSIFICATION = ("knn", "logreg", "silhouette")
RETRIEVAL = ("recall@1", "recall@5", "recall@10", "mrr")
_RECALL = re.compile(r"recall@([1-9][0-9]*)")
_QUERY_BLOCK = 1024  # queries scored at once: a (1024, corpus) float32 block


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError as e:
        raise ImportError("compare() needs scikit-learn: pip install 'nlu-lite[sklearn]' "
                          "(or pip install scikit-learn).") from e


# ---- inputs ------------------------------------------------------------------------------------------------------

def _texts(data: object, text_column: str | None) -> tuple[list[object], pd.DataFrame | None]:
    """The texts of ``data`` (a DataFrame's text column, a Series, a list, a 1-D array) and the frame, if any."""
    data = documents.as_pandas(data)
    if isinstance(data, pd.DataFrame):
        column = text_column if text_column is not None else ("text" if "text" in data.columns or data.shape[1] != 1
                                                              else data.columns[0])
        if column not in data.columns:
            raise InvalidInputError("E512", f"The DataFrame has no text column {column!r}; its columns are "
                                    f"{list(data.columns)}. Name it: compare(..., text_column='note').")
        return data[column].tolist(), data
    if isinstance(data, pd.Series):
        return data.tolist(), None
    if isinstance(data, np.ndarray) and data.ndim == 1:
        return data.tolist(), None
    if isinstance(data, (list, tuple)):
        return list(data), None
    got = f"one string {data[:40]!r}" if isinstance(data, str) else type(data).__name__
    raise InvalidInputError("E505", f"compare() takes several texts, as a list, Series, 1-D array or DataFrame; got "
                            f"{got}. E.g. compare('minilm', df['note'], labels=df['specialty']).")


def _check_texts(texts: list[object], what: str) -> None:
    empty = [k for k, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if empty:
        raise InvalidInputError("E507", f"{len(empty)} of the {len(texts)} {what} are empty or not strings (positions "
                                f"{empty[:10]}{' ...' if len(empty) > 10 else ''}): every row is scored, so each "
                                "needs text. Drop them first, e.g. df = df[df['note'].str.strip().astype(bool)].")


def _labels(labels: object, frame: pd.DataFrame | None, n: int) -> np.ndarray:
    if isinstance(labels, str) and frame is not None and labels in frame.columns:
        labels = frame[labels]
    elif isinstance(labels, str) or not hasattr(labels, "__len__"):
        columns = "" if frame is None else f"; the DataFrame's columns are {list(frame.columns)}"
        raise InvalidInputError("E515", f"labels={labels!r} is neither one label per text (a list, Series or "
                                f"array) nor a column of a DataFrame of texts{columns}.")
    values = pd.Series(list(labels) if not isinstance(labels, pd.Series) else labels.to_list(), dtype=object)
    if len(values) != n:
        raise InvalidInputError("E500", f"labels has {len(values)} values but there are {n} texts; give exactly "
                                "one label per text, in the same order.")
    missing = np.flatnonzero(values.isna().to_numpy())
    if len(missing):
        raise InvalidInputError("E508", f"{len(missing)} labels are missing (positions {missing[:10].tolist()}); "
                                "every row is scored, so drop those rows or give them a label.")
    return values.astype(str).to_numpy() if values.map(type).nunique() > 1 else values.to_numpy()


def _relevant(relevant: object, n_queries: int, n_texts: int) -> list[np.ndarray]:
    """Per query, the positions in ``texts`` of its relevant texts (``None``: query ``k`` matches text ``k``)."""
    if relevant is None and n_queries <= n_texts:
        return [np.array([k]) for k in range(n_queries)]
    if isinstance(relevant, str) or not hasattr(relevant, "__len__") or len(relevant) != n_queries:
        got = "none" if relevant is None else len(relevant) if hasattr(relevant, "__len__") else repr(relevant)
        raise InvalidInputError("E509", f"relevant= must hold one entry per query ({n_queries}; without it query k "
                                f"matches text k, which needs no more queries than the {n_texts} texts), got {got}; "
                                "each entry is the position of a relevant text, or a list of positions.")
    out = []
    for k, item in enumerate(relevant):
        positions = np.atleast_1d(np.asarray(item))
        if (positions.size == 0 or positions.dtype.kind not in "iu" or positions.ndim != 1
                or positions.min() < 0 or positions.max() >= n_texts):
            raise InvalidInputError("E517", f"relevant[{k}] = {item!r} is not a non-empty position or list of "
                                    f"positions in texts (0 .. {n_texts - 1}).")
        out.append(np.unique(positions))
    return out


def _metrics(metrics: Sequence[str] | None, retrieval: bool) -> tuple[str, ...]:
    if metrics is None:
        return RETRIEVAL if retrieval else CLASSIFICATION
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if retrieval:
        valid = [m for m in metrics if isinstance(m, str) and (m == "mrr" or _RECALL.fullmatch(m))]
    else:
        valid = [m for m in metrics if m in CLASSIFICATION]
    wrong = [m for m in metrics if m not in valid]
    if wrong or not metrics:
        task = ("retrieval (queries=...): 'recall@K' for any K >= 1, 'mrr'" if retrieval
                else f"classification (labels=...): {list(CLASSIFICATION)}")
        raise InvalidOptionError("E503", f"Unknown metric(s) {wrong or metrics!r} for {task}; e.g. metrics="
                                 f"{list(RETRIEVAL if retrieval else CLASSIFICATION)}.")
    return tuple(dict.fromkeys(metrics))


# ---- models ------------------------------------------------------------------------------------------------------

def _model_items(models: object) -> list[tuple[str, object]]:
    """(row label, a Pipeline or ``(name, load options)``) per model, in order; names are checked, none loaded."""
    from ..pipeline._engine import Engine
    from ..pipeline._group import PipelineGroup
    from ..pipeline._load import _model_names

    def label_of(name: str) -> str:
        return Path(name).name if os.sep in name or name.startswith(".") else name

    def items_of(model: object) -> list[tuple[str, object]]:
        if isinstance(model, Engine):
            return [(model.entry.name, model)]
        if isinstance(model, PipelineGroup):
            return [(p.entry.name, p) for p in model.pipelines]
        if isinstance(model, str):
            # "a b" is NLU's several models; every name is checked here, before any model loads
            return [(label_of(n), (n, own)) for n, own in (_model_names(model) or _model_names([model]))]
        raise InvalidOptionError("E514", f"A model is a name, a folder, a loaded Pipeline or PipelineGroup, got "
                                 f"{type(model).__name__} {model!r}; e.g. compare(['minilm', pipe], ...).")

    if isinstance(models, Mapping):
        out = []
        for label, model in models.items():
            if isinstance(model, Mapping):  # load's form {name: options}; the key "model" names another model
                options = dict(model)
                model = options.pop("model", label)
            else:
                options = None
            found = items_of(model)
            if len(found) != 1:
                raise InvalidOptionError("E518", f"{label!r} names {len(found)} models; under one row name give one "
                                         "model (a name, a folder or a Pipeline).")
            chosen = found[0][1]
            out.append((str(label), chosen if options is None else (chosen[0], {**chosen[1], **options})))
    else:
        out = [item for model in (models if isinstance(models, (list, tuple)) else [models])
               for item in items_of(model)]
    labels = [label for label, _ in out]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if not out or repeated:
        raise InvalidOptionError("E506", f"compare() needs models with distinct names; got {labels} (repeated: "
                                 f"{repeated}). Name configurations of one model with a dict: compare({{'fp32': "
                                 "'minilm', 'int8': {'model': 'minilm', 'precision': 'int8'}}, ...).")
    return out


@contextmanager
def _peak_rss(result: dict) -> Iterator[None]:
    """Sets ``result["peak_rss_mb"]``: the process's peak resident memory during the block, above its resident
    memory at the start (Linux: the kernel's high-water mark, reset through /proc/self/clear_refs); NaN where
    the system offers no resettable peak."""
    status = Path("/proc/self/status")

    def read(field: str) -> float:
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise OSError(field)

    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
        start = read("VmRSS")
    except OSError:
        start = None
    yield
    result["peak_rss_mb"] = float("nan") if start is None else max(0.0, read("VmHWM") - start)


def _embed(pipe: Engine, texts: list[str], level: str, result: dict) -> np.ndarray:
    """One vector per text at ``level`` (finer levels: the mean of the text's rows), timed and counted."""
    frame = pipe.predict(texts, output_level=level, progress=False)
    result["wordpieces"] += int(pipe.last_stats["wordpieces"])
    if level == "document":
        return to_numpy(frame, pipe.column_name)
    means = aggregate(frame, by=documents.INDEX_NAME, column=pipe.column_name)
    cells = means[pipe.column_name].reindex(range(len(texts))).to_list()  # a text without vectors: a NaN row
    width = next((len(v) for v in cells if isinstance(v, np.ndarray)), 0)
    return np.stack([v if isinstance(v, np.ndarray) else np.full(width, np.nan, np.float32) for v in cells])


def _vectors_of(label: str, pipe: Engine, texts: list[str], queries: list[str] | None, level: str,
                result: dict) -> tuple[np.ndarray, np.ndarray | None]:
    pipe._spacy()  # spaCy's load is not the model's cost, nor are the runtime's first-call set-ups:
    pipe.predict(texts[:1], output_level=level, progress=False)  # one warm-up call, outside the clock
    result["wordpieces"] = 0
    with _peak_rss(result):
        start = time.perf_counter()
        vectors = _embed(pipe, texts, level, result)
        query_vectors = None if queries is None else _embed(pipe, queries, level, result)
        result["seconds"] = time.perf_counter() - start
    for what, array in (("texts", vectors), ("queries", query_vectors)):
        if array is not None and not usable_rows(array).all():
            bad = np.flatnonzero(~usable_rows(array))
            raise InvalidInputError("E516", f"{label}: {len(bad)} {what} give no vector (positions {bad[:10].tolist()})"
                                    ": they hold only characters its tokenizer drops. Clean or drop them.")
    result["dim"] = vectors.shape[1]
    result["wordpieces_per_s"] = result["wordpieces"] / max(result["seconds"], 1e-9)
    return vectors, query_vectors


# ---- scores ------------------------------------------------------------------------------------------------------

def folds_of(labels: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) positions of stratified ``folds``-fold cross-validation, shuffled with ``seed``."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels))


def _check_classes(labels: np.ndarray, folds: int, k: int) -> None:
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise InvalidInputError("E501", f"labels hold a single class {classes.tolist()}; comparing how models separate "
                                "labels needs at least two classes.")
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise InvalidOptionError("E511", f"folds={folds!r} must be an integer >= 2 (cross-validation folds).")
    small = {str(c): int(n) for c, n in zip(classes, counts) if n < folds}
    if small:
        raise InvalidInputError("E502", f"Stratified {folds}-fold cross-validation needs at least {folds} rows of "
                                f"each class; these have fewer: {small}. Pass folds={max(2, int(counts.min()))} "
                                "(if >= 2), or drop or merge those classes.")
    smallest_train = len(labels) - int(np.ceil(len(labels) / folds))
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= smallest_train:
        raise InvalidOptionError("E519", f"k={k!r} (k-NN neighbours) must be an integer from 1 to {smallest_train}, "
                                 f"the smallest training fold of {len(labels)} rows in {folds} folds.")


def _classification(vectors: np.ndarray, labels: np.ndarray, splits, metrics: tuple[str, ...], k: int,
                    seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, silhouette_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    models = {"knn": lambda: KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute"),
              "logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))}
    out = {}
    for name in [m for m in metrics if m in models]:
        predicted = np.empty(len(labels), dtype=labels.dtype)
        for train, test in splits:  # out-of-fold predictions: every row predicted once, by a model not fit on it
            predicted[test] = models[name]().fit(vectors[train], labels[train]).predict(vectors[test])
        out[f"{name}_accuracy"] = float(np.mean(predicted == labels))
        out[f"{name}_macro_f1"] = float(f1_score(labels, predicted, average="macro"))
    if "silhouette" in metrics:
        out["silhouette"] = float(silhouette_score(vectors, labels, metric="cosine"))
    return out


def _retrieval(corpus: np.ndarray, queries: np.ndarray, relevant: list[np.ndarray], metrics: tuple[str, ...]) -> dict:
    """Cosine ranking of the whole corpus per query: recall@k (share of a query's relevant texts in its top k,
    averaged over queries) and MRR (mean of 1 / rank of the first relevant text, ranks from 1)."""
    corpus, queries = l2_normalize(corpus.astype(np.float32)), l2_normalize(queries.astype(np.float32))
    ranks = []  # per query: the 1-based rank of each relevant text (ties ranked first: count of strictly better)
    for start in range(0, len(queries), _QUERY_BLOCK):
        scores = queries[start:start + _QUERY_BLOCK] @ corpus.T
        for row, positions in zip(scores, relevant[start:start + _QUERY_BLOCK]):
            ranks.append(1 + (row[None, :] > row[positions][:, None]).sum(axis=1))
    out = {}
    for metric in metrics:
        if metric == "mrr":
            out["mrr"] = float(np.mean([1.0 / r.min() for r in ranks]))
        else:
            k = int(_RECALL.fullmatch(metric)[1])
            out[metric] = float(np.mean([np.mean(r <= k) for r in ranks]))
    return out


def compare(models: object, texts: object, labels: object = None, *, queries: object = None,
            relevant: object = None, level: str = "document", metrics: Sequence[str] | None = None, folds: int = 5,
            k: int = 5, seed: int = 0, text_column: str | None = None) -> pd.DataFrame:
    """Embed the same texts with each model and score how well its vectors serve the task, and at what cost.

    Args:
        models: a model name, folder or loaded ``Pipeline``; several as ``"a b"`` (NLU's form), a list, a
            ``PipelineGroup``, or a dict ``{row name: model}`` whose values are a name, a Pipeline, or
            ``load()`` options (``{"int8": {"model": "minilm", "precision": "int8"}}``; without ``"model"`` the
            key is the name). Names are checked before anything loads; each is loaded once, used, and released
            before the next loads.
        texts: the texts: a list, Series, 1-D array, or a DataFrame with ``text_column``. Every one must be
            non-empty: every row is scored (E507).
        labels: classification: one label per text, or the name of a DataFrame column.
        queries: retrieval instead: query texts, ranked against ``texts`` by cosine similarity.
        relevant: per query, the position in ``texts`` of its relevant text, or a list of positions; default:
            query ``k`` matches text ``k`` (pairs, with any further texts as distractors).
        level: the level each text is embedded at: ``"document"`` (default; one sequence per text, windowed
            where longer than the model's limit), or a finer level (``"sentence"``, ``"token"``) whose rows are
            averaged into one vector per text (``nlu_lite.aggregate``).
        metrics: classification: any of ``"knn"``, ``"logreg"``, ``"silhouette"`` (default all); retrieval:
            ``"recall@K"`` for any K, ``"mrr"`` (default recall@1, @5, @10 and MRR).
        folds: stratified cross-validation folds (shuffled with ``seed``); each class needs ``folds`` rows.
        k: neighbours of the k-NN classifier.
        seed: the seed of the folds and of logistic regression.
        text_column: the DataFrame's text column (default ``text``, or its only column).

    Returns:
        One row per model (index ``model``, in the order given): ``level``, ``rows`` (every text, each scored),
        ``dim`` (vector width), the scores, ``seconds`` (wall time of the embedding, queries included, the model
        loaded and warmed up on the first text), ``wordpieces`` (tokens the model encoded: specials and window
        overlaps included, repeated texts once, a vector cache's hits none), ``wordpieces_per_s``,
        ``peak_rss_mb`` (the process's peak resident memory during that model's embedding above its resident
        memory when the embedding started; Linux, NaN elsewhere) and ``load_s`` (NaN for a Pipeline passed in
        loaded). Classification scores come from the out-of-fold predictions of all rows:
        ``knn_accuracy``/``knn_macro_f1`` (k-NN, cosine distance, uniform votes), ``logreg_accuracy``/
        ``logreg_macro_f1`` (standardised vectors, logistic regression), and ``silhouette`` (cosine, all rows,
        by label); retrieval: ``recall@K``, ``mrr`` (full ranking). The settings are in
        ``df.attrs["compare"]``. ``nlu_lite.plot_compare(df)`` draws it.

    >>> df = nlu_lite.compare("minilm", notes["transcription"], labels=notes["medical_specialty"])  # doctest: +SKIP
    """
    _sklearn()
    from .. import levels
    from ..pipeline._load import load

    texts, frame = _texts(texts, text_column)
    _check_texts(texts, "texts")
    retrieval = queries is not None
    if retrieval == (labels is not None):
        raise InvalidOptionError("E504", "compare() scores either classification (labels=...) or retrieval "
                                 f"(queries=...); got {'both' if retrieval else 'neither'}.")
    chosen = _metrics(metrics, retrieval)
    if level not in levels.names() or level == "span":
        raise InvalidOptionError("E510", f"level={level!r} is not one compare() embeds at; choose one of "
                                 f"{[n for n in levels.names() if n != 'span']} (document is the default).")
    if retrieval:
        query_texts, _ = _texts(queries, None)
        _check_texts(query_texts, "queries")
        wanted = _relevant(relevant, len(query_texts), len(texts))
    else:
        query_texts, wanted = None, None
        y = _labels(labels, frame, len(texts))
        _check_classes(y, folds, k)
        splits = folds_of(y, folds, seed)
    rows = []
    for label, model in _model_items(models):
        result = {"model": label, "level": level, "rows": len(texts)}
        if retrieval:
            result["queries"] = len(query_texts)
        load_s = float("nan")
        if isinstance(model, tuple):  # a name: loaded here, released after its row
            start = time.perf_counter()
            name, options = model
            model = load(name, **options)
            load_s = time.perf_counter() - start
        vectors, query_vectors = _vectors_of(label, model, texts, query_texts, level, result)
        scores = (_retrieval(vectors, query_vectors, wanted, chosen) if retrieval
                  else _classification(vectors, y, splits, chosen, k, seed))
        rows.append({**result, **scores, "load_s": load_s})
        del model
    costs = ["dim", "seconds", "wordpieces", "wordpieces_per_s", "peak_rss_mb", "load_s"]
    table = pd.DataFrame(rows).set_index("model")
    first = ["level", "rows"] + (["queries"] if retrieval else [])
    table = table[first + [c for c in table.columns if c not in first + costs] + costs]
    table.attrs["compare"] = {"task": "retrieval" if retrieval else "classification", "metrics": list(chosen),
                              "level": level, "folds": None if retrieval else folds, "k": None if retrieval else k,
                              "seed": seed}
    return table
