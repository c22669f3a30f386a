"""A model's own sentence-transformers configuration: pooling, Normalize, limit and prompts come from its folder.

Tiny sentence-transformers models are assembled here (a tiny encoder + each pooling mode, with and without
Normalize) and ``SentenceTransformer.encode`` is the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from families import build
from reference import st_modules

import nlu_lite

st = pytest.importorskip("sentence_transformers", reason="pip install sentence-transformers (the [test] extra)")

TEXTS = ["Patient denies chest pain.", "Takes aspirin 81 mg daily and metoprolol 25 mg b.i.d.",
         "No known drug allergies. Lungs clear to auscultation bilaterally."]
MODES = ["mean", "cls", "max", "mean_sqrt_len", "weightedmean", "lasttoken"]


def assemble(encoder_dir, folder, mode: str, normalize: bool, max_seq_length: int = 64, prompts=None):
    from sentence_transformers import SentenceTransformer

    models = st_modules()
    transformer = models.Transformer(str(encoder_dir), max_seq_length=max_seq_length)
    st_mode = {"mean_sqrt_len": "mean_sqrt_len_tokens"}.get(mode, mode)  # sentence-transformers' own name
    modules = [transformer, models.Pooling(transformer.get_embedding_dimension(), pooling_mode=st_mode)]
    if normalize:
        modules.append(models.Normalize())
    model = SentenceTransformer(modules=modules, device="cpu", prompts=prompts or {})
    model.save(str(folder))
    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module", params=["bert", "roberta"])
def encoder_dir(request, tmp_path_factory):
    return build(request.param, tmp_path_factory.mktemp("st") / request.param)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_sentence_models_pooling_and_normalize_equal_sentence_transformers(encoder_dir, tmp_path, mode, normalize):
    reference = assemble(encoder_dir, tmp_path / "st", mode, normalize)
    pipe = nlu_lite.load(path=tmp_path / "st", progress=False)
    assert pipe.settings.pooling == mode and pipe.settings.normalize == normalize
    expected = reference.encode(TEXTS)
    got = np.stack(pipe.predict(TEXTS, output_level="document")[pipe.column_name].to_list())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    one = np.stack(pipe.predict(TEXTS[0], output_level="sentence")[pipe.column_name].to_list())
    np.testing.assert_allclose(one[0], expected[0], atol=1e-5)


def test_sentence_models_user_option_overrides_the_folder(encoder_dir, tmp_path):
    reference = assemble(encoder_dir, tmp_path / "st", "cls", True)
    pipe = nlu_lite.load(path=tmp_path / "st", pooling="mean", normalize=False)
    got = pipe.predict(TEXTS[0], output_level="document")[pipe.column_name].iloc[0]
    assert not np.allclose(got, reference.encode(TEXTS[0]), atol=1e-3)
    assert pipe.settings.pooling == "mean"


def test_sentence_models_sequence_limit_comes_from_the_folder(encoder_dir, tmp_path):
    assemble(encoder_dir, tmp_path / "st", "mean", False, max_seq_length=16)
    pipe = nlu_lite.load(path=tmp_path / "st")
    assert pipe.entry.max_wordpieces == 16
    text = " ".join(["patient denies chest pain"] * 10)  # longer than 16: windowed, never truncated
    assert len(pipe.predict(text, output_level="token")) == 40


@pytest.mark.parametrize("include_prompt", [True, False])
def test_sentence_models_prompts_equal_sentence_transformers(encoder_dir, tmp_path, include_prompt):
    import json

    prompts = {"query": "query: ", "passage": "passage: "}
    assemble(encoder_dir, tmp_path / "st", "mean", False, prompts=prompts)
    pooling_config = tmp_path / "st" / "1_Pooling" / "config.json"
    config = json.loads(pooling_config.read_text())
    pooling_config.write_text(json.dumps({**config, "include_prompt": include_prompt}))
    reference = st.SentenceTransformer(str(tmp_path / "st"), device="cpu")
    pipe = nlu_lite.load(path=tmp_path / "st")
    assert pipe.entry.prompts == prompts and pipe.entry.include_prompt == include_prompt
    expected = reference.encode(TEXTS, prompt_name="query")
    got = np.stack(pipe.predict(TEXTS, output_level="document", prompt_name="query")[pipe.column_name].to_list())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    own = np.stack(pipe.predict(TEXTS, output_level="document", prompt="passage: ")[pipe.column_name].to_list())
    np.testing.assert_allclose(own, reference.encode(TEXTS, prompt="passage: "), atol=1e-5)


def test_sentence_models_prompt_is_context_never_a_token_row(encoder_dir, tmp_path):
    assemble(encoder_dir, tmp_path / "st", "mean", False, prompts={"query": "query: "})
    pipe = nlu_lite.load(path=tmp_path / "st")
    text = "Patient denies chest pain."
    plain = pipe.predict(text, output_level="token", positions=True)
    prompted = pipe.predict(text, output_level="token", positions=True, prompt_name="query")
    assert prompted["token"].tolist() == plain["token"].tolist() == ["Patient", "denies", "chest", "pain", "."]
    assert all(text[b:e] == t for b, e, t in zip(prompted["begin"], prompted["end"], prompted["token"]))
    a, b = (np.stack(f[pipe.column_name].to_list()) for f in (plain, prompted))
    assert not np.allclose(a, b, atol=1e-4)  # the prompt is context: the vectors change


def test_sentence_models_unknown_prompt_name_lists_the_models_prompts(encoder_dir, tmp_path):
    assemble(encoder_dir, tmp_path / "st", "mean", False, prompts={"query": "query: "})
    pipe = nlu_lite.load(path=tmp_path / "st")
    with pytest.raises(nlu_lite.errors.InvalidOptionError, match=r"E423.*'query'"):
        pipe.predict("x", prompt_name="search")
