"""The vector cache: re-runs over the same texts read their vectors instead of encoding them.

``load(..., cache="vectors.sqlite")`` or ``load(..., cache=VectorCache(path, max_bytes=...))``.

- ``_keys``: which vectors are the same (the key of a unit and the fingerprint of how vectors are made);
- ``_store``: ``VectorCache``, the SQLite file shared safely by threads and processes;
- ``_lookup``: ``get_or_compute``, read what is there and compute the rest;
- ``_admin``: ``cache_info``/``cache_clear`` of a file by path (the CLI's ``nlu-lite cache``).
"""

from ._admin import cache_clear, cache_info
from ._keys import NON_VECTOR_SETTINGS, fingerprint, key
from ._lookup import get_or_compute
from ._store import DEFAULT_MAX_BYTES, VectorCache

__all__ = ["VectorCache", "key", "fingerprint", "get_or_compute", "cache_info", "cache_clear",
           "DEFAULT_MAX_BYTES", "NON_VECTOR_SETTINGS"]
