"""The vector cache: re-runs over the same texts read their vectors instead of encoding them.

``load(..., cache="vectors.sqlite")`` or ``load(..., cache=VectorCache(path, max_bytes=...))``.
"""

from ._store import (
    DEFAULT_MAX_BYTES,
    NON_VECTOR_SETTINGS,
    VectorCache,
    cache_clear,
    cache_info,
    fingerprint,
    get_or_compute,
    key,
)

__all__ = ["VectorCache", "key", "fingerprint", "get_or_compute", "cache_info", "cache_clear",
           "DEFAULT_MAX_BYTES", "NON_VECTOR_SETTINGS"]
