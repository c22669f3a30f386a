"""One contract, every encoder family: tiny models of each (tests/families.py) through the real load() path.

As flair runs one test class over every embedding type: offsets, rows, windows, equality with the model's own
hidden states, batching independence and bundle round trips must hold for BERT, DistilBERT, ELECTRA, MPNet,
RoBERTa and Longformer (byte-level BPE), ModernBERT, XLM-RoBERTa and DeBERTa-v2 (sentencepiece-style Unigram)
alike.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from families import FAMILIES, MAX_POSITIONS, build
from reference import reference_model
from registered import TEXT_LEVELS

import nlu_lite

NOTE = "Patient denies chest pain. BP 120/80, HR 72.\n\nTakes aspirin 81 mg daily. Café au lait spots."
SENTENCE = "The patient denies chest pain, fever or cough"
LONG = " ".join([SENTENCE] * 24)  # one sentence, several times the tiny models' 64 positions


@pytest.fixture(scope="session", params=FAMILIES)
def family_pipe(request, tmp_path_factory):
    folder = build(request.param, tmp_path_factory.mktemp("families") / request.param)
    return nlu_lite.load(path=folder, progress=False)


def vectors(frame, pipe) -> np.ndarray:
    return np.stack(frame[pipe.column_name].to_list())


def reference_hidden(pipe, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The model's own last_hidden_state for ``text`` (special tokens added by its tokenizer), and offsets."""
    enc = pipe.encoder.tokenizer(text, return_tensors="pt", return_offsets_mapping=True)
    offsets = [tuple(pair) for pair in enc.pop("offset_mapping")[0].tolist()]
    with torch.inference_mode():
        hidden = reference_model(pipe)(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    return hidden.last_hidden_state[0].numpy(), offsets


class TestFamilyContract:
    def test_family_is_detected_and_template_comes_from_the_tokenizer(self, family_pipe):
        enc = family_pipe.encoder
        assert enc.family == family_pipe.source.folder.name
        full = enc.tokenizer("chest", add_special_tokens=True)["input_ids"]
        assert full[:len(enc.prefix)] == enc.prefix and full[len(full) - len(enc.suffix):] == enc.suffix
        assert enc.max_sequence == MAX_POSITIONS

    def test_family_tokenizer_and_config_facts_equal_the_auto_classes(self, family_pipe):
        # the encoder reads them without AutoTokenizer/AutoConfig (which import torch): same class, same output
        from transformers import AutoTokenizer

        from nlu_lite.models import _encoder as encoder
        from nlu_lite.models import _hf_model as hf_model

        folder = family_pipe.source.folder
        ours, auto = family_pipe.encoder.tokenizer, AutoTokenizer.from_pretrained(str(folder))
        assert encoder._tokenizer_class(folder) is type(auto) and type(ours) is type(auto)
        for text in (NOTE, LONG, "<s> [CLS] literal specials"):
            assert ours(text, return_offsets_mapping=True).data == auto(text, return_offsets_mapping=True).data
        config = hf_model.load_config(folder)
        assert hf_model.config_facts(folder) == hf_model.ConfigFacts(config.model_type, hf_model.max_sequence(config),
                                                                    config.vocab_size)

    @pytest.mark.parametrize("level", ["token", "sentence"])
    def test_family_offsets_slice_the_original_text(self, family_pipe, level):
        df = family_pipe.predict(NOTE, output_level=level, positions=True)
        assert len(df) > 3
        for begin, end, piece in zip(df["begin"], df["end"], df[level]):
            assert NOTE[begin:end] == piece
        assert np.isfinite(vectors(df, family_pipe)).all()

    def test_family_every_token_gets_a_row(self, family_pipe):
        from nlu_lite.text import _segmentation as segmentation

        seg = segmentation.segment([NOTE], segmentation.build_nlp("clinical"))
        df = family_pipe.predict(NOTE, output_level="token", positions=True)
        assert df["begin"].tolist() == seg.token_begin.tolist() and df["end"].tolist() == seg.token_end.tolist()

    def test_family_sentence_beyond_the_limit_is_windowed(self, family_pipe):
        pieces = len(family_pipe.encoder.tokenizer(LONG, add_special_tokens=False)["input_ids"])
        assert pieces > 3 * MAX_POSITIONS
        df = family_pipe.predict(LONG, output_level="token", positions=True)
        assert len(df) == len(LONG.split()) + LONG.count(",") and df["end"].iloc[-1] == len(LONG)
        assert np.isfinite(vectors(df, family_pipe)).all()
        sentence = family_pipe.predict(LONG, output_level="sentence")
        assert len(sentence) == 1 and np.isfinite(vectors(sentence, family_pipe)).all()

    def test_family_token_vector_is_hidden_state_of_first_wordpiece(self, family_pipe):
        hidden, offsets = reference_hidden(family_pipe, SENTENCE)
        df = family_pipe.predict(SENTENCE, output_level="token", positions=True)
        for begin, end, vector in zip(df["begin"], df["end"], df[family_pipe.column_name]):
            first = next(k for k, (b, e) in enumerate(offsets) if e > b and e > begin and b < end)
            np.testing.assert_allclose(vector, hidden[first], atol=2e-5)

    def test_family_sentence_mean_is_mean_of_all_positions(self, family_pipe):
        hidden, _ = reference_hidden(family_pipe, SENTENCE)
        got = vectors(family_pipe.predict(SENTENCE, output_level="sentence", normalize=False), family_pipe)[0]
        np.testing.assert_allclose(got, hidden.mean(0), atol=2e-5)
        cls = vectors(family_pipe.predict(SENTENCE, output_level="sentence", pooling="cls", normalize=False),
                      family_pipe)[0]
        np.testing.assert_allclose(cls, hidden[0], atol=2e-5)

    @pytest.mark.parametrize("level", TEXT_LEVELS)
    def test_family_results_do_not_depend_on_batching(self, family_pipe, level):
        texts = [NOTE, "Chest pain.", LONG[:300]]
        a = vectors(family_pipe.predict(texts, output_level=level), family_pipe)
        b = vectors(family_pipe.predict(texts, output_level=level, batch_tokens=16, max_batch_size=1, chunk_size=1),
                    family_pipe)
        np.testing.assert_allclose(a, b, atol=2e-5)

    def test_family_bundle_round_trip_is_identical(self, family_pipe, tmp_path):
        folder = family_pipe.save(tmp_path / "bundle")
        again = nlu_lite.load(path=folder)
        assert again.encoder.family == family_pipe.encoder.family
        for level in ("token", "document"):
            np.testing.assert_array_equal(vectors(family_pipe.predict(NOTE, output_level=level), family_pipe),
                                          vectors(again.predict(NOTE, output_level=level), again))
