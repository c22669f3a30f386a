"""Text into tokens, sentences, sections and spans (spaCy), with offsets into the original text.

- ``_segmentation``: the spaCy pipeline (``_bounded_tokenizer`` and the clinical ``_sentence_rules``) and the
  segments of a chunk;
- ``_processes``: the same segmentation in worker processes (``segment_processes``), beside the encoder;
- ``_sections``: the clinical section each sentence falls under;
- ``_spans``: the user's spans (tables, per-row lists, ``terms()``, ``patterns()``) bound to each chunk.
"""
