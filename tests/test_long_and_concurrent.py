"""Huge notes, very long sentences, determinism, threads and interrupts (tiny model)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from registered import TEXT_LEVELS
from shared_data import mtsamples_notes

TEXTS = ["Patient denies chest pain. BP 120/80, HR 72.", "Takes aspirin daily.", "No fever. " * 40]


def stack(frame, pipe) -> np.ndarray:
    return np.stack(frame[pipe.column_name].to_list())


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_long_same_input_gives_bit_identical_output(tiny_cased, level):
    a = stack(tiny_cased.predict(TEXTS, output_level=level), tiny_cased)
    b = stack(tiny_cased.predict(TEXTS, output_level=level), tiny_cased)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("level", TEXT_LEVELS)
def test_long_threads_match_sequential(tiny_cased, level):
    inputs = [TEXTS[k % 3] + f" Note {k}." for k in range(12)]
    sequential = [stack(tiny_cased.predict(t, output_level=level), tiny_cased) for t in inputs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda t: stack(tiny_cased.predict(t, output_level=level), tiny_cased), inputs))
    for a, b in zip(sequential, threaded):
        np.testing.assert_array_equal(a, b)


def test_long_interrupt_leaves_pipeline_usable(tiny_cased, monkeypatch):
    reference = stack(tiny_cased.predict(TEXTS, output_level="token", batch_tokens=64), tiny_cased)
    real = tiny_cased.encoder.forward_batches

    def interrupted(sequences, batches, *args):
        iterator = real(sequences, batches, *args)
        yield next(iterator)
        raise KeyboardInterrupt

    monkeypatch.setattr(tiny_cased.encoder, "forward_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tiny_cased.predict(TEXTS, output_level="token", batch_tokens=64)
    monkeypatch.undo()
    again = stack(tiny_cased.predict(TEXTS, output_level="token", batch_tokens=64), tiny_cased)
    np.testing.assert_array_equal(reference, again)


@pytest.mark.slow
def test_long_sentence_of_20000_wordpieces_without_punctuation(tiny_cased):
    text = "patient denies chest pain and fever " * 4000  # 24,000 wordpieces, no sentence boundary
    assert len(tiny_cased.encoder.tokenizer.tokenize(text)) >= 20000
    tokens = tiny_cased.predict(text, output_level="token", positions=True)
    assert len(tokens) == 24000 and tokens["sentence_id"].max() == 0
    assert np.isfinite(stack(tokens, tiny_cased)).all()
    assert tokens["end"].iloc[-1] == len(text.rstrip())
    sentence = tiny_cased.predict(text, output_level="sentence")
    assert len(sentence) == 1 and np.isfinite(stack(sentence, tiny_cased)).all()
    assert tiny_cased.last_stats["wordpieces"] >= 24000  # every wordpiece went through the model


@pytest.mark.slow
def test_long_note_of_a_million_characters(tiny_uncased):
    parts, size = [], 0
    for note in mtsamples_notes(2000):
        parts.append(note)
        size += len(note) + 2
        if size >= 1_000_000:
            break
    text = "\n\n".join(parts)[:1_000_000]
    document = tiny_uncased.predict(text, output_level="document")
    assert len(document) == 1 and np.isfinite(document[tiny_uncased.column_name].iloc[0]).all()
    tokens = tiny_uncased.predict(text, output_level="token", positions=True)
    assert len(tokens) > 150_000
    vectors = stack(tokens, tiny_uncased)
    assert np.isfinite(vectors).all()
    sample = tokens.sample(2000, random_state=0)
    assert all(text[b:e] == t for b, e, t in zip(sample["begin"], sample["end"], sample["token"]))
