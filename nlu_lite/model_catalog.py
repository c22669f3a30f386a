"""The model catalog: ``catalog.yaml`` read into entries, name resolution, browsing.

Light: pandas is imported only when a DataFrame is asked for (``catalog()``, ``search()``), so the CLI's
catalog commands start without it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from .errors import CatalogError, UnknownModelError

if TYPE_CHECKING:
    import pandas as pd

_NAME = re.compile(r"^[a-z]{2}\.(embed|embed_sentence)(\.[A-Za-z0-9_.\-]+)?$")
_LANGUAGE_PREFIX = re.compile(r"^[a-z]{2}\.")
_REQUIRED = ("name", "hf_id", "revision", "do_lower_case", "dim", "max_wordpieces", "normalize",
             "license", "description")


@dataclass(frozen=True)
class CatalogEntry:
    """One model reference of the catalog."""

    name: str
    hf_id: str
    revision: str
    do_lower_case: bool
    dim: int
    max_wordpieces: int
    normalize: bool
    license: str
    description: str
    aliases: tuple[str, ...] = ()
    packaged_module: str | None = None
    packaged_pip: str | None = None

    @property
    def column_name(self) -> str:
        """Name of the embedding column: ``en.embed.bert`` -> ``en_embed_bert_embeddings``."""
        return re.sub(r"[^0-9A-Za-z]+", "_", self.name).strip("_") + "_embeddings"

    @property
    def default_level(self) -> str:
        """``sentence`` for sentence-embedding models, ``token`` for the others (as NLU does)."""
        return "sentence" if ".embed_sentence." in self.name + "." else "token"


def _key(name: str) -> str:
    """Lookup key: case-insensitive, language prefix optional (``en.embed.bert`` == ``embed.bert``)."""
    return _LANGUAGE_PREFIX.sub("", name.strip().lower(), count=1)


def _entry_from_yaml(raw: object, position: int) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError("E030", f"Catalog entry #{position} is {raw!r}, expected a mapping of fields.")
    label = raw.get("name", f"#{position}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CatalogError("E031", f"Catalog entry {label!r} lacks the fields {missing}; add them to catalog.yaml.")
    known = {f.name for f in fields(CatalogEntry)} - {"packaged_module", "packaged_pip"} | {"packaged"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise CatalogError(
            "E032", f"Catalog entry {label!r} has unknown fields {unknown}; valid fields: {sorted(known)}.")
    if not isinstance(raw["name"], str) or not _NAME.match(raw["name"]):
        raise CatalogError("E033",
            f"Catalog name {raw['name']!r} does not look like '<lang>.embed.<family>' or "
            "'<lang>.embed_sentence.<family>'."
        )
    for field_name, kind in (("do_lower_case", bool), ("normalize", bool), ("dim", int), ("max_wordpieces", int)):
        if not isinstance(raw[field_name], kind):
            raise CatalogError("E034",
                f"Catalog entry {label!r}: {field_name}={raw[field_name]!r} should be a {kind.__name__}."
            )
    if raw["dim"] <= 0 or not 8 <= raw["max_wordpieces"] <= 8192:
        raise CatalogError("E035",
            f"Catalog entry {label!r}: dim={raw['dim']} must be positive and "
            f"max_wordpieces={raw['max_wordpieces']} between 8 and 8192."
        )
    packaged = raw.get("packaged") or {}
    if packaged and set(packaged) != {"module", "pip"}:
        raise CatalogError(
            "E036", f"Catalog entry {label!r}: packaged needs exactly 'module' and 'pip', got {packaged!r}.")
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise CatalogError("E037", f"Catalog entry {label!r}: aliases={aliases!r} should be a list of names.")
    return CatalogEntry(
        name=raw["name"],
        hf_id=str(raw["hf_id"]),
        revision=str(raw["revision"]),
        do_lower_case=raw["do_lower_case"],
        dim=raw["dim"],
        max_wordpieces=raw["max_wordpieces"],
        normalize=raw["normalize"],
        license=str(raw["license"]),
        description=str(raw["description"]),
        aliases=tuple(aliases),
        packaged_module=packaged.get("module"),
        packaged_pip=packaged.get("pip"),
    )


def parse_catalog(text: str) -> tuple[CatalogEntry, ...]:
    """Parse and validate catalog YAML text; raise ``CatalogError`` naming the first problem."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CatalogError("E038", f"catalog.yaml is not valid YAML: {e}") from e
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise CatalogError("E039", "catalog.yaml must be a mapping with a list under 'entries'.")
    entries = tuple(_entry_from_yaml(raw, i) for i, raw in enumerate(document["entries"]))
    owner: dict[str, str] = {}
    for entry in entries:
        for name in (entry.name, *entry.aliases):
            key = _key(name)
            if key in owner and owner[key] != entry.name:
                raise CatalogError("E040",
                    f"Catalog name or alias {name!r} is claimed by both {owner[key]!r} and {entry.name!r}; "
                    "make it unique."
                )
            owner[key] = entry.name
    return entries


@lru_cache(maxsize=1)
def _entries() -> tuple[CatalogEntry, ...]:
    return parse_catalog(resources.files("nlu_lite").joinpath("catalog.yaml").read_text("utf-8"))


@lru_cache(maxsize=1)
def _index() -> dict[str, CatalogEntry]:
    return {_key(name): entry for entry in _entries() for name in (entry.name, *entry.aliases)}


def resolve(name: str) -> CatalogEntry:
    """Find the catalog entry for a name or alias; raise ``UnknownModelError`` with suggestions."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError("E041",
            f"Model name {name!r} is not a non-empty string. Pass a catalog name such as "
            "'en.embed_sentence.all_minilm_l6_v2' (see nlu_lite.catalog()), or load(path='folder')."
        )
    entry = _index().get(_key(name))
    if entry is not None:
        return entry
    closest = difflib.get_close_matches(_key(name), list(_index()), n=5, cutoff=0.4)
    suggestions = list(dict.fromkeys(_index()[k].name for k in closest))
    hint = f" Closest catalog names: {', '.join(suggestions)}." if suggestions else ""
    raise UnknownModelError("E042",
        f"Unknown model name {name!r}: it is not in the catalog and not an existing folder.{hint} "
        "Browse with nlu_lite.search('<word>'), or load a local model with nlu_lite.load(path='<folder>')."
    )


def entries() -> tuple[CatalogEntry, ...]:
    """All catalog entries, in file order."""
    return _entries()


COLUMNS = ("name", "hf_id", "dim", "cased", "max_wordpieces", "license", "offline_package", "aliases", "description")


def _row(e: CatalogEntry) -> dict[str, object]:
    return {"name": e.name, "hf_id": e.hf_id, "dim": e.dim, "cased": not e.do_lower_case,
            "max_wordpieces": e.max_wordpieces, "license": e.license, "offline_package": e.packaged_pip,
            "aliases": ", ".join(e.aliases), "description": e.description}


def catalog_rows(query: str | None = None) -> list[dict[str, object]]:
    """Catalog rows as dicts (``COLUMNS``), all of them or those ``search(query)`` returns; no pandas needed."""
    if query is not None and not isinstance(query, str):
        raise UnknownModelError("E043", f"search() takes a string, got {query!r}; e.g. nlu_lite.search('clinical').")
    rows = [_row(e) for e in _entries()]
    if query is None:
        return rows
    words = query.lower().split()
    haystacks = [f"{r['name']} {r['hf_id']} {r['aliases']} {r['description']}".lower() for r in rows]
    return [r for r, hay in zip(rows, haystacks) if all(w in hay for w in words)]


def catalog() -> pd.DataFrame:
    """The model catalog as a DataFrame, one row per reference."""
    import pandas as pd

    return pd.DataFrame(catalog_rows(), columns=list(COLUMNS))


def search(query: str) -> pd.DataFrame:
    """Catalog rows whose name, Hugging Face id, aliases or description contain every word of ``query``.

    >>> nlu_lite.search("clinical")  # doctest: +SKIP
    """
    import pandas as pd

    return pd.DataFrame(catalog_rows(query), columns=list(COLUMNS))
