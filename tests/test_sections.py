"""Sections: header text to one canonical name, and each sentence's section on real notes."""

from __future__ import annotations

import pytest
from shared_data import mtsamples_notes, shared_path

from nlu_lite.text._sections import SECTIONS, SUBSECTIONS, find_header, normalize_header, section_name
from nlu_lite.text._segmentation import build_nlp, segment


@pytest.mark.parametrize("label,canonical", [
    ("HISTORY OF PRESENT ILLNESS", "history of present illness"),
    ("HPI", "history of present illness"),
    ("Hx of present illness", "history of present illness"),
    ("History  of the Present Illness", "history of present illness"),
    ("PAST MEDICAL HISTORY", "past medical history"),
    ("A/P", "assessment and plan"),
    ("Impression & Plan", "assessment and plan"),
    ("PREOPERATIVE DIAGNOSIS (ES)", "preoperative diagnosis"),
    ("Brief Hospital Course", "hospital course"),
    ("TOURNIQUET TIME", "tourniquet time"),  # outside the mapping: its own normal form
])
def test_sections_section_name_maps_synonyms(label, canonical):
    assert section_name(label) == canonical


def test_sections_mapping_is_one_to_one():
    seen: dict[str, str] = {}
    for name, synonyms in SECTIONS.items():
        assert normalize_header(name) == name
        for text in (name, *synonyms):
            assert normalize_header(text) == text, text
            assert seen.setdefault(text, name) == name, f"{text!r} maps to {seen[text]!r} and {name!r}"
            assert text not in SUBSECTIONS
    assert 30 <= len(SECTIONS) <= 60


@pytest.mark.parametrize("sentence,label", [
    ("HISTORY OF PRESENT ILLNESS: , This 23-year-old", "HISTORY OF PRESENT ILLNESS"),
    ("Past Medical History:", "Past Medical History"),
    ("Allergies: none known.", "Allergies"),
    ("DIAGNOSTIC STUDIES: CT negative.", "DIAGNOSTIC STUDIES"),
    ("Sig: One (1) tablet PO daily.", None),
    ("Admission Date:  [**2573-5-30**]", None),
    ("The plan: rest and fluids.", None),
    ("1. Aspirin: 81 mg", None),
])
def test_sections_find_header(sentence, label):
    assert find_header(sentence) == label


def test_sections_discharge_summary_sentences():
    text = shared_path("medspacy/discharge_summary.txt").read_text("utf-8")
    seg = segment([text], build_nlp("clinical"))
    by_sentence = {text[b:e]: s for b, e, s in zip(seg.sentence_begin, seg.sentence_end, seg.sentence_section)}
    assert by_sentence["Service: SURGERY"] is None  # before the first header
    assert by_sentence["Abdominal pain"] == "chief complaint"
    assert by_sentence["Imaging shows no evidence of metastasis."] == "history of present illness"
    assert by_sentence["2. Type II Diabetes Mellitus"] == "past medical history"
    assert by_sentence["She was admitted to the ICU."] == "hospital course"
    assert by_sentence["Patient may shower."] == "discharge instructions"
    names = [s for s in seg.sentence_section if s is not None]
    assert set(names) <= set(SECTIONS)  # every header of this note is in the mapping


def test_sections_mtsamples_subsection_headers_stay_in_the_section_above():
    notes = [n for n in mtsamples_notes(300) if "PHYSICAL EXAMINATION:" in n and "HEENT:" in n][:20]
    assert notes
    seg = segment(notes, build_nlp("clinical"))
    rows = list(zip(seg.sentence_doc.tolist(), seg.sentence_begin.tolist(), seg.sentence_end.tolist(),
                    seg.sentence_section))
    checked = 0
    for (d0, _, _, above), (d, b, e, section) in zip(rows, rows[1:]):
        sentence = notes[d][b:e]
        if d == d0 and sentence.startswith(("HEENT:", "LUNGS:", "ABDOMEN:", "EXTREMITIES:", "NECK:")):
            assert section == above and section is not None, sentence[:40]
            checked += 1
        if sentence.startswith("PHYSICAL EXAMINATION:"):
            assert section == "physical examination"
    assert checked >= 20
