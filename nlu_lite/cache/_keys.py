"""Cache keys: which vectors are the same. A key hashes a unit's exact text with a fingerprint of everything that
changes its vector (model revision, runtime, device, precision and how it runs, library versions, settings)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from ..errors import InvalidInputError

# predict() settings that never change a vector's value; every other setting is part of the fingerprint, so a
# setting added later is safe by default (it splits the cache instead of returning stale vectors)
NON_VECTOR_SETTINGS = frozenset({"positions", "batch_tokens", "max_batch_size", "chunk_size", "progress",
                                 "prefetch", "segment_processes"})
# facts of the provenance record (nlu_lite.provenance.collect) that decide the vectors
_VECTOR_FACTS = ("hub_id", "revision", "family", "runtime", "device", "precision", "compute", "window",
                 "do_lower_case")
_VECTOR_VERSIONS = ("nlu_lite", "torch", "transformers", "tokenizers")


def key(text: str, fingerprint: str) -> str:
    """The cache key of one unit: SHA-256 (hex) of the fingerprint and the unit's exact text.

    The fingerprint is length-prefixed, so no (fingerprint, text) pair can collide with another by moving
    characters between the two; lone surrogates in the text are hashed as they are (``surrogatepass``).
    """
    if not isinstance(text, str) or not isinstance(fingerprint, str):
        raise InvalidInputError(
            "E360", f"key() takes two strings, got text={type(text).__name__} and fingerprint="
                    f"{type(fingerprint).__name__}; call key(unit_text, fingerprint(record)).")
    fp = fingerprint.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(len(fp).to_bytes(8, "little") + fp)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def fingerprint(record: Mapping) -> str:
    """The part of a cache key that says how vectors were made, from a provenance record.

    Args:
        record: the dict of ``nlu_lite.provenance.collect`` for this prediction: its model facts (hub id,
            resolved revision, family, runtime, device, precision, compute (how the precision runs, with the
            runtime library's version), effective window, casing), the versions of nlu_lite, torch,
            transformers and tokenizers, and every setting except ``NON_VECTOR_SETTINGS``.

    Returns:
        Canonical JSON of those facts; equal fingerprints mean the encoder computes the same vectors.
    """
    missing = [f for f in _VECTOR_FACTS if f not in record]
    missing += [f"versions.{v}" for v in _VECTOR_VERSIONS if v not in record.get("versions", {})]
    if "settings" not in record:
        missing.append("settings")
    if missing:
        raise InvalidInputError(
            "E361", f"fingerprint() needs a provenance record with {missing}, which this one lacks (it has "
                    f"{sorted(record)}); pass the record of nlu_lite.provenance.collect(...).")
    facts = {name: record[name] for name in _VECTOR_FACTS}
    facts["versions"] = {v: record["versions"][v] for v in _VECTOR_VERSIONS}
    facts["settings"] = {k: v for k, v in record["settings"].items() if k not in NON_VECTOR_SETTINGS}
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
