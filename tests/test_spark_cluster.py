"""ship_model= on a real standalone cluster (master and worker on 127.0.0.1) whose worker cannot see the driver's
model folder: it runs in its own mount namespace with an empty tmpfs over the folder's parent."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from spark_cluster import can_hide_folders, standalone

WORDS = ("patient", "denies", "chest", "pain", "fever", "takes", "aspirin", "daily", "BP", "120/80", "HR", "72")


@pytest.fixture(scope="module")
def cluster(tiny_cased_dir, tmp_path_factory):
    """``spark://127.0.0.1:<port>`` with one worker (1 core, 1 GB) that cannot see ``tiny_cased_dir``."""
    pytest.importorskip("pyspark", reason="pip install 'nlu-lite[spark]' (in the [test] extra)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17 or 21) on PATH or JAVA_HOME")
    if not can_hide_folders():
        pytest.skip("needs mount namespaces (unshare -m, as root) to hide the model folder from the worker")
    with standalone(tmp_path_factory.mktemp("cluster"), hidden=tiny_cased_dir.parent) as master:
        yield master


@pytest.fixture(scope="module")
def cluster_spark(cluster):
    import pyspark.sql

    active = pyspark.sql.SparkSession.getActiveSession()
    if active is not None:  # one SparkContext per process: another module's local session
        active.stop()
    before = {k: os.environ.get(k) for k in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (pyspark.sql.SparkSession.builder.master(cluster).appName("nlu_lite-cluster-tests")
               .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1").config("spark.executor.memory", "1g")
               .config("spark.cores.max", "1").config("spark.task.maxFailures", "1")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    yield session
    session.stop()
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def notes(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(3, 12))).capitalize() + "." for _ in range(n)]
    return pd.DataFrame({"note_id": np.arange(n, dtype=np.int64), "text": texts})


@pytest.mark.slow
def test_spark_cluster_worker_cannot_see_the_driver_folder(cluster_spark, tiny_cased, tiny_cased_dir):
    """Without shipping, the executor looks for the driver's folder, which its namespace hides: the job fails."""
    sdf = cluster_spark.createDataFrame(notes()).repartition(2)
    result = tiny_cased.predict(sdf, output_level="document", id_column="note_id", ship_model=False)
    with pytest.raises(Exception) as failure:
        result.collect()
    assert f"[E455] The model folder '{tiny_cased_dir}' does not exist on this executor" in str(failure.value)


@pytest.mark.slow
@pytest.mark.parametrize("ship_model", [True, "auto"])
def test_spark_cluster_shipped_model_equals_pandas(cluster_spark, tiny_cased, caplog, ship_model):
    local = notes()
    sdf = cluster_spark.createDataFrame(local).repartition(2)
    with caplog.at_level("INFO", logger="nlu_lite"):
        result = tiny_cased.predict(sdf, output_level="document", id_column="note_id", ship_model=ship_model)
    assert any("shipped to the executors as archive" in r.getMessage() for r in caplog.records)
    got = result.toPandas().sort_values("note_id").reset_index(drop=True)
    expected = tiny_cased.predict(local, output_level="document", id_column="note_id").reset_index()
    assert got["note_id"].tolist() == expected["note_id"].tolist()
    np.testing.assert_allclose(np.stack([np.asarray(v, dtype=np.float32) for v in got[tiny_cased.column_name]]),
                               np.stack(expected[tiny_cased.column_name].tolist()), atol=1e-5)
