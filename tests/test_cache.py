"""The SQLite vector cache: exact round trips, keys, eviction, damaged rows, concurrent and killed writers."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from nlu_lite import cache
from nlu_lite.cache import (
    VectorCache,
    _store,  # noqa: F401  (cache._store: the clock the eviction test moves)
)
from nlu_lite.errors import CacheError, InvalidInputError, InvalidOptionError

DIM = 384
ROOT = Path(__file__).resolve().parents[1]


def expected_vector(name: str, dim: int = DIM) -> np.ndarray:
    """The vector the writers of these tests store under ``name``: a function of the key alone."""
    return np.random.default_rng(int(name[:15], 16)).standard_normal(dim).astype(np.float32)


def record(**changes) -> dict:
    base = {"hub_id": "sentence-transformers/all-MiniLM-L6-v2", "revision": "c9745ed1d9f207416be6d2e6f8de32d1f16199bf",
            "family": "bert", "runtime": "torch", "device": "cpu", "precision": "fp32",
            "compute": "torch 2.13.0 eager fp32", "window": 256,
            "do_lower_case": True, "model": "en.embed_sentence.all_minilm_l6_v2",
            "versions": {"nlu_lite": "0.1.0", "torch": "2.5.0", "transformers": "5.0.0", "tokenizers": "0.21.0",
                         "spacy": "3.8.0"},
            "settings": {"output_level": "sentence", "subword_pooling": "first", "pooling": "mean",
                         "normalize": False, "positions": False, "batch_tokens": 8192, "max_batch_size": 64,
                         "chunk_size": 256, "max_wordpieces": None, "progress": True}}
    for name, value in changes.items():
        if name in base["settings"]:
            base["settings"][name] = value
        elif name in base["versions"]:
            base["versions"][name] = value
        else:
            base[name] = value
    return base


def assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


def check_store(path: Path) -> dict[str, np.ndarray]:
    """Open the store as a new process would: integrity, the payload total, and every value read back."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        names = [row[0] for row in conn.execute("SELECT key FROM vectors")]
        total = conn.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM vectors").fetchone()[0]
        kept = conn.execute("SELECT value FROM meta WHERE name = 'payload_bytes'").fetchone()[0]
    assert kept == total
    with VectorCache(path) as store:
        values = store.get_many(names)
        assert store.stats["damaged"] == 0
    assert sorted(values) == sorted(names)
    return values


@pytest.mark.parametrize("shape", [(DIM,), (7, 32), (0, 32), (1,), (), (2, 3, 4)])
def test_cache_round_trip_is_bit_identical(tmp_path, shape):
    rng = np.random.default_rng(1)
    vector = rng.standard_normal(shape).astype(np.float32)
    if vector.size >= 5:  # values whose bits a text or float64 round trip would not keep
        vector.flat[:5] = [np.nan, -0.0, np.inf, np.float32(1e-45), np.float32(1) + np.finfo(np.float32).eps]
    with VectorCache(tmp_path / "v.sqlite") as store:
        store.put_many({"a": vector})
        got = store.get_many(["a"])["a"]
    assert_same_bits(got, vector)
    got[...] = 0  # a writable copy: the caller may change it without touching the store
    with VectorCache(tmp_path / "v.sqlite") as store:
        assert_same_bits(store.get_many(["a"])["a"], vector)


def test_cache_get_many_returns_only_present_keys(tmp_path):
    with VectorCache(tmp_path / "v.sqlite") as store:
        store.put_many({"a": np.ones(3, np.float32), "b": np.zeros(3, np.float32)})
        found = store.get_many(["b", "missing", "b"])
        assert list(found) == ["b"] and store.stats["hits"] == 1 and store.stats["misses"] == 1
        assert store.get_many([]) == {}


def test_cache_many_keys_beyond_one_query(tmp_path):
    names = [cache.key(f"sentence {i}", "fp") for i in range(1234)]
    with VectorCache(tmp_path / "v.sqlite") as store:
        store.put_many({n: expected_vector(n, 8) for n in names})
        found = store.get_many(names)
    assert len(found) == len(names)
    for n in names:
        assert_same_bits(found[n], expected_vector(n, 8))


@pytest.mark.parametrize("text,other", [("No fever.", "No fever. "), ("a", "A"), ("e\u0301", "\u00e9"),
                                        ("x", "x\u200b")])
def test_cache_key_is_exact_text(text, other):
    assert cache.key(text, "fp") == cache.key(text, "fp")
    assert cache.key(text, "fp") != cache.key(other, "fp")
    assert len(cache.key(text, "fp")) == 64 and int(cache.key(text, "fp"), 16) >= 0


@pytest.mark.parametrize("text", ["\ud800 lone surrogate", "", "\x00", "😀" * 3])
def test_cache_key_of_naughty_text(text):
    assert cache.key(text, "fp") != cache.key(text, "fp2")
    # moving characters between fingerprint and text gives another key
    assert cache.key("b" + text, "a") != cache.key(text, "ab")


@pytest.mark.parametrize("text,fp", [(None, "fp"), ("text", b"fp")])
def test_cache_key_rejects_non_strings(text, fp):
    with pytest.raises(InvalidInputError, match="E360"):
        cache.key(text, fp)


@pytest.mark.parametrize("change", [{"revision": "0" * 40}, {"precision": "int8"}, {"runtime": "onnx"},
                                    {"compute": "openvino 2026.5.0 int8+bf16"},
                                    {"device": "cuda"}, {"window": 128}, {"do_lower_case": False},
                                    {"torch": "2.6.0"}, {"transformers": "5.1.0"}, {"pooling": "cls"},
                                    {"output_level": "token"}, {"subword_pooling": "mean"}, {"normalize": True},
                                    {"max_wordpieces": 64}, {"settings_added_later": 1}])
def test_cache_fingerprint_changes_with_what_changes_vectors(change):
    before = cache.fingerprint(record())
    after = record()
    if "settings_added_later" in change:
        after["settings"]["layers"] = [-1]
    else:
        after = record(**change)
    assert cache.fingerprint(after) != before


@pytest.mark.parametrize("change", [{"batch_tokens": 1024}, {"chunk_size": 8}, {"progress": False},
                                    {"positions": True}, {"max_batch_size": 2}, {"spacy": "3.9.0"},
                                    {"model": "alias"}])
def test_cache_fingerprint_ignores_what_does_not(change):
    assert cache.fingerprint(record(**change)) == cache.fingerprint(record())


def test_cache_fingerprint_needs_the_vector_facts():
    incomplete = record()
    del incomplete["revision"], incomplete["versions"]["torch"]
    with pytest.raises(InvalidInputError, match=r"E361.*\['revision', 'versions.torch'\]"):
        cache.fingerprint(incomplete)


def test_cache_eviction_drops_least_recently_used(tmp_path, monkeypatch):
    clock = iter(range(1_000_000, 2_000_000, 1_000))  # a millisecond clock that always moves on
    monkeypatch.setattr(cache._store, "_now_ms", lambda: next(clock))
    monkeypatch.setattr(cache._store, "_TOUCH_EVERY_MS", 0)  # refresh last use on every read
    size = DIM * 4
    names = [f"{i:02d}" for i in range(10)]
    with VectorCache(tmp_path / "v.sqlite", max_bytes=10 * size) as store:
        for n in names:
            store.put_many({n: np.full(DIM, int(n), np.float32)})
        store.get_many(["00", "01", "02"])  # now the most recently used
        assert store.stats["evicted"] == 0
        store.put_many({"new": np.zeros(DIM, np.float32)})  # 11 vectors > cap: evict down to 90% = 9
        left = set(store.get_many(names + ["new"]))
        info = store.info()
    # reference: order by last use, oldest first: 03..09, 00, 01, 02, new; 2 must go
    assert left == set(names + ["new"]) - {"03", "04"}
    assert info["payload_bytes"] == 9 * size <= info["max_bytes"] and info["stats"]["evicted"] == 2
    check_store(tmp_path / "v.sqlite")


def test_cache_max_bytes_is_kept_in_the_file(tmp_path):
    VectorCache(tmp_path / "v.sqlite", max_bytes=12345).close()
    assert VectorCache(tmp_path / "v.sqlite").info()["max_bytes"] == 12345
    assert VectorCache(tmp_path / "new.sqlite").info()["max_bytes"] == cache.DEFAULT_MAX_BYTES


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1GB"])
def test_cache_rejects_bad_max_bytes(tmp_path, bad):
    with pytest.raises(InvalidOptionError, match="E364"):
        VectorCache(tmp_path / "v.sqlite", max_bytes=bad)


@pytest.mark.parametrize("value,code", [(np.ones(3, np.float64), "E363"), ([1.0, 2.0], "E363"),
                                        (np.ones(3, np.float16), "E363")])
def test_cache_put_rejects_non_float32_and_stores_nothing(tmp_path, value, code):
    with VectorCache(tmp_path / "v.sqlite") as store:
        with pytest.raises(InvalidInputError, match=code):
            store.put_many({"ok": np.ones(3, np.float32), "bad": value})
        assert store.info()["entries"] == 0


def test_cache_put_rejects_non_string_keys(tmp_path):
    with VectorCache(tmp_path / "v.sqlite") as store, pytest.raises(InvalidInputError, match="E362"):
        store.put_many({1: np.ones(3, np.float32)})


@pytest.mark.parametrize("damage", ["UPDATE vectors SET data = substr(data, 1, 100)",
                                    "UPDATE vectors SET data = zeroblob(length(data))",
                                    "UPDATE vectors SET shape = '12,32'"])
def test_cache_damaged_row_is_a_miss_and_is_deleted(tmp_path, damage):
    path = tmp_path / "v.sqlite"
    with VectorCache(path) as store:
        store.put_many({"a": np.arange(DIM, dtype=np.float32), "b": np.ones(DIM, np.float32)})
    with sqlite3.connect(path) as conn:
        conn.execute(damage + " WHERE key = 'a'")
    with VectorCache(path) as store:
        assert list(store.get_many(["a", "b"])) == ["b"]
        assert store.stats["damaged"] == 1 and store.info()["entries"] == 1
    check_store(path)


def test_cache_folder_path_is_a_clear_error(tmp_path):
    with pytest.raises(CacheError, match="E365.*is a folder"):
        VectorCache(tmp_path)


def test_cache_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("id,text\n1,chest pain\n" * 100)
    with pytest.raises(CacheError, match="E366.*not a usable nlu_lite vector cache"):
        VectorCache(path)
    assert path.read_text().startswith("id,text")  # left as it was


def test_cache_other_format_is_a_clear_error(tmp_path):
    VectorCache(tmp_path / "v.sqlite").close()
    with sqlite3.connect(tmp_path / "v.sqlite") as conn:
        conn.execute("UPDATE meta SET value = 99 WHERE name = 'schema'")
    with pytest.raises(CacheError, match="E367.*format 99"):
        VectorCache(tmp_path / "v.sqlite")


def test_cache_info_and_clear_for_the_cli(tmp_path):
    path = tmp_path / "sub" / "v.sqlite"
    with VectorCache(path) as store:
        store.put_many({cache.key(str(i), "fp"): expected_vector(str(i)) for i in range(500)})
    info = cache.cache_info(path)
    assert info["entries"] == 500 and info["payload_bytes"] == 500 * DIM * 4
    assert info["journal_mode"] == "wal" and info["file_bytes"] >= info["payload_bytes"]
    removed = cache.cache_clear(path)
    assert removed["removed_entries"] == 500 and removed["removed_payload_bytes"] == 500 * DIM * 4
    after = cache.cache_info(path)
    assert after["entries"] == 0 and after["payload_bytes"] == 0 and after["file_bytes"] < 100_000
    with pytest.raises(CacheError, match="E368"):
        cache.cache_info(tmp_path / "nothing.sqlite")
    assert not (tmp_path / "nothing.sqlite").exists()


def test_cache_pickles_by_path(tmp_path):
    with VectorCache(tmp_path / "v.sqlite", max_bytes=10**6) as store:
        store.put_many({"a": np.ones(4, np.float32)})
        copy = pickle.loads(pickle.dumps(store))
    assert_same_bits(copy.get_many(["a"])["a"], np.ones(4, np.float32))
    assert copy.info()["max_bytes"] == 10**6


def test_cache_get_or_compute_encodes_only_misses(tmp_path):
    keys = ["k0", "k1", "k0", "k2"]
    vectors = {k: expected_vector(f"{i:015x}") for i, k in enumerate(["k0", "k1", "k2"])}
    asked = []

    def compute(positions):
        asked.append(positions.tolist())
        return [vectors[keys[p]] for p in positions.tolist()]

    uncached = cache.get_or_compute(None, keys, compute)
    with VectorCache(tmp_path / "v.sqlite") as store:
        cold = cache.get_or_compute(store, keys, compute)
        warm = cache.get_or_compute(store, keys, compute)
        keys.append("k3")
        vectors["k3"] = np.zeros(DIM, np.float32)
        partly = cache.get_or_compute(store, keys, compute)
    assert asked == [[0, 1, 2, 3], [0, 1, 2, 3], [4]]  # repeats computed as an uncached run does; then none
    for got in (cold, warm, partly[:4]):
        for a, b in zip(got, uncached):
            assert_same_bits(a, b)
    assert_same_bits(partly[4], vectors["k3"])


def test_cache_get_or_compute_checks_the_count(tmp_path):
    with VectorCache(tmp_path / "v.sqlite") as store, pytest.raises(InvalidInputError, match="E369"):
        cache.get_or_compute(store, ["a", "b"], lambda positions: [np.ones(2, np.float32)])


def _writer(path: str, worker: int, n: int, cap: int | None, start) -> None:
    """One of several processes: ``n`` transactions, each of a key of its own and a key all workers share."""
    store = VectorCache(path, max_bytes=cap)
    start.wait(60)  # all processes open the store, then write at the same time
    for i in range(n):
        own, shared = cache.key(f"w{worker} s{i}", "fp"), cache.key(f"shared {i % 50}", "fp")
        store.put_many({own: expected_vector(own), shared: expected_vector(shared)})
        if i % 10 == 0:
            for name, vector in store.get_many([own, shared]).items():
                assert np.array_equal(vector, expected_vector(name))
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("cap", [None, 300 * DIM * 4])
def test_cache_concurrent_processes_leave_every_value_whole(tmp_path, cap):
    path = tmp_path / "v.sqlite"
    workers, n = 4, 250
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(workers)
    procs = [spawn.Process(target=_writer, args=(str(path), w, n, cap, start)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    values = check_store(path)
    for name, vector in values.items():
        assert_same_bits(vector, expected_vector(name))
    every = {cache.key(f"w{w} s{i}", "fp") for w in range(workers) for i in range(n)}
    every |= {cache.key(f"shared {i}", "fp") for i in range(50)}
    if cap is None:
        assert set(values) == every  # nothing lost between processes
    else:
        assert set(values) < every and len(values) * DIM * 4 <= cap


_KILLED_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, {root!r})
    from nlu_lite.cache import VectorCache, key
    store = VectorCache({path!r})
    batch = 0
    while True:
        names = [key(f"{{batch}} {{i}}", "fp") for i in range(400)]
        store.put_many({{n: np.random.default_rng(int(n[:15], 16)).standard_normal({dim}).astype(np.float32)
                        for n in names}})
        batch += 1
        if batch == 1:
            print("committed", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [0.05, 0.3, 0.7])
def test_cache_writer_killed_mid_write_leaves_a_consistent_store(tmp_path, delay_s):
    path = tmp_path / "v.sqlite"
    code = _KILLED_WRITER.format(root=str(ROOT), path=str(path), dim=DIM)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "committed"
    time.sleep(delay_s)  # it is now somewhere inside a 400-vector transaction, or between two
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    values = check_store(path)
    assert len(values) % 400 == 0 and len(values) >= 400  # whole transactions only
    for name, vector in values.items():
        assert_same_bits(vector, expected_vector(name))
    with VectorCache(path) as store:  # and it takes new writes
        store.put_many({"after": np.ones(DIM, np.float32)})
        assert "after" in store.get_many(["after"])
