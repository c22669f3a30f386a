"""ship_model= on a real standalone cluster (master and worker on 127.0.0.1) whose worker cannot see the driver's
model folder: it runs in its own mount namespace with an empty tmpfs over the folder's parent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

WORDS = ("patient", "denies", "chest", "pain", "fever", "takes", "aspirin", "daily", "BP", "120/80", "HR", "72")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {log}:\n{log.read_text(errors='replace')[-2000:]}" for log in logs if log.exists())
    pytest.fail(f"{what} not up after {seconds} s\n{tails}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive_workers(webui: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=2) as reply:
            return int(json.load(reply).get("aliveworkers", 0))
    except OSError:
        return 0


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group (spark-class and its JVM), SIGKILL after a bounded wait."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster(tiny_cased_dir, tmp_path_factory):
    """``spark://127.0.0.1:<port>`` with one worker (1 core, 1 GB) that cannot see ``tiny_cased_dir``."""
    pyspark = pytest.importorskip("pyspark", reason="pip install 'nlu-lite[spark]' (in the [test] extra)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17 or 21) on PATH or JAVA_HOME")
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True).returncode != 0:
        pytest.skip("needs mount namespaces (unshare -m, as root) to hide the model folder from the worker")
    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    hidden = tiny_cased_dir.parent
    logs = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_NO_DAEMONIZE": "1"}
    port, webui = free_port(), free_port()
    processes = []
    try:
        with open(logs / "master.log", "wb") as out:
            processes.append(subprocess.Popen(
                [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                 str(port), "--webui-port", str(webui)], stdout=out, stderr=subprocess.STDOUT, env=env,
                start_new_session=True))
        wait_until(lambda: port_open(port) and port_open(webui), 60, "the master", [logs / "master.log"])
        worker = (f"mount -t tmpfs tmpfs '{hidden}' && exec '{spark_class}' org.apache.spark.deploy.worker.Worker "
                  f"spark://127.0.0.1:{port} --host 127.0.0.1 --port {free_port()} --webui-port {free_port()} "
                  f"--cores 1 --memory 1g --work-dir '{logs / 'work'}'")
        with open(logs / "worker.log", "wb") as out:
            processes.append(subprocess.Popen(["unshare", "-m", "sh", "-c", worker], stdout=out,
                                              stderr=subprocess.STDOUT, env=env, start_new_session=True))
        wait_until(lambda: alive_workers(webui) == 1, 60, "the worker", [logs / "master.log", logs / "worker.log"])
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            stop(process)


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
