"""The ``Pipeline`` that ``load()`` returns: text in, a DataFrame of vectors out.

The stages of ``predict``, one function each:
input rows (documents.py) -> tokens and sentences (segmentation.py) -> wordpieces, windows and
batches (batching.py) -> encoder forward (encoder.py) -> token / sentence / document vectors
(pooling.py) -> DataFrame (frames.py).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import batching, documents, frames, model_catalog, pooling, runtime, segmentation, sources, spark
from .about import __version__
from .encoder import Encoder
from .errors import InvalidInputError, InvalidOptionError
from .model_catalog import CatalogEntry
from .settings import Settings

SENTENCE_SPLITTERS = ("clinical", "sentencizer")
BUNDLE_FILE = "nlu_lite.json"


class NoWordpieceWarning(UserWarning):
    """Some tokens consist only of characters the model's tokenizer drops; their vectors are NaN."""


class Pipeline:
    """A loaded model with its text processing; call ``predict`` to get embeddings as a DataFrame."""

    def __init__(self, entry: CatalogEntry, source: sources.ModelSource, encoder: Encoder,
                 sentence_splitter: str, settings: Settings) -> None:
        self.entry = entry
        self.source = source
        self.encoder = encoder
        self.sentence_splitter = sentence_splitter
        self.settings = settings.validate()
        self._nlp = segmentation.build_nlp(sentence_splitter)
        self._tokenize_lock = threading.Lock()
        self.last_stats: Counter = Counter()
        """Seconds per stage and wordpiece counts (real, padded) of the latest ``predict`` call."""

    def __repr__(self) -> str:
        return (f"Pipeline({self.entry.name!r}, source={self.source.kind}:{self.source.folder}, "
                f"dim={self.encoder.dim}, device={self.encoder.device}, precision={self.encoder.precision}, "
                f"level={self.settings.output_level}, subword_pooling={self.settings.subword_pooling})")

    def print_info(self) -> None:
        """Print the model, where it came from, how it runs, and every setting with how to change it."""
        e, enc, st = self.entry, self.encoder, self.settings
        limit = self._window_size(st)
        casing = {True: "lowercased", False: "cased", None: "as the tokenizer says"}[e.do_lower_case]
        lines = [
            f"model            {e.name}  ({e.description})",
            f"weights          {e.hf_id} @ {e.revision}, licence: {e.license}",
            f"source           {self.source.kind}: {self.source.folder}",
            f"device           {enc.device}, precision {enc.precision}, torch threads {torch.get_num_threads()}",
            f"vectors          {enc.dim} floats per row in column {self.column_name!r}",
            f"casing           {casing}",
            f"sentences        {self.sentence_splitter!r} splitter",
            f"window           {limit} wordpieces incl. [CLS]/[SEP]; longer sentences are windowed, never truncated",
            "",
            "settings (change with pipe.set(name=value) or per call: pipe.predict(data, name=value)):",
        ]
        help_text = {
            "output_level": "'token', 'sentence' or 'document'",
            "subword_pooling": "token vector from its wordpieces: 'first', 'last', 'mean', 'first_last'",
            "pooling": "sentence/document vector: 'mean' (= sentence-transformers), 'cls', 'max'",
            "normalize": "L2-normalise sentence/document vectors",
            "positions": "add begin/end character offsets",
            "batch_tokens": "padded wordpieces per forward batch",
            "max_batch_size": "sequences per forward batch",
            "chunk_size": "input rows per chunk (predict_iter yields one DataFrame per chunk)",
            "max_wordpieces": "window size; None = the model's limit",
            "progress": "progress bar on long predictions",
        }
        for name, value in asdict(st).items():
            lines.append(f"  {name:16} {value!r:12} {help_text[name]}")
        print("\n".join(lines))

    @property
    def column_name(self) -> str:
        """Name of the embedding column of this pipeline's DataFrames."""
        return self.entry.column_name

    def save(self, folder: str | os.PathLike) -> Path:
        """Write model, tokenizer, catalog entry and settings to ``folder``.

        ``nlu_lite.load(path=folder)`` then reproduces identical vectors, with no network: the model files
        are copied as they are (not re-serialised), with ``nlu_lite.json`` beside them.
        """
        target = Path(folder).expanduser()
        if target.exists() and any(target.iterdir()):
            raise InvalidOptionError("E044", f"Folder '{target}' exists and is not empty; pass a new or empty folder.")
        target.mkdir(parents=True, exist_ok=True)
        for item in sorted(self.source.folder.iterdir()):
            if item.is_file() and item.name in sources.MODEL_FILES:
                shutil.copy2(item, target / item.name)
        entry = {f: getattr(self.entry, f) for f in CatalogEntry.__dataclass_fields__}
        entry["aliases"] = list(entry["aliases"])
        bundle = {"nlu_lite_version": __version__, "entry": entry, "source": str(self.source.folder),
                  "sentence_splitter": self.sentence_splitter, "settings": asdict(self.settings)}
        (target / BUNDLE_FILE).write_text(json.dumps(bundle, indent=2), encoding="utf-8")
        return target

    def set(self, **options: object) -> Pipeline:
        """Change defaults of ``predict`` (e.g. ``pipe.set(subword_pooling='mean')``); returns the pipeline."""
        self.settings = self.settings.updated("set()", **options)
        return self

    def recipe(self) -> dict:
        """What another process needs to rebuild this pipeline from local files (used on Spark executors)."""
        return {"name": self.entry.name if self.entry in model_catalog.entries() else None,
                "path": str(self.source.folder), "precision": self.encoder.precision, "threads": self.encoder.threads,
                "sentence_splitter": self.sentence_splitter, "settings": asdict(self.settings)}

    def predict(self, data: object, output_level: str | None = None, *, text_column: str | None = None,
                id_column: str | None = None, **options: object) -> pd.DataFrame:
        """Embed ``data`` and return a DataFrame.

        Args:
            data: a string, a list/tuple/array/Series/iterable of strings, or a DataFrame with a text column.
                ``None``/``NaN``/empty entries keep their row with null outputs.
            output_level: ``"token"``, ``"sentence"`` or ``"document"`` (default: the pipeline's).
            text_column: the DataFrame column holding the text (default ``"text"``); other columns are kept.
            id_column: a column identifying the rows, used as ``origin_index`` (DataFrames; for a Spark DataFrame
                without it, an id column is added with ``monotonically_increasing_id()``).
            **options: per-call overrides of the settings: ``positions`` (add ``begin``/``end``, end exclusive),
                ``subword_pooling`` (``first``, ``last``, ``mean``, ``first_last``), ``pooling`` (``mean``,
                ``cls``, ``max``), ``normalize`` (L2-normalise sentence/document vectors), ``batch_tokens``,
                ``max_batch_size``, ``chunk_size``.

        Returns:
            One row per token, sentence or document, indexed by the input's index (``origin_index``),
            with the text, ``sentence_id`` (token and sentence level), optional ``begin``/``end`` and the
            embedding column (1-D float32 arrays), then the input DataFrame's other columns.
        """
        if spark.is_spark_dataframe(data):  # pyspark.sql.DataFrame in, pyspark.sql.DataFrame out
            return spark.predict_spark(self, data, output_level, text_column, id_column, options)
        if id_column is not None:
            if not isinstance(data, pd.DataFrame) or id_column not in data.columns:
                raise InvalidInputError("E045", f"id_column={id_column!r} must name a column of the input DataFrame.")
            data = data.set_index(id_column)
        parts = list(self.predict_iter(data, output_level, text_column=text_column, **options))
        return parts[0] if len(parts) == 1 else pd.concat(parts)

    def predict_iter(self, data: object, output_level: str | None = None, *, text_column: str | None = None,
                     **options: object) -> Iterator[pd.DataFrame]:
        """Like ``predict`` but yields one DataFrame per chunk of ``chunk_size`` input rows.

        Memory stays bounded by the chunk, whatever the input's length; generators are read lazily.
        """
        if spark.is_spark_dataframe(data):
            raise InvalidInputError(
                "E046", "predict_iter() reads pandas-side inputs; for a Spark DataFrame call predict(), "
                                    "which returns a Spark DataFrame computed on the executors.")
        if output_level is not None:
            options["output_level"] = output_level
        settings = self.settings.updated("predict()", **options)
        self.last_stats = Counter()
        empty_tokens = 0
        total = len(data) if hasattr(data, "__len__") and not isinstance(data, str) else None
        with runtime.progress_bar(total=total, unit="doc", desc=f"nlu_lite {settings.output_level}", delay=1.0,
                  disable=not settings.progress, leave=False) as bar:
            for docs in documents.chunks(data, text_column, settings.chunk_size):
                frame, missing = self._predict_chunk(docs, settings)
                empty_tokens += missing
                bar.update(len(docs.texts))
                runtime.return_freed_memory()
                yield frame
        if empty_tokens:
            warnings.warn(
                f"{empty_tokens} token(s) consist only of characters the model's tokenizer drops (e.g. control "
                "or zero-width characters); their vectors are NaN. Filter them with df[df[col].map(np.isfinite"
                ").map(np.all)] or clean the text.", NoWordpieceWarning, stacklevel=3)

    def _predict_chunk(self, docs: documents.Documents, s: Settings) -> tuple[pd.DataFrame, int]:
        """One chunk through every stage; returns its DataFrame and the count of tokens without wordpieces."""
        stats = self.last_stats
        present = np.asarray([k for k, t in enumerate(docs.texts) if t is not None], dtype=np.int64)
        texts = [docs.texts[k] for k in present.tolist()]
        with runtime.timed(stats, "segment_s"):
            seg, units = self._units(texts, s.output_level)
        with runtime.timed(stats, "tokenize_s"), self._tokenize_lock:  # HF tokenizers are not thread-safe
            wp = batching.tokenize_units(self.encoder.tokenizer, texts, *units)
        with runtime.timed(stats, "forward_s"):
            encoded = self._encode(wp, s)
        with runtime.timed(stats, "pool_s"):
            if s.output_level == "token":
                spans, vectors, columns = self._token_vectors(texts, seg, wp, encoded, s)
                missing = int(np.isnan(vectors[:, 0]).sum()) if len(vectors) else 0
            else:
                spans, vectors, columns = self._unit_vectors(seg, units, encoded, s)
                missing = 0
        with runtime.timed(stats, "dataframe_s"):
            doc, begin, end = spans
            if s.positions:
                columns.update(begin=begin, end=end)
            pieces = [texts[d][b:e] for d, b, e in zip(doc.tolist(), begin.tolist(), end.tolist())]
            frame = frames.assemble(docs, s.output_level, self.column_name, present[doc], pieces,
                                    vectors.numpy(), columns)
        return frame, missing

    def _units(self, texts: list[str], level: str):
        """The spans encoded as one sequence each: sentences, or whole (stripped) documents."""
        if level == "document":
            begin = np.asarray([len(t) - len(t.lstrip()) for t in texts], dtype=np.int64)
            end = np.asarray([len(t.rstrip()) for t in texts], dtype=np.int64)
            return None, (np.arange(len(texts), dtype=np.int64), begin, end)
        seg = segmentation.segment(texts, self._nlp)
        return seg, (seg.sentence_doc, seg.sentence_begin, seg.sentence_end)

    def _token_vectors(self, texts, seg, wp, wordpiece_vectors, s):
        """Token spans, their pooled wordpiece vectors (NaN where no wordpiece) and their columns."""
        doc_base = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t) + 1 for t in texts], out=doc_base[1:])  # one coordinate line for all documents
        wp_doc = np.repeat(seg.sentence_doc, np.diff(wp.unit_start))
        first, last = pooling.token_ranges(doc_base[seg.token_doc] + seg.token_begin,
                                           doc_base[seg.token_doc] + seg.token_end,
                                           doc_base[wp_doc] + wp.begin, doc_base[wp_doc] + wp.end)
        vectors = pooling.pool_subwords(wordpiece_vectors, first, last, s.subword_pooling)
        spans = (seg.token_doc, seg.token_begin, seg.token_end)
        return spans, vectors, {"sentence_id": seg.token_sentence}

    def _unit_vectors(self, seg, units, vectors, s):
        """Sentence or document spans, their (optionally normalised) vectors and their columns."""
        unit_doc = units[0]
        if s.normalize:
            vectors = pooling.l2_normalize(vectors)
        columns = {}
        if seg is not None:  # sentence number within its document
            first_of_doc = np.searchsorted(unit_doc, unit_doc, side="left")
            columns["sentence_id"] = np.arange(len(unit_doc)) - first_of_doc
        return units, vectors, columns

    def _window_size(self, s: Settings) -> int:
        """Wordpieces per model sequence ([CLS]/[SEP] included): the setting, capped by catalog and model."""
        return min(s.max_wordpieces or self.entry.max_wordpieces, self.entry.max_wordpieces,
                   self.encoder.max_positions)

    def _encode(self, wp: batching.Wordpieces, s: Settings) -> torch.Tensor:
        """Forward every unit (in windows), pooling each batch's output as it arrives.

        Returns one vector per wordpiece (token level) or per unit (sentence and document level); only one
        batch of raw encoder output is held at a time.
        """
        win = batching.plan_windows(wp.unit_start, self._window_size(s) - 2)
        enc = self.encoder
        sequences = [
            np.concatenate(([enc.cls_id], wp.ids[base + a: base + b], [enc.sep_id]))
            for base, a, b in zip(wp.unit_start[win.unit].tolist(), win.start.tolist(), win.stop.tolist())
        ]
        batches = batching.plan_batches(win.lengths, s.batch_tokens, s.max_batch_size)
        seq_base, batch_base = batching.layout(batches, win.lengths)
        rows = batching.row_plan(win, wp.unit_start, seq_base)
        n_units = len(wp.unit_start) - 1
        if s.output_level == "token":
            target, owner, how = rows.content, np.arange(len(rows.content)), "assign"
        elif s.pooling == "cls":
            target, owner, how = rows.cls, np.arange(n_units), "assign"
        else:
            content_owner = np.repeat(np.arange(n_units), np.diff(wp.unit_start))
            target = np.concatenate([rows.cls, rows.content, rows.sep])
            owner = np.concatenate([np.arange(n_units), content_owner, np.arange(n_units)])
            how = s.pooling
        pooler = pooling.RowPooler(len(rows.content) if s.output_level == "token" else n_units, enc.dim, how, owner)
        order = np.argsort(target, kind="stable")
        sorted_rows = target[order]
        cuts = np.searchsorted(sorted_rows, batch_base)
        for b, hidden in enumerate(enc.forward_batches(sequences, batches)):
            pick = slice(cuts[b], cuts[b + 1])
            pooler.add(owner[order[pick]], hidden[torch.from_numpy(sorted_rows[pick] - batch_base[b])])
        self.last_stats["wordpieces"] += int(win.lengths.sum())
        self.last_stats["padded_wordpieces"] += int(batch_base[-1])
        return pooler.result()
