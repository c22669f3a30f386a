"""Tiny models of every supported encoder family, built here: nothing is downloaded.

Each has random weights with a fixed seed, a tokenizer trained with the ``tokenizers`` library on a few clinical
sentences (WordPiece, byte-level BPE or Unigram, as the real family uses), and is saved with ``save_pretrained``
like a hub checkpoint. ``build(family, folder)`` returns the folder; ``FAMILIES`` lists them all.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Patient denies chest pain, fever or cough. BP 120/80, HR 72.",
    "Takes aspirin 81 mg daily and metoprolol 25 mg b.i.d.",
    "HISTORY OF PRESENT ILLNESS: The patient is a 67-year-old man with shortness of breath.",
    "No known drug allergies. Lungs clear to auscultation bilaterally.",
    "Assessment and plan: continue current medications, follow up in two weeks.",
    "Abdomen soft, non-tender; no rebound or guarding. Café au lait spots, naïve.",
] * 4

# family -> (tokenizer model, transformers config class, special tokens in the family's own spelling)
_BERT_SPECIALS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                  "mask_token": "[MASK]"}
_ROBERTA_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                     "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}
SPECS = {
    "bert": ("wordpiece", "BertConfig", "BertTokenizerFast", _BERT_SPECIALS),
    "distilbert": ("wordpiece", "DistilBertConfig", "DistilBertTokenizerFast", _BERT_SPECIALS),
    "electra": ("wordpiece", "ElectraConfig", "ElectraTokenizerFast", _BERT_SPECIALS),
    "mpnet": ("wordpiece", "MPNetConfig", "MPNetTokenizerFast", _ROBERTA_SPECIALS),
    "roberta": ("bytelevel", "RobertaConfig", "RobertaTokenizerFast", _ROBERTA_SPECIALS),
    "modernbert": ("bytelevel", "ModernBertConfig", "PreTrainedTokenizerFast", _BERT_SPECIALS),
    "xlm-roberta": ("unigram", "XLMRobertaConfig", "XLMRobertaTokenizerFast", _ROBERTA_SPECIALS),
    "deberta-v2": ("unigram", "DebertaV2Config", "DebertaV2TokenizerFast", _BERT_SPECIALS),
    "longformer": ("bytelevel", "LongformerConfig", "LongformerTokenizerFast", _ROBERTA_SPECIALS),
}
FAMILIES = tuple(SPECS)
MAX_POSITIONS = 64  # content + special positions every tiny model takes (RoBERTa-style families get 2 more rows)


def _train_tokenizer(kind: str, specials: dict[str, str], lowercase: bool):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    # ids in the family's own order: [PAD]=0 ... for BERT-style, <s>=0 <pad>=1 </s>=2 for RoBERTa-style
    names = ("cls_token", "pad_token", "sep_token", "unk_token", "mask_token") if "bos_token" in specials else (
        "pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
    order = list(dict.fromkeys(specials[n] for n in names))
    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=specials["unk_token"]))
        tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=order)
    elif kind == "bytelevel":
        tok = Tokenizer(models.BPE(unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=order,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:  # unigram with a sentencepiece-style metaspace, as XLM-R and DeBERTa-v3
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=order, unk_token=specials["unk_token"])
    tok.train_from_iterator(CORPUS, trainer)
    cls, sep = specials["cls_token"], specials["sep_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} {sep} $B {sep}",
        special_tokens=[(cls, tok.token_to_id(cls)), (sep, tok.token_to_id(sep))])
    return tok


def build(family: str, folder: Path, *, lowercase: bool = False, seed: int = 0,
          max_positions: int = MAX_POSITIONS) -> Path:
    """Save a tiny ``family`` model (hidden 32, 2 layers, 4 heads) with its own tokenizer into ``folder``."""
    import torch
    import transformers
    from transformers import AutoModel

    kind, config_name, tokenizer_name, specials = SPECS[family]
    folder.mkdir(parents=True, exist_ok=True)
    raw = _train_tokenizer(kind, specials, lowercase)
    casing = {"do_lower_case": lowercase} if kind == "wordpiece" else {}  # else the class default would lowercase
    tokenizer = getattr(transformers, tokenizer_name)(tokenizer_object=raw, **casing, **specials)
    pad_id = raw.token_to_id(specials["pad_token"])
    common = dict(vocab_size=raw.get_vocab_size(), pad_token_id=pad_id)
    if family == "distilbert":
        sizes = dict(dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=max_positions)
    elif family == "modernbert":
        sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=40,
                     max_position_embeddings=max_positions, global_attn_every_n_layers=2, local_attention=16,
                     cls_token_id=raw.token_to_id("[CLS]"), sep_token_id=raw.token_to_id("[SEP]"),
                     bos_token_id=raw.token_to_id("[CLS]"), eos_token_id=raw.token_to_id("[SEP]"))
    else:
        extra = 2 if family in ("roberta", "xlm-roberta", "mpnet", "longformer") else 0  # positions after the pad id
        sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                     max_position_embeddings=max_positions + extra)
        if family == "electra":
            sizes["embedding_size"] = 16  # ELECTRA projects smaller embeddings up to the hidden size
        if family == "longformer":
            sizes["attention_window"] = [8, 8]  # sliding-window attention: windows shorter than the sequences
        if family == "deberta-v2":
            sizes.update(relative_attention=True, position_biased_input=False, pos_att_type=["p2c", "c2p"],
                         max_relative_positions=-1, position_buckets=8)
    config = getattr(transformers, config_name)(**common, **sizes)
    torch.manual_seed(seed)
    AutoModel.from_config(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
