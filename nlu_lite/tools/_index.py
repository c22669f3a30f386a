"""A search index over one corpus, built once (``index``), saved and loaded, searched like ``nearest``.

Built on FAISS (the ``index`` extra, ``pip install 'nlu-lite[index]'``):

- ``method="exact"``, no quantization: ``IndexFlatIP`` over the unit-length rows, i.e. exact cosine, equal to
  ``nearest`` row for row (equal scores rank the earlier corpus row first, as there);
- ``method="hnsw"``: ``IndexHNSWFlat`` (inner product), approximate, much faster on large corpora;
- ``quantize="binary"``/``"ubinary"``: the corpus's sign bits in ``IndexBinaryFlat`` (exact Hamming) or
  ``IndexBinaryHNSW``, 32x smaller than float32;
- ``quantize="int8"``/``"uint8"``: one byte per dimension (``nlu_lite.quantize`` codes, ranges from
  ``calibration`` or the corpus), searched by an integer dot product in blocks (numpy, as ``nearest``).

Quantized searches take the ``k * rescore_multiplier`` best candidates by their codes, then rescore them with
the float vectors (exact cosine), as sentence-transformers' ``semantic_search_faiss``/``usearch`` rescoring
does, so the scores returned are true cosines. The float vectors are kept beside the codes; after ``save`` and
``VectorIndex.load`` they are memory-mapped, so only the candidates' rows are read from disk.

The index keeps the corpus's model identity (from its provenance record): queries embedded by another model,
revision, width or truncation are refused instead of returning meaningless neighbours.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import provenance
from .._version import __version__
from ..errors import InvalidInputError, InvalidOptionError, OutputError
from ..pipeline._frames import embedding_column
from . import _quantize as quantization
from ._similarity import (
    BLOCK_BYTES,
    SearchIndex,
    Side,
    check_k,
    hits_frame,
    report_skipped,
    row_norms,
    side_of,
    top_k,
    unit_blocks,
    unit_rows,
    usable_by_norm,
)

if TYPE_CHECKING:
    from ..pipeline._pipeline import Pipeline

FORMAT = "nlu_lite.index/1"
METHODS = ("exact", "hnsw")
META_FILE = "index.json"
IDENTITY = ("model", "revision", "dim")  # facts of a record that must match between queries and corpus
IDENTITY_SETTINGS = ("truncate_dim", "layers", "layer_combine")


def _faiss():
    try:
        import faiss
    except ImportError as e:
        raise InvalidOptionError(
            "E527", "nlu_lite.index() searches with FAISS, which is not installed; install the extra: pip install "
                    "'nlu-lite[index]' (faiss-cpu), or search without an index: nlu_lite.nearest(queries, corpus)."
        ) from e
    return faiss


def _identity(record: dict | None, column: str | None) -> dict | None:
    """The facts that make vectors comparable: model, revision, width, truncation, layers (None: unknown)."""
    if not record:
        return None
    if "models" in record:  # a group's record: the facts of this column's model
        record = record["models"].get(column)
        if record is None:
            return None
    settings = record.get("settings", {})
    return {**{k: record.get(k) for k in IDENTITY}, **{k: settings.get(k) for k in IDENTITY_SETTINGS}}


def _flat_search(backend, unit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS search with corpus blocks of 16,384 rows in its matrix products instead of its default 1,024: half the
    CPU time of an exact search (1,000 queries x 200,000 rows, measured); restored afterwards (a global knob)."""
    faiss = _faiss()
    default = faiss.cvar.distance_compute_blas_database_bs
    faiss.cvar.distance_compute_blas_database_bs = max(default, 16384)
    try:
        return backend.search(unit, k)
    finally:
        faiss.cvar.distance_compute_blas_database_bs = default


class VectorIndex(SearchIndex):
    """A corpus's vectors in a search index, made by ``nlu_lite.index(...)`` or ``VectorIndex.load(path)``.

    ``search(queries, k)`` (or ``nearest(queries, index, k)``) returns the same frame as ``nearest``;
    ``save(folder)`` writes it. ``len(index)`` is the corpus's row count (rows without a vector included).
    """

    def __init__(self, *, method: str, quantize: str | None, dim: int, n_rows: int, positions: np.ndarray,
                 backend: object, floats: np.ndarray | None, ranges: np.ndarray | None, identity: dict | None,
                 corpus: Side, skipped: int, rescore_multiplier: int, ef_search: int) -> None:
        self.method, self.quantize, self.dim, self.n_rows = method, quantize, dim, n_rows
        self.positions = positions  # index id -> corpus row (rows without a vector are not in the index)
        self._backend, self._floats, self._ranges = backend, floats, ranges
        self.identity, self._corpus, self.skipped = identity, corpus, skipped
        self.rescore_multiplier, self.ef_search = rescore_multiplier, ef_search

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        model = (self.identity or {}).get("model") or "unknown model"
        return (f"VectorIndex({self.method}, quantize={self.quantize!r}, {len(self.positions):,} vectors of "
                f"{self.dim} dims from {model}, {self.skipped} rows without a vector)")

    def search(self, queries: object, k: int = 5, *, pipe: Pipeline | None = None,
               column: str | None = None) -> pd.DataFrame:
        """The ``k`` nearest corpus rows of each query, as ``nlu_lite.nearest`` returns them."""
        check_k(k)
        side = side_of(queries, pipe, column, "queries")
        if side.vectors.shape[1] not in (0, self.dim):  # 0: every query empty, so no usable row
            raise InvalidInputError(
                "E528", f"The queries have {side.vectors.shape[1]} dimensions and this index {self.dim}; embed "
                        "the queries with the corpus's model and truncate_dim.")
        self._check_model(side, column)
        norms = row_norms(side.vectors, max(1, BLOCK_BYTES // (8 * self.dim)))
        usable = usable_by_norm(norms)
        counts = report_skipped("nearest()", [("query rows", usable)])
        query_rows = np.flatnonzero(usable)
        unit = unit_rows(side.vectors, usable, norms)
        scores, rows = self._search(unit, int(k)) if len(unit) else self._empty(0, int(k))
        result = hits_frame(side, query_rows, self._corpus, scores, rows)
        result.attrs["skipped"] = {"query": counts["query rows"], "corpus": self.skipped}
        return result

    def _check_model(self, side: Side, column: str | None) -> None:
        if side.frame is None or self.identity is None:
            return
        record = side.frame.attrs.get(provenance.ATTRS_KEY)
        theirs = _identity(record, embedding_column(side.frame, column) if record else None)
        if theirs is None:
            return
        differ = {k: (theirs[k], self.identity[k]) for k in self.identity if theirs[k] != self.identity[k]}
        if differ:
            raise InvalidInputError(
                "E529", "The queries were embedded differently from this index's corpus: "
                        + ", ".join(f"{k}={a!r} (index: {b!r})" for k, (a, b) in differ.items())
                        + ". Vectors of different models are not comparable: embed the queries with the pipeline "
                          "that embedded the corpus (same model, revision, truncate_dim and layers).")

    def _search(self, unit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, corpus rows)``, ``(q, k)``, padded with ``-inf`` / ``-1``."""
        n = len(self.positions)
        if self.quantize is None:
            if self.method == "hnsw":
                self._backend.hnsw.efSearch = max(self.ef_search, k)
            # FAISS's flat search keeps the lowest ids among equal scores (tested), in reverse order: sorted below
            scores, ids = _flat_search(self._backend, unit, min(n, k)) if n else self._empty(len(unit), 0)
        else:
            ids = self._candidates(unit, min(n, k * self.rescore_multiplier))
            scores = self._rescore(unit, ids)
        return self._ranked(scores, ids, k)

    @staticmethod
    def _empty(q: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)

    def _candidates(self, unit: np.ndarray, fetch: int) -> np.ndarray:
        """Index ids of the best ``fetch`` rows of each query by its codes (Hamming or integer dot product)."""
        if not fetch:
            return np.full((len(unit), 0), -1, np.int64)
        if self.quantize.endswith("binary"):
            if self.method == "hnsw":
                self._backend.hnsw.efSearch = max(self.ef_search, fetch)
            return self._backend.search(quantization.codes(unit, "ubinary", None), fetch)[1]
        codes = quantization.codes(unit, "int8", self._ranges).astype(np.float32)  # centred: uint8 - 128 = int8
        return top_k(codes, self._backend, np.ones(len(self._backend)), fetch)[1]

    def _rescore(self, unit: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine of each query with its candidates, from the float unit vectors."""
        scores = np.full(ids.shape, -np.inf, np.float32)
        for q in range(len(unit)):
            found = ids[q][ids[q] >= 0]
            order = np.sort(found)  # ascending rows read a memory-mapped file in one pass
            values = np.asarray(self._floats[order], dtype=np.float32) @ unit[q]
            scores[q, :len(found)] = values[np.searchsorted(order, found)]
        return scores

    def _ranked(self, scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Sort each query's hits by score descending, then corpus row; keep ``k``; index ids -> corpus rows."""
        out_scores, out_rows = self._empty(len(scores), k)
        for q in range(len(scores)):
            keep = ids[q] >= 0
            rows, values = self.positions[ids[q][keep]], scores[q][keep]
            order = np.lexsort((rows, -values))[:k]
            out_scores[q, :len(order)], out_rows[q, :len(order)] = values[order], rows[order]
        np.clip(out_scores, -1.0, 1.0, out=out_scores, where=out_rows >= 0)
        return out_scores, out_rows

    def save(self, folder: str | Path) -> Path:
        """Write the index to ``folder`` (created; an earlier index there is replaced). Returns the folder."""
        target = Path(folder)
        if target.exists() and not (target / META_FILE).is_file():
            raise OutputError(
                "E530", f"{str(target)!r} exists and is not a saved nlu_lite index; pass a new folder name, e.g. "
                        "index.save('notes.index').")
        work = target.with_name(f".{target.name}.partial")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        faiss = _faiss() if self.quantize not in ("int8", "uint8") else None
        if faiss is None:
            np.save(work / "codes.npy", self._backend)
        elif self.quantize:
            faiss.write_index_binary(self._backend, str(work / "index.faiss"))
        else:
            faiss.write_index(self._backend, str(work / "index.faiss"))
        np.save(work / "positions.npy", self.positions)
        if self._floats is not None:
            np.save(work / "floats.npy", self._floats)
        corpus = self._corpus
        columns = {**{f"id:{n}": v for n, v in corpus.ids.items()},
                   **({f"text:{corpus.text}": corpus.frame[corpus.text].array} if corpus.text else {})}
        if columns:
            provenance.parquet_support()
            pd.DataFrame({n: (v.array if hasattr(v, "array") else v) for n, v in columns.items()}).to_parquet(
                work / "rows.parquet")
        meta = {"format": FORMAT, "method": self.method, "quantize": self.quantize, "dim": self.dim,
                "n_rows": self.n_rows, "skipped": self.skipped, "rescore_multiplier": self.rescore_multiplier,
                "ef_search": self.ef_search, "identity": self.identity, "nlu_lite": __version__,
                "ranges": None if self._ranges is None else self._ranges.tolist(), "rows": bool(columns)}
        (work / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
        return target

    @classmethod
    def load(cls, folder: str | Path, *, mmap: bool = True) -> VectorIndex:
        """An index written by ``save``; with ``mmap`` the float vectors used for rescoring stay on disk."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InvalidInputError(
                "E531", f"{str(folder)!r} is not a saved nlu_lite index (no readable {META_FILE}: {e}); pass the "
                        "folder that index.save(folder) wrote.") from e
        found = meta.get("format") if isinstance(meta, dict) else meta
        if found != FORMAT:
            raise InvalidInputError(
                "E532", f"{str(folder)!r} holds an index of format {found!r}, this nlu_lite reads {FORMAT!r}; "
                        "rebuild it with nlu_lite.index(...).save(folder).")
        quantize = meta["quantize"]
        if quantize in ("int8", "uint8"):
            backend = np.load(folder / "codes.npy", mmap_mode="r" if mmap else None)
        elif quantize:
            backend = _faiss().read_index_binary(str(folder / "index.faiss"))
        else:
            backend = _faiss().read_index(str(folder / "index.faiss"))
        floats = np.load(folder / "floats.npy", mmap_mode="r" if mmap else None) if quantize else None
        ids: dict[str, object] = {}
        text = None
        rows = pd.read_parquet(folder / "rows.parquet") if meta["rows"] else None
        for name in [] if rows is None else rows.columns:
            kind, _, original = name.partition(":")
            if kind == "id":
                ids[original] = rows[name].array
            else:
                text = original
        corpus_frame = None if text is None else rows.rename(columns={f"text:{text}": text})
        ranges = None if meta["ranges"] is None else np.asarray(meta["ranges"], dtype=np.float32)
        return cls(method=meta["method"], quantize=quantize, dim=meta["dim"], n_rows=meta["n_rows"],
                   positions=np.load(folder / "positions.npy"), backend=backend, floats=floats, ranges=ranges,
                   identity=meta["identity"], corpus=Side(np.empty((meta["n_rows"], 0), np.float32), corpus_frame,
                                                             ids, text),
                   skipped=meta["skipped"], rescore_multiplier=meta["rescore_multiplier"],
                   ef_search=meta["ef_search"])


def index(corpus: object, *, method: str = "exact", quantize: str | None = None, calibration: object = None,
          rescore_multiplier: int = 10, hnsw_m: int = 32, ef_construction: int = 80, ef_search: int = 128,
          pipe: Pipeline | None = None, column: str | None = None) -> VectorIndex:
    """Build a search index over ``corpus`` once; search it with ``nearest(queries, idx, k)`` or ``idx.search``.

    Args:
        corpus: a predict() DataFrame (any level), an ``(n, dim)`` float array, or texts with ``pipe``.
        method: ``"exact"`` (every row compared: the same neighbours as ``nearest``) or ``"hnsw"`` (a graph,
            approximate: much faster past about a million rows; recall measured in docs/compact_vectors.md).
        quantize: ``None`` (float32), ``"int8"``/``"uint8"`` (1 byte per dimension) or ``"binary"``/``"ubinary"``
            (1 bit): candidates are found by their codes and rescored with the float vectors.
        calibration: int8/uint8 ranges from these vectors (default: the corpus itself), as ``nlu_lite.quantize``.
        rescore_multiplier: a quantized search rescores ``k * rescore_multiplier`` candidates per query.
        hnsw_m, ef_construction, ef_search: HNSW's graph degree, build breadth and search breadth (higher:
            better recall, slower).
        pipe, column: as in ``nearest``.

    Raises E527 where FAISS is not installed (``pip install 'nlu-lite[index]'``; int8/uint8 need only numpy).
    """
    if method not in METHODS:
        raise InvalidOptionError("E533", f"method={method!r} is not an index method; choose one of {list(METHODS)}, "
                                 "e.g. nlu_lite.index(corpus, method='hnsw').")
    if quantize is not None:
        quantization.check_precision(quantize)
    if quantize in ("int8", "uint8") and method != "exact":
        raise InvalidOptionError("E534", f"quantize={quantize!r} is searched by an exact scan of its codes; use "
                                 "method='exact', or quantize='binary' with method='hnsw'.")
    for name, value in (("rescore_multiplier", rescore_multiplier), ("hnsw_m", hnsw_m),
                        ("ef_construction", ef_construction), ("ef_search", ef_search)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidOptionError("E535", f"{name}={value!r} must be a positive integer, e.g. {name}=4.")
    faiss = None if quantize in ("int8", "uint8") else _faiss()
    side = side_of(corpus, pipe, column, "corpus")
    dim = side.vectors.shape[1]
    if dim == 0:
        raise InvalidInputError("E536", "The corpus has no vector at all (every row empty); index rows with text.")
    norms = row_norms(side.vectors, max(1, BLOCK_BYTES // (8 * dim)))
    usable = usable_by_norm(norms)
    skipped = report_skipped("index()", [("corpus rows", usable)])["corpus rows"]
    positions = np.flatnonzero(usable)
    ranges, unit = None, None
    if quantize is None:  # added block by block: the float32 copy is the index's own
        backend = faiss.IndexFlatIP(dim) if method == "exact" else faiss.IndexHNSWFlat(
            dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        if method == "hnsw":
            backend.hnsw.efConstruction = ef_construction
        for block in unit_blocks(side.vectors, usable, norms):
            backend.add(block)
    elif quantize.endswith("binary"):
        unit = unit_rows(side.vectors, usable, norms)  # kept: the candidates are rescored with them
        bits = 8 * ((dim + 7) // 8)
        backend = faiss.IndexBinaryFlat(bits) if method == "exact" else faiss.IndexBinaryHNSW(bits, hnsw_m)
        if method == "hnsw":
            backend.hnsw.efConstruction = ef_construction
        for start in range(0, len(unit), 65536):
            backend.add(quantization.codes(unit[start:start + 65536], "ubinary", None))
    else:  # the codes of the unit vectors, centred (uint8 - 128 = int8) so that dot products rank like cosines
        unit = unit_rows(side.vectors, usable, norms)
        ranges, _ = quantization.calibration_ranges(unit if calibration is None else calibration, dim, column,
                                                    unit=calibration is not None)
        backend = np.empty(unit.shape, dtype=np.int8)
        for start in range(0, len(unit), 65536):
            backend[start:start + 65536] = quantization.codes(unit[start:start + 65536], "int8", ranges)
    record = side.frame.attrs.get(provenance.ATTRS_KEY) if side.frame is not None else None
    identity = _identity(record, embedding_column(side.frame, column) if record else None)
    return VectorIndex(method=method, quantize=quantize, dim=dim, n_rows=len(side.vectors), positions=positions,
                       backend=backend, floats=unit if quantize else None, ranges=ranges, identity=identity,
                       corpus=Side(np.empty((len(side.vectors), 0), np.float32),
                                    None if side.text is None else side.frame[[side.text]], side.ids, side.text),
                       skipped=skipped, rescore_multiplier=int(rescore_multiplier), ef_search=int(ef_search))
