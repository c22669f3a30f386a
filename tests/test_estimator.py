"""EmbeddingTransformer in scikit-learn pipelines: fit/predict against a hand computation, clone, pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="pip install scikit-learn (the [test] extra)")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import nlu_lite  # noqa: E402
from nlu_lite.errors import InvalidInputError  # noqa: E402

CARDIO = ["chest pain", "Chest pain and heart rate 72.", "blood pressure with chest pain", "heart rate and bp",
          "the patient denies chest pain", "Takes aspirin daily for chest pain", "bp and heart rate",
          "Dr Smith: chest pain"]
RESP = ["fever and cough", "Cough for a day.", "no fever", "cough with fever", "the patient has a cough",
        "Fever 39.", "fever cough prn", "Dr Smith: cough"]
TEXTS = CARDIO + RESP
LABELS = ["cardio"] * len(CARDIO) + ["resp"] * len(RESP)


@pytest.fixture()
def transformer(tiny_cased_dir):
    return nlu_lite.EmbeddingTransformer(model=str(tiny_cased_dir))


def test_estimator_pipeline_fit_predict_equals_hand_computation(tiny_cased, transformer):
    clf = make_pipeline(transformer, LogisticRegression(max_iter=1000)).fit(TEXTS, LABELS)
    vectors = nlu_lite.to_numpy(tiny_cased.predict(TEXTS, output_level="document"))
    by_hand = LogisticRegression(max_iter=1000).fit(vectors, LABELS)
    new = ["chest pain daily", "cough and fever"]
    new_vectors = nlu_lite.to_numpy(tiny_cased.predict(new, output_level="document"))
    np.testing.assert_allclose(clf.predict_proba(new), by_hand.predict_proba(new_vectors), atol=1e-6)
    assert list(clf.predict(new)) == list(by_hand.predict(new_vectors))
    assert clf.score(TEXTS, LABELS) == by_hand.score(vectors, LABELS)


def test_estimator_cross_validation_equals_precomputed_vectors(transformer):
    folds = KFold(4, shuffle=True, random_state=0)
    piped = cross_val_score(make_pipeline(transformer, LogisticRegression(max_iter=1000)), TEXTS, LABELS, cv=folds)
    X = clone(transformer).fit_transform(TEXTS)
    precomputed = cross_val_score(LogisticRegression(max_iter=1000), X, LABELS, cv=folds)
    np.testing.assert_array_equal(piped, precomputed)


def test_estimator_clone_copies_params_not_state(transformer):
    fitted = transformer.set_params(predict_options={"pooling": "max"}).fit(TEXTS)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "n_features_out_")
    with pytest.raises(NotFittedError):
        copy.transform(TEXTS)
    np.testing.assert_array_equal(copy.fit_transform(TEXTS), fitted.transform(TEXTS))


def test_estimator_pickle_is_small_and_holds_no_weights(transformer):
    fitted = transformer.fit(TEXTS)
    data = pickle.dumps(fitted)
    assert len(data) < 1000  # the tiny model alone is ~100 kB; the real ones hundreds of MB
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.transform(TEXTS), fitted.transform(TEXTS))


def test_estimator_loads_lazily_on_first_fit(tmp_path):
    missing = nlu_lite.EmbeddingTransformer(model=str(tmp_path / "no_model_here"))
    clone(pickle.loads(pickle.dumps(missing)))  # construction, pickling and cloning touch no files
    with pytest.raises(nlu_lite.errors.UnknownModelError, match="no_model_here"):
        missing.fit(TEXTS)


def test_estimator_takes_text_column_series_list_and_arrays(transformer):
    fitted = transformer.fit(TEXTS)
    want = fitted.transform(TEXTS)
    frame = pd.DataFrame({"note": TEXTS, "label": LABELS})
    forms = [pd.Series(TEXTS), tuple(TEXTS), np.asarray(TEXTS, dtype=object), np.asarray(TEXTS)[:, None],
             frame[["note"]]]
    for form in forms:
        np.testing.assert_array_equal(fitted.transform(form), want)
    np.testing.assert_array_equal(clone(fitted).set_params(text_column="note").fit_transform(frame), want)
    with pytest.raises(InvalidInputError, match=r"\[E210\].*text_column='note'"):
        fitted.transform(frame)
    with pytest.raises(InvalidInputError, match=r"\[E211\]"):
        fitted.transform(np.ones((3, 2)))


def test_estimator_empty_texts_are_nan_rows_and_feature_names_match_to_wide(tiny_cased, transformer):
    out = transformer.fit_transform(["chest pain", None, ""])
    assert out.shape == (3, tiny_cased.encoder.dim) and np.isnan(out[1:]).all() and np.isfinite(out[0]).all()
    names = transformer.get_feature_names_out()
    wide = nlu_lite.to_wide(tiny_cased.predict(["chest pain"], output_level="document"), vectors_only=True)
    assert list(names) == list(wide.columns)
    as_frame = transformer.set_output(transform="pandas").transform(pd.Series(["chest pain"], index=[42]))
    assert list(as_frame.columns) == list(names) and list(as_frame.index) == [42]
    np.testing.assert_array_equal(as_frame.to_numpy(), wide.to_numpy())


@pytest.mark.slow
def test_estimator_minilm_vectors_equal_sentence_transformers(minilm, sentence_transformer):
    texts = ["Patient denies chest pain.", "BP 120/80, HR 72. Takes aspirin 81 mg daily.", "No fever or cough."]
    ours = nlu_lite.EmbeddingTransformer().fit_transform(texts)
    reference = sentence_transformer.encode(texts, convert_to_numpy=True)
    assert np.abs(ours - reference).max() < 1e-4
