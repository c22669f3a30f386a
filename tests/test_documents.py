from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlu_lite.errors import InvalidInputError
from nlu_lite.pipeline._documents import chunks, sanitize


def one(data, **kw):
    parts = list(chunks(data, **kw))
    assert len(parts) == 1
    return parts[0]


@pytest.mark.parametrize("data,texts,labels", [
    ("a b", ["a b"], [0]),
    (["x", "y"], ["x", "y"], [0, 1]),
    (("x", None, float("nan"), "", "  \n", pd.NA), ["x", None, None, None, None, None], list(range(6))),
    (np.array(["x", "y"]), ["x", "y"], [0, 1]),
    (pd.Series(["x", "y"], index=[7, 7]), ["x", "y"], [7, 7]),
    ((t for t in ["x", "y"]), ["x", "y"], [0, 1]),
    (None, [None], [0]),
])
def test_documents_accepted_inputs(data, texts, labels):
    docs = one(data)
    assert docs.texts == texts
    assert list(docs.index) == labels
    assert docs.index.name == "origin_index"


def test_documents_dataframe_keeps_other_columns_and_does_not_modify_caller():
    frame = pd.DataFrame({"note": ["a", None], "id": [10, 11]}, index=["p", "q"])
    before = frame.copy()
    docs = one(frame, text_column="note")
    assert docs.texts == ["a", None]
    assert list(docs.index) == ["p", "q"]
    assert list(docs.extras.columns) == ["id"]
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("data,fragment", [
    ([1, "x"], "Row 0 holds 1 of type int"),
    (["x", b"bytes"], "decode it first"),
    (["x", ["nested"]], "one string per row"),
    (3.5, "of type float"),
    ({"text": "x"}, "of type dict"),
    (np.array([["a", "b"]]), "must be 1-D"),
])
def test_documents_bad_values_name_value_and_position(data, fragment):
    with pytest.raises(InvalidInputError) as info:
        list(chunks(data))
    assert fragment in str(info.value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_documents_dataframe_without_text_column_lists_columns():
    with pytest.raises(InvalidInputError, match=r"no column 'text'; its columns are \['note'\].*text_column"):
        list(chunks(pd.DataFrame({"note": ["a"]})))


def test_documents_text_column_on_non_frame_is_an_error():
    with pytest.raises(InvalidInputError, match="applies to DataFrames only"):
        list(chunks(["a"], text_column="note"))


@pytest.mark.parametrize("size", [1, 2, 3, 10])
def test_documents_chunks_cover_every_row_once(size):
    data = [f"t{i}" for i in range(7)]
    parts = list(chunks(iter(data), chunk_size=size))
    assert [t for p in parts for t in p.texts] == data
    assert [i for p in parts for i in p.index] == list(range(7))


@pytest.mark.parametrize("data", [[], pd.DataFrame({"text": []}), pd.Series([], dtype=object)])
def test_documents_empty_inputs_give_one_empty_chunk(data):
    assert [len(p.texts) for p in chunks(data)] == [0]


@pytest.mark.parametrize("make", [
    lambda index: pd.DataFrame({"text": ["a", None, "b"]}, index=index),
    lambda index: pd.Series(["a", None, "b"], index=index),
])
def test_documents_multiindex_kept_level_by_level(make):
    index = pd.MultiIndex.from_tuples([("p", 1), ("p", 2), ("q", 1)], names=["patient", None])
    docs = one(make(index))
    assert list(docs.index) == list(index)
    assert list(docs.index.names) == ["patient", "origin_index_1"]
    assert docs.texts == ["a", None, "b"]


def test_documents_two_text_columns_are_an_error_with_fix():
    frame = pd.DataFrame([["a", "b"]], columns=["text", "text"])
    with pytest.raises(InvalidInputError, match=r"E150.*2 columns named 'text'.*df.columns = "):
        list(chunks(frame))


@pytest.mark.parametrize("label", [0, 1.5, ("note", "body")])
def test_documents_text_column_any_label(label):
    frame = pd.DataFrame({label: ["a", None], "other": ["x", "y"]})
    docs = one(frame, text_column=label)
    assert docs.texts == ["a", None]
    assert list(docs.extras.columns) == ["other"]


def test_documents_text_column_zero_is_not_ignored():
    frame = pd.DataFrame({0: ["from zero"], "text": ["from text"]})
    assert one(frame, text_column=0).texts == ["from zero"]
    assert one(frame).texts == ["from text"]


def test_documents_origin_index_column_is_an_error_with_fix():
    frame = pd.DataFrame({"text": ["a"], "origin_index": [7]})
    with pytest.raises(InvalidInputError, match=r"E151.*id_column='origin_index'.*rename"):
        list(chunks(frame))


@pytest.mark.parametrize("text,expected", [
    ("a\ud800b", "a\ufffdb"), ("\udfff", "\ufffd"), ("\ud83d\ude37 x", "\ufffd\ufffd x"), ("😷 ok", "😷 ok"),
])
def test_documents_lone_surrogates_read_as_same_length_sanitized_text(text, expected):
    docs = one(["fine", text])
    assert docs.texts == ["fine", expected]
    assert len(docs.texts[1]) == len(text) and docs.texts[1].encode("utf-8")
    assert docs.raw[1] == text


def test_documents_sanitize_returns_text_itself_when_clean():
    text = "no surrogates here, 😷"
    assert sanitize(text) is text


@pytest.mark.parametrize("chunk_size", [1, 5])
def test_documents_multiindex_and_label_zero_through_predict(tiny_cased, chunk_size):
    index = pd.MultiIndex.from_tuples([("p", 1), ("p", 2), ("q", 1)], names=["patient", None])
    frame = pd.DataFrame({0: ["pain daily.", None, "fever"], "extra": [1, 2, 3]}, index=index)
    out = tiny_cased.predict(frame, output_level="token", text_column=0, chunk_size=chunk_size)
    assert list(out.index.names) == ["patient", "origin_index_1"]
    assert list(out.index) == [("p", 1)] * 3 + [("p", 2), ("q", 1)]
    assert out["token"].tolist()[:3] == ["pain", "daily", "."] and out["extra"].tolist() == [1, 1, 1, 2, 3]
    assert out.reset_index().columns[:2].tolist() == ["patient", "origin_index_1"]
