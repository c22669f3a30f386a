"""Compact vectors: int8/uint8 (one byte per dimension) or binary/ubinary (one bit) codes of float vectors.

The codes are sentence-transformers' ``quantize_embeddings`` (checked bit for bit in ``tests/test_quantize.py``):

- ``int8`` / ``uint8``: each dimension's calibration range ``[min, max]`` is cut into 255 steps;
  ``code = clip(floor((x - min) / step), 0, 255)`` as ``uint8``, minus 128 as ``int8``. The ranges come from
  ``calibration`` vectors when given (recommended: a representative sample of the corpus), else from the data
  itself. A dimension whose range is zero gets step 1.
- ``binary`` / ``ubinary``: the sign bits (``x > 0``) packed eight to a byte (``np.packbits``), ``ceil(dim / 8)``
  bytes per vector; ``binary`` is the same bytes minus 128 as ``int8``.

It is written here rather than imported: the arithmetic is five lines, importing sentence-transformers takes
about 6 s, and its int8 formula changed between releases (earlier ones did not clip or floor).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from .. import provenance
from ..errors import InvalidInputError, InvalidOptionError
from ..pipeline._frames import embedding_column, to_numpy, usable_rows

PRECISIONS = ("int8", "uint8", "binary", "ubinary")


def check_precision(precision: object) -> str:
    if precision not in PRECISIONS:
        raise InvalidOptionError(
            "E520", f"quantize={precision!r} is not a precision nlu_lite can quantize to; choose one of "
                    f"{list(PRECISIONS)}, e.g. nlu_lite.quantize(vectors, 'int8', calibration=sample).")
    return str(precision)


def _floats(data: object, column: str | None, role: str) -> np.ndarray:
    """An ``(n, dim)`` float matrix from an array or a predict() frame (null vectors as NaN rows)."""
    if isinstance(data, pd.DataFrame):
        facts = quantized(data, embedding_column(data, column))
        if facts is not None:
            raise InvalidInputError(
                "E521", f"{role} is already quantized ({facts['precision']}); pass the float vectors that "
                        "predict() returned.")
        return to_numpy(data, column)
    array = np.asarray(data)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        raise InvalidInputError(
            "E522", f"{role} is a {array.dtype} array of shape {array.shape}; pass (n, dim) float vectors "
                    "(a predict() DataFrame or e.g. pipe.embed(texts)), not codes that are already quantized.")
    return array


def calibration_ranges(calibration: object, dim: int, column: str | None = None,
                       unit: bool = False) -> tuple[np.ndarray, int]:
    """The ``(2, dim)`` float32 per-dimension ``[min; max]`` of the usable rows of ``calibration`` (each scaled to
    length 1 first with ``unit``), and how many rows set them."""
    vectors = _floats(calibration, column, "calibration")
    finite = usable_rows(vectors)
    rows = vectors if finite.all() else vectors[finite]  # no copy of a large corpus without empty rows
    if unit:
        with np.errstate(invalid="ignore", divide="ignore"):
            rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows[usable_rows(rows)]  # all-zero rows have no direction
    if len(rows) < 2:
        raise InvalidInputError(
            "E523", f"int8/uint8 ranges need at least 2 vectors to take each dimension's min and max from, got "
                    f"{len(rows)} usable of {len(vectors)}; pass calibration= a representative sample (about 1,000 "
                    "vectors of the corpus is plenty), e.g. nlu_lite.quantize(x, 'int8', calibration=corpus[:1000]).")
    if rows.shape[1] != dim:
        raise InvalidInputError(
            "E526", f"calibration has {rows.shape[1]} dimensions and the data {dim}; calibrate with vectors of the "
                    "same model and truncate_dim.")
    return np.vstack((rows.min(axis=0), rows.max(axis=0))).astype(np.float32), len(rows)


def codes(vectors: np.ndarray, precision: str, ranges: np.ndarray | None) -> np.ndarray:
    """Codes of finite float rows: ``(n, dim)`` int8/uint8, or ``(n, ceil(dim / 8))`` packed sign bits."""
    if precision.endswith("binary"):
        packed = np.packbits(vectors > 0, axis=-1)
        return (packed - 128).astype(np.int8) if precision == "binary" else packed
    starts = ranges[0]
    steps = (ranges[1] - starts) / 255
    steps = np.where(steps == 0, 1, steps)
    values = np.clip(np.floor((vectors - starts) / steps), 0, 255)
    return values.astype(np.uint8) if precision == "uint8" else (values - 128).astype(np.int8)


def quantize(data: object, precision: str, *, calibration: object = None, column: str | None = None) -> object:
    """Vectors as int8/uint8 or packed binary codes, as sentence-transformers' ``quantize_embeddings`` makes them.

    Args:
        data: a predict() DataFrame (any level) or an ``(n, dim)`` float array (e.g. ``pipe.embed(texts)``).
        precision: ``"int8"``, ``"uint8"`` (one byte per dimension), ``"binary"`` or ``"ubinary"`` (one bit).
        calibration: int8/uint8 only: vectors (frame or array) whose per-dimension min and max set the ranges;
            default: the data's own rows. Use the same calibration for every batch that will be compared.
        column: the vector column, if the frame has several.

    Returns:
        For an array, the codes: ``(n, dim)`` int8/uint8 or ``(n, ceil(dim / 8))`` int8/uint8. A row that is not
        finite (an empty text's NaN row) is refused (E524). For a frame, a copy with the vector column's cells
        replaced by their codes (null cells stay null) and the provenance record extended with ``quantize``:
        the precision, where the ranges came from, how many rows set them, and the ranges themselves.
    """
    precision = check_precision(precision)
    vectors = _floats(data, column, "data")
    usable = usable_rows(vectors)
    if calibration is not None and not precision.endswith("int8"):
        raise InvalidOptionError(
            "E525", f"calibration= sets int8/uint8 ranges; {precision!r} codes are sign bits and take none. "
                    "Leave calibration out.")
    ranges, source, n_calibration = None, None, None
    if precision.endswith("int8"):
        source = "data" if calibration is None else "calibration"
        ranges, n_calibration = calibration_ranges(data if calibration is None else calibration, vectors.shape[1],
                                                   column)
    if not isinstance(data, pd.DataFrame):
        if not usable.all():
            bad = np.flatnonzero(~usable)
            raise InvalidInputError(
                "E524", f"{len(bad)} of {len(vectors)} rows have no vector (NaN, e.g. empty texts; positions "
                        f"{bad[:5].tolist()}{' ...' if len(bad) > 5 else ''}), and codes cannot say 'missing'. "
                        "Keep the rows with vectors first: x = x[np.isfinite(x).all(axis=1)].")
        return codes(vectors, precision, ranges)
    name = embedding_column(data, column)
    out = data.copy()
    coded = codes(vectors[usable], precision, ranges)
    cells: list[np.ndarray | None] = [None] * len(vectors)
    for position, row in zip(np.flatnonzero(usable).tolist(), coded):
        cells[position] = row
    out[name] = cells
    record = out.attrs.get(provenance.ATTRS_KEY)
    if record is not None:  # a group's record holds one record per vector column under "models"
        record = copy.deepcopy(dict(record))
        facts = record["models"].get(name, record) if "models" in record else record
        facts["quantize"] = {"precision": precision, "bytes": int(coded.shape[1]), "ranges_from": source,
                             "calibration_rows": n_calibration,
                             "ranges": None if ranges is None else ranges.tolist()}
        provenance.attach(out, record)
    return out


def quantized(frame: pd.DataFrame, column: str) -> dict | None:
    """The ``quantize`` facts of a frame's vector column from its provenance record, or None (float vectors)."""
    record = frame.attrs.get(provenance.ATTRS_KEY) or {}
    facts = record.get("models", {}).get(column, record) if "models" in record else record
    return facts.get("quantize") if isinstance(facts, dict) else None
