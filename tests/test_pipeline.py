"""End-to-end behaviour of predict() on the tiny models built by conftest.py."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from reference import reference_model
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError

NOTE = "Patient denies chest pain. BP 120/80, HR 72.\n\nTakes aspirin b.i.d. for pain."


def vectors(frame: pd.DataFrame, pipe) -> np.ndarray:
    return np.stack(frame[pipe.column_name].to_list())


@pytest.mark.parametrize("level,text_col,rows", [("token", "token", 17), ("sentence", "sentence", 3),
                                                 ("document", "document", 1)])
def test_pipeline_levels_shapes_and_columns(tiny_cased, level, text_col, rows):
    df = tiny_cased.predict(NOTE, output_level=level, positions=True)
    assert len(df) == rows
    assert df.index.name == "origin_index" and (df.index == 0).all()
    assert df.columns[0] == text_col
    assert {"begin", "end", "tiny_cased_embeddings"} <= set(df.columns)
    cells = df["tiny_cased_embeddings"]
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 and v.shape == (32,) for v in cells)
    assert np.isfinite(vectors(df, tiny_cased)).all()
    if level != "document":
        for b, e, t in zip(df["begin"], df["end"], df[text_col]):
            assert NOTE[b:e] == t


def test_pipeline_token_rows_are_spacy_tokens(tiny_cased):
    df = tiny_cased.predict(NOTE, output_level="token")
    assert df["token"].tolist()[:7] == ["Patient", "denies", "chest", "pain", ".", "BP", "120/80"]
    assert df["sentence_id"].tolist() == [0] * 5 + [1] * 6 + [2] * 6


def test_pipeline_first_pooling_equals_model_hidden_state(tiny_cased):
    import torch

    text = "Patient denies chest pain"
    enc = tiny_cased.encoder.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        hidden = reference_model(tiny_cased)(**enc).last_hidden_state[0].numpy()
    got = vectors(tiny_cased.predict(text, output_level="token"), tiny_cased)
    np.testing.assert_allclose(got, hidden[1:5], atol=1e-5)


@pytest.mark.parametrize("how", ["first", "last", "mean", "first_last"])
def test_pipeline_subword_pooling_against_manual(tiny_cased, how):
    import torch

    text = "BP 120/80"  # "BP" -> B ##P ; "120/80" -> 1 ##2 ##0 / 8 ##0
    enc = tiny_cased.encoder.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        h = reference_model(tiny_cased)(**enc).last_hidden_state[0].numpy()[1:-1]
    groups = [h[0:2], h[2:8]]
    expected = [{"first": g[0], "last": g[-1], "mean": g.mean(0), "first_last": np.r_[g[0], g[-1]]}[how]
                for g in groups]
    got = vectors(tiny_cased.predict(text, output_level="token", subword_pooling=how), tiny_cased)
    np.testing.assert_allclose(got, np.stack(expected), atol=1e-5)


def test_pipeline_cased_and_uncased_tokenizers(tiny_cased, tiny_uncased):
    assert tiny_cased.encoder.tokenizer.tokenize("Patient")[0] == "Patient"
    assert tiny_uncased.encoder.tokenizer.tokenize("Patient")[0] == "patient"
    assert "[UNK]" not in tiny_cased.encoder.tokenizer.tokenize(NOTE)


def test_pipeline_empty_rows_are_kept_at_every_level(tiny_cased):
    data = pd.Series(["Chest pain.", None, "", "   ", float("nan"), "No fever."], index=list("abcdef"))
    for level in TEXT_LEVELS:
        df = tiny_cased.predict(data, output_level=level)
        assert set(df.index) == set("abcdef")
        empty = df.loc[list("bcde")]
        assert empty["tiny_cased_embeddings"].isna().all()
    doc = tiny_cased.predict(data, output_level="document")
    assert list(doc.index) == list("abcdef")
    assert doc["document"].iloc[2] == "" and doc["document"].iloc[3] == "   "


def test_pipeline_dataframe_input_keeps_columns_and_index(tiny_cased):
    frame = pd.DataFrame({"note": ["Chest pain. No fever.", "Aspirin daily."], "patient": [7, 8]},
                         index=[100, 100])
    df = tiny_cased.predict(frame, output_level="sentence", text_column="note")
    assert list(df.index) == [100, 100, 100]
    assert df["patient"].tolist() == [7, 7, 8]
    assert "note" not in df.columns


def test_pipeline_output_column_clash_is_an_error(tiny_cased):
    with pytest.raises(InvalidInputError, match="rename them"):
        tiny_cased.predict(pd.DataFrame({"text": ["a b"], "token": [1]}), output_level="token")


def test_pipeline_bad_output_level_lists_valid_ones(tiny_cased):
    from nlu_lite import levels

    assert levels.names()[:4] == ("token", "sentence", "document", "span")  # then any registered ones
    valid = re.escape(str(list(levels.names())))
    with pytest.raises(InvalidOptionError, match=r"output_level='not-a-level'.*" + valid):
        tiny_cased.predict("x", output_level="not-a-level")


@pytest.mark.parametrize("option", [{"subword_pooling": "avg"}, {"pooling": "sum"}, {"batch_tokens": 0},
                                    {"colour": "red"}, {"normalize": "yes"}, {"max_wordpieces": 2}])
def test_pipeline_bad_options_are_errors(tiny_cased, option):
    with pytest.raises(InvalidOptionError):
        tiny_cased.predict("x", **option)


def test_pipeline_long_sentence_is_windowed_not_truncated(tiny_cased):
    # the tiny model has 64 positions: this one sentence has ~600 wordpieces
    text = " ".join(["Patient denies chest pain with fever and cough"] * 75)
    df = tiny_cased.predict(text, output_level="token", positions=True)
    assert len(df) == 600
    assert np.isfinite(vectors(df, tiny_cased)).all()
    assert df["end"].iloc[-1] == len(text)
    sent = tiny_cased.predict(text, output_level="sentence")
    assert len(sent) == 1 and np.isfinite(sent["tiny_cased_embeddings"].iloc[0]).all()


def test_pipeline_results_do_not_depend_on_batching(tiny_cased):
    texts = [NOTE, "Chest pain.", "Patient takes aspirin daily with blood pressure checks. " * 3]
    a = vectors(tiny_cased.predict(texts, output_level="token"), tiny_cased)
    b = vectors(tiny_cased.predict(texts, output_level="token", batch_tokens=16, max_batch_size=1,
                                   chunk_size=1), tiny_cased)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_pipeline_predict_iter_yields_chunks(tiny_cased):
    parts = list(tiny_cased.predict_iter((f"Note {i}." for i in range(5)), output_level="document", chunk_size=2))
    assert [len(p) for p in parts] == [2, 2, 1]
    assert [i for p in parts for i in p.index] == [0, 1, 2, 3, 4]


def test_pipeline_token_without_wordpiece_gets_nan_and_one_warning(tiny_cased):
    text = "pain \x07 fever \x07"  # BEL is removed by the BERT normalizer
    with pytest.warns(nlu_lite.NoWordpieceWarning, match="2 token"):
        df = tiny_cased.predict(text, output_level="token")
    assert df["token"].tolist() == ["pain", "\x07", "fever", "\x07"]
    flags = [bool(np.isnan(v).all()) for v in df["tiny_cased_embeddings"]]
    assert flags == [False, True, False, True]


def test_pipeline_empty_input_returns_schema(tiny_cased):
    df = tiny_cased.predict([], output_level="token", positions=True)
    assert len(df) == 0
    assert list(df.columns) == ["token", "sentence_id", "section", "begin", "end", "tiny_cased_embeddings"]


def test_pipeline_set_changes_defaults(tiny_cased_dir):
    pipe = nlu_lite.load(path=tiny_cased_dir)
    pipe.set(output_level="sentence", positions=True)
    assert {"sentence", "begin"} <= set(pipe.predict("Chest pain.").columns)
    with pytest.raises(InvalidOptionError):
        pipe.set(subword_pooling="median")


@pytest.mark.parametrize("level", ["token", "sentence"])
def test_pipeline_offsets_slice_every_shared_text(tiny_uncased, level):
    """Through predict(): text[begin:end] equals every row's text, on the MTSamples sample, NegEx and gold sets."""
    from shared_data import gold_texts, mtsamples_notes, negex_sentences

    texts = mtsamples_notes(40) + negex_sentences()[:400] + gold_texts()
    df = tiny_uncased.predict(texts, output_level=level, positions=True, progress=False)
    assert set(df.index) == set(range(len(texts)))
    for origin, begin, end, piece in zip(df.index, df["begin"], df["end"], df[level]):
        assert texts[origin][begin:end] == piece
