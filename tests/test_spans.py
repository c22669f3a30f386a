"""Span level: user spans embedded in context, checked against a hand computation from the model's hidden states."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from reference import reference_model

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError

NOTE = "Patient denies chest pain. Takes aspirin daily."  # every word is one wordpiece of the tiny cased model
CHEST, ASPIRIN = NOTE.index("chest pain"), NOTE.index("aspirin")


def hidden(pipe, text):
    enc = pipe.encoder.tokenizer(text, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.inference_mode():
        return reference_model(pipe)(**enc).last_hidden_state[0].numpy(), offsets


def by_hand(pipe, context: str, shift: int, begin: int, end: int, how: str = "mean") -> np.ndarray:
    """Pool the wordpieces of ``context`` (encoded alone, as the model sees it) that overlap [begin, end)."""
    states, offsets = hidden(pipe, context)
    rows = [k for k, (b, e) in enumerate(offsets) if e > b and b + shift < end and e + shift > begin]
    picked = states[rows]
    return {"mean": picked.mean(0), "first": picked[0], "max": picked.max(0)}[how]


@pytest.mark.parametrize("how", ["mean", "first", "max"])
def test_spans_inside_one_sentence_are_pooled_in_that_sentence(tiny_cased, how):
    spans = pd.DataFrame({"origin_index": [0, 0], "begin": [CHEST, ASPIRIN], "end": [CHEST + 10, ASPIRIN + 7],
                          "label": ["problem", "drug"]})
    df = tiny_cased.predict(NOTE, spans=spans, span_pooling=how)
    assert df["span"].tolist() == ["chest pain", "aspirin"] and df["label"].tolist() == ["problem", "drug"]
    assert df["sentence_id"].tolist() == [0, 1] and df["begin"].tolist() == [CHEST, ASPIRIN]
    first, second = NOTE[:26], NOTE[27:]
    np.testing.assert_allclose(df[tiny_cased.column_name].iloc[0],
                               by_hand(tiny_cased, first, 0, CHEST, CHEST + 10, how), atol=1e-5)
    np.testing.assert_allclose(df[tiny_cased.column_name].iloc[1],
                               by_hand(tiny_cased, second, 27, ASPIRIN, ASPIRIN + 7, how), atol=1e-5)


def test_spans_across_sentences_use_the_document_stretch(tiny_cased):
    begin = NOTE.index("pain.")
    df = tiny_cased.predict([NOTE], spans=[[(begin, begin + 11)]])
    assert df["span"].tolist() == ["pain. Takes"] and df["label"].isna().all()
    np.testing.assert_allclose(df[tiny_cased.column_name].iloc[0], by_hand(tiny_cased, NOTE, 0, begin, begin + 11),
                               atol=1e-5)


def test_spans_in_a_windowed_long_sentence_match_token_vectors(tiny_cased):
    text = " ".join(["Patient denies chest pain with fever and cough"] * 20)  # 160 wordpieces, windows of 64
    tokens = tiny_cased.predict(text, output_level="token", positions=True)
    picks = [(5, 9), (70, 74), (150, 155)]  # token ranges: early, at a seam, late
    spans = [[(int(tokens["begin"].iloc[a]), int(tokens["end"].iloc[b - 1])) for a, b in picks]]
    df = tiny_cased.predict([text], spans=spans)
    for (a, b), vector in zip(picks, df[tiny_cased.column_name]):
        expected = np.stack(tokens[tiny_cased.column_name].iloc[a:b]).mean(0)
        np.testing.assert_allclose(vector, expected, atol=1e-5)


def test_spans_rows_without_spans_and_empty_rows_are_kept(tiny_cased):
    data = pd.DataFrame({"note_id": [7, 8, 9], "text": [NOTE, "No spans here.", None]})
    spans = pd.DataFrame({"note_id": [7], "begin": [0], "end": [7]})
    df = tiny_cased.predict(data, spans=spans, id_column="note_id")
    assert df.index.name == "note_id" and df.index.tolist() == [7, 8, 9]
    assert df["span"].iloc[0] == "Patient" and df[tiny_cased.column_name].iloc[1:].isna().all()


@pytest.mark.parametrize("span,message", [((10, 5), "E425"), ((0, 999), "E425"), ((-1, 3), "E425"),
                                          ((0.5, 3), "E425")])
def test_spans_outside_the_text_name_row_and_span(tiny_cased, span, message):
    with pytest.raises(InvalidInputError, match=rf"{message}.*row 0"):
        tiny_cased.predict([NOTE], spans=[[span]])


def test_spans_unknown_row_id_is_an_error_before_any_work(tiny_cased):
    with pytest.raises(InvalidInputError, match=r"E427.*\[5\]"):
        tiny_cased.predict([NOTE], spans=pd.DataFrame({"origin_index": [5], "begin": [0], "end": [3]}))


def test_spans_whitespace_only_span_is_nan_with_one_warning(tiny_cased):
    with pytest.warns(nlu_lite.NoWordpieceWarning, match="1 span"):
        df = tiny_cased.predict([NOTE], spans=[[(7, 8), (0, 7)]])
    assert np.isnan(np.stack(df[tiny_cased.column_name])).all(axis=1).tolist() == [False, True]


def test_spans_level_without_spans_says_how(tiny_cased):
    with pytest.raises(InvalidOptionError, match="E436"):
        tiny_cased.predict(NOTE, output_level="span")


def test_spans_terms_find_every_mention_case_insensitively(tiny_cased):
    notes = ["Chest pain and chest PAIN again.", "Takes Aspirin daily.", "Nothing."]
    df = tiny_cased.predict(notes, spans=nlu_lite.terms(["chest pain", "aspirin"]))
    found = df.dropna(subset=["span"])
    assert found["span"].tolist() == ["Chest pain", "chest PAIN", "Aspirin"]
    assert found["label"].tolist() == ["chest pain", "chest pain", "aspirin"]
    assert df.index.tolist() == [0, 0, 1, 2]
    for origin, b, e, s in zip(found.index, found["begin"], found["end"], found["span"]):
        assert notes[origin][b:e] == s


def test_spans_patterns_use_the_spacy_matcher(tiny_cased):
    dose = nlu_lite.patterns({"dose": [[{"LIKE_NUM": True}, {"LOWER": "mg"}]]})
    df = tiny_cased.predict(["Aspirin 81 mg daily, metoprolol 25 mg bid."], spans=dose)
    assert df["span"].tolist() == ["81 mg", "25 mg"] and set(df["label"]) == {"dose"}


def test_spans_carry_the_section_of_their_sentence(tiny_cased):
    note = "HISTORY OF PRESENT ILLNESS: Chest pain.\nMEDICATIONS: Aspirin daily."
    df = tiny_cased.predict([note], spans=nlu_lite.terms(["chest pain", "aspirin"]))
    assert df["section"].tolist() == ["history of present illness", "medications"]
    tokens = tiny_cased.predict(note, output_level="token")
    assert tokens.set_index("token")["section"].to_dict()["Aspirin"] == "medications"
