"""quantize(): int8/uint8/binary/ubinary codes equal sentence-transformers' quantize_embeddings bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError

st_quantization = pytest.importorskip("sentence_transformers.util.quantization",
                                      reason="pip install sentence-transformers (the [test] extra)")

PRECISIONS = ["int8", "uint8", "binary", "ubinary"]
NOTES = ["Patient denies chest pain. Takes aspirin daily.", None, "Fever and cough for a day. No history of bp.",
         "Dr Smith: heart rate 72, blood pressure 120/80.", "", "No fever. No cough."]


def embedding_like(rng, n: int, dim: int) -> np.ndarray:
    """Unit rows with a shared direction and unequal per-dimension scales, as sentence embeddings have."""
    x = rng.standard_normal((n, dim)).astype(np.float32) * rng.uniform(0.2, 2.0, dim).astype(np.float32) + 0.3
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("dim", [384, 100])  # 100: packed bits end in a partly used byte
def test_quantize_equals_sentence_transformers_bit_for_bit(precision, dim):
    rng = np.random.default_rng(dim)
    corpus = embedding_like(rng, 20_000, dim)
    calibration, queries = corpus[:1000], embedding_like(rng, 500, dim) * 1.5  # queries partly outside the ranges
    got = nlu_lite.quantize(corpus, precision)
    want = st_quantization.quantize_embeddings(corpus, precision)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if precision.endswith("int8"):
        got = nlu_lite.quantize(queries, precision, calibration=calibration)
        want = st_quantization.quantize_embeddings(queries, precision, calibration_embeddings=calibration)
        np.testing.assert_array_equal(got, want)
        assert {0, 255} <= set(np.unique(got.astype(np.int64) + (128 if precision == "int8" else 0)))  # clipped


def test_quantize_constant_dimension_matches_sentence_transformers():
    x = embedding_like(np.random.default_rng(1), 300, 16)
    x[:, 3] = 0.25  # a zero range: step 1
    for precision in ("int8", "uint8"):
        np.testing.assert_array_equal(nlu_lite.quantize(x, precision),
                                      st_quantization.quantize_embeddings(x, precision))


@pytest.fixture(scope="module")
def minilm_vectors(minilm, sentence_transformer):
    texts = [t for t in NOTES if t] * 3 + ["Shortness of breath on exertion.", "Blood pressure is high."]
    return (texts, minilm.embed(texts, normalize=True), sentence_transformer.encode(texts, normalize_embeddings=True),
            minilm.predict(NOTES, output_level="document", normalize=True))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_quantize_embed_and_frames_give_the_same_codes_as_the_array(minilm, minilm_vectors, precision):
    texts, floats, st_floats, frame = minilm_vectors
    calibration = floats[::2] if precision.endswith("int8") else None
    codes = minilm.embed(texts, normalize=True, quantize=precision, calibration=calibration)
    np.testing.assert_array_equal(codes, st_quantization.quantize_embeddings(
        floats, precision, calibration_embeddings=calibration))
    # sentence-transformers' own floats (equal to ours within 1e-6) give the same codes but where a value sits on
    # a bucket edge: there the code differs by one step (int8) or the sign bit of a value near 0 flips (binary)
    reference = st_quantization.quantize_embeddings(st_floats, precision, calibration_embeddings=calibration)
    if precision.endswith("int8"):
        assert np.abs(codes.astype(np.int64) - reference.astype(np.int64)).max() <= 1
    assert (codes != reference).mean() < 0.05
    coded = nlu_lite.quantize(frame, precision, calibration=calibration)
    cells = coded[minilm.column_name].tolist()
    assert [c is None for c in cells] == [t in (None, "") for t in NOTES]  # empty notes stay null rows
    present = np.flatnonzero([c is not None for c in cells])
    rows = nlu_lite.to_numpy(frame)[present]
    np.testing.assert_array_equal(np.stack([cells[k] for k in present]),
                                  nlu_lite.quantize(rows, precision, calibration=calibration))
    assert coded.drop(columns=minilm.column_name).equals(frame.drop(columns=minilm.column_name))
    facts = nlu_lite.provenance(coded)["quantize"]
    assert facts["precision"] == precision and facts["bytes"] == (384 if precision.endswith("int8") else 48)
    if precision.endswith("int8"):
        assert facts["ranges_from"] == "calibration" and facts["calibration_rows"] == len(calibration)
        np.testing.assert_array_equal(np.asarray(facts["ranges"], np.float32),
                                      np.vstack([calibration.min(0), calibration.max(0)]))
    assert "quantize" not in nlu_lite.provenance(frame)  # the input frame is not changed


def test_quantize_group_frame_records_the_codes_under_its_model(tiny_cased_dir, tiny_uncased_dir):
    group = nlu_lite.load({str(tiny_cased_dir): {}, str(tiny_uncased_dir): {}})
    frame = group.predict(NOTES, output_level="document")
    first, second = group.column_names
    coded = nlu_lite.quantize(frame, "ubinary", column=first)
    record = nlu_lite.provenance(coded)["models"]
    assert record[first]["quantize"]["precision"] == "ubinary" and "quantize" not in record[second]
    assert coded[second].equals(frame[second])


@pytest.mark.parametrize(("call", "error", "code"), [
    (lambda x, f: nlu_lite.quantize(x, "int4"), InvalidOptionError, "E520"),
    (lambda x, f: nlu_lite.quantize(nlu_lite.quantize(f, "int8"), "int8"), InvalidInputError, "E521"),
    (lambda x, f: nlu_lite.quantize(nlu_lite.quantize(x, "int8"), "binary"), InvalidInputError, "E522"),
    (lambda x, f: nlu_lite.quantize(x[:1], "int8"), InvalidInputError, "E523"),
    (lambda x, f: nlu_lite.quantize(x, "uint8", calibration=x[:1]), InvalidInputError, "E523"),
    (lambda x, f: nlu_lite.quantize(np.vstack([x, np.full((1, x.shape[1]), np.nan, np.float32)]), "binary"),
     InvalidInputError, "E524"),
    (lambda x, f: nlu_lite.quantize(x, "binary", calibration=x), InvalidOptionError, "E525"),
    (lambda x, f: nlu_lite.quantize(x, "int8", calibration=x[:, :8]), InvalidInputError, "E526"),
    (lambda x, f: nlu_lite.nearest(x, nlu_lite.quantize(x, "int8")), InvalidInputError, "E537"),
    (lambda x, f: nlu_lite.nearest(f, nlu_lite.quantize(f, "binary")), InvalidInputError, "E538"),
])
def test_quantize_bad_input_is_refused_with_code(tiny_cased, call, error, code):
    vectors = embedding_like(np.random.default_rng(0), 50, 32)
    frame = tiny_cased.predict(NOTES, output_level="sentence")
    with pytest.raises(error, match=code):
        call(vectors, frame)
