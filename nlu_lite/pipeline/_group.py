"""Several models in one call (NLU's ``nlu.load("a b")``): the text segmented once, one vector column per model.

Token, sentence, document and span rows come from spaCy and the level, not from a model, so they are the same
for every model; each model then encodes them with its own tokenizer, windows, pooling, prompts, precision and
cache, and its vectors land in its own column (named as for one model) beside the shared rows.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Hashable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .. import levels, provenance
from ..cache import fingerprint
from ..errors import InvalidInputError, InvalidOptionError
from ..text import _spans as span_input
from ..tools import _spark as spark
from . import _documents as documents
from . import _prefetch as prefetch
from . import _resources as resources
from ._bundle import write_group
from ._engine import Engine, NoWordpieceWarning, Written, collect


class PipelineGroup:
    """Several loaded models over the same rows; ``predict`` returns one DataFrame with a vector column each."""

    def __init__(self, pipelines: list[Engine]) -> None:
        columns = [p.column_name for p in pipelines]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if len(pipelines) < 2 or repeated:
            raise InvalidOptionError("E073", f"Several models need at least two different ones; got {columns} "
                                     f"(repeated: {repeated}). Name each model once: load('minilm clinical_bert').")
        self.pipelines = tuple(pipelines)
        """The models' pipelines, in the order given (each is a ``Pipeline``)."""

    def __repr__(self) -> str:
        return f"PipelineGroup({[p.entry.name for p in self.pipelines]})"

    @property
    def column_names(self) -> tuple[str, ...]:
        """The vector column of each model, in order."""
        return tuple(p.column_name for p in self.pipelines)

    def set(self, **options: object) -> PipelineGroup:
        """Change defaults of ``predict`` for every model; returns the group."""
        for pipe in self.pipelines:
            pipe.set(**options)
        return self

    def save(self, folder: str | os.PathLike) -> Path:
        """Write every model's bundle (as ``Pipeline.save``) into ``folder``, one subfolder each, with a manifest;
        ``nlu_lite.load(folder)`` restores the group, with identical vectors, offline."""
        return write_group(list(self.pipelines), folder)

    def predict(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                id_column: str | None = None, spans: object = None, output_path: str | os.PathLike | None = None,
                **options: object) -> pd.DataFrame | Written:
        """As ``Pipeline.predict``, with one vector column per model (``column_names``).

        ``output_level`` defaults to the finest of the models' own defaults (token before sentence); options
        apply to every model (per-model options are given at load: ``load({"a": {...}, "b": {...}})``). The
        provenance record is ``{"format": ..., "models": {column: each model's record}}``. A Spark DataFrame is
        computed on the executors in one ``mapInPandas`` (each batch segmented once; ``ship_model`` and
        ``vectors`` as for one model, per model) and a Spark DataFrame is returned, the record on every vector
        column.
        """
        if documents.is_spark_dataframe(data):
            return spark.predict_spark(self, data, output_level, text_column, id_column, options, spans, output_path)
        return collect(self.predict_iter, data, output_level, text_column, id_column, spans, output_path, options)

    def embed(self, texts: object, **options: object) -> dict[str, np.ndarray]:
        """One ``(n, dim)`` document-vector array per model, by vector column name."""
        return {p.column_name: p.embed(texts, **options) for p in self.pipelines}

    def predict_iter(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                     spans: object = None, **options: object) -> Iterator[pd.DataFrame]:
        """Like ``predict`` but yields one DataFrame per chunk of ``chunk_size`` input rows."""
        data = documents.as_pandas(data)
        if documents.is_spark_dataframe(data):
            raise InvalidInputError("E075", "predict_iter() reads pandas-side inputs, not a Spark DataFrame.")
        level = output_level or ("span" if spans is not None else self._default_level())
        settings = [p.settings.updated("predict()", **{**options, "output_level": level}) for p in self.pipelines]
        request = None if spans is None else span_input.request(spans, None)
        if isinstance(request, span_input.TableSpans):
            known = documents.row_ids(data)
            if known is not None:
                request.check_ids(known)
        records = [p.provenance(s) for p, s in zip(self.pipelines, settings)]
        record = self.record(records)
        key_bases = [fingerprint(r) if p.cache is not None else "" for p, r in zip(self.pipelines, records)]
        segments = levels.get(level).segments
        shared = segments and len({p.sentence_splitter for p in self.pipelines}) == 1  # one segmentation for all
        if segments:
            for pipe in self.pipelines:
                pipe._spacy()  # before the bar's clock starts
        for pipe in self.pipelines:
            pipe.last_stats = Counter()
        no_wordpiece: Counter = Counter()
        total = len(data) if hasattr(data, "__len__") and not isinstance(data, str) else None
        processes = self.pipelines[0]._segment_processes(settings[0], total) if segments else 0

        def prepare(docs: documents.Documents) -> tuple[documents.Documents, list]:
            """A chunk's text side for every model: segmented once when the models share a splitter."""
            seg = self.pipelines[0]._segment(documents.present_texts(docs)[1], processes) if shared else None
            return docs, [pipe._prepare_chunk(docs, s, request, seg, processes)
                          for pipe, s in zip(self.pipelines, settings)]

        with resources.progress_bar(total=total, desc=f"nlu_lite {level} x{len(self.pipelines)}",
                                    enabled=settings[0].progress) as bar:
            for docs, prepared in prefetch.ahead(documents.chunks(data, text_column, settings[0].chunk_size),
                                                 prepare, settings[0].prefetch):
                frame, previous = None, None
                for pipe, s, key_base, ready in zip(self.pipelines, settings, key_bases, prepared):
                    part, missing = pipe._finish_chunk(ready, s, key_base)
                    no_wordpiece[pipe.column_name] += missing
                    frame = part if frame is None else _add_vectors(frame, part, pipe.column_name, previous)
                    previous = pipe.column_name
                provenance.attach(frame, record)
                bar.update(len(docs.texts))
                resources.return_freed_memory()
                yield frame
        if request is not None:
            request.finish()
        if any(no_wordpiece.values()):
            counts = ", ".join(f"{n} for {c}" for c, n in no_wordpiece.items() if n)
            warnings.warn(f"Rows consisting only of characters a model's tokenizer drops have NaN vectors ({counts}); "
                          "filter them or clean the text.", NoWordpieceWarning, stacklevel=3)

    def record(self, records: list[dict]) -> dict:
        """The group's provenance record from each model's: ``{"format": ..., "models": {column: record}}``."""
        return {"format": provenance.FORMAT, "models": dict(zip(self.column_names, records))}

    def _default_level(self) -> str:
        names = levels.names()
        return min((p.settings.output_level for p in self.pipelines), key=names.index)


def _add_vectors(frame: pd.DataFrame, part: pd.DataFrame, column: str, after: str) -> pd.DataFrame:
    """``frame`` with ``part``'s vector column placed right after the column ``after`` (the previous model's)."""
    if len(part) != len(frame) or not part.index.equals(frame.index):
        raise InvalidInputError("E076", f"The rows of {column!r} differ from the first model's ({len(part)} vs "
                                f"{len(frame)}); this is a bug in nlu_lite: please report it with the input.")
    frame.insert(list(frame.columns).index(after) + 1, column, part[column].to_list())
    return frame
