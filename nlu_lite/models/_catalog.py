"""The model catalog: ``catalog.yaml`` read into entries, each field validated, and names resolved.

Browsing (``catalog()``, ``search()``) is in ``_browse.py``; family facts in ``_families.py``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources

import yaml

from ..errors import CatalogError, ModelLoadError, UnknownModelError
from ..pipeline._pooling import UNIT_POOLINGS
from ._families import FAMILIES, FAMILY_POSITIONS

_NAME = re.compile(r"^[a-z]{2}\.(embed|embed_sentence)(\.[A-Za-z0-9_.\-]+)?$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_LANGUAGE_PREFIX = re.compile(r"^[a-z]{2}\.")
_REQUIRED = ("name", "hf_id", "revision", "family", "do_lower_case", "dim", "max_wordpieces", "pooling", "normalize",
             "tags", "license", "description")
_OPTIONAL = ("aliases", "prompts", "default_prompt", "packaged")

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 0.03 s instead of 0.4 s for the catalog

POOLINGS = UNIT_POOLINGS
"""Sentence poolings, named as sentence-transformers' ``1_Pooling/config.json`` names them."""

TAGS = ("clinical", "biomedical", "general", "scientific", "social-media", "sentence", "token", "long-context",
        "multilingual", "retrieval", "similarity", "entity-linking", "compact")
"""Words ``search()`` matches exactly; every entry has ``sentence`` or ``token`` (its default output level)."""


@dataclass(frozen=True)
class CatalogEntry:
    """One model reference of the catalog.

    Fields added after the first release have defaults, so bundles written by older versions still load.
    """

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
    family: str | None = None  # transformers model_type; None: read from the model's config
    pooling: str = "mean"
    prompts: dict[str, str] = field(default_factory=dict, hash=False)
    default_prompt: str | None = None
    include_prompt: bool = True  # prompt positions enter sentence pooling
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # bundles store the entry as JSON (lists, plain dicts): keep the entry hashable and comparable
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "prompts", dict(self.prompts or {}))

    def to_dict(self) -> dict:
        """The fields as JSON-ready values (for the rebuild spec)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: dict) -> CatalogEntry:
        """An entry from ``to_dict()`` output (a bundle or Spark spec), its fields checked."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        checks = {"name": str, "hf_id": str, "dim": int, "max_wordpieces": int, "normalize": bool}
        bad = [f"{k}={raw.get(k)!r}" for k, kind in checks.items()
               if not isinstance(raw.get(k), kind) or isinstance(raw.get(k), bool) and kind is int]
        if not bad and (raw["dim"] < 1 or raw["max_wordpieces"] < 4):
            bad.append(f"dim={raw['dim']!r} / max_wordpieces={raw['max_wordpieces']!r} (must be positive, >= 4)")
        for name in ("aliases", "tags"):  # lists of names: a string would become a tuple of its letters
            value = raw.get(name, [])
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                bad.append(f"{name}={value!r} (must be a list of strings)")
        prompts = raw.get("prompts", {})
        if not isinstance(prompts, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in prompts.items()):
            bad.append(f"prompts={prompts!r} (must map names to prompt strings)")
        if unknown or bad:
            raise ModelLoadError(
                "E414", f"The model entry of this bundle/spec is invalid: unknown fields {unknown}, bad values {bad}. "
                "Write the bundle again with pipe.save(), or fix the entry in nlu_lite.json.")
        return cls(**{**raw, "aliases": tuple(raw.get("aliases") or ())})

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


def _hub_key(hf_id: str) -> str:
    """Lookup key of a Hugging Face id: case-insensitive, as the hub treats ids."""
    return hf_id.strip().lower()


def _check_fields(raw: dict, label: str) -> None:
    """Type and range checks of one entry's fields (the catalog's schema)."""
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
    if not isinstance(raw["hf_id"], str) or not _HUB_ID.match(raw["hf_id"]):
        raise CatalogError("E250",
            f"Catalog entry {label!r}: hf_id={raw['hf_id']!r} is not a Hugging Face id; write it as "
            "'owner/name', e.g. hf_id: emilyalsentzer/Bio_ClinicalBERT.")
    if raw["family"] not in FAMILIES:
        raise CatalogError("E251",
            f"Catalog entry {label!r}: family={raw['family']!r} is not a supported model family; use the "
            f"transformers model_type, one of {list(FAMILIES)} (models needing trust_remote_code are not listed).")
    limit = FAMILY_POSITIONS[raw["family"]]
    if raw["max_wordpieces"] > limit:
        raise CatalogError("E252",
            f"Catalog entry {label!r}: max_wordpieces={raw['max_wordpieces']} exceeds the {limit} positions a "
            f"{raw['family']} model can use; write max_wordpieces: {limit} (or the model's own, smaller limit).")
    if raw["pooling"] not in POOLINGS:
        raise CatalogError("E253",
            f"Catalog entry {label!r}: pooling={raw['pooling']!r} is not one of {list(POOLINGS)}; write the "
            "model's own sentence pooling, e.g. pooling: cls for SapBERT or BGE, pooling: mean for E5.")
    prompts = raw.get("prompts") or {}
    if not isinstance(prompts, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, str) and v for k, v in prompts.items()):
        raise CatalogError("E254",
            f"Catalog entry {label!r}: prompts={prompts!r} should map prompt names to prefix texts, e.g. "
            "prompts: {query: 'query: ', passage: 'passage: '}.")
    default_prompt = raw.get("default_prompt")
    if default_prompt is not None and default_prompt not in prompts:
        raise CatalogError("E255",
            f"Catalog entry {label!r}: default_prompt={default_prompt!r} is not one of its prompts "
            f"{sorted(prompts)}; name one of them or remove default_prompt.")
    tags = raw["tags"]
    if (not isinstance(tags, list) or not tags or len(set(map(str, tags))) != len(tags)
            or not set(tags) <= set(TAGS)):
        raise CatalogError("E256",
            f"Catalog entry {label!r}: tags={tags!r} should be a non-empty list of distinct tags from "
            f"{list(TAGS)}, e.g. tags: [clinical, token].")
    level = "sentence" if ".embed_sentence." in raw["name"] + "." else "token"
    if level not in tags or ({"sentence", "token"} - {level}) & set(tags):
        raise CatalogError("E257",
            f"Catalog entry {label!r}: tags={tags!r} must contain {level!r} (and not the other level), "
            f"because the name {raw['name']!r} makes {level!r} its default output level.")


def _entry_from_yaml(raw: object, position: int) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError("E030", f"Catalog entry #{position} is {raw!r}, expected a mapping of fields.")
    label = raw.get("name", f"#{position}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CatalogError("E031", f"Catalog entry {label!r} lacks the fields {missing}; add them to catalog.yaml.")
    known = set(_REQUIRED) | set(_OPTIONAL)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise CatalogError(
            "E032", f"Catalog entry {label!r} has unknown fields {unknown}; valid fields: {sorted(known)}.")
    _check_fields(raw, label)
    packaged = raw.get("packaged") or {}
    if packaged and set(packaged) != {"module", "pip"}:
        raise CatalogError(
            "E036", f"Catalog entry {label!r}: packaged needs exactly 'module' and 'pip', got {packaged!r}.")
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise CatalogError("E037", f"Catalog entry {label!r}: aliases={aliases!r} should be a list of names.")
    return CatalogEntry(
        name=raw["name"],
        hf_id=raw["hf_id"],
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
        family=raw["family"],
        pooling=raw["pooling"],
        prompts=dict(raw.get("prompts") or {}),
        default_prompt=raw.get("default_prompt"),
        tags=tuple(raw["tags"]),
    )


def _check_unique_names(entries: tuple[CatalogEntry, ...]) -> None:
    """Names and aliases name one entry each; no alias is another model's hub id."""
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
    hub_ids = {_hub_key(e.hf_id): e.hf_id for e in entries}
    for entry in entries:
        for alias in entry.aliases:
            other = hub_ids.get(_hub_key(alias))
            if other is not None and _hub_key(other) != _hub_key(entry.hf_id):
                raise CatalogError("E258",
                    f"Catalog alias {alias!r} of {entry.name!r} is the Hugging Face id of another model "
                    f"({other!r}); remove the alias, so that the id resolves to its own model.")


def parse_catalog(text: str) -> tuple[CatalogEntry, ...]:
    """Parse and validate catalog YAML text; raise ``CatalogError`` naming the first problem."""
    try:
        document = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        raise CatalogError("E038", f"catalog.yaml is not valid YAML: {e}") from e
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise CatalogError("E039", "catalog.yaml must be a mapping with a list under 'entries'.")
    entries = tuple(_entry_from_yaml(raw, i) for i, raw in enumerate(document["entries"]))
    _check_unique_names(entries)
    return entries


@lru_cache(maxsize=1)
def _entries() -> tuple[CatalogEntry, ...]:
    return parse_catalog(resources.files("nlu_lite").joinpath("catalog.yaml").read_text("utf-8"))


@lru_cache(maxsize=1)
def _index() -> dict[str, CatalogEntry]:
    return {_key(name): entry for entry in _entries() for name in (entry.name, *entry.aliases)}


@lru_cache(maxsize=1)
def _hub_index() -> dict[str, CatalogEntry]:
    """Hugging Face id -> the first entry (in file order) with that id."""
    index: dict[str, CatalogEntry] = {}
    for entry in _entries():
        index.setdefault(_hub_key(entry.hf_id), entry)
    return index


def is_hub_id(name: object) -> bool:
    """Whether ``name`` has the form of a Hugging Face id (``owner/name``), in the catalog or not."""
    return isinstance(name, str) and bool(_HUB_ID.match(name.strip()))


def find(name: str) -> CatalogEntry | None:
    """The catalog entry for a name, alias or Hugging Face id (case-insensitive), or ``None``.

    Names and aliases win over hub ids; a hub id that several entries share (a token and a sentence
    reference of one checkpoint) gives the first of them in ``catalog.yaml``.
    """
    if not isinstance(name, str) or not name.strip():
        return None
    return _index().get(_key(name)) or _hub_index().get(_hub_key(name))


def resolve(name: str) -> CatalogEntry:
    """Find the catalog entry for a name, alias or hub id; raise ``UnknownModelError`` with suggestions."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError("E041", f"Model name {name!r} is not a non-empty string.",
                                fix="Pass a catalog name such as 'en.embed_sentence.all_minilm_l6_v2' (see "
                                "nlu_lite.catalog()), or load(path='folder').")
    entry = find(name)
    if entry is not None:
        return entry
    candidates = {**_hub_index(), **_index()}  # hub ids, names and aliases; difflib's default bar of 0.6, so
    closest = difflib.get_close_matches(_key(name), list(candidates), n=5)  # 'foo' gets nothing, not 'biolord'
    suggestions = tuple(dict.fromkeys(candidates[k].name for k in closest))
    hint = (f"Closest catalog names: {', '.join(suggestions)}." if suggestions
            else f"No catalog name resembles {name!r}.")
    raise UnknownModelError("E042",
        f"Unknown model name {name!r}: it is not in the catalog and not an existing folder. {hint}",
        fix="Browse with nlu_lite.search('<word>'), or load a local model with nlu_lite.load(path='<folder>').",
        suggestions=suggestions)


def entries() -> tuple[CatalogEntry, ...]:
    """All catalog entries, in file order."""
    return _entries()
