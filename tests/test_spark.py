"""predict() on a Spark DataFrame (local[2]) equals the pandas path; the model loads once per worker."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registered import BUILTIN_TEXT_LEVELS

import nlu_lite
from nlu_lite.tools import _spark as nlu_spark

TEXTS = ["Patient denies chest pain. BP 120/80, HR 72.", None, "", "Takes aspirin daily.\n\nNo fever. No cough.",
         "   ", "Chest pain with fever " * 30]


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark", reason="pip install 'nlu-lite[spark]' (in the [test] extra)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17 or 21) on PATH or JAVA_HOME")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (pyspark.sql.SparkSession.builder.master("local[2]").appName("nlu_lite-tests")
               .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2").getOrCreate())
    yield session
    session.stop()


def pandas_frame() -> pd.DataFrame:
    return pd.DataFrame({"note_id": [10, 11, 12, 13, 14, 15], "text": TEXTS, "ward": list("abcabc")})


def sort(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    keys = ["note_id"] + (["sentence_id", "begin"] if level != "document" else [])
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


@pytest.mark.slow
@pytest.mark.parametrize("level", BUILTIN_TEXT_LEVELS)
@pytest.mark.parametrize("partitions", [1, 3])
def test_spark_equals_pandas(spark, tiny_cased, level, partitions):
    local = pandas_frame()
    sdf = spark.createDataFrame(local.astype({"text": object})).repartition(partitions)
    result = tiny_cased.predict(sdf, output_level=level, id_column="note_id", positions=True)
    assert result.columns[:2] == ["note_id", level]  # the id keeps its name, as in pandas
    assert dict(result.dtypes)[tiny_cased.column_name] == "array<float>"
    got = sort(result.toPandas(), level)
    expected = sort(tiny_cased.predict(local, output_level=level, id_column="note_id", positions=True)
                    .reset_index(), level)
    assert got["note_id"].tolist() == expected["note_id"].tolist()
    assert got["ward"].tolist() == expected["ward"].tolist()
    assert got[level].fillna("<na>").tolist() == expected[level].fillna("<na>").tolist()
    for a, b in zip(got[tiny_cased.column_name], expected[tiny_cased.column_name]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, atol=1e-5)
    assert set(got["note_id"]) == set(local["note_id"])  # every input row, empty ones included


SPANS = pd.DataFrame({"note_id": [10, 10, 13, 15], "begin": [15, 33, 0, 0], "end": [25, 36, 20, 10],
                      "label": ["problem", None, "drug", "problem"]})


def span_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["note_id", "begin", "end"], kind="stable").reset_index(drop=True)


def assert_same_spans(got: pd.DataFrame, expected: pd.DataFrame, column: str) -> None:
    got, expected = span_rows(got), span_rows(expected)
    def values(frame, name):
        return [None if pd.isna(v) else v for v in frame[name].tolist()]

    for name in ("note_id", "span", "begin", "end", "sentence_id", "ward", "label", "section"):
        assert values(got, name) == values(expected, name), name
    for a, b in zip(got[column], expected[column]):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("table", ["spark", "pandas"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_spark_span_table_equals_pandas(spark, tiny_cased, table, partitions):
    local = pandas_frame()
    sdf = spark.createDataFrame(local.astype({"text": object})).repartition(partitions)
    spans = spark.createDataFrame(SPANS.astype({"label": object})) if table == "spark" else SPANS
    result = tiny_cased.predict(sdf, id_column="note_id", spans=spans)
    got = result.toPandas()
    expected = tiny_cased.predict(local, id_column="note_id", spans=SPANS).reset_index()
    assert list(got.columns) == list(expected.columns)
    assert_same_spans(got, expected, tiny_cased.column_name)
    assert set(got["note_id"]) == set(local["note_id"])  # rows without spans keep their null row


@pytest.mark.slow
def test_spark_terms_equal_pandas(spark, tiny_cased):
    local = pandas_frame()
    sdf = spark.createDataFrame(local.astype({"text": object})).repartition(2)
    terms = nlu_lite.terms({"problem": ["chest pain", "fever"], "drug": ["aspirin"]})
    got = tiny_cased.predict(sdf, id_column="note_id", spans=terms).toPandas()
    expected = tiny_cased.predict(local, id_column="note_id", spans=terms).reset_index()
    assert (got["label"] == "problem").sum() > 30  # the long note's repeated mentions are all there
    assert_same_spans(got, expected, tiny_cased.column_name)


@pytest.mark.slow
@pytest.mark.parametrize(("spans", "id_column", "code"), [
    (SPANS, None, "E439"),
    (SPANS.drop(columns="begin"), "note_id", "E440"),
    (pd.DataFrame({"note_id": [99], "begin": [0], "end": [1]}), "note_id", "E441"),
    (SPANS, "ward", "E440"),
    ([[(0, 5)]] * 6, "note_id", "E437"),
])
def test_spark_bad_spans_fail_on_the_driver(spark, tiny_cased, spans, id_column, code):
    sdf = spark.createDataFrame(pandas_frame().astype({"text": object}))
    with pytest.raises(nlu_lite.errors.InvalidInputError, match=code):
        tiny_cased.predict(sdf, id_column=id_column, spans=spans)


@pytest.mark.slow
def test_spark_span_ids_must_be_unique(spark, tiny_cased):
    frame = pandas_frame().assign(note_id=[10, 10, 11, 12, 13, 15]).astype({"text": object})
    with pytest.raises(nlu_lite.errors.InvalidInputError, match="E442"):
        tiny_cased.predict(spark.createDataFrame(frame), id_column="note_id", spans=SPANS)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["document", "sentence"])
def test_spark_partition_of_only_null_texts(spark, tiny_cased, level):
    """A partition whose texts are all null still has a string text column (was float64: an Arrow crash)."""
    local = pd.DataFrame({"note_id": [1, 2, 3], "text": [None, None, "Chest pain."]}).astype({"text": object})
    sdf = spark.createDataFrame(local, schema="note_id long, text string").repartition(1).sortWithinPartitions(
        "note_id").coalesce(1)
    got = tiny_cased.predict(sdf.limit(2), output_level=level, id_column="note_id").toPandas()
    assert sorted(got["note_id"]) == [1, 2] and got[level].isna().all()


@pytest.mark.slow
def test_spark_adds_an_id_when_none_is_named(spark, tiny_cased):
    sdf = spark.createDataFrame(pd.DataFrame({"text": TEXTS}).astype(object)).repartition(2)
    got = tiny_cased.predict(sdf, output_level="document").toPandas()
    assert len(got) == len(TEXTS) and got["origin_index"].is_unique
    expected = [t if t is None or not t.strip() else t.strip() for t in TEXTS]  # trimmed, empty rows as given
    assert sorted(got["document"].fillna("<na>")) == sorted(pd.Series(expected).fillna("<na>"))


@pytest.mark.slow
def test_spark_missing_text_column_fails_on_the_driver(spark, tiny_cased):
    sdf = spark.createDataFrame(pd.DataFrame({"note": ["a"]}))
    with pytest.raises(nlu_lite.errors.InvalidInputError, match="no column 'text'"):
        tiny_cased.predict(sdf)


def test_spark_partition_function_loads_model_once_per_process(tiny_cased, monkeypatch):
    calls = []
    from nlu_lite.pipeline._engine import Engine

    real_from_spec = Engine.from_spec.__func__

    def counting_from_spec(cls, spec):
        calls.append(spec.model_path)
        return real_from_spec(cls, spec)

    monkeypatch.setattr(Engine, "from_spec", classmethod(counting_from_spec))
    monkeypatch.setattr(nlu_spark, "_CACHE", {})
    spec = tiny_cased.spec().to_json()
    batches = [pd.DataFrame({"id": [k], "text": [f"Chest pain {k}."]}) for k in range(4)]
    options = {"output_level": "document", "progress": False}
    first = list(nlu_spark.predict_partition(iter(batches[:2]), [(spec, None)], "text", "id", options))
    second = list(nlu_spark.predict_partition(iter(batches[2:]), [(spec, None)], "text", "id", options))
    assert len(calls) == 1  # one load for 2 partitions x 2 batches
    assert [f["id"].tolist() for f in first + second] == [[0], [1], [2], [3]]


def test_spark_tasks_start_no_segment_processes_unless_asked(tiny_cased, monkeypatch):
    """Spark places tasks on the executor's cores, so "auto" (which starts processes beside a GPU) means none in a
    task; a count the user gave is kept."""
    from nlu_lite.pipeline import _resources as resources

    asked = []
    monkeypatch.setattr(resources, "segment_processes", lambda value, device, rows, chunk: asked.append(value) or 0)
    monkeypatch.setattr(nlu_spark, "_CACHE", {})
    spec = tiny_cased.spec().to_json()
    batch = pd.DataFrame({"id": [1, 2], "text": ["Chest pain. No fever.", "Aspirin daily."]})
    for options in ({}, {"segment_processes": 2}, {"segment_processes": "auto"}):
        frames = list(nlu_spark.predict_partition(iter([batch]), [(spec, None)], "text", "id",
                                                  {"output_level": "sentence", "progress": False, **options}))
        assert sum(len(f) for f in frames) == 3
    assert asked == [0, 2, "auto"]


def test_spark_is_not_imported_by_nlu_lite():
    import subprocess

    code = "import sys, nlu_lite; nlu_lite.load; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.slow
def test_spark_from_a_kernel_whose_venv_is_not_on_path(tiny_cased_dir, tmp_path):
    """As a Jupyter kernel runs: the venv's python, PATH without the venv, no PYSPARK_PYTHON set. Also (one
    Spark start instead of two): a shipped zip lies in the SparkContext's SparkFiles root, which Spark deletes on
    stop(), not at the next shipping call or at exit."""
    import subprocess

    script = tmp_path / "kernel.py"
    script.write_text(
        "import pandas as pd, pyspark.sql, nlu_lite, sys\n"
        "from pathlib import Path\n"
        "spark = (pyspark.sql.SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false')\n"
        "         .config('spark.driver.host', '127.0.0.1').config('spark.driver.bindAddress', '127.0.0.1')\n"
        "         .getOrCreate())\n"
        f"pipe = nlu_lite.load(path={str(tiny_cased_dir)!r})\n"
        "sdf = spark.createDataFrame(pd.DataFrame({'id': [1, 2], 'text': ['Chest pain.', 'No fever.']}))\n"
        "rows = pipe.predict(sdf, output_level='document', id_column='id').toPandas()\n"
        "print('ROWS', len(rows), rows['document'].tolist())\n"
        "root = Path(spark.sparkContext._jvm.org.apache.spark.SparkFiles.getRootDirectory())\n"
        "shipped = pipe.predict(sdf, output_level='document', id_column='id', ship_model=True).count()\n"
        "zips = len(list((root / 'nlu_lite-shipped').glob('*.zip')))\n"
        "spark.stop()\n"
        "print('SHIPPED', shipped, zips, root.exists())\n")
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=420)
    assert "ROWS 2 ['Chest pain.', 'No fever.']" in out.stdout, out.stderr[-3000:]
    assert "SHIPPED 2 1 False" in out.stdout, out.stderr[-3000:]  # one zip while it ran, gone with the context


# --- real sizes: thousands of rows per partition, several chunks per Arrow batch, nulls, an empty partition ---

WORDS = ("chest", "pain", "fever", "aspirin", "denies", "cough", "BP", "120/80", "mg", "daily", "HR", "72")


def scale_frame(n: int) -> pd.DataFrame:
    """``n`` varied notes (1-3 sentences) with a null every 97 rows and an empty text every 89."""
    rng = np.random.default_rng(7)
    texts: list[str | None] = []
    for k in range(n):
        sentences = [" ".join(rng.choice(WORDS, size=rng.integers(2, 9))).capitalize() + "."
                     for _ in range(rng.integers(1, 4))]
        texts.append(None if k % 97 == 5 else "" if k % 89 == 3 else " ".join(sentences))
    return pd.DataFrame({"note id": np.arange(n, dtype=np.int64), "clinical.note text": texts,
                         "bucket": np.arange(n) % 7})  # 7 buckets over 8 partitions: one is empty


def assert_frames_equal(got: pd.DataFrame, expected: pd.DataFrame, level: str, column: str | list[str]) -> None:
    columns = [column] if isinstance(column, str) else column
    keys = ["note id"] + {"document": [], "span": ["begin", "end"]}.get(level, ["sentence_id", "begin"])
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    expected = expected.sort_values(keys, kind="stable").reset_index(drop=True)
    assert len(got) == len(expected)
    assert list(got.columns) == list(expected.columns)
    for name in got.columns:
        if name not in columns:
            assert got[name].astype(object).where(got[name].notna(), None).tolist() == \
                expected[name].astype(object).where(expected[name].notna(), None).tolist(), name
    for column in columns:
        assert [v is None for v in got[column]] == [v is None for v in expected[column]]
        present = [v is not None for v in expected[column]]
        a = np.stack([np.asarray(v, dtype=np.float32) for v, p in zip(got[column], present) if p])
        b = np.stack([v for v, p in zip(expected[column], present) if p])
        np.testing.assert_allclose(a, b, atol=1e-5, err_msg=column)


@pytest.fixture()
def records_per_batch(spark):
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, "1000")
    yield 1000
    spark.conf.set(key, before)


@pytest.mark.slow
@pytest.mark.parametrize(("level", "chunk_size"), [("document", None), ("sentence", None), ("token", 2000),
                                                    ("span", None)])
def test_spark_10000_rows_in_8_partitions_equal_pandas(spark, tiny_cased, records_per_batch, level, chunk_size):
    """10,000 rows, 8 partitions (one empty), nulls and empty texts, columns named with spaces and dots; the
    default chunk (256 rows) is smaller than an Arrow batch (1,000 rows), chunk_size=2000 larger."""
    from pyspark.sql import functions as F

    local = scale_frame(10_000)
    sdf = spark.createDataFrame(local.astype({"clinical.note text": object})).repartition(8, F.col("bucket"))
    sizes = sdf.select("bucket").rdd.glom().map(len).collect()
    assert len(sizes) == 8 and min(sizes) == 0 and max(sizes) > records_per_batch  # several batches per partition
    options = {"text_column": "clinical.note text", "id_column": "note id", "positions": True,
               **({"chunk_size": chunk_size} if chunk_size else {})}
    spans = nlu_lite.terms({"problem": ["chest pain", "fever"], "drug": ["aspirin"]}) if level == "span" else None
    got = tiny_cased.predict(sdf, output_level=level, spans=spans, **options).toPandas()
    expected = tiny_cased.predict(local, output_level=level, spans=spans, **options).reset_index()
    assert set(got["note id"]) == set(local["note id"])  # every input row, null and empty ones included
    assert_frames_equal(got, expected, level, tiny_cased.column_name)


@pytest.mark.slow
@pytest.mark.parametrize("level", [*BUILTIN_TEXT_LEVELS, "span"])
def test_spark_several_models_equal_pandas(spark, tiny_cased_dir, tiny_uncased_dir, records_per_batch, level):
    """load("a b").predict(sdf): one mapInPandas, one vector column per model, equal to the group on pandas
    (2,000 rows in 4 partitions, several chunks per Arrow batch; at token level 300 rows in 2 partitions in
    chunks of 64: nulls, empty texts), the group's provenance record on every vector column."""
    group = nlu_lite.load([str(tiny_cased_dir), str(tiny_uncased_dir)])
    token = level == "token"
    local = scale_frame(300 if token else 2_000)
    sdf = spark.createDataFrame(local.astype({"clinical.note text": object})).repartition(2 if token else 4)
    options = {"text_column": "clinical.note text", "id_column": "note id", "positions": True,
               **({"chunk_size": 64} if token else {})}
    spans = nlu_lite.terms({"problem": ["chest pain", "fever"], "drug": ["aspirin"]}) if level == "span" else None
    result = group.predict(sdf, output_level=level, spans=spans, **options)
    expected = group.predict(local, output_level=level, spans=spans, **options)
    assert nlu_lite.provenance(result) == nlu_lite.provenance(expected)
    assert {nlu_lite.provenance(result.select(c)) == nlu_lite.provenance(expected) for c in group.column_names} \
        == {True}
    got = result.toPandas()
    assert set(got["note id"]) == set(local["note id"])
    assert_frames_equal(got, expected.reset_index(), level, list(group.column_names))


@pytest.mark.slow
@pytest.mark.parametrize(("schema", "shown"), [("note_id long, text long", "bigint"),
                                               ("note_id long, text struct<a: string>", "struct<a:string>")])
def test_spark_text_column_that_cannot_be_text_fails_on_the_driver(spark, tiny_cased, schema, shown):
    rows = [(1, 5)] if "long, text long" in schema else [(1, ("x",))]
    sdf = spark.createDataFrame(rows, schema=schema)
    with pytest.raises(nlu_lite.errors.InvalidInputError, match=f"E064.*'text' has Spark type {shown}"):
        tiny_cased.predict(sdf, id_column="note_id")


# --- how the model reaches the executors (ship_model=) and Spark ML vectors (vectors=) ---

def copied_model(source: Path, tmp_path: Path):
    """A pipeline loaded from a copy of ``source`` in ``tmp_path`` (so that a test may delete the folder)."""
    folder = shutil.copytree(source, tmp_path / source.name)  # same name: same vector column
    return nlu_lite.load(path=folder), folder


@pytest.mark.slow
def test_spark_shipped_model_needs_no_driver_folder_on_executors(spark, tiny_cased, tiny_cased_dir, tmp_path,
                                                                  monkeypatch, caplog):
    """ship_model=True in local mode: executors rebuild from the archive SparkFiles unpacks, not the driver's
    folder, which is deleted before the job runs; the archive is added once per SparkContext."""
    pipe, folder = copied_model(tiny_cased_dir, tmp_path)
    added = []
    real_add = spark.sparkContext.addArchive
    monkeypatch.setattr(spark.sparkContext, "addArchive", lambda path: (added.append(path), real_add(path)))
    local = pandas_frame()
    sdf = spark.createDataFrame(local.astype({"text": object})).repartition(2)
    with caplog.at_level("INFO", logger="nlu_lite"):
        first = pipe.predict(sdf, output_level="document", id_column="note_id", positions=True, ship_model=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "nlu_lite"]
    assert len(lines) == 1 and "shipped to the executors as archive" in lines[0], lines
    again = pipe.predict(sdf, output_level="sentence", id_column="note_id", positions=True, ship_model=True)
    assert len(added) == 1 and added[0].endswith(".zip#" + added[0].rsplit("#", 1)[1])  # once per context
    shutil.rmtree(folder)
    for result, level in ((first, "document"), (again, "sentence")):
        got = sort(result.toPandas(), level)
        expected = sort(tiny_cased.predict(local, output_level=level, id_column="note_id", positions=True)
                        .reset_index(), level)
        assert got[level].fillna("<na>").tolist() == expected[level].fillna("<na>").tolist()
        for a, b in zip(got[tiny_cased.column_name], expected[tiny_cased.column_name]):
            assert (a is None) == (b is None)
            if b is not None:
                np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("ship_model", ["auto", False])
def test_spark_local_master_reads_the_path_and_says_so(spark, tiny_cased, caplog, ship_model):
    sdf = spark.createDataFrame(pandas_frame().astype({"text": object}))
    with caplog.at_level("INFO", logger="nlu_lite"):
        tiny_cased.predict(sdf, id_column="note_id", ship_model=ship_model)
    lines = [r.getMessage() for r in caplog.records if r.name == "nlu_lite"]
    assert len(lines) == 1 and "read the model at the driver's path" in lines[0], lines
    assert str(tiny_cased.source.folder) in lines[0] and "local[2]" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("ship_model", ["auto", True, False])
def test_spark_model_folder_gone_from_the_driver_fails_on_the_driver(spark, tiny_cased_dir, tmp_path, ship_model):
    pipe, folder = copied_model(tiny_cased_dir, tmp_path)
    shutil.rmtree(folder)
    sdf = spark.createDataFrame(pandas_frame().astype({"text": object}))
    with pytest.raises(nlu_lite.errors.ModelNotAvailableError, match=f"E452.*'{folder}'"):
        pipe.predict(sdf, id_column="note_id", ship_model=ship_model)


@pytest.mark.slow
@pytest.mark.parametrize(("options", "code"), [({"ship_model": "yes"}, "E450"), ({"ship_model": 1}, "E450"),
                                               ({"vectors": "numpy"}, "E451")])
def test_spark_bad_ship_model_or_vectors_fail_on_the_driver(spark, tiny_cased, options, code):
    sdf = spark.createDataFrame(pandas_frame().astype({"text": object}))
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match=code):
        tiny_cased.predict(sdf, id_column="note_id", **options)


@pytest.mark.parametrize(("ship_model", "ships"), [("auto", True), (True, True), (False, False)])
def test_spark_connect_ships_unless_told_not_to(tiny_cased, ship_model, ships):
    """A Spark Connect server's executors may be on any machine: 'auto' ships there (tests/test_spark_connect.py
    runs it live)."""
    fake = type("DataFrame", (), {"__module__": "pyspark.sql.connect.dataframe"})()
    assert nlu_spark._ships_model(tiny_cased, fake, ship_model) is ships


@pytest.mark.slow
def test_spark_ml_vectors_keep_provenance_and_fit_kmeans(spark, tiny_cased):
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.linalg import VectorUDT

    column = tiny_cased.column_name
    sdf = spark.createDataFrame(pandas_frame().astype({"text": object})).repartition(2)
    arrays = tiny_cased.predict(sdf, output_level="sentence", id_column="note_id", positions=True)
    ml = tiny_cased.predict(sdf, output_level="sentence", id_column="note_id", positions=True, vectors="ml")
    assert isinstance(ml.schema[column].dataType, VectorUDT)
    assert ml.columns == arrays.columns
    assert nlu_lite.provenance(ml) == nlu_lite.provenance(arrays)
    keys = ["note_id", "sentence_id", "begin"]
    got = sort(ml.toPandas(), "sentence").sort_values(keys, kind="stable").reset_index(drop=True)
    expected = arrays.toPandas().sort_values(keys, kind="stable").reset_index(drop=True)
    assert len(got) == len(expected)
    for a, b in zip(got[column], expected[column]):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(a.toArray(), np.asarray(b, dtype=np.float64), atol=1e-6)
    model = KMeans(k=2, seed=1, featuresCol=column).fit(ml.dropna(subset=[column]))
    assert len(model.clusterCenters()) == 2 and len(model.clusterCenters()[0]) == tiny_cased.encoder.dim


@pytest.mark.parametrize(("archive", "code"), [(None, "E455"), ("nlu_lite_model_x", "E454")])
def test_spark_executor_without_the_model_says_why(tiny_cased, tmp_path, monkeypatch, archive, code):
    """On an executor: the driver's path missing (ship_model=False), or a shipped archive not unpacked."""
    pyspark = pytest.importorskip("pyspark")
    from dataclasses import replace

    monkeypatch.setattr(pyspark.SparkFiles, "get", classmethod(lambda cls, name: str(tmp_path / name)))
    spec = replace(tiny_cased.spec(), model_path=str(tmp_path / "gone") if archive is None else ".").to_json()
    batches = iter([pd.DataFrame({"id": [1], "text": ["Chest pain."]})])
    with pytest.raises(nlu_lite.errors.NluLiteError, match=code):
        list(nlu_spark.predict_partition(batches, [(spec, archive)], "text", "id", {"progress": False}))
