"""Browsing the catalog: ``catalog()`` lists it, ``search()`` ranks its entries by a query.

Light: pandas is imported only when a DataFrame is asked for, so the CLI's catalog commands start without it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import InvalidOptionError
from . import _catalog
from ._catalog import CatalogEntry, _key

if TYPE_CHECKING:
    import pandas as pd


def _row(e: CatalogEntry) -> dict:
    return {
        "name": e.name,
        "hf_id": e.hf_id,
        "family": e.family,
        "dim": e.dim,
        "cased": not e.do_lower_case,
        "max_wordpieces": e.max_wordpieces,
        "pooling": e.pooling,
        "normalize": e.normalize,
        "prompts": ", ".join(e.prompts),
        "tags": ", ".join(e.tags),
        "license": e.license,
        "offline_package": e.packaged_pip,
        "aliases": ", ".join(e.aliases),
        "description": e.description,
    }


def catalog() -> pd.DataFrame:
    """The model catalog as a DataFrame, one row per reference, in file order.

    Columns: name, hf_id, family, dim, cased, max_wordpieces, pooling, normalize, prompts, tags, license,
    offline_package, aliases, description.
    """
    import pandas as pd

    return pd.DataFrame(catalog_rows())


def _words(text: str) -> set[str]:
    """Components of a name or id: ``en.embed.bert.base_cased`` -> {en, embed, bert, base, cased, base_cased}."""
    text = text.lower()
    return set(re.split(r"[./\s]+", text)) | set(re.split(r"[._\-/\s]+", text))


def _score(entry: CatalogEntry, word: str) -> int | None:
    """How well one query word matches an entry (higher first); ``None`` when it does not match at all."""
    names = [entry.name, *entry.aliases, entry.hf_id, entry.hf_id.split("/")[-1]]
    if word in entry.tags or any(_key(n) == _key(word) for n in names):
        return 3
    if word == entry.family or any(word in _words(n) for n in names):
        return 2
    if any(word in n.lower() for n in names) or any(word in t for t in entry.tags):
        return 1
    if word in entry.description.lower() or word in entry.license.lower():
        return 0
    return None


def search(query: str) -> pd.DataFrame:
    """Catalog rows matching every word of ``query``, best first.

    A word matches a name, alias, Hugging Face id, family, tag, description or licence (case-insensitive).
    Rows are ranked by how they match, summed over the words: an exact tag or name hit (``clinical``,
    ``sentence``, ``long-context``, ``clinical_bert``), then a whole component of a name or id (``modernbert``),
    then part of a name, then the description; ties keep catalog order. ``search('')`` lists every row.

    >>> nlu_lite.search("clinical sentence")  # doctest: +SKIP
    """
    import pandas as pd

    return pd.DataFrame(_ranked_rows(query), columns=list(_row(_catalog.entries()[0])))


def catalog_rows(query: str | None = None) -> list[dict]:
    """The rows of ``catalog()`` (``query=None``) or of ``search(query)``, as dicts: no pandas needed."""
    return [_row(e) for e in _catalog.entries()] if query is None else _ranked_rows(query)


def _ranked_rows(query: str) -> list[dict]:
    if not isinstance(query, str):
        raise InvalidOptionError("E043", f"search() takes a string, got {query!r}; e.g. nlu_lite.search('clinical').")
    words = query.lower().split()
    ranked = []
    for position, entry in enumerate(_catalog.entries()):
        scores = [_score(entry, w) for w in words]
        if all(s is not None for s in scores):
            ranked.append((-sum(scores), position, entry))
    ranked.sort(key=lambda item: item[:2])
    return [_row(e) for _, _, e in ranked]
