"""A local vector cache in SQLite: re-runs over the same texts read their vectors instead of encoding them.

One row per encoded unit (a sentence, or a whole document at document level), keyed by ``key(text,
fingerprint)`` (``_keys.py``): the SHA-256 of the unit's exact text and of a fingerprint of everything that
changes its vector (model revision, runtime, device, precision, library versions, vector settings).

Safety, from SQLite itself (standard library, no server):

- several processes may read and write at once: write-ahead logging (readers never block the writer), a busy
  timeout (writers queue instead of failing), and each ``put_many`` is one ``BEGIN IMMEDIATE`` transaction;
- a process killed mid-write leaves the last committed state: a transaction is all or nothing;
- every vector is stored with its shape and a CRC-32 of key, shape and bytes, checked on every read,
  so a damaged row is a miss (and is deleted), never a wrong or partial vector;
- ``max_bytes`` caps the vector payload; past it the least recently used rows are evicted (down to 90%).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..errors import CacheError, InvalidInputError, InvalidOptionError

SCHEMA_VERSION = 1
DEFAULT_MAX_BYTES = 4 * 1024**3
_EVICT_TO = 0.9  # eviction frees down to this fraction of max_bytes, so it does not run on every put
_TOUCH_EVERY_MS = 60_000  # last-use times are refreshed at most once a minute per row ("LRU-ish")
_SQL_VARS = 500  # keys per IN (...) query, far below SQLite's limit on bound variables

_SCHEMA = (  # one statement each: sqlite3's executescript() would commit the open transaction first
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, shape TEXT NOT NULL, data BLOB NOT NULL, "
    "checksum INTEGER NOT NULL, nbytes INTEGER NOT NULL, last_used INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS vectors_by_last_use ON vectors (last_used)",
    # the payload total is kept by triggers, so it is right whatever process wrote or deleted rows
    "CREATE TRIGGER IF NOT EXISTS vectors_added AFTER INSERT ON vectors BEGIN "
    "UPDATE meta SET value = value + NEW.nbytes WHERE name = 'payload_bytes'; END",
    "CREATE TRIGGER IF NOT EXISTS vectors_removed AFTER DELETE ON vectors BEGIN "
    "UPDATE meta SET value = value - OLD.nbytes WHERE name = 'payload_bytes'; END",
    "CREATE TRIGGER IF NOT EXISTS vectors_replaced AFTER UPDATE OF nbytes ON vectors BEGIN "
    "UPDATE meta SET value = value + NEW.nbytes - OLD.nbytes WHERE name = 'payload_bytes'; END",
)


def _checksum(row_key: str, shape: str, data: bytes) -> int:
    """CRC-32 of key, shape and data: a row that is cut, zeroed or moved to another key fails it.

    (SQLite's transactions already keep partial writes out; this catches damage done below SQLite. CRC-32 runs
    at 4 us per 384-float vector here, BLAKE2b at 15 us: reading 10,000 cached vectors is 0.15 s cheaper.)
    """
    head = row_key.encode("utf-8", "surrogatepass") + b"\0" + shape.encode("ascii") + b"\0"
    return zlib.crc32(data, zlib.crc32(head))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _chunks(items: list, size: int = _SQL_VARS) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _encode_row(row_key: object, value: object) -> tuple[str, str, bytes, int, int]:
    """(key, shape, float32 little-endian bytes, checksum, payload size) of one vector, checked."""
    if not isinstance(row_key, str):
        raise InvalidInputError("E362", f"Cache keys are strings, got {row_key!r} ({type(row_key).__name__}); "
                                "make them with nlu_lite.cache.key(text, fingerprint).")
    array = np.asarray(value)
    if array.dtype != np.float32:
        raise InvalidInputError(
            "E363", f"The vector for key {row_key[:16]}... has dtype {array.dtype}; the cache stores float32 "
                    "exactly (converting would change the bits). Pass vector.astype(np.float32) only if that "
                    "is what the pipeline returns.")
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    shape = ",".join(map(str, array.shape))  # "384", "12,384"; "" for a 0-d value
    return row_key, shape, data, _checksum(row_key, shape, data), len(data)


def _decode_row(row_key: str, shape: str, data: bytes, checksum: int) -> np.ndarray | None:
    """The stored vector, or None when the row is damaged (checksum, shape or length disagree)."""
    if _checksum(row_key, shape, data) != checksum:
        return None
    dims = tuple(map(int, shape.split(","))) if shape else ()
    if 4 * math.prod(dims) != len(data):
        return None
    return np.frombuffer(data, dtype="<f4").reshape(dims).astype(np.float32, copy=True)


class VectorCache:
    """Vectors by key in one SQLite file, shared safely by threads and processes.

    Args:
        path: the database file (created with its folder if missing); ``-wal``/``-shm`` files live beside it.
        max_bytes: cap on the stored vector bytes; ``None`` keeps the cap the file was last opened with
            (``DEFAULT_MAX_BYTES``, 4 GiB, for a new file). The file itself is larger by keys and SQLite's
            pages (see ``info()["file_bytes"]``).
        timeout_s: how long a writer waits for another process's write transaction before failing.

    ``get_many`` returns writable copies; a ``VectorCache`` can be pickled (it reopens by path), and a forked
    child opens its own connection.
    """

    def __init__(self, path: str | os.PathLike, max_bytes: int | None = None, *, timeout_s: float = 60.0) -> None:
        if max_bytes is not None and (not isinstance(max_bytes, int) or isinstance(max_bytes, bool)
                                      or max_bytes < 1):
            raise InvalidOptionError(
                "E364", f"max_bytes={max_bytes!r} must be a positive integer number of bytes, e.g. "
                        "VectorCache(path, max_bytes=8 * 1024**3) for 8 GiB.")
        self.path = Path(path).expanduser()
        self.timeout_s = float(timeout_s)
        self._asked_max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self.stats = {"hits": 0, "misses": 0, "stored": 0, "evicted": 0, "damaged": 0, "not_stored": 0}
        """Counts of this object's lifetime: keys found, keys not found, vectors written, rows evicted, damaged
        rows found (and deleted) on reading, vectors not written because the file is read-only."""
        self.read_only = False
        """True when this process may not write the file: it reads hits and stores nothing."""
        with self._lock:
            self._connection()

    # --- connection ---------------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """This process's connection, opened (and the schema created) on first use after start or fork."""
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        if self.path.is_dir():
            raise CacheError("E365", f"cache={str(self.path)!r} is a folder; the cache is one file, e.g. "
                             f"cache={str(self.path / 'vectors.sqlite')!r}.")
        if not self._file_above().is_dir():
            raise CacheError("E370", f"cache={str(self.path)!r} lies under '{self._file_above()}', which is a file, "
                             "not a folder; pick a path in a folder, e.g. cache='vectors.sqlite'.")
        if self.path.is_file() and not _writable(self.path):
            return self._open_read_only()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.OperationalError) as e:
            raise CacheError("E371", f"Cannot create the vector cache '{self.path}' ({e}); pick a path in a folder "
                             "you can write to, e.g. cache='~/nlu_lite_vectors.sqlite'.") from e
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            _check_ours(conn, self.path)
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable on process crash, atomic always
            with _write(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?), ('payload_bytes', 0), "
                             "('max_bytes', ?)", (SCHEMA_VERSION, DEFAULT_MAX_BYTES))
                if self._asked_max_bytes is not None:
                    conn.execute("UPDATE meta SET value = ? WHERE name = 'max_bytes'", (self._asked_max_bytes,))
                version = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
        except CacheError:
            conn.close()
            raise
        except sqlite3.DatabaseError as e:
            conn.close()
            raise CacheError(
                "E366", f"'{self.path}' is not a usable nlu_lite vector cache ({type(e).__name__}: {e}). Delete "
                        f"it (and any -wal/-shm files beside it) or pick another file: cache='vectors.sqlite'.") from e
        if version != SCHEMA_VERSION:
            conn.close()
            raise CacheError(
                "E367", f"'{self.path}' is a vector cache of format {version}; this nlu_lite reads format "
                        f"{SCHEMA_VERSION}. Upgrade nlu_lite, or delete the file (and its -wal/-shm files) or use "
                        "another one: cache='vectors_v1.sqlite'.")
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _file_above(self) -> Path:
        """The nearest existing ancestor of the cache path (a regular file when E370 is raised)."""
        above = self.path.parent
        while not above.exists():
            above = above.parent
        return above

    def _open_read_only(self) -> sqlite3.Connection:
        """A cache file this process may not write (permissions, a read-only disk): read it, store nothing.

        Hits come back as usual; new vectors are computed and not stored (``stats["not_stored"]`` counts them).
        """
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self.timeout_s,
                                   isolation_level=None, check_same_thread=False)
            _check_ours(conn, self.path)
            version = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise CacheError("E372", f"The vector cache '{self.path}' is read-only here and could not be read "
                             f"({e}); give this user write access to it and its folder (its -wal/-shm files live "
                             "beside it), or pick another file: cache='vectors.sqlite'.") from e
        if version != SCHEMA_VERSION:
            conn.close()
            raise CacheError("E373", f"'{self.path}' (read-only) is a vector cache of format {version}; this nlu_lite "
                             f"reads format {SCHEMA_VERSION}. Use another file: cache='vectors_v1.sqlite'.")
        self.read_only = True
        self._conn, self._pid = conn, os.getpid()
        return conn

    @staticmethod
    def _set_wal(conn: sqlite3.Connection) -> None:
        """Switch to write-ahead logging once per file; it persists in the file, so later openers skip this.

        The switch needs a moment alone with the file; when several processes create the store at once,
        SQLite may answer "database is locked" without waiting, so it is retried until the busy timeout.
        """
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        deadline = time.monotonic() + conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as e:
                if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        """Close this process's connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> VectorCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {"path": self.path, "max_bytes": self._asked_max_bytes, "timeout_s": self.timeout_s}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["max_bytes"], timeout_s=state["timeout_s"])

    def __repr__(self) -> str:
        return f"VectorCache({str(self.path)!r})"

    # --- reading and writing ------------------------------------------------------------------------------
    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those ``keys`` that are in the cache (absent or damaged ones are left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, np.ndarray] = {}
        damaged: list[str] = []
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")  # one snapshot for all the chunks
            try:
                for part in _chunks(wanted):
                    marks = ",".join("?" * len(part))
                    for row in conn.execute(
                            f"SELECT key, shape, data, checksum FROM vectors WHERE key IN ({marks})", part):
                        vector = _decode_row(*row)
                        if vector is None:
                            damaged.append(row[0])
                        else:
                            found[row[0]] = vector
            finally:
                conn.execute("COMMIT")
            if found or damaged:
                self._touch_and_drop(conn, list(found), damaged)
        self.stats["hits"] += len(found)
        self.stats["misses"] += len(wanted) - len(found)
        self.stats["damaged"] += len(damaged)
        return found

    def _touch_and_drop(self, conn: sqlite3.Connection, used: list[str], damaged: list[str]) -> None:
        """Refresh last-use times (at most once a minute per row) and delete damaged rows, in one transaction."""
        if self.read_only:
            return
        now = _now_ms()
        with _write(conn):
            for part in _chunks(used):
                conn.execute(f"UPDATE vectors SET last_used = ? WHERE last_used < ? AND key IN "
                             f"({','.join('?' * len(part))})", (now, now - _TOUCH_EVERY_MS, *part))
            for part in _chunks(damaged):
                conn.execute(f"DELETE FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)

    def put_many(self, mapping: Mapping[str, np.ndarray]) -> None:
        """Store float32 vectors (any shape) by key, in one transaction; then evict if over the cap.

        A key already present is overwritten. Every value is checked before anything is written, so a bad
        value stores nothing.
        """
        rows = [_encode_row(k, v) for k, v in mapping.items()]
        if not rows:
            return
        now = _now_ms()
        with self._lock:
            conn = self._connection()
            if self.read_only:
                self.stats["not_stored"] += len(rows)
                return
            with _write(conn):
                conn.executemany(
                    "INSERT INTO vectors (key, shape, data, checksum, nbytes, last_used) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET shape = excluded.shape, data = excluded.data, "
                    "checksum = excluded.checksum, nbytes = excluded.nbytes, last_used = excluded.last_used",
                    [(*row, now) for row in rows])
                evicted = self._evict(conn)
        self.stats["stored"] += len(rows)
        self.stats["evicted"] += evicted

    def _evict(self, conn: sqlite3.Connection) -> int:
        """Inside a write transaction: delete least recently used rows until the payload is under the cap."""
        payload, cap = _meta(conn, "payload_bytes"), _meta(conn, "max_bytes")
        if payload <= cap:
            return 0
        target = payload - int(cap * _EVICT_TO)
        doomed, freed = [], 0
        for rowid, nbytes in conn.execute("SELECT rowid, nbytes FROM vectors ORDER BY last_used, rowid"):
            doomed.append(rowid)
            freed += nbytes
            if freed >= target:
                break
        for part in _chunks(doomed):
            conn.execute(f"DELETE FROM vectors WHERE rowid IN ({','.join('?' * len(part))})", part)
        return len(doomed)

    # --- housekeeping -------------------------------------------------------------------------------------
    def info(self) -> dict:
        """Entries, stored vector bytes, cap, bytes on disk (database + WAL), journal mode, and ``stats``."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                entries, oldest, newest = conn.execute(
                    "SELECT COUNT(*), MIN(last_used), MAX(last_used) FROM vectors").fetchone()
                payload, cap = _meta(conn, "payload_bytes"), _meta(conn, "max_bytes")
            finally:
                conn.execute("COMMIT")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        on_disk = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

        def when(ms: int | None) -> str | None:
            return None if ms is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))

        return {"path": str(self.path), "entries": entries, "payload_bytes": payload, "max_bytes": cap,
                "file_bytes": on_disk, "journal_mode": mode, "schema": SCHEMA_VERSION,
                "oldest_use": when(oldest), "newest_use": when(newest), "stats": dict(self.stats)}

    def clear(self) -> dict:
        """Delete every vector and give the space back to the file system; returns what was removed."""
        with self._lock:
            conn = self._connection()
            with _write(conn):
                entries = conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                payload = _meta(conn, "payload_bytes")
                conn.execute("DELETE FROM vectors")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"path": str(self.path), "removed_entries": entries, "removed_payload_bytes": payload}


_OURS = {"meta", "vectors", "vectors_by_last_use", "vectors_added", "vectors_removed", "vectors_replaced"}


def _writable(path: Path) -> bool:
    """Whether this process may write the cache file and create its -wal/-shm files beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse, unchanged, a database that is not an nlu_lite vector cache (another program's data)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
    if names and not (names <= _OURS and "meta" in names):
        raise CacheError("E374", f"'{path}' is an SQLite database of another program (it has {sorted(names)[:6]}); "
                         "nlu_lite leaves it unchanged. Pick another file for the cache: cache='vectors.sqlite'.")


class _write:
    """``with _write(conn):`` one ``BEGIN IMMEDIATE`` transaction: the write lock first, so it never deadlocks
    with another writer halfway; committed on success, rolled back on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _meta(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()[0])


