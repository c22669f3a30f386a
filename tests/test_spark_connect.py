"""predict() on a Spark Connect DataFrame, live: a local Spark Connect server (pyspark's own SparkConnectServer,
started with spark-submit on 127.0.0.1) and a client session in this process. The model is shipped with
``SparkSession.addArtifacts``; results equal pandas."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spark_cluster import free_port, port_open, stop, wait_until

import nlu_lite

TEXTS = ["Patient denies chest pain. BP 120/80, HR 72.", None, "", "Takes aspirin daily.\n\nNo fever. No cough.",
         "Chest pain with fever " * 30, "No cough."]
CONNECT_STATE = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_LOCAL_REMOTE")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``sc://127.0.0.1:<port>``: a Spark Connect server on ``local[2]`` whose Python workers run this
    interpreter (a Connect server's workers need nlu_lite installed, as any executor)."""
    pyspark = pytest.importorskip("pyspark", reason="pip install 'nlu-lite[spark]' (in the [test] extra)")
    pytest.importorskip("grpc", reason="Spark Connect's client needs grpcio: pip install 'nlu-lite[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17 or 21) on PATH or JAVA_HOME")
    home = Path(pyspark.__file__).parent
    if not list((home / "jars").glob("spark-connect_*.jar")):
        pytest.skip(f"this pyspark has no Spark Connect server jar in {home / 'jars'}")
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
               "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}",
               "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "--conf", "spark.ui.enabled=false",
               "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
               "--conf", "spark.sql.execution.arrow.maxRecordsPerBatch=2", "spark-internal"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_until(lambda: port_open(port), 120, "the Spark Connect server", [log])
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture(scope="module")
def connect(server):
    from pyspark.sql import SparkSession

    before = {k: os.environ.get(k) for k in CONNECT_STATE}
    session = SparkSession.builder.remote(server).getOrCreate()
    yield session
    session.stop()
    for key, value in before.items():  # the client marks the process as Spark Connect; later tests run classic
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def frame() -> pd.DataFrame:
    return pd.DataFrame({"note_id": np.arange(10, 10 + len(TEXTS)), "text": TEXTS, "ward": list("abcabc")})


def assert_equal(got: pd.DataFrame, expected: pd.DataFrame, level: str, columns: tuple[str, ...]) -> None:
    keys = ["note_id"] + (["sentence_id", "begin"] if level != "document" else [])
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    expected = expected.reset_index().sort_values(keys, kind="stable").reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    for name in ("note_id", level, "ward", *(["sentence_id", "begin", "end"] if level != "document" else [])):
        assert got[name].astype(object).where(got[name].notna(), None).tolist() == \
            expected[name].astype(object).where(expected[name].notna(), None).tolist(), name
    for column in columns:
        for a, b in zip(got[column], expected[column]):
            assert (a is None) == (b is None)
            if b is not None:
                np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, atol=1e-5)


@pytest.mark.slow
def test_connect_ships_the_model_and_equals_pandas(connect, tiny_cased, tiny_cased_dir, tmp_path, monkeypatch,
                                                   caplog):
    """'auto' ships the model with addArtifacts, once per session; the driver's copy is deleted before the
    jobs run, so the executors can only have used the shipped one."""
    assert type(connect).__module__.startswith("pyspark.sql.connect")
    pipe = nlu_lite.load(path=shutil.copytree(tiny_cased_dir, tmp_path / tiny_cased_dir.name))
    added = []
    real_add = connect.addArtifacts
    monkeypatch.setattr(connect, "addArtifacts", lambda *paths, **kinds: (added.append((paths, kinds)),
                                                                          real_add(*paths, **kinds)))
    local = frame()
    sdf = connect.createDataFrame(local.astype({"text": object})).repartition(2)
    with caplog.at_level("INFO", logger="nlu_lite"):
        document = pipe.predict(sdf, output_level="document", id_column="note_id", positions=True)
        sentence = pipe.predict(sdf, output_level="sentence", id_column="note_id", positions=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "nlu_lite"]
    assert len(lines) == 2 and all("shipped to the executors" in line and "Spark Connect" in line for line in lines)
    assert len(added) == 1 and added[0][1] == {"archive": True} and added[0][0][0].endswith(".zip#" + lines[0]
                                                                                         .split("'")[1])
    record = nlu_lite.provenance(pipe.predict(local, output_level="document", positions=True))
    shutil.rmtree(pipe.source.folder)
    assert nlu_lite.provenance(document) == record
    for result, level in ((document, "document"), (sentence, "sentence")):
        expected = tiny_cased.predict(local, output_level=level, id_column="note_id", positions=True)
        assert_equal(result.toPandas(), expected, level, (tiny_cased.column_name,))


@pytest.mark.slow
def test_connect_several_models_and_ml_vectors(connect, tiny_cased_dir, tiny_uncased_dir):
    from pyspark.ml.linalg import VectorUDT

    group = nlu_lite.load([str(tiny_cased_dir), str(tiny_uncased_dir)])
    local = frame()
    sdf = connect.createDataFrame(local.astype({"text": object})).repartition(2)
    arrays = group.predict(sdf, output_level="token", id_column="note_id", positions=True)
    expected = group.predict(local, output_level="token", id_column="note_id", positions=True)
    assert_equal(arrays.toPandas(), expected, "token", group.column_names)
    ml = group.predict(sdf, output_level="sentence", id_column="note_id", vectors="ml")
    assert all(isinstance(ml.schema[c].dataType, VectorUDT) for c in group.column_names)
    assert nlu_lite.provenance(ml)["models"].keys() == set(group.column_names)
    rows = ml.toPandas().dropna(subset=[group.column_names[0]])
    sentences = group.predict(local, output_level="sentence", id_column="note_id").dropna(
        subset=[group.column_names[0]])
    assert len(rows) == len(sentences)
    assert sorted(float(v.toArray().sum()) for v in rows[group.column_names[1]]) == pytest.approx(
        sorted(float(v.sum()) for v in sentences[group.column_names[1]]), abs=1e-4)
