"""Provenance records: collected facts and versions, DataFrame attrs, Parquet round trips, Spark metadata."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite import provenance
from nlu_lite.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]


def facts(**changes) -> dict:
    base = dict(model="en.embed.tiny", hub_id="local/tiny", revision="sha256:" + "0" * 64, source_kind="folder",
                family="bert", runtime="torch", device="cpu", precision="fp32", compute="torch 2.13.0 eager fp32",
                window=64, do_lower_case=False,
                sentence_splitter="clinical", column="tiny_embeddings", dim=32,
                settings={"output_level": "token", "subword_pooling": "first", "pooling": "mean",
                          "normalize": False, "positions": True, "batch_tokens": 8192, "max_batch_size": 64,
                          "chunk_size": 256, "max_wordpieces": None, "progress": False})
    base.update(changes)
    return base


def predicted(pipe, level: str) -> pd.DataFrame:
    """A real predict() frame (extra column, an empty row, ids as index) with a record for its settings."""
    data = pd.DataFrame({"text": ["Patient denies chest pain. No fever.", None, "Takes aspirin 81 mg daily."],
                         "note_id": ["n1", "n2", "n3"], "ward": ["a", "b", "c"]})
    frame = pipe.predict(data, output_level=level, id_column="note_id", positions=True, progress=False)
    record = provenance.collect(**facts(settings={**asdict(pipe.settings), "output_level": level},
                                        column=pipe.column_name))
    return provenance.attach(frame, record)


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame, column: str) -> None:
    pd.testing.assert_frame_equal(got.drop(columns=[column]), want.drop(columns=[column]))
    assert list(got.columns) == list(want.columns)
    for a, b in zip(got[column], want[column]):
        if b is None:
            assert a is None
        else:
            assert a.dtype == b.dtype and np.array_equal(np.asarray(a).view(np.uint32), np.asarray(b).view(np.uint32))


@pytest.mark.parametrize("name,module", [("torch", "torch"), ("transformers", "transformers"),
                                         ("tokenizers", "tokenizers"), ("spacy", "spacy"), ("numpy", "numpy")])
def test_provenance_versions_are_the_imported_ones(name, module):
    record = provenance.collect(**facts())
    imported = __import__(module)
    assert record["versions"][name] == imported.__version__
    assert record["versions"]["nlu_lite"] == nlu_lite.__version__


def test_provenance_collect_does_not_import_torch():
    code = ("import sys, json; from nlu_lite import provenance; "
            f"r = provenance.collect(**json.loads({json.dumps(json.dumps(facts()))})); "
            "assert r['versions']['torch'], r; "
            "print(sorted(m for m in ('torch', 'transformers', 'spacy', 'tokenizers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_provenance_is_a_package_function_and_module():
    code = ("import nlu_lite, pandas as pd; df = pd.DataFrame({'x': [1]}); "
            "df.attrs['nlu_lite'] = {'format': 'nlu_lite.provenance/1', 'model': 'm'}; "
            "assert nlu_lite.provenance(df)['model'] == 'm'; "
            "from nlu_lite import provenance as module; import nlu_lite.provenance; "
            "assert nlu_lite.provenance is module and nlu_lite.provenance(df)['model'] == 'm'; "
            "assert callable(nlu_lite.provenance.read_parquet); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_provenance_collect_keeps_every_fact_and_setting():
    given = facts(requested_revision="main")
    record = provenance.collect(**given)
    assert record == {"format": provenance.FORMAT, **given, "versions": record["versions"]}
    assert provenance.collect(**given) == record  # no clock: equal inputs, equal records
    given["settings"]["pooling"] = "cls"
    assert record["settings"]["pooling"] == "mean"  # a copy, not the caller's dict


def test_provenance_collect_names_missing_facts():
    partial = facts()
    del partial["revision"], partial["settings"]
    with pytest.raises(InvalidInputError, match=r"E350.*\['revision', 'settings'\]"):
        provenance.collect(**partial)


def test_provenance_collect_wants_settings_as_a_dict():
    with pytest.raises(InvalidInputError, match="E351"):
        provenance.collect(**facts(settings=("token", "first")))


@pytest.mark.parametrize("bad", [{"device": Path("/dev/cuda")}, {"window": float("nan")}, {"dim": {1, 2}}])
def test_provenance_collect_rejects_values_that_are_not_json(bad):
    with pytest.raises(InvalidInputError, match="E352"):
        provenance.collect(**facts(**bad))


def test_provenance_says_how_the_precision_ran_with_the_library_version(tiny_cased):
    record = tiny_cased.provenance()
    assert (record["runtime"], record["precision"]) == ("torch", "fp32")
    assert record["compute"] == f"torch {torch.__version__} eager fp32"


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_provenance_on_every_level_survives_pandas_operations(tiny_cased, level):
    frame = predicted(tiny_cased, level)
    record = provenance.provenance(frame)
    assert record["settings"]["output_level"] == level and record["format"] == provenance.FORMAT
    column = tiny_cased.column_name
    for derived in (frame[frame[column].notna()], frame.reset_index(), frame.copy(), pd.concat([frame, frame])):
        assert provenance.provenance(derived) == record
    changed = provenance.provenance(frame)
    changed["model"] = "other"
    assert provenance.provenance(frame)["model"] == "en.embed.tiny"  # provenance() hands out a copy


def test_provenance_missing_is_a_clear_error(tiny_cased):
    a = predicted(tiny_cased, "sentence")
    b = a.copy()
    b.attrs["nlu_lite"] = {**b.attrs["nlu_lite"], "model": "other"}
    with pytest.raises(InvalidInputError, match="E354.*concatenated"):
        provenance.provenance(pd.concat([a, b]))  # pandas drops differing attrs
    with pytest.raises(InvalidInputError, match="E354"):
        provenance.provenance(pd.DataFrame({"x": [1]}))


@pytest.mark.parametrize("data", [[1, 2], "text", None])
def test_provenance_of_something_else_is_a_clear_error(data):
    with pytest.raises(InvalidInputError, match="E356"):
        provenance.provenance(data)


@pytest.mark.parametrize("record", [{"model": "x"}, None, "record"])
def test_provenance_attach_takes_only_collected_records(record):
    with pytest.raises(InvalidInputError, match="E353"):
        provenance.attach(pd.DataFrame({"x": [1]}), record)


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_provenance_parquet_round_trip_restores_frame_and_record(tiny_cased, tmp_path, level):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = predicted(tiny_cased, level)
    column = tiny_cased.column_name
    assert frame[column].isna().any()  # the empty input row has a null vector
    path = tmp_path / "out.parquet"
    provenance.write_parquet(frame, path)
    back = provenance.read_parquet(path)
    assert_same_frame(back, frame, column)
    assert provenance.provenance(back) == provenance.provenance(frame)
    schema = pq.read_schema(path)  # what other tools (DuckDB, Spark, polars) see
    kind = schema.field(column).type
    assert pa.types.is_fixed_size_list(kind) and kind.list_size == 32 and kind.value_type == pa.float32()
    assert json.loads(schema.metadata[b"nlu_lite"]) == provenance.provenance(frame)


def test_provenance_parquet_after_reset_index_as_the_cli_writes(tiny_cased, tmp_path):
    frame = predicted(tiny_cased, "token").reset_index()
    provenance.write_parquet(frame, tmp_path / "cli.parquet")
    back = provenance.read_parquet(tmp_path / "cli.parquet")
    assert_same_frame(back, frame, tiny_cased.column_name)
    assert list(back.columns)[0] == "note_id" and provenance.provenance(back)["model"] == "en.embed.tiny"


def test_provenance_reads_parquet_files_the_cli_writes(tiny_cased, tmp_path):
    from nlu_lite.cli import _outputs as outputs

    frame = predicted(tiny_cased, "sentence")
    outputs.write_output([frame], tmp_path / "cli.parquet", (tiny_cased.column_name,), 32)
    back = provenance.read_parquet(tmp_path / "cli.parquet")
    assert_same_frame(back, frame.reset_index(), tiny_cased.column_name)


def test_provenance_parquet_without_record_and_with_float64(tmp_path):
    vectors = [np.array([0.1, 0.2]), None, np.array([1e-300, 3.0])]
    frame = pd.DataFrame({"text": ["a", "b", "c"], "x_embeddings": vectors})
    provenance.write_parquet(frame, tmp_path / "plain.parquet")
    back = provenance.read_parquet(tmp_path / "plain.parquet")
    assert back["x_embeddings"][1] is None
    assert back["x_embeddings"][0].dtype == np.float64 and back["x_embeddings"][2][0] == 1e-300  # never narrowed
    with pytest.raises(InvalidInputError, match="E354"):
        provenance.provenance(back)


@pytest.mark.parametrize("with_record", [True, False])
@pytest.mark.parametrize("rows", [0, 2])
def test_provenance_parquet_frames_without_any_vector(tmp_path, rows, with_record):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"text": pd.Series([None] * rows, dtype=str),
                          "x_embeddings": pd.Series([None] * rows, dtype=object)})
    if with_record:
        provenance.attach(frame, provenance.collect(**facts()))
    provenance.write_parquet(frame, tmp_path / "e.parquet")
    back = provenance.read_parquet(tmp_path / "e.parquet")
    assert len(back) == rows and all(v is None for v in back["x_embeddings"])
    kind = pq.read_schema(tmp_path / "e.parquet").field("x_embeddings").type
    assert kind == (pa.list_(pa.float32(), 32) if with_record else pa.list_(pa.float32()))  # dim from the record
    assert ("nlu_lite" in back.attrs) == with_record


@pytest.mark.parametrize("vectors,dim,width", [([None], 7, 7), ([np.zeros(3, np.float32), None], 7, 3)])
def test_provenance_parquet_dim_only_when_no_vector_says(tmp_path, vectors, dim, width):
    import pyarrow.parquet as pq

    frame = provenance.attach(pd.DataFrame({"x_embeddings": vectors}), provenance.collect(**facts()))  # dim 32
    provenance.write_parquet(frame, tmp_path / "d.parquet", dim=dim)
    assert pq.read_schema(tmp_path / "d.parquet").field("x_embeddings").type.list_size == width


def test_provenance_parquet_rejects_mixed_lengths(tmp_path):
    frame = pd.DataFrame({"x_embeddings": [np.zeros(3, np.float32), np.zeros(4, np.float32)]})
    with pytest.raises(InvalidInputError, match="E357"):
        provenance.write_parquet(frame, tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()


def test_provenance_parquet_damaged_record_is_a_clear_error(tmp_path):
    import pyarrow.parquet as pq

    frame = provenance.attach(pd.DataFrame({"x_embeddings": [np.ones(2, np.float32)]}),
                              provenance.collect(**facts()))
    provenance.write_parquet(frame, tmp_path / "f.parquet")
    table = pq.read_table(tmp_path / "f.parquet")
    meta = {**table.schema.metadata, b"nlu_lite": b"{not json"}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "f.parquet")
    with pytest.raises(InvalidInputError, match="E358"):
        provenance.read_parquet(tmp_path / "f.parquet")


def test_provenance_spark_metadata_round_trips_through_the_schema_json():
    types = pytest.importorskip("pyspark.sql.types", reason="pip install pyspark (the [spark] extra)")
    record = provenance.collect(**facts(requested_revision=None, layers=[-1, -2]))
    field = types.StructField("tiny_embeddings", types.ArrayType(types.FloatType()), True,
                              metadata=provenance.spark_metadata(record))
    schema = types.StructType([types.StructField("origin_index", types.LongType()), field])
    # the JSON form is what crosses into the JVM and what Spark writes into its Parquet files
    through_jvm = types.StructType.fromJson(json.loads(schema.json()))
    assert provenance.provenance(through_jvm) == record
    with pytest.raises(InvalidInputError, match="E355"):
        provenance.provenance(types.StructType([types.StructField("x", types.LongType())]))


def test_provenance_revision_of_a_hub_snapshot_is_its_commit(tmp_path):
    commit = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
    folder = tmp_path / "models--x--y" / "snapshots" / commit
    folder.mkdir(parents=True)
    assert provenance.resolved_revision(folder) == commit


def test_provenance_revision_of_a_folder_follows_its_content(tiny_cased_dir, tmp_path):
    copy = Path(shutil.copytree(tiny_cased_dir, tmp_path / "copy"))
    first = provenance.resolved_revision(tiny_cased_dir)
    assert first.startswith("sha256:") and len(first) == 7 + 64
    assert provenance.resolved_revision(copy) == first  # same files, same revision, wherever they are
    (copy / "README.md").write_text("notes")  # not a model file
    assert provenance.resolved_revision(copy) == first
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    weights.write_bytes(bytes(data))
    assert provenance.resolved_revision(copy) != first


@pytest.mark.slow
def test_provenance_spark_metadata_survives_map_in_pandas_and_spark_parquet(tmp_path):
    pyspark = pytest.importorskip("pyspark", reason="pip install 'nlu-lite[spark]' (in the [test] extra)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17 or 21) on PATH or JAVA_HOME")
    from pyspark.sql import types as T

    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = (pyspark.sql.SparkSession.builder.master("local[1]").appName("nlu_lite-provenance")
             .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.driver.host", "127.0.0.1").getOrCreate())
    try:
        record = provenance.collect(**facts())
        schema = T.StructType([T.StructField("id", T.LongType()),
                               T.StructField("v", T.ArrayType(T.FloatType()), True,
                                             metadata=provenance.spark_metadata(record))])

        def vectors(batches):
            for batch in batches:
                yield pd.DataFrame({"id": batch["id"], "v": [[1.0, 2.0]] * len(batch)})

        out = spark.createDataFrame([(1, "a"), (2, "b")], "id long, text string").mapInPandas(vectors, schema=schema)
        assert provenance.provenance(out) == record  # the schema given to mapInPandas keeps its metadata
        assert provenance.provenance(out.select("v").filter("size(v) > 0")) == record
        out.write.parquet(str(tmp_path / "spark.parquet"))
        assert provenance.provenance(spark.read.parquet(str(tmp_path / "spark.parquet"))) == record
    finally:
        spark.stop()


def test_provenance_bundle_has_the_revision_of_its_source(tiny_cased_dir, tmp_path):
    # one list of model files: the content hash covers exactly what a bundle copies (the weights in use)
    source = Path(shutil.copytree(tiny_cased_dir, tmp_path / "source"))
    (source / "pytorch_model.bin").write_bytes(b"weights not in use: model.safetensors is preferred")
    bundle = nlu_lite.load(path=source, progress=False).save(tmp_path / "bundle")
    assert not (bundle / "pytorch_model.bin").exists()
    assert provenance.resolved_revision(bundle) == provenance.resolved_revision(source)
