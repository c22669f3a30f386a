"""Accuracy guards: each OpenVINO precision against torch fp32 on the real MiniLM and real clinical notes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from openvino_helpers import (
    padded,
    requires_openvino,
    token_and_sentence_cosines,
    torch_hidden_states,
)
from shared_data import mtsamples_notes

from nlu_lite.runtimes import _cpu_features as cpu_features
from nlu_lite.runtimes import open_runtime

pytestmark = [requires_openvino, pytest.mark.slow]
# precision -> bar for the mean token cosine and the mean sentence cosine to torch fp32 (issue 15)
BARS = {"fp32": 0.99999, "bf16": 0.9999, "int8": 0.998}


@pytest.fixture(scope="module")
def batches(minilm_dir):
    """48 note sentences and 6 windows of 256 wordpieces from whole notes, as padded batches."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    notes = mtsamples_notes(8)
    sentences = [s for note in notes for s in re.split(r"(?<=[.?!])\s+", note) if len(s.split()) >= 3][:48]
    pieces = tokenizer(" ".join(notes[:2]), add_special_tokens=False)["input_ids"]
    windows = [[tokenizer.cls_token_id] + pieces[i:i + 254] + [tokenizer.sep_token_id]
               for i in range(0, 6 * 254, 254)]
    short = [tokenizer(s)["input_ids"] for s in sentences]
    return [padded(short[i:i + 16]) for i in range(0, len(short), 16)] + [padded(windows[:3]), padded(windows[3:])]


@pytest.fixture(scope="module")
def reference(minilm_dir, batches):
    return [torch_hidden_states(minilm_dir, ids, mask)[-1] for ids, mask in batches]


@pytest.fixture(scope="module", autouse=True)
def ov_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NLU_LITE_CACHE", str(tmp_path_factory.mktemp("nlu_lite_cache")))
        yield


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8", "fast"])
def test_openvino_accuracy_meets_the_bar(minilm_dir, batches, reference, precision):
    if precision == "bf16" and not cpu_features.has_native_bf16():
        pytest.skip("this CPU has no native bf16 (AVX-512 BF16 or AMX)")
    runtime = open_runtime("openvino", minilm_dir, precision=precision, threads=2)
    tokens, sentences = zip(*(token_and_sentence_cosines(runtime.forward(ids, mask)[0], ref, mask)
                              for (ids, mask), ref in zip(batches, reference)))
    tokens, sentences = np.concatenate(tokens), np.concatenate(sentences)
    bar = BARS[runtime.precision]
    assert tokens.mean() >= bar and sentences.mean() >= bar, (runtime.precision, tokens.mean(), sentences.mean())
    assert tokens.min() >= 0.98 and sentences.min() >= 0.99, (tokens.min(), sentences.min())
