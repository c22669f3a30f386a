"""``predict(..., output_path="x.parquet")``: the result streamed to one Parquet file, chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite.errors import InvalidOptionError
from nlu_lite.provenance import _parquet

pytest.importorskip("pyarrow", reason="pip install 'nlu-lite[parquet]' (in the [test] extra)")


def notes(n: int) -> pd.DataFrame:
    texts = [None if k % 50 == 7 else f"Patient {k} denies chest pain.\n\nNo fever, BP {100 + k % 40}/80."
             for k in range(n)]
    return pd.DataFrame({"note_id": np.arange(n) * 10, "text": texts, "ward": [f"w{k % 3}" for k in range(n)]})


def assert_same(back: pd.DataFrame, expected: pd.DataFrame, column: str) -> None:
    assert list(back.columns) == list(expected.columns) and back.index.name == expected.index.name
    assert back.drop(columns=column).equals(expected.drop(columns=column))
    assert [v is None for v in back[column]] == [v is None for v in expected[column]]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(back[column], expected[column]) if b is not None)
    assert nlu_lite.provenance(back) == nlu_lite.provenance(expected)


def test_output_path_600_rows_read_back_row_for_row(tiny_cased, tmp_path):
    frame = notes(600)  # 3 chunks of 256 rows
    target = tmp_path / "vectors.parquet"
    written = tiny_cased.predict(frame, output_level="token", id_column="note_id", output_path=target)
    expected = tiny_cased.predict(frame, output_level="token", id_column="note_id")
    assert written.path == target and written.rows == len(expected)
    back = nlu_lite.provenance.read_parquet(target)
    assert_same(back, expected, tiny_cased.column_name)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(target).num_row_groups == 3  # one row group per chunk
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.parquet"]  # no temporary file left


@pytest.mark.parametrize("level", [*TEXT_LEVELS, "span"])
def test_output_path_every_level(tiny_cased, tmp_path, level):
    frame = notes(7)
    spans = nlu_lite.terms(["chest pain", "fever"]) if level == "span" else None
    options = {"output_level": level, "spans": spans, "chunk_size": 2, "positions": True}
    tiny_cased.predict(frame, output_path=tmp_path / "v.parquet", **options)
    assert_same(nlu_lite.provenance.read_parquet(tmp_path / "v.parquet"), tiny_cased.predict(frame, **options),
                tiny_cased.column_name)


@pytest.mark.parametrize("prefetch", [False, True])
def test_output_path_memory_is_bounded_by_the_chunk(tiny_cased, tmp_path, monkeypatch, prefetch):
    """Each chunk is written before the input is read further than the next chunk (prefetch: prepared while this
    one is encoded; without it, not read at all): the input is consumed as the file grows."""
    consumed, at_write = [0], []
    real = _parquet.parquet_table

    def texts():
        for k in range(1000):
            consumed[0] += 1
            yield f"Note {k}. Chest pain."

    monkeypatch.setattr(_parquet, "parquet_table", lambda *a, **k: at_write.append(consumed[0]) or real(*a, **k))
    written = tiny_cased.predict(texts(), output_level="sentence", chunk_size=100, output_path=tmp_path / "v.parquet",
                                 prefetch=prefetch)
    assert written.rows == 2000 and len(at_write) == 10
    ahead = 1 if prefetch else 0  # never more than one chunk ahead of the file
    assert at_write == [min(100 * (k + 1 + ahead), 1000) for k in range(10)]


@pytest.mark.parametrize("error", [RuntimeError("disk gone"), KeyboardInterrupt()])
def test_output_path_failure_leaves_nothing_half_written(tiny_cased, tmp_path, monkeypatch, error):
    target = tmp_path / "v.parquet"
    target.write_bytes(b"the previous result")
    real, calls = _parquet.parquet_table, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(_parquet, "parquet_table", failing)
    with pytest.raises(type(error)):
        tiny_cased.predict(notes(600), output_level="document", output_path=target)
    assert target.read_bytes() == b"the previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["v.parquet"]


@pytest.mark.parametrize(("path", "code"), [("v.csv", "E069"), ("missing/v.parquet", "E070"),
                                           ("folder.parquet", "E071")])
def test_output_path_bad_paths_fail_before_any_work(tiny_cased, tmp_path, monkeypatch, path, code):
    (tmp_path / "folder.parquet").mkdir()
    monkeypatch.setattr(tiny_cased.encoder.runtime, "forward", lambda *a: pytest.fail("encoded before the check"))
    with pytest.raises(InvalidOptionError, match=code):
        tiny_cased.predict(["Chest pain."], output_path=Path(tmp_path) / path)


def test_output_path_on_spark_says_how(tiny_cased):
    fake = type("DataFrame", (), {"__module__": "pyspark.sql.dataframe", "mapInPandas": None})()
    with pytest.raises(InvalidOptionError, match="E072.*write.parquet"):
        tiny_cased.predict(fake, output_path="v.parquet")
