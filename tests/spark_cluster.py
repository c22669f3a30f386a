"""A standalone Spark cluster on 127.0.0.1 (master and one worker, started from pyspark's own ``spark-class``),
for tests/test_spark_cluster.py and benchmarks/spark_throughput.py; the worker may run in its own mount namespace
with an empty tmpfs over a folder, so that it cannot see the driver's copy of the model."""

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def can_hide_folders() -> bool:
    """Whether mount namespaces work here (``unshare -m``, as root), to hide a folder from the worker."""
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True).returncode == 0


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
    raise RuntimeError(f"{what} not up after {seconds} s\n{tails}")


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


@contextmanager
def standalone(logs: Path, hidden: Path | None = None, cores: int = 1, memory: str = "1g") -> Iterator[str]:
    """``spark://127.0.0.1:<port>`` with one worker of ``cores`` and ``memory``; with ``hidden``, the worker
    runs in its own mount namespace with an empty tmpfs over that folder (``can_hide_folders()`` must hold).
    Both processes are stopped on exit; ``RuntimeError`` with the logs' tails when one does not come up."""
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
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
        worker = (f"exec '{spark_class}' org.apache.spark.deploy.worker.Worker "
                  f"spark://127.0.0.1:{port} --host 127.0.0.1 --port {free_port()} --webui-port {free_port()} "
                  f"--cores {cores} --memory {memory} --work-dir '{logs / 'work'}'")
        command = ["sh", "-c", worker] if hidden is None else \
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs tmpfs '{hidden}' && {worker}"]
        with open(logs / "worker.log", "wb") as out:
            processes.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                              start_new_session=True))
        wait_until(lambda: alive_workers(webui) == 1, 60, "the worker", [logs / "master.log", logs / "worker.log"])
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            stop(process)
