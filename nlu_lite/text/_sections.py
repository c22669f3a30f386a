"""Sections: the header each sentence falls under, as one canonical name.

A *header* is a label and a colon at the start of a sentence (the clinical splitter starts sentences at
``Header:`` lines and inline ALL-CAPS headers): ``HISTORY OF PRESENT ILLNESS:``, ``Past Medical History:``.
A label counts as a header when it is one of the names below (any case), when it is written in capitals
(``DIAGNOSTIC STUDIES:``), or when nothing follows the colon in its sentence (a header on its own line);
``Sig: one tablet`` or ``Admission Date: ...`` inside a note are not headers.

``SECTIONS`` is the one mapping from header text to section: canonical name -> its synonyms. A header is
normalised (lowercased, ``&`` read as ``and``, runs of spaces and punctuation collapsed) and looked up; a
header outside the mapping gives its own normalised text. Labels in ``SUBSECTIONS`` (the body systems of a
physical exam or a review of systems, vital signs) are not sections: the sentence stays in the section
above it. Every sentence after a header belongs to its section until the next header; sentences before a
document's first header have no section (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SECTIONS: dict[str, tuple[str, ...]] = {
    "chief complaint": ("cc", "chief complaints", "presenting complaint", "reason for visit", "complaint"),
    "history of present illness": ("hpi", "hx of present illness", "history of the present illness",
                                   "history of presenting illness", "present illness", "history of present illnesses"),
    "history": ("hx", "clinical history", "brief history", "history of illness", "history and physical"),
    "past medical history": ("pmh", "pmhx", "past medical hx", "medical history", "past history",
                             "past medical and surgical history", "past medical history and surgical history"),
    "past surgical history": ("psh", "surgical history", "past surgical hx", "previous surgery", "past surgeries"),
    "medications": ("meds", "medication", "current medications", "home medications", "outpatient medications",
                    "medications on admission", "admission medications", "current meds", "present medications"),
    "discharge medications": ("discharge meds", "medications on discharge", "discharge medication"),
    "allergies": ("allergy", "drug allergies", "medication allergies", "allergies to medications", "nkda"),
    "family history": ("fh", "fhx", "family hx", "family medical history"),
    "social history": ("sh", "shx", "social hx", "habits"),
    "review of systems": ("ros", "systems review", "review of system"),
    "physical examination": ("physical exam", "pe", "exam", "examination", "physical findings",
                             "admission physical examination", "physical examination on admission"),
    "assessment": ("impression", "clinical impression", "diagnostic impression", "assessment and impression"),
    "plan": ("plans", "recommendation", "recommendations", "treatment plan", "plan of care", "disposition and plan"),
    "assessment and plan": ("a/p", "a and p", "assessment/plan", "impression and plan", "impression/plan",
                            "assessment and recommendations", "impression and recommendations"),
    "diagnosis": ("diagnoses", "final diagnosis", "final diagnoses", "working diagnosis"),
    "admission diagnosis": ("admission diagnoses", "admitting diagnosis", "admitting diagnoses",
                            "diagnosis on admission"),
    "discharge diagnosis": ("discharge diagnoses", "diagnosis on discharge", "final discharge diagnosis"),
    "preoperative diagnosis": ("preoperative diagnoses", "pre-operative diagnosis", "preop diagnosis",
                               "pre-op diagnosis", "preprocedure diagnosis"),
    "postoperative diagnosis": ("postoperative diagnoses", "post-operative diagnosis", "postop diagnosis",
                                "post-op diagnosis", "postprocedure diagnosis"),
    "procedure": ("procedures", "procedure performed", "procedures performed", "operation", "operations",
                  "operation performed", "operations performed", "name of procedure", "title of operation",
                  "title of procedure", "major surgical or invasive procedure", "surgical procedure"),
    "description of procedure": ("procedure in detail", "details of procedure", "procedure details",
                                 "procedure detail", "operative procedure in detail", "description",
                                 "description of operation", "procedure description", "operative procedure",
                                 "procedure note", "description of the procedure", "details of the procedure",
                                 "description of the operation", "operative technique", "technique"),
    "indications": ("indication", "indications for procedure", "indications for the procedure", "reason for exam",
                    "indication for procedure", "reason for procedure", "indications for surgery",
                    "indication for surgery", "indications for operation"),
    "findings": ("gross findings", "operative findings", "intraoperative findings", "finding"),
    "anesthesia": ("anesthetic", "type of anesthesia", "anesthesia type"),
    "estimated blood loss": ("ebl", "blood loss"),
    "complications": ("complication",),
    "specimens": ("specimen", "specimens removed", "pathology specimen"),
    "fluids": ("intravenous fluids", "iv fluids", "fluids received"),
    "drains": ("drain",),
    "hospital course": ("brief hospital course", "course in hospital", "clinical course", "course"),
    "laboratory data": ("diagnostic data", "labs", "laboratory", "lab data", "laboratory studies", "laboratory results",
                        "lab results", "laboratory findings", "pertinent results", "laboratory values", "lab"),
    "imaging": ("radiology", "diagnostic studies", "studies", "imaging studies", "x-rays", "radiographs"),
    "discharge instructions": ("instructions", "patient instructions", "discharge plan"),
    "follow up": ("followup", "follow-up", "follow up instructions", "follow-up instructions"),
    "disposition": ("discharge disposition",),
    "condition": ("condition on discharge", "discharge condition", "condition at discharge"),
    "subjective": ("subjective findings",),
    "objective": ("objective findings",),
    "consultation": ("reason for referral", "reason for consultation", "reason for consult", "consult"),
    "referring physician": ("referring doctor",),
    "current status": ("status",),
    "immunizations": ("immunization", "vaccinations"),
    "summary": ("clinical summary", "summary of findings"),
    "past psychiatric history": ("psychiatric history", "past psych history"),
    "emergency department course": ("ed course", "er course", "emergency room course"),
    "discussion": ("comment", "comments"),
}
SUBSECTIONS = frozenset(
    """general constitutional heent head eyes ears nose throat ent mouth neck chest lungs lung respiratory
    heart cardiac cardiovascular cv breasts abdomen abdominal gi gu genitourinary pelvic rectal back spine
    extremities musculoskeletal msk skin integumentary neurologic neurological neuro psychiatric psych
    lymphatic hematologic endocrine bp hr rr temp temperature pulse weight height vitals vs vital
    spo2 o2 sat gastrointestinal cn cns ms motor sensory reflexes gait respirations genitalia pulmonary
    dermatologic lymphatics cvs""".split()
) | {"vital signs", "mental status", "lymph nodes", "oxygen saturation", "general appearance", "head and neck",
     "hematologic/lymphatic", "mental status examination", "axis i", "axis ii", "axis iii", "axis iv", "axis v"}

_LABEL = re.compile(r"([A-Za-z][A-Za-z0-9 /&'()\-]{0,58}?)\s*:")
_NOISE = re.compile(r"\((?:e?s)\)|[\s,;.]+")  # "DIAGNOSIS (ES)", "Finding(s)"
_LOOKUP: dict[str, str] = {}
for _name, _synonyms in SECTIONS.items():
    for _text in (_name, *_synonyms):
        _LOOKUP[_text] = _name


def normalize_header(label: str) -> str:
    """The lookup form of a header label: lowercase, ``&`` as ``and``, spaces and stray punctuation collapsed."""
    return _NOISE.sub(" ", label.lower().replace("&", " and ")).strip(" -")


def section_name(label: str) -> str:
    """The canonical section of a header label (``'HPI'`` -> ``'history of present illness'``), else its normal form."""
    key = normalize_header(label)
    return _LOOKUP.get(key, key)


def find_header(sentence: str) -> str | None:
    """The header label a sentence starts with (``'HISTORY OF PRESENT ILLNESS'``), or None."""
    match = _LABEL.match(sentence)
    if match is None:
        return None
    label = match.group(1).strip()
    key = normalize_header(label)
    if not key or len(key.split()) > 7:
        return None
    letters = [c for c in label if c.isalpha()]
    capitals = len(letters) >= 2 and all(c.isupper() for c in letters)
    alone = not sentence[match.end():].strip(" ,;:\t\n\r")
    return label if key in _LOOKUP or key in SUBSECTIONS or capitals or alone else None


def sentence_sections(texts: Sequence[str], sentence_doc: np.ndarray, sentence_begin: np.ndarray,
                      sentence_end: np.ndarray) -> np.ndarray:
    """The section of each sentence (object array; ``None`` before its document's first header).

    ``sentence_doc`` must be non-decreasing (the order ``segment()`` returns).
    """
    sections = np.empty(len(sentence_doc), dtype=object)
    current, previous_doc = None, -1
    for s, (d, b, e) in enumerate(zip(sentence_doc.tolist(), sentence_begin.tolist(), sentence_end.tolist())):
        if d != previous_doc:
            current, previous_doc = None, d
        label = find_header(texts[d][b:e])
        if label is not None and normalize_header(label) not in SUBSECTIONS:
            current = section_name(label)
        sections[s] = current
    return sections
