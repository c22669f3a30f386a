"""The pandas side of a pipeline: one chunk of input rows at a time through every stage.

``_prepare_chunk`` then ``_finish_chunk`` read as the data flow, one line per stage: input rows (``_documents``)
-> tokens and sentences (``text/``) -> the level's units (``levels/``) -> wordpieces (``_batching``) -> each
distinct unit encoded once, windowed, batched, run and pooled (``_encoding``, ``runtimes/``, ``_pooling``) -> the
level's rows (``levels/``) -> DataFrame (``_frames``). ``Pipeline`` adds Spark DataFrames, bundles and the
printed summary; Spark executors rebuild an ``Engine`` from its spec.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .. import levels, provenance
from .._version import __version__
from ..cache import VectorCache, fingerprint
from ..errors import InvalidInputError, InvalidOptionError, ModelLoadError
from ..models import _st_config as st_config
from ..models._catalog import CatalogEntry
from ..models._encoder import Encoder
from ..models._sources import ModelSource
from ..text import _spans as span_input
from ..text._splitters import check_splitter
from . import _batching as batching
from . import _documents as documents
from . import _encoding as encoding
from . import _frames as frames
from . import _pooling as pooling
from . import _prefetch as prefetch
from . import _resources as resources
from ._settings import Settings, layer_indices, prompt_text, vector_width, window_size
from ._spec import Spec


class NoWordpieceWarning(UserWarning):
    """Some tokens or spans consist only of characters the model's tokenizer drops; their vectors are NaN."""


@dataclass(frozen=True)
class Written:
    """What ``predict(..., output_path=...)`` wrote: the Parquet file and its row count."""

    path: Path
    rows: int


def _check_output_path(path: str | os.PathLike) -> Path:
    """The Parquet file to write, checked before any work: its suffix, its folder, pyarrow."""
    target = Path(path).expanduser()
    if target.suffix.lower() != ".parquet":
        raise InvalidOptionError("E069", f"output_path={str(path)!r} must end in .parquet (a "
                                 "Parquet file, written chunk by chunk); e.g. output_path='vectors.parquet'.")
    if not target.parent.is_dir():
        raise InvalidOptionError("E070", f"output_path={str(path)!r}: the folder '{target.parent}' does not exist; "
                                 "create it first, or write elsewhere.")
    if target.is_dir():
        raise InvalidOptionError("E071", f"output_path={str(path)!r} is a folder; name a file in it, e.g. "
                                 f"output_path='{target / 'vectors.parquet'}'.")
    provenance.parquet_support()  # ImportError naming the pip line, before any model work
    return target


def chunks_by_id(predict_iter, data: object, output_level: str | None, text_column: Hashable | None,
                 id_column: str | None, spans: object, options: dict) -> Iterator[pd.DataFrame]:
    """``predict_iter``'s chunks with ``id_column`` as their index, under its own name (``predict``, the CLI)."""
    data = documents.as_pandas(data)  # polars and pyarrow tables are DataFrames too
    request = None if spans is None else span_input.request(spans, id_column)
    if id_column is not None:
        if not isinstance(data, pd.DataFrame) or id_column not in data.columns:
            raise InvalidInputError(
                "E045", f"id_column={id_column!r} must name a column of the input DataFrame.")
        data = data.set_index(id_column)
    for part in predict_iter(data, output_level, text_column=text_column, spans=request, **options):
        yield part.rename_axis(id_column) if id_column is not None else part


def collect(predict_iter, data: object, output_level: str | None, text_column: Hashable | None,
            id_column: str | None, spans: object, output_path: str | os.PathLike | None,
            options: dict) -> pd.DataFrame | Written:
    """``predict`` from a ``predict_iter`` (one pipeline's, or a group's): one DataFrame of every chunk
    (``chunks_by_id``), or the chunks written to ``output_path``."""
    target = None if output_path is None else _check_output_path(output_path)
    parts = chunks_by_id(predict_iter, data, output_level, text_column, id_column, spans, options)
    if target is not None:
        return Written(target, provenance.write_parquet_chunks(parts, target))
    parts = list(parts)
    return parts[0] if len(parts) == 1 else pd.concat(parts)


@dataclass(frozen=True)
class _Prepared:
    """A chunk's text side, ready for the encoder: what ``_prepare_chunk`` hands to ``_finish_chunk``."""

    docs: documents.Documents
    present: np.ndarray
    texts: list[str]
    level: levels.Level
    seg: object
    units: levels.Units
    target: str
    wp: batching.Wordpieces | None
    pieces: np.ndarray | None  # the wordpieces whose vectors the level reads (``Level.pieces``), None: every one
    stats: Counter  # this chunk's seconds per stage, added to ``last_stats`` when it is finished


class Engine:
    """A loaded model with its text processing, for pandas-side inputs (see ``Pipeline`` for the public class)."""

    def __init__(self, entry: CatalogEntry, source: ModelSource, encoder: Encoder, sentence_splitter: str,
                 settings: Settings, device: str = "auto", commit: str | None = None,
                 cache: str | os.PathLike | VectorCache | None = None) -> None:
        self.entry = entry
        self.source = source
        self.encoder = encoder
        self.sentence_splitter = check_splitter(sentence_splitter)
        self.settings = settings.validate()
        self._device_asked = device
        self.commit = commit
        """The commit of the weights (a Hugging Face snapshot's hash) where known, else None."""
        self.cache = cache if cache is None or isinstance(cache, VectorCache) else VectorCache(cache)
        """The vector cache (``nlu_lite.cache.VectorCache``) that predictions read and fill, or None."""
        self._nlp = None  # the spaCy pipeline, built on the first level that segments (spaCy imports in ~2 s)
        self._segment_pool = None  # worker processes that segment (segment_processes), kept for later calls
        self._segment_pool_lock = threading.Lock()  # held while the pool is replaced or used
        self._segment_pool_end = None  # closes the pool once: when replaced, or with the pipeline, or at exit
        self._nlp_lock = threading.Lock()
        self._tokenize_lock = threading.Lock()
        self.last_stats: Counter = Counter()
        """Seconds per stage and wordpiece counts (real, padded) of the latest ``predict`` call."""

    @classmethod
    def from_spec(cls, spec: Spec, cache: VectorCache | None = None):
        """Rebuild a pipeline from a ``Spec`` (a bundle's ``nlu_lite.json``, or a Spark task's).

        ``cache``: an open ``VectorCache`` of the file ``spec.cache`` names, to use as it is (its ``stats`` then
        count this pipeline's reads and writes) instead of opening the file again.
        """
        if cache is not None and (spec.cache is None or Path(spec.cache) != cache.path):
            raise InvalidOptionError("E438", f"from_spec(cache=VectorCache({str(cache.path)!r})) does not match "
                                     f"the spec's cache {spec.cache!r}; pass the cache the spec names, or none.")
        entry = st_config.apply(CatalogEntry.from_dict(spec.entry), st_config.read(Path(spec.model_path)))
        encoder = Encoder(Path(spec.model_path), entry.do_lower_case, family=entry.family, runtime=spec.runtime,
                          device=spec.device, precision=spec.precision, threads=spec.threads)
        if entry.dim != encoder.dim:
            raise ModelLoadError(
                "E029", f"The model in '{spec.model_path}' has hidden size {encoder.dim}, but the catalog entry "
                f"{entry.name!r} says dim={entry.dim}: the folder holds another model.")
        defaults = Settings(output_level=entry.default_level, normalize=entry.normalize, pooling=entry.pooling).updated(
            "load()", **spec.settings)
        return cls(entry, ModelSource(Path(spec.model_path), spec.source_kind), encoder, spec.sentence_splitter,
                   defaults, spec.device, spec.revision, cache if cache is not None else spec.cache)

    def spec(self) -> Spec:
        """What another process needs to rebuild this pipeline from local files (bundles, Spark executors)."""
        rt = self.encoder.runtime
        return Spec(entry=self.entry.to_dict(), model_path=str(self.source.folder), source_kind=self.source.kind,
                    runtime=rt.name, precision=rt.precision, device=self._device_asked, threads=rt.threads,
                    sentence_splitter=self.sentence_splitter, settings=asdict(self.settings),
                    revision=self.commit, cache=None if self.cache is None else str(self.cache.path),
                    nlu_lite_version=__version__)

    @property
    def column_name(self) -> str:
        """Name of the embedding column of this pipeline's DataFrames."""
        return self.entry.column_name

    def set(self, **options: object):
        """Change defaults of ``predict`` (e.g. ``pipe.set(subword_pooling='mean')``); returns the pipeline."""
        self.settings = self.settings.updated("set()", **options)
        return self

    def predict(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                id_column: str | None = None, spans: object = None, output_path: str | os.PathLike | None = None,
                **options: object) -> pd.DataFrame | Written:
        """``Pipeline.predict`` for pandas-side inputs: one DataFrame of every chunk's rows, or, with
        ``output_path``, a Parquet file written chunk by chunk (see ``Pipeline.predict``)."""
        return collect(self.predict_iter, data, output_level, text_column, id_column, spans, output_path, options)

    def embed(self, texts: object, **options: object) -> np.ndarray:
        """One document vector per text, an ``(n, dim)`` float32 array (NaN rows for empty texts).

        Each text is encoded as one sequence (windowed when longer than the model's limit), as
        ``predict(texts, output_level="document")``; empty texts (``None``, ``NaN``, ``""``) give NaN rows, so
        the row count always equals the input's. ``options`` are ``predict`` options (``pooling``,
        ``normalize``, ``progress`` ...), and ``quantize=`` / ``calibration=`` as ``nlu_lite.quantize`` takes them
        (then the result is the codes, and empty texts are refused: codes cannot say "missing").
        """
        if "output_level" in options:
            raise InvalidOptionError(
                "E200", f"embed() always returns one vector per text (document level), got output_level="
                        f"{options['output_level']!r}; for sentences or tokens call pipe.predict(texts, output_level="
                        f"{options['output_level']!r}) and nlu_lite.to_numpy(frame).")
        quantize, calibration = options.pop("quantize", None), options.pop("calibration", None)
        if isinstance(texts, str):
            texts = [texts]
        frame = self.predict(texts, output_level="document", **options)
        vectors = frames.to_numpy(frame, self.column_name)
        if vectors.shape[1] == 0:  # every text empty: still (n, dim)
            vectors = np.full((len(frame), self.encoder.dim), np.nan, dtype=np.float32)
        if quantize is not None or calibration is not None:
            from ..tools._quantize import quantize as to_codes

            return to_codes(vectors, quantize, calibration=calibration)
        return vectors

    def predict_iter(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                     spans: object = None, **options: object) -> Iterator[pd.DataFrame]:
        """Like ``predict`` but yields one DataFrame per chunk of ``chunk_size`` input rows.

        Memory stays bounded by the chunk, whatever the input's length; generators are read lazily.
        """
        if documents.is_spark_dataframe(data):
            raise InvalidInputError(
                "E046", "predict_iter() reads pandas-side inputs; for a Spark DataFrame call predict(), "
                                    "which returns a Spark DataFrame computed on the executors.")
        data = documents.as_pandas(data)
        if output_level is not None or spans is not None:
            options["output_level"] = output_level or "span"
        settings = self.settings.updated("predict()", **options)
        if settings.truncate_dim is not None and settings.truncate_dim > self.encoder.dim:
            raise InvalidOptionError("E080", f"truncate_dim={settings.truncate_dim} is wider than this model's "
                                     f"{self.encoder.dim} dimensions; pass at most {self.encoder.dim}.")
        request = None if spans is None else span_input.request(spans, None)
        record = self.provenance(settings)
        key_base = fingerprint(record) if self.cache is not None else ""
        if isinstance(request, span_input.TableSpans):
            known = documents.row_ids(data)
            if known is not None:
                request.check_ids(known)
        self.last_stats = Counter()
        no_wordpiece = 0
        total = len(data) if hasattr(data, "__len__") and not isinstance(data, str) else None
        processes = 0
        if levels.get(settings.output_level).segments:
            self._spacy()  # built before the bar's clock starts: loading spaCy (~2 s) is not long work
            processes = self._segment_processes(settings, total)
        with resources.progress_bar(total=total, desc=f"nlu_lite {settings.output_level}",
                                    enabled=settings.progress) as bar:
            prepare = partial(self._prepare_chunk, s=settings, request=request, processes=processes)
            for prepared in prefetch.ahead(documents.chunks(data, text_column, settings.chunk_size), prepare,
                                           settings.prefetch):
                docs = prepared.docs
                frame, missing = self._finish_chunk(prepared, settings, key_base)
                provenance.attach(frame, record)
                no_wordpiece += missing
                bar.update(len(docs.texts))
                resources.return_freed_memory()
                yield frame
        if request is not None:
            request.finish()
        if no_wordpiece:
            warnings.warn(
                f"{no_wordpiece} {settings.output_level}(s) consist only of characters the model's tokenizer drops "
                "(e.g. whitespace, control or zero-width characters); their vectors are NaN. Filter them with "
                "df[df[col].map(np.isfinite).map(np.all)] or clean the text.", NoWordpieceWarning, stacklevel=3)

    def provenance(self, settings: Settings | None = None) -> dict:
        """How this pipeline makes vectors, as every result records it (``nlu_lite.provenance(df)``).

        Model name, hub id, resolved revision (the commit, or a hash of the model files), source, family, runtime,
        device, precision, window, casing, splitter, vector column and width, every effective setting, and the
        versions of nlu_lite, torch, transformers, tokenizers and spaCy.
        """
        s, rt = settings or self.settings, self.encoder.runtime
        return provenance.collect(
            model=self.entry.name, hub_id=self.entry.hf_id, requested_revision=self.entry.revision,
            revision=self.commit or provenance.resolved_revision(self.source.folder), source_kind=self.source.kind,
            family=self.encoder.family, runtime=rt.name, device=str(rt.device), precision=rt.precision,
            compute=rt.compute, chosen=getattr(rt, "chosen", ""), window=window_size(s, self.entry, self.encoder),
            do_lower_case=self.entry.do_lower_case,
            sentence_splitter=self.sentence_splitter, column=self.column_name, dim=vector_width(s, self.encoder.dim),
            settings=asdict(s))

    def _spacy(self):
        """The spaCy pipeline, imported and built on the first level that segments."""
        from ..text import _segmentation as segmentation

        with self._nlp_lock:
            if self._nlp is None:
                self._nlp = segmentation.build_nlp(self.sentence_splitter)
        return self._nlp

    def _segment_processes(self, s: Settings, rows: int | None) -> int:
        """The processes that segment a call of ``rows`` input rows (``resources.segment_processes``)."""
        return resources.segment_processes(s.segment_processes, str(self.encoder.runtime.device), rows, s.chunk_size)

    def _segment(self, texts: list[str], processes: int = 0):
        """Tokens and sentences of ``texts``, in ``processes`` worker processes (0: here)."""
        from ..text import _segmentation as segmentation

        if processes:
            with self._segment_pool_lock:  # another thread's call may not close the pool in between
                return self._segment_workers(processes).segment(texts)
        return segmentation.segment(texts, self._spacy())

    def _segment_workers(self, processes: int):
        """The worker processes that segment, started on first use and kept while their count stays the same
        (called with ``_segment_pool_lock`` held)."""
        from ..text._processes import SegmentPool

        pool = self._segment_pool
        if pool is None or pool.processes != processes or not pool.alive:
            if self._segment_pool_end is not None:
                self._segment_pool_end()
            pool = self._segment_pool = SegmentPool(self.sentence_splitter, processes)
            self._segment_pool_end = weakref.finalize(self, pool.close)
        return pool

    def _prepare_chunk(self, docs: documents.Documents, s: Settings, request: span_input.SpanRequest | None = None,
                       seg: object = None, processes: int = 0) -> _Prepared:
        """A chunk's text side: segments (in ``processes`` worker processes, or here), the level's units and their
        wordpieces (on the prefetch thread). ``seg``: the chunk's tokens and sentences when the caller has them
        already (several models over the same rows segment once)."""
        stats: Counter = Counter()
        present, texts = documents.present_texts(docs)
        level = levels.get(s.output_level).for_chunk(request, docs, present, texts)
        with resources.timed(stats, "segment_s"):
            if seg is None and level.segments:
                seg = self._segment(texts, processes)
            units = level.units(texts, seg)
        target = level.target(s)
        # a cache serves sentence/document vectors without wordpieces: tokenize only what it lacks (in encode)
        wp = None if self.cache is not None and target != "wordpieces" else self._tokenize(texts, units, s, stats)
        pieces = level.pieces(texts, seg, units, wp, s) if target == "wordpieces" else None
        return _Prepared(docs, present, texts, level, seg, units, target, wp, pieces, stats)

    def _finish_chunk(self, p: _Prepared, s: Settings, key_base: str) -> tuple[pd.DataFrame, int]:
        """A prepared chunk encoded, pooled into the level's rows and assembled into its DataFrame."""
        stats = p.stats
        tokenized = stats["tokenize_s"]
        with resources.timed(stats, "forward_s"):
            encoded = self._encode(p.wp, p.units, p.texts, s, p.target, key_base, stats, p.pieces)
        stats["forward_s"] -= stats["tokenize_s"] - tokenized  # units tokenized inside (cache misses) count once
        if s.truncate_dim is not None:  # Matryoshka: the first dimensions, before pooling and normalisation
            encoded = (encoded.columns(s.truncate_dim) if isinstance(encoded, pooling.PieceVectors)
                       else np.ascontiguousarray(encoded[:, :s.truncate_dim]))
        with resources.timed(stats, "pool_s"):
            rows = p.level.rows(p.texts, p.seg, p.units, p.wp, encoded, s)
        with resources.timed(stats, "dataframe_s"):
            frame = frames.assemble(p.docs, p.level, self.column_name, p.present, p.texts, rows, s.positions)
        self.last_stats.update(stats)
        return frame, rows.no_wordpiece

    def _tokenize(self, texts: list[str], units: levels.Units, s: Settings, stats: Counter) -> batching.Wordpieces:
        with resources.timed(stats, "tokenize_s"), self._tokenize_lock:  # HF tokenizers: not thread-safe
            return batching.tokenize_units(self.encoder.tokenizer, texts, units.doc, units.begin, units.end,
                                           prompt=prompt_text(s, self.entry))

    def _encode(self, wp: batching.Wordpieces | None, units: levels.Units, texts: list[str], s: Settings,
                target: str, key_base: str, stats: Counter,
                pieces: np.ndarray | None = None) -> np.ndarray | pooling.PieceVectors:
        """The encoder's output for every unit, each distinct unit text encoded once (see ``encode_distinct``)."""
        def run(wp: batching.Wordpieces, pieces: np.ndarray | None = None) -> np.ndarray | pooling.PieceVectors:
            return encoding.encode(self.encoder, wp, window=window_size(s, self.entry, self.encoder),
                                   target=target, batch_tokens=s.batch_tokens, max_batch_size=s.max_batch_size,
                                   stats=stats, layers=layer_indices(s, self.encoder.runtime.num_layers),
                                   layer_combine=s.layer_combine, include_prompt=self.entry.include_prompt,
                                   window_overlap=s.window_overlap, pieces=pieces)

        def tokenize(chosen: np.ndarray | None) -> batching.Wordpieces:
            return self._tokenize(texts, units if chosen is None else units.take(chosen), s, stats)

        return encoding.encode_distinct(levels.unit_texts(texts, units), wp, tokenize, run, target, self.cache,
                                        key_base, pieces)
