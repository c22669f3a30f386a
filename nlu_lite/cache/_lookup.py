"""Read what the cache holds, compute the rest, store it: the one path cached and uncached runs share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InvalidInputError
from ._store import VectorCache


def get_or_compute(store: VectorCache | None, keys: list[str],
                   compute: Callable[[np.ndarray], list[np.ndarray]]) -> list[np.ndarray]:
    """The vector of every key: read from ``store`` where present, the rest computed and stored.

    Args:
        store: the cache, or ``None`` to compute everything (the uncached path, same code).
        keys: one key per unit, in unit order; repeated texts repeat their key.
        compute: called once with the positions (into ``keys``, ascending, int64) of the units not in the
            store, repeats included, so that a run with an empty store encodes exactly what an uncached run
            encodes (same batches, same bits); returns their vectors in that order.

    Returns:
        One vector per key. A position computed in this call gets its own fresh vector; the store keeps the
        first computed vector of each key.
    """
    found = store.get_many(keys) if store is not None else {}
    missing = np.asarray([k for k, name in enumerate(keys) if name not in found], dtype=np.int64)
    fresh = list(compute(missing)) if len(missing) else []
    if len(fresh) != len(missing):
        raise InvalidInputError("E369", f"get_or_compute(): compute() returned {len(fresh)} vectors for "
                                f"{len(missing)} missing units; it must return one vector per position it gets.")
    if store is not None and fresh:
        first: dict[str, np.ndarray] = {}
        for position, vector in zip(missing.tolist(), fresh):
            first.setdefault(keys[position], vector)
        store.put_many(first)
    out: list[np.ndarray] = [found[name] if name in found else None for name in keys]  # type: ignore[misc]
    for position, vector in zip(missing.tolist(), fresh):
        out[position] = vector
    return out
