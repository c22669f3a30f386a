"""The ``Pipeline`` that ``load()`` returns: text in, a DataFrame of vectors out.

The stages of ``predict``, one line each in ``_predict_chunk``:
input rows (documents.py) -> tokens and sentences (segmentation.py) -> the level's units (levels/) ->
wordpieces (batching.py) -> windows, batches, runtime forward and pooling (encoding.py, encoder.py,
runtimes/) -> the level's rows (levels/) -> DataFrame (frames.py).
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import levels, provenance
from .._version import __version__
from ..cache import _store as vector_cache
from ..errors import InvalidInputError, InvalidOptionError, ModelLoadError
from ..models import _st_config as st_config
from ..models._catalog import CatalogEntry
from ..models._encoder import Encoder
from ..models._sources import ModelSource, model_files
from ..text import _spans as span_input
from ..tools import _spark as spark
from ..tools import _vectors as exports
from . import _batching as batching
from . import _documents as documents
from . import _encoding as encoding
from . import _frames as frames
from . import _pooling as pooling
from . import _resources as runtime
from ._settings import Settings
from ._spec import BUNDLE_FILE, Spec

if TYPE_CHECKING:
    import pyspark.sql

SENTENCE_SPLITTERS = ("clinical", "sentencizer")


class NoWordpieceWarning(UserWarning):
    """Some tokens or spans consist only of characters the model's tokenizer drops; their vectors are NaN."""


def _row_ids(data: object) -> list | None:
    """The ids spans can name, where the input shows them before it is read (None for iterators)."""
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.index.tolist()
    if isinstance(data, str):
        return [0]
    if isinstance(data, (list, tuple, np.ndarray)):
        return list(range(len(data)))
    return None


class Pipeline:
    """A loaded model with its text processing; call ``predict`` to get embeddings as a DataFrame."""

    def __init__(self, entry: CatalogEntry, source: ModelSource, encoder: Encoder, sentence_splitter: str,
                 settings: Settings, device: str = "auto", commit: str | None = None,
                 cache: str | os.PathLike | vector_cache.VectorCache | None = None) -> None:
        if sentence_splitter not in SENTENCE_SPLITTERS:
            raise InvalidOptionError("E028", f"sentence_splitter={sentence_splitter!r} is not one of "
                                     f"{list(SENTENCE_SPLITTERS)}.")
        self.entry = entry
        self.source = source
        self.encoder = encoder
        self.sentence_splitter = sentence_splitter
        self.settings = settings.validate()
        self._device_asked = device
        self.commit = commit
        """The commit of the weights (a Hugging Face snapshot's hash) where known, else None."""
        self.cache = cache if cache is None or isinstance(cache, vector_cache.VectorCache) else \
            vector_cache.VectorCache(cache)
        """The vector cache (``nlu_lite.cache.VectorCache``) that predictions read and fill, or None."""
        self._nlp = None  # the spaCy pipeline, built on the first level that segments (spaCy imports in ~2 s)
        self._nlp_lock = threading.Lock()
        self._tokenize_lock = threading.Lock()
        self.last_stats: Counter = Counter()
        """Seconds per stage and wordpiece counts (real, padded) of the latest ``predict`` call."""

    @classmethod
    def from_spec(cls, spec: Spec, cache: vector_cache.VectorCache | None = None) -> Pipeline:
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

    def __repr__(self) -> str:
        rt = self.encoder.runtime
        return (f"Pipeline({self.entry.name!r}, source={self.source.kind}:{self.source.folder}, "
                f"family={self.encoder.family}, dim={self.encoder.dim}, runtime={rt.name}, device={rt.device}, "
                f"precision={rt.precision}, level={self.settings.output_level}, "
                f"subword_pooling={self.settings.subword_pooling})")

    def print_info(self) -> None:
        """Print the model, where it came from, how it runs, and every setting with how to change it."""
        e, enc, st, rt = self.entry, self.encoder, self.settings, self.encoder.runtime
        casing = {True: "lowercased", False: "cased", None: "as the tokenizer says"}[e.do_lower_case]
        template = " ".join(enc.tokenizer.convert_ids_to_tokens(enc.prefix) + ["..."]
                            + enc.tokenizer.convert_ids_to_tokens(enc.suffix))
        lines = [
            f"model            {e.name}  ({e.description})",
            f"weights          {e.hf_id} @ {e.revision} (commit {self.commit or 'unknown'}), licence: {e.license}",
            f"source           {self.source.kind}: {self.source.folder}",
            f"family           {enc.family}, sequences {template}",
            f"runtime          {rt.name} on {rt.device}, precision {rt.precision}, threads {rt.threads or 'default'}",
            f"vectors          {enc.dim} floats per row in column {self.column_name!r}",
            f"casing           {casing}",
            f"sentences        {self.sentence_splitter!r} splitter",
            f"window           {self._window_size(st)} wordpieces incl. special tokens; longer units are windowed, "
            "never truncated",
            "",
            "settings (change with pipe.set(name=value) or per call: pipe.predict(data, name=value)):",
        ]
        help_text = {
            "output_level": " | ".join(f"'{n}'" for n in levels.names()),
            "subword_pooling": "token vector from its wordpieces: 'first', 'last', 'mean', 'first_last'",
            "pooling": "sentence/document vector: " + ", ".join(f"'{p}'" for p in pooling.UNIT_POOLINGS),
            "normalize": "L2-normalise sentence/document vectors",
            "positions": "add begin/end character offsets",
            "batch_tokens": "padded wordpieces per forward batch",
            "max_batch_size": "sequences per forward batch",
            "chunk_size": "input rows per chunk (predict_iter yields one DataFrame per chunk)",
            "max_wordpieces": "window size; None = the model's limit",
            "progress": "progress bar on long predictions",
            "prompt": "text put before every unit as context (never a row)",
            "prompt_name": f"one of the model's prompts: {sorted(e.prompts) or 'none'}",
            "layers": f"hidden states: -1 = last, 0 = embeddings, or a list (model has {rt.num_layers} layers)",
            "layer_combine": "several layers: 'mean' or 'concat'",
            "span_pooling": "span vector from its wordpieces: 'mean', 'first', 'max'",
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
        (configs, tokenizer files of any family, the weights in use) are copied as they are, not re-serialised,
        with the rebuild spec ``nlu_lite.json`` beside them.
        """
        target = Path(folder).expanduser()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InvalidOptionError("E044", f"'{target}' exists and is not empty (or is a file); pass a new or "
                                     "empty folder, e.g. pipe.save('bundles/my_model').")
        source = self.source.folder
        files = model_files(source)
        try:
            target.mkdir(parents=True, exist_ok=True)
            for item in files:
                shutil.copy2(item, target / item.name)
            for sub in sorted(p for p in source.iterdir() if p.is_dir() and (p / "config.json").is_file()):
                shutil.copytree(sub, target / sub.name)  # sentence-transformers modules (1_Pooling/ ...)
            spec = Spec(**{**asdict(self.spec()), "model_path": ".", "source_kind": "bundle", "cache": None})
            (target / BUNDLE_FILE).write_text(spec.to_json(), encoding="utf-8")
        except OSError as e:
            raise InvalidOptionError("E413", f"Could not write the bundle to '{target}': {e.strerror or e}. Pass a "
                                     "folder you can write to, on a disk with room for the model.") from e
        return target

    def set(self, **options: object) -> Pipeline:
        """Change defaults of ``predict`` (e.g. ``pipe.set(subword_pooling='mean')``); returns the pipeline."""
        self.settings = self.settings.updated("set()", **options)
        return self

    def predict(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                id_column: str | None = None, spans: object = None,
                **options: object) -> pd.DataFrame | pyspark.sql.DataFrame:
        """Embed ``data`` and return a DataFrame.

        Args:
            data: a string, a list/tuple/array/Series/iterable of strings, or a DataFrame with a text column.
                ``None``/``NaN``/empty entries keep their row with null outputs. A ``pyspark.sql.DataFrame`` is
                computed on the Spark executors and a Spark DataFrame is returned.
            output_level: ``"token"``, ``"sentence"``, ``"document"`` or ``"span"`` (default: the pipeline's;
                ``"span"`` when ``spans`` is given).
            text_column: the DataFrame column holding the text (default ``"text"``); other columns are kept.
            id_column: a column identifying the rows; it becomes the index, under its own name (DataFrames; for
                a Spark DataFrame without it, an ``origin_index`` column is added with
                ``monotonically_increasing_id()``).
            spans: character ranges to embed in context (``span`` level): a DataFrame with the row id (a column
                named ``origin_index``, or like ``id_column``), ``begin``, ``end`` and optional ``label``; one list
                of ``(begin, end[, label])`` per input row; ``nlu_lite.terms([...])``; or ``nlu_lite.patterns({...})``.
            **options: per-call overrides of the settings: ``positions`` (add ``begin``/``end``, end exclusive),
                ``subword_pooling`` (``first``, ``last``, ``mean``, ``first_last``), ``pooling`` (``mean``,
                ``cls``, ``max``), ``normalize`` (L2-normalise sentence/document vectors), ``batch_tokens``,
                ``max_batch_size``, ``chunk_size``.

        Returns:
            One row per token, sentence or document, indexed by the input's index (``origin_index``, or the
            ``id_column``'s name), with the text, ``sentence_id`` (token and sentence level), optional
            ``begin``/``end`` and the embedding column (1-D float32 arrays), then the input DataFrame's other
            columns.
        """
        if spark.is_spark_dataframe(data):
            return spark.predict_spark(self, data, output_level, text_column, id_column, options, spans)
        request = None if spans is None else span_input.request(spans, id_column)
        if id_column is not None:
            if not isinstance(data, pd.DataFrame) or id_column not in data.columns:
                raise InvalidInputError(
                    "E045", f"id_column={id_column!r} must name a column of the input DataFrame.")
            data = data.set_index(id_column)
        parts = list(self.predict_iter(data, output_level, text_column=text_column, spans=request, **options))
        frame = parts[0] if len(parts) == 1 else pd.concat(parts)
        if id_column is not None:
            frame.index.name = id_column
        return frame

    def embed(self, texts: object, **options: object) -> np.ndarray:
        """One document vector per text, an ``(n, dim)`` float32 array (NaN rows for empty texts)."""
        return exports.embed(self, texts, **options)

    def predict_iter(self, data: object, output_level: str | None = None, *, text_column: Hashable | None = None,
                     spans: object = None, **options: object) -> Iterator[pd.DataFrame]:
        """Like ``predict`` but yields one DataFrame per chunk of ``chunk_size`` input rows.

        Memory stays bounded by the chunk, whatever the input's length; generators are read lazily.
        """
        if spark.is_spark_dataframe(data):
            raise InvalidInputError(
                "E046", "predict_iter() reads pandas-side inputs; for a Spark DataFrame call predict(), "
                                    "which returns a Spark DataFrame computed on the executors.")
        if output_level is not None or spans is not None:
            options["output_level"] = output_level or "span"
        settings = self.settings.updated("predict()", **options)
        request = None if spans is None else span_input.request(spans, None)
        record = self.provenance(settings)
        fingerprint = vector_cache.fingerprint(record) if self.cache is not None else ""
        if isinstance(request, span_input.TableSpans):
            known = _row_ids(data)
            if known is not None:
                request.check_ids(known)
        self.last_stats = Counter()
        no_wordpiece = 0
        total = len(data) if hasattr(data, "__len__") and not isinstance(data, str) else None
        with runtime.progress_bar(total=total, desc=f"nlu_lite {settings.output_level}",
                                  enabled=settings.progress) as bar:
            for docs in documents.chunks(data, text_column, settings.chunk_size):
                frame, missing = self._predict_chunk(docs, settings, request, fingerprint)
                provenance.attach(frame, record)
                no_wordpiece += missing
                bar.update(len(docs.texts))
                runtime.return_freed_memory()
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
        layers = 1 if isinstance(s.layers, int) or s.layer_combine == "mean" else len(s.layers)
        width = self.encoder.dim * layers * (2 if s.output_level == "token" and s.subword_pooling == "first_last"
                                             else 1)
        return provenance.collect(
            model=self.entry.name, hub_id=self.entry.hf_id, requested_revision=self.entry.revision,
            revision=self.commit or provenance.resolved_revision(self.source.folder), source_kind=self.source.kind,
            family=self.encoder.family, runtime=rt.name, device=str(rt.device), precision=rt.precision,
            compute=rt.compute, window=self._window_size(s), do_lower_case=self.entry.do_lower_case,
            sentence_splitter=self.sentence_splitter, column=self.column_name, dim=width, settings=asdict(s))

    def _segment(self, texts: list[str]):
        """Tokens and sentences of ``texts`` (spaCy is imported and its pipeline built on the first call)."""
        from ..text import _segmentation as segmentation

        with self._nlp_lock:
            if self._nlp is None:
                self._nlp = segmentation.build_nlp(self.sentence_splitter)
        return segmentation.segment(texts, self._nlp)

    def _predict_chunk(self, docs: documents.Documents, s: Settings, request: span_input.SpanRequest | None = None,
                       fingerprint: str = "") -> tuple[pd.DataFrame, int]:
        """One chunk through every stage; returns its DataFrame and the count of rows without wordpieces."""
        stats = self.last_stats
        present = np.asarray([k for k, t in enumerate(docs.texts) if t is not None], dtype=np.int64)
        texts = [docs.texts[k] for k in present.tolist()]
        level = levels.get(s.output_level).for_chunk(request, docs, present, texts)
        with runtime.timed(stats, "segment_s"):
            seg = self._segment(texts) if level.segments else None
            units = level.units(texts, seg)
        target = level.target(s)
        # a cache serves sentence/document vectors without wordpieces: tokenize only what it lacks (in _encode)
        wp = None if self.cache is not None and target != "wordpieces" else self._tokenize(texts, units, s)
        tokenized = stats["tokenize_s"]
        with runtime.timed(stats, "forward_s"):
            encoded = self._encode(wp, units, texts, s, target, fingerprint)
        stats["forward_s"] -= stats["tokenize_s"] - tokenized  # units tokenized inside (cache misses) count once
        with runtime.timed(stats, "pool_s"):
            rows = level.rows(texts, seg, units, wp, encoded, s)
        with runtime.timed(stats, "dataframe_s"):
            frame = frames.assemble(docs, level, self.column_name, present, texts, rows, s.positions)
        return frame, rows.no_wordpiece

    def _tokenize(self, texts: list[str], units: levels.Units, s: Settings) -> batching.Wordpieces:
        with runtime.timed(self.last_stats, "tokenize_s"), self._tokenize_lock:  # HF tokenizers: not thread-safe
            return batching.tokenize_units(self.encoder.tokenizer, texts, units.doc, units.begin, units.end,
                                           prompt=self._prompt(s))

    def _encode(self, wp: batching.Wordpieces | None, units: levels.Units, texts: list[str], s: Settings,
                target: str, fingerprint: str) -> np.ndarray:
        """The encoder's output for every unit: each distinct unit text of the chunk is encoded once.

        Repeated texts (boilerplate sentences, copied notes) share one encoding, so equal texts get equal
        vectors and a run does less work. With a cache, the distinct units it holds are read (their wordpiece
        vectors for ``target="wordpieces"``, else the pooled vector before normalisation) and only the others
        encoded and stored; a warm run is then bit-identical to the cold run that filled the cache.
        """
        def run(pieces: batching.Wordpieces) -> np.ndarray:
            return encoding.encode(self.encoder, pieces, window=self._window_size(s), target=target,
                                   batch_tokens=s.batch_tokens, max_batch_size=s.max_batch_size,
                                   stats=self.last_stats, layers=self._layers(s), layer_combine=s.layer_combine,
                                   include_prompt=self.entry.include_prompt)

        unit_texts = [texts[d][b:e] for d, b, e in zip(units.doc.tolist(), units.begin.tolist(), units.end.tolist())]
        slot: dict[str, int] = {}  # distinct text -> its place among the distinct units
        distinct: list[int] = []  # unit position of each distinct text's first occurrence
        for k, text in enumerate(unit_texts):
            if text not in slot:
                slot[text] = len(distinct)
                distinct.append(k)
        if not unit_texts or (self.cache is None and len(distinct) == len(unit_texts)):
            return run(wp if wp is not None else self._tokenize(texts, units, s))  # nothing repeated or cached

        def compute(positions: np.ndarray) -> list[np.ndarray]:
            chosen = np.asarray(distinct, dtype=np.int64)[positions]
            if wp is None:  # tokenize only the units the cache lacks
                sub = self._tokenize(texts, levels.Units(units.doc[chosen], units.begin[chosen], units.end[chosen]), s)
            else:
                sub = wp if len(positions) == len(unit_texts) else batching.select_units(wp, chosen)
            out = run(sub)
            return np.split(out, sub.unit_start[1:-1]) if target == "wordpieces" else list(out)

        keys = [vector_cache.key(unit_texts[k], fingerprint) for k in distinct] if self.cache else list(slot)
        blocks = vector_cache.get_or_compute(self.cache, keys, compute)
        ordered = [blocks[slot[text]] for text in unit_texts]
        return np.concatenate(ordered) if target == "wordpieces" else np.stack(ordered)

    def _prompt(self, s: Settings) -> str:
        """The prompt text of a call: ``prompt``, else the model's prompt ``prompt_name``, else its default."""
        if s.prompt is not None:
            return s.prompt
        name = s.prompt_name or self.entry.default_prompt
        if name is None:
            return ""
        if name not in self.entry.prompts:
            raise InvalidOptionError("E423", f"prompt_name={name!r} is not one of this model's prompts "
                                     f"{sorted(self.entry.prompts)}; pass prompt='...' with your own text instead.")
        return self.entry.prompts[name]

    def _layers(self, s: Settings) -> tuple[int, ...]:
        """The hidden-state indices of a call, checked against the model's depth."""
        layers = (s.layers,) if isinstance(s.layers, int) else s.layers
        n = self.encoder.runtime.num_layers
        bad = [k for k in layers if not -(n + 1) <= k <= n]
        if bad:
            raise InvalidOptionError("E424", f"layers={list(layers)} has {bad} outside this model's hidden states "
                                     f"(0 = embeddings .. {n} = last layer, or -1 .. -{n + 1}).")
        return tuple(layers)

    def _window_size(self, s: Settings) -> int:
        """Wordpieces per model sequence (special tokens included): the setting, capped by catalog and model."""
        return min(s.max_wordpieces or self.entry.max_wordpieces, self.entry.max_wordpieces,
                   self.encoder.max_sequence)
