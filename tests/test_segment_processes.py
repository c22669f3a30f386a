"""spaCy in worker processes (``segment_processes``, issue 22 item 1): the same rows as segmenting in the caller's
process, at every level and across many chunks; a dead worker is a clear error and the next call recovers; the
processes end with the pipeline; a script without a ``__main__`` guard works (no multiprocessing spawn)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from registered import TEXT_LEVELS

import nlu_lite
from nlu_lite.errors import InvalidOptionError, WorkerError
from nlu_lite.pipeline import _resources as resources
from nlu_lite.text import _processes as processes
from nlu_lite.text import _segmentation as segmentation


def _notes() -> list[str]:
    return list(nlu_lite.sample_notes()["text"]) + ["", None, "  ", "Chest pain. [SEP] b.i.d.", "x" * 1200]


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, column: str) -> None:
    assert list(a.columns) == list(b.columns) and a.index.equals(b.index)
    for name in a.columns:
        if name == column:
            assert all((x is None and y is None) or x.tobytes() == y.tobytes() for x, y in zip(a[name], b[name]))
        else:
            pd.testing.assert_series_equal(a[name], b[name])


def test_parts_cut_texts_into_contiguous_parts_of_about_equal_characters():
    rng = np.random.default_rng(0)
    texts = ["x" * int(n) for n in rng.integers(1, 3000, 257)]
    for n in (1, 2, 3, 4, 16):
        ranges = processes.parts(texts, n)
        assert len(ranges) == n and ranges[0][0] == 0 and ranges[-1][1] == len(texts)
        assert all(a < b for a, b in ranges) and all(b == c for (_, b), (c, _) in zip(ranges, ranges[1:]))
        sizes = [sum(len(t) + 1 for t in texts[a:b]) for a, b in ranges]
        assert max(sizes) - min(sizes) <= 2 * 3001  # each cut within one text of its share
    assert processes.parts(texts[:2], 4) == [(0, 1), (1, 2)]  # never an empty part
    assert processes.parts([], 3) == []


def test_pool_segments_exactly_as_this_process_does():
    texts = [t for t in _notes() if t and t.strip()]
    pool = processes.SegmentPool("clinical", 2)
    try:
        got = pool.segment(texts)
        again = pool.segment(texts[:3])  # the same processes answer a second call
    finally:
        pool.close()
    want = segmentation.segment(texts, segmentation.build_nlp("clinical"))
    assert len(want.token_doc) > 5_000 and want.sentence_doc.max() == len(texts) - 1
    for name in want.__dataclass_fields__:
        assert getattr(got, name).dtype == getattr(want, name).dtype, name
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert np.array_equal(again.token_end, segmentation.segment(texts[:3], segmentation.build_nlp()).token_end)
    assert not pool.alive


@pytest.mark.parametrize("level", [*TEXT_LEVELS, "span"])
def test_segment_processes_give_the_rows_of_one_process(tiny_cased, level):
    notes = _notes()
    spans = nlu_lite.terms(["chest pain", "history", "b.i.d.", "denies"]) if level == "span" else None
    options = {"output_level": level, "spans": spans, "chunk_size": 16, "positions": True, "progress": False}
    here = list(tiny_cased.predict_iter(notes, segment_processes=0, **options))
    away = list(tiny_cased.predict_iter(notes, segment_processes=2, **options))
    assert len(here) == len(away) == 6  # 85 rows in chunks of 16
    for a, b in zip(here, away):
        _assert_same(a, b, tiny_cased.column_name)
    assert sum(part.index.nunique() for part in away) == len(notes)  # every row accounted for


def test_a_worker_killed_mid_call_is_a_clear_error():
    pool = processes.SegmentPool("clinical", 2)
    pool._workers[1].kill()
    pool._workers[1].wait()
    with pytest.raises(WorkerError, match=r"E311.*segment_processes=2.*exit code -9.*segment_processes=0"):
        pool.segment(["Chest pain. No fever.", "Aspirin daily."])
    assert not pool.alive  # the error closed the others too


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_ctrl_c_in_a_terminal_leaves_the_workers_running():
    """A terminal's Ctrl-C reaches the whole process group: the caller is interrupted, the workers go on."""
    pool = processes.SegmentPool("clinical", 1)
    try:
        first = pool.segment(["Chest pain. No fever."])  # the worker is serving: its handler is set
        os.kill(pool._workers[0].pid, signal.SIGINT)
        time.sleep(0.5)
        assert pool.alive
        assert np.array_equal(pool.segment(["Chest pain. No fever."]).token_end, first.token_end)
    finally:
        pool.close()


def test_a_pipeline_whose_worker_died_starts_new_ones(tiny_cased):
    notes = list(nlu_lite.sample_notes()["text"][:6])
    tiny_cased.predict(notes, output_level="sentence", segment_processes=1, progress=False)
    pool = tiny_cased._segment_pool
    pool._workers[0].kill()
    pool._workers[0].wait()
    frame = tiny_cased.predict(notes, output_level="sentence", segment_processes=1, progress=False)
    assert tiny_cased._segment_pool is not pool and tiny_cased._segment_pool.alive
    expected = tiny_cased.predict(notes, output_level="sentence", segment_processes=0, progress=False)
    _assert_same(frame, expected, tiny_cased.column_name)


def test_threads_asking_for_different_counts_get_the_rows_of_one_process(tiny_cased):
    """A call that needs another count closes the pool only once the other thread's chunk is back."""
    from concurrent.futures import ThreadPoolExecutor

    notes = _notes()
    options = {"output_level": "sentence", "chunk_size": 9, "progress": False}
    expected = tiny_cased.predict(notes, segment_processes=0, **options)
    with ThreadPoolExecutor(2) as pool:
        frames = list(pool.map(lambda k: tiny_cased.predict(notes, segment_processes=k, **options), [1, 2, 1, 2]))
    for frame in frames:
        _assert_same(frame, expected, tiny_cased.column_name)


def test_the_processes_end_with_the_pipeline(tiny_cased_dir):
    pipe = nlu_lite.load(path=tiny_cased_dir)
    pipe.predict(["Chest pain. No fever."], output_level="token", segment_processes=2, progress=False)
    workers = list(pipe._segment_pool._workers)
    assert all(w.poll() is None for w in workers)
    del pipe
    gc.collect()
    deadline = time.monotonic() + 10
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(w.poll() == 0 for w in workers)  # ended by their closed pipe, not killed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_starts_its_own_workers_and_the_parents_go_on(tiny_cased_dir):
    code = textwrap.dedent(f"""
        import os, signal, nlu_lite
        pipe = nlu_lite.load(path={str(tiny_cased_dir)!r})
        texts = ["Chest pain. No fever.", "Aspirin b.i.d. daily."] * 20
        options = dict(output_level="token", segment_processes=1, progress=False, chunk_size=7)
        expected = pipe.predict(texts, **options)
        parents = pipe._segment_pool
        pid = os.fork()
        if pid == 0:
            signal.alarm(60)  # a hang (both processes on one pipe) ends the child with SIGALRM
            got = pipe.predict(texts, **options)
            ok = got["token"].equals(expected["token"]) and pipe._segment_pool is not parents
            os._exit(0 if ok else 3)
        status = os.waitpid(pid, 0)[1]
        again = pipe.predict(texts, **options)
        print(status, pipe._segment_pool is parents and parents.alive and again["token"].equals(expected["token"]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    status, parent_ok = out.stdout.split()[-2:]
    assert os.WIFEXITED(int(status)) and os.WEXITSTATUS(int(status)) == 0, f"child status {status}"
    assert parent_ok == "True"


def test_a_script_without_a_main_guard_can_use_segment_processes(tiny_cased_dir, tmp_path):
    """multiprocessing's spawn would run this script again in each worker (and load and predict there)."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import nlu_lite
        print("started")
        pipe = nlu_lite.load(path={str(tiny_cased_dir)!r})
        frame = pipe.predict(["Chest pain. No fever.", "Aspirin b.i.d."] * 3, output_level="sentence",
                             segment_processes=2, chunk_size=2, progress=False)
        print(len(frame))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["started", "9"]


def test_auto_uses_processes_beside_a_gpu_on_inputs_longer_than_a_chunk(monkeypatch):
    monkeypatch.setattr(resources, "usable_cores", lambda: 8)
    assert resources.segment_processes("auto", "cuda:0", 10_000, 256) == 4
    assert resources.segment_processes("auto", "mps", None, 256) == 4  # a generator: length unknown
    assert resources.segment_processes("auto", "cuda", 256, 256) == 0  # one chunk: nothing to overlap
    assert resources.segment_processes("auto", "cpu", 10_000, 256) == 0  # the runtime's threads use the cores
    assert resources.segment_processes(3, "cpu", 10, 256) == 3
    monkeypatch.setattr(resources, "usable_cores", lambda: 1)
    assert resources.segment_processes("auto", "cuda", 10_000, 256) == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "two"])
def test_segment_processes_must_be_auto_or_a_count(tiny_cased, bad):
    with pytest.raises(InvalidOptionError, match=rf"E312.*segment_processes={bad!r}"):
        tiny_cased.predict(["Chest pain."], segment_processes=bad)
