from __future__ import annotations

import json

import pytest
from shared_data import gold_texts, mtsamples_notes, negex_sentences, shared_path

from nlu_lite.segmentation import build_nlp, segment


def sentences(text: str, splitter: str = "clinical") -> list[str]:
    seg = segment([text], build_nlp(splitter))
    return [text[b:e] for b, e in zip(seg.sentence_begin, seg.sentence_end)]


@pytest.mark.parametrize("text,expected", [
    ("Take 1 tab b.i.d. and q.i.d. p.r.n. for pain. Dr. Smith saw her.",
     ["Take 1 tab b.i.d. and q.i.d. p.r.n. for pain.", "Dr. Smith saw her."]),
    ("S/p C6-7 ACDF. No urgent events overnight. BP 120/80, HR 72.",
     ["S/p C6-7 ACDF.", "No urgent events overnight.", "BP 120/80, HR 72."]),
    ("Past Medical History:\n1. Colon cancer, tx'd.\n2. Type II DM\n3. Hypertension",
     ["Past Medical History:", "1. Colon cancer, tx'd.", "2. Type II DM", "3. Hypertension"]),
    ("She has used Allegra.,MEDICATIONS: , Her only medication is Allegra.,ALLERGIES: , None known.",
     ["She has used Allegra.,", "MEDICATIONS: , Her only medication is Allegra.,", "ALLERGIES: , None known."]),
    ("Look\n good.\n\nNew paragraph here", ["Look\n good.", "New paragraph here"]),
    (" •  Coagulopathy (HCC)    \n\n •  Hepatic encephalopathy",
     ["•  Coagulopathy (HCC)", "•  Hepatic encephalopathy"]),
    ('She said, "This is great." She left.', ['She said, "This is great."', "She left."]),
])
def test_segmentation_clinical_cases(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("text", ["Take b.i.d. and p.r.n. now", "e.g. this i.e. that"])
def test_segmentation_clinical_abbreviations_stay_one_token(text):
    seg = segment([text], build_nlp("clinical"))
    tokens = [text[b:e] for b, e in zip(seg.token_begin, seg.token_end)]
    assert {"b.i.d.", "p.r.n."} & set(tokens) or {"e.g.", "i.e."} <= set(tokens)


def _check_offsets(texts: list[str], splitter: str) -> None:
    seg = segment(texts, build_nlp(splitter))
    for d, text in enumerate(texts):
        mine = seg.token_doc == d
        covered = [False] * len(text)
        for b, e in zip(seg.token_begin[mine], seg.token_end[mine]):
            piece = text[b:e]
            assert piece and piece == piece.strip() or not piece.isspace()
            for k in range(b, e):
                covered[k] = True
        # every non-whitespace character belongs to exactly one token
        assert all(covered[k] for k, ch in enumerate(text) if not ch.isspace())
        sent = seg.sentence_doc == d
        bounds = list(zip(seg.sentence_begin[sent], seg.sentence_end[sent]))
        for b, e in bounds:
            assert text[b:e] == text[b:e].strip() and text[b:e]
        assert all(e1 <= b2 for (_, e1), (b2, _) in zip(bounds, bounds[1:]))
        # token sentence ids follow the sentence spans
        for b, s in zip(seg.token_begin[mine], seg.token_sentence[mine]):
            assert bounds[s][0] <= b < bounds[s][1]


@pytest.mark.parametrize("splitter", ["clinical", "sentencizer"])
@pytest.mark.parametrize("source", ["mtsamples", "negex", "gold"])
def test_segmentation_offsets_slice_original_text_on_shared_data(source, splitter):
    texts = {"mtsamples": lambda: mtsamples_notes(60), "negex": negex_sentences, "gold": gold_texts}[source]()
    _check_offsets(texts, splitter)


def test_segmentation_craft_tokens_and_sentences_slice_text():
    articles = [json.loads(line)["text"] for line in
                shared_path("craft/craft_dev_gold_spans.jsonl").read_text("utf-8").splitlines()[:2]]
    _check_offsets(articles, "clinical")


def test_segmentation_clinical_beats_sentencizer_on_gold_sets():
    import sys
    from pathlib import Path

    shared_path("pyrush/pyrush_gold.jsonl")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import sentence_split

    for label, rel in sentence_split.GOLD_SETS.items():
        if "craft" in label:
            continue  # 2,780 sentences: covered by the benchmark, too slow for every run
        cases = sentence_split.load_gold(sentence_split.DATA / rel)
        clinical = sentence_split.score(cases, "clinical")["f1"]
        plain = sentence_split.score(cases, "sentencizer")["f1"]
        assert clinical > plain, label
    assert sentence_split.score(sentence_split.load_gold(sentence_split.DATA / "pyrush/pyrush_gold.jsonl"),
                                "clinical")["f1"] >= 0.85
