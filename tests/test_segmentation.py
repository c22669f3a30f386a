from __future__ import annotations

import json

import numpy as np
import pytest
from shared_data import gold_texts, mtsamples_notes, negex_sentences, shared_path

from nlu_lite.pipeline._documents import sanitize
from nlu_lite.text._segmentation import build_nlp, segment


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


@pytest.mark.parametrize("text,expected", [
    ("Take b.i.d. and p.r.n. now", {"b.i.d.", "p.r.n."}),
    ("e.g. this i.e. that", {"e.g.", "i.e."}),
    ("Give 2 tabs. q.i.d. and Q.H.S.", {"q.i.d.", "Q.H.S."}),
])
def test_segmentation_clinical_abbreviations_stay_one_token(text, expected):
    seg = segment([text], build_nlp("clinical"))
    tokens = [text[b:e] for b, e in zip(seg.token_begin, seg.token_end)]
    assert expected <= set(tokens), tokens


def _check_offsets(texts: list[str], splitter: str) -> None:
    seg = segment(texts, build_nlp(splitter))
    for d, text in enumerate(texts):
        mine = seg.token_doc == d
        covered = [False] * len(text)
        for b, e in zip(seg.token_begin[mine], seg.token_end[mine]):
            piece = text[b:e]
            assert piece and piece == piece.strip()
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


@pytest.mark.parametrize("splitter,text,expected", [
    ("sentencizer", "1. Fever. 2. Cough. 3.", ["1. Fever.", "2. Cough. 3."]),
    ("sentencizer", "Fever. - Cough. • Rash", ["Fever.", "- Cough.", "• Rash"]),
])
def test_segmentation_sentencizer_gets_the_marker_rule(splitter, text, expected):
    assert sentences(text, splitter) == expected


@pytest.mark.parametrize("text,expected", [
    ("•\nFever\n•\n\n• Cough", ["•\nFever", "•\n\n• Cough"]),
    ("Problems:\n- \n- Fever", ["Problems:", "- \n- Fever"]),
    ("Plan:\n1.\n2. Aspirin", ["Plan:", "1.\n2. Aspirin"]),
    ("Fever resolved.\n-", ["Fever resolved.\n-"]),
    ("1.\n2.\n•\n-", ["1.\n2.\n•\n-"]),
])
def test_segmentation_marker_only_sentences_join_the_next(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("Fever. • Cough. • Rash", ["Fever.", "• Cough.", "• Rash"]),
    ("Diagnoses: • HTN • DM", ["Diagnoses:", "• HTN", "• DM"]),
    ("Fever.\n- Cough\n* Rash\n+ Itch", ["Fever.", "- Cough", "* Rash", "+ Itch"]),
    ("Meds:\n1) Aspirin\n2) Heparin\n(a) one\n#3 Tylenol", ["Meds:", "1) Aspirin", "2) Heparin", "(a) one",
                                                                "#3 Tylenol"]),
    ("Seen 3-4 times. Long-term follow-up.", ["Seen 3-4 times.", "Long-term follow-up."]),
])
def test_segmentation_list_markers_start_the_item_sentence(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("splitter", ["clinical", "sentencizer"])
def test_segmentation_no_marker_only_sentence_on_shared_notes(splitter):
    from nlu_lite.text._sentence_rules import _MARKERS_ONLY

    texts = mtsamples_notes(40) + gold_texts()
    seg = segment(texts, build_nlp(splitter))
    per_doc = np.bincount(seg.sentence_doc, minlength=len(texts))
    for d, b, e in zip(seg.sentence_doc, seg.sentence_begin, seg.sentence_end):
        if per_doc[d] > 1:
            assert not _MARKERS_ONLY.fullmatch(texts[d][b:e]), texts[d][b:e]


@pytest.mark.parametrize("text,expected", [
    ("Give approx. 5 mg. Then stop.", ["Give approx. 5 mg.", "Then stop."]),
    ("Take 1 tab. PO daily. She agreed.", ["Take 1 tab. PO daily.", "She agreed."]),
    ("Swelling of the lt. Ankle. No pain.", ["Swelling of the lt. Ankle.", "No pain."]),
])
def test_segmentation_clinical_abbreviations_do_not_end_sentences(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("text", ["a\ud800b c.", "\udfff", "Pain \ud83d\ude37 now. Next \udc80.", "x\ud800\ud800y"])
def test_segmentation_lone_surrogates_keep_offsets_into_the_original(text):
    seg = segment([text, "plain text."], build_nlp("clinical"))
    assert set(seg.token_doc.tolist()) == {0, 1}
    mine = seg.token_doc == 0
    covered = np.zeros(len(text), dtype=bool)
    for b, e in zip(seg.token_begin[mine], seg.token_end[mine]):
        covered[b:e] = True
    assert all(covered[k] for k, ch in enumerate(text) if not ch.isspace())
    clean = sanitize(text)
    assert len(clean) == len(text) and clean.encode("utf-8")
    reference = segment([clean], build_nlp("clinical"))
    assert reference.token_begin.tolist() == seg.token_begin[mine].tolist()
    assert reference.sentence_end.tolist() == seg.sentence_end[seg.sentence_doc == 0].tolist()


def test_segmentation_token_section_follows_sentence_section():
    texts = ["Intro line.\nHPI:\nPain since Monday.\nPLAN: rest.", "ALLERGIES: none. Mild rash."]
    seg = segment(texts, build_nlp("clinical"))
    got = [(texts[d][b:e], sec) for d, b, e, sec in zip(seg.sentence_doc, seg.sentence_begin, seg.sentence_end,
                                                          seg.sentence_section)]
    assert got == [("Intro line.", None), ("HPI:", "history of present illness"),
                   ("Pain since Monday.", "history of present illness"), ("PLAN: rest.", "plan"),
                   ("ALLERGIES: none.", "allergies"), ("Mild rash.", "allergies")]
    token_section = seg.token_section()
    first_sentence = np.searchsorted(seg.sentence_doc, seg.token_doc)
    for k in range(len(seg.token_doc)):
        assert token_section[k] == seg.sentence_section[first_sentence[k] + seg.token_sentence[k]]
    assert token_section[0] is None and token_section[-1] == "allergies"
