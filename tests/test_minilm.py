"""The real pretrained all-MiniLM-L6-v2 (packaged offline) against sentence-transformers and the raw model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import reference_model
from shared_data import mtsamples_notes

SENTENCES = [
    "Patient denies chest pain.",
    "BP 120/80, HR 72 and the patient was discharged home on aspirin 81 mg daily.",
    "Take 1 tab b.i.d. p.r.n. for pain.",
    "No known drug allergies",
]


def stack(frame, pipe) -> np.ndarray:
    return np.stack(frame[pipe.column_name].to_list())


def test_minilm_loads_from_the_package_offline(minilm, monkeypatch):
    assert minilm.source.kind == "packaged"
    assert minilm.encoder.dim == 384
    assert minilm.settings.output_level == "sentence" and minilm.settings.normalize is True


@pytest.mark.parametrize("level", ["sentence", "document"])
def test_minilm_sentence_and_document_vectors_equal_sentence_transformers(minilm, sentence_transformer, level):
    ours = stack(minilm.predict(SENTENCES, output_level=level), minilm)
    reference = sentence_transformer.encode(SENTENCES, convert_to_numpy=True)
    assert ours.shape == reference.shape == (4, 384)
    assert np.abs(ours - reference).max() < 1e-4


def test_minilm_multi_sentence_document_equals_sentence_transformers(minilm, sentence_transformer):
    text = " ".join(SENTENCES)
    ours = stack(minilm.predict(text, output_level="document"), minilm)[0]
    assert np.abs(ours - sentence_transformer.encode(text)).max() < 1e-4


def test_minilm_unnormalized_sentence_vector_is_mean_of_hidden_states(minilm):
    text = SENTENCES[1]
    enc = minilm.encoder.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        hidden = reference_model(minilm)(**enc).last_hidden_state[0].numpy()
    ours = stack(minilm.predict(text, output_level="sentence", normalize=False), minilm)[0]
    np.testing.assert_allclose(ours, hidden.mean(0), atol=1e-5)
    cls = stack(minilm.predict(text, output_level="sentence", normalize=False, pooling="cls"), minilm)[0]
    np.testing.assert_allclose(cls, hidden[0], atol=1e-5)
    top = stack(minilm.predict(text, output_level="sentence", normalize=False, pooling="max"), minilm)[0]
    np.testing.assert_allclose(top, hidden.max(0), atol=1e-5)


def test_minilm_single_wordpiece_tokens_equal_last_hidden_state(minilm):
    text = SENTENCES[1]
    tok = minilm.encoder.tokenizer
    enc = tok(text, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.inference_mode():
        hidden = reference_model(minilm)(**enc).last_hidden_state[0].numpy()
    df = minilm.predict(text, output_level="token", positions=True)
    by_span = {tuple(span): k for k, span in enumerate(offsets) if span[1] > span[0]}
    checked = 0
    for begin, end, vector in zip(df["begin"], df["end"], df[minilm.column_name]):
        k = by_span.get((begin, end))
        if k is not None:
            np.testing.assert_allclose(vector, hidden[k], atol=1e-5)
            checked += 1
    assert checked >= 15


@pytest.mark.slow
@pytest.mark.parametrize("window,token_mean,token_min,sentence_cos", [(128, 0.88, 0.6, 0.94), (192, 0.94, 0.78, 0.98)])
def test_minilm_window_seams_stay_close_to_single_pass(minilm, window, token_mean, token_min, sentence_cos):
    """A 230-wordpiece sentence encoded whole (limit 256) vs in windows: the tolerance docs/vectors.md documents.

    Measured: window 128 -> token cosine mean 0.895 / min 0.648, sentence 0.947; window 192 -> 0.952 / 0.803,
    sentence 0.984. Token vectors are contextual, so less context moves them; nothing is dropped.
    """
    words = " ".join(mtsamples_notes(3)[2].replace(".", " ").split()).split()[:200]
    sentence = " ".join(words)
    whole = minilm.predict(sentence, output_level="token", max_wordpieces=256)
    assert whole["sentence_id"].max() == 0
    windowed = minilm.predict(sentence, output_level="token", max_wordpieces=window)
    a, b = stack(whole, minilm), stack(windowed, minilm)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert len(a) == len(b) >= 200
    assert cosine.mean() >= token_mean and cosine.min() >= token_min, (cosine.mean(), cosine.min())
    s_whole = stack(minilm.predict(sentence, max_wordpieces=256), minilm)[0]
    s_window = stack(minilm.predict(sentence, max_wordpieces=window), minilm)[0]
    assert float(s_whole @ s_window) >= sentence_cos


@pytest.mark.slow
@pytest.mark.parametrize(("precision", "mean_bar", "min_bar"), [("bf16", 0.9999, 0.999), ("int8", 0.99, 0.95)])
def test_minilm_cpu_precision_accuracy_guard(minilm, precision, mean_bar, min_bar):
    """The torch runtime's CPU precisions against fp32 on real clinical notes, token and sentence cosine."""
    import nlu_lite
    from nlu_lite.runtimes import _cpu_features as cpu_features

    if precision == "bf16" and not cpu_features.has_native_bf16():
        pytest.skip("this CPU has no native bf16 (AVX-512 BF16 or AMX): precision='bf16' is refused")
    notes = mtsamples_notes(12)
    other = nlu_lite.load("minilm", precision=precision)
    assert precision != "bf16" or "bf16 Linear weights" in other.encoder.runtime.compute
    for level in ("token", "sentence"):
        a = stack(minilm.predict(notes, output_level=level), minilm)
        b = stack(other.predict(notes, output_level=level), other)
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cosine.mean() >= mean_bar, (level, cosine.mean())
        assert cosine.min() >= min_bar, (level, cosine.min())
