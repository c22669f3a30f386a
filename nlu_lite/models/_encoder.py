"""The encoder: a model's fast tokenizer, its special-token template and limits, and a runtime to run it.

No torch here: the runtime (``nlu_lite.runtimes``) owns the model and returns numpy arrays. What differs
between families is read from the tokenizer and config, never hard-coded: the special tokens around a
sequence come from the tokenizer's own post-processor (BERT ``[CLS] x [SEP]``, RoBERTa ``<s> x </s>`` ...), and
the usable length from the config (``hf_model.max_sequence``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from ..runtimes import Runtime, open_runtime
from . import _hf_model as hf_model


def _tokenizer_class(folder: Path):
    """The fast tokenizer class ``tokenizer_config.json`` names, taken from transformers' top level; None where
    it names none, or one that is not there, and ``AutoTokenizer`` must decide. (``AutoTokenizer`` imports the
    config classes, and through them torch: about 1.5 s that a runtime without torch does not otherwise pay.)"""
    try:
        raw = json.loads((folder / "tokenizer_config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    name = raw.get("tokenizer_class") if isinstance(raw, dict) and "auto_map" not in raw else None
    if not isinstance(name, str) or not name.isidentifier():
        return None
    import transformers

    for candidate in (name if name.endswith("Fast") else f"{name}Fast", name):
        found = getattr(transformers, candidate, None)
        if isinstance(found, type) and issubclass(found, transformers.PreTrainedTokenizerFast):
            return found
    return None


def _load_tokenizer(folder: Path, do_lower_case: bool | None):
    from tokenizers import normalizers

    kwargs = {} if do_lower_case is None else {"do_lower_case": do_lower_case}
    try:
        named = _tokenizer_class(folder)
        if named is not None:
            tokenizer = named.from_pretrained(str(folder), trust_remote_code=False, **kwargs)
        else:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(folder), use_fast=True, trust_remote_code=False,
                                                      **kwargs)
    except Exception as e:  # transformers raises OSError/ValueError/KeyError for broken tokenizer files
        raise ModelLoadError("E014", f"Could not read the tokenizer in '{folder}': {type(e).__name__}: {e}") from e
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError("E015", f"The tokenizer in '{folder}' is not a fast (Rust) tokenizer; nlu_lite needs "
                             "character offsets. Save a tokenizer.json with a transformers fast tokenizer.")
    if do_lower_case is not None:
        backend = tokenizer.backend_tokenizer
        state = json.loads(backend.normalizer.__getstate__()) if backend.normalizer is not None else {}
        if state.get("type") == "BertNormalizer" and state.get("lowercase") != do_lower_case:
            backend.normalizer = normalizers.BertNormalizer(
                clean_text=state.get("clean_text", True), handle_chinese_chars=state.get("handle_chinese_chars", True),
                strip_accents=None, lowercase=do_lower_case)
    _check_casing(tokenizer, folder, do_lower_case)
    return tokenizer


def _check_casing(tokenizer, folder: Path, do_lower_case: bool | None) -> None:
    """The tokenizer's lowercasing must agree with the declared casing and with the vocabulary."""
    normalizer = tokenizer.backend_tokenizer.normalizer
    lowercases = normalizer is not None and normalizer.normalize_str("Ab") == "ab"
    if do_lower_case is not None and lowercases != do_lower_case:
        raise ModelLoadError("E016",
            f"The tokenizer in '{folder}' {'lowercases' if lowercases else 'keeps case'} but the model is "
            f"declared do_lower_case={do_lower_case}; fix tokenizer_config.json or the catalog entry.")
    specials = set(tokenizer.all_special_tokens)
    # the word-boundary marks of WordPiece (##), byte-level BPE (Ġ) and sentencepiece (▁) are not letters of the text
    pieces = [w.removeprefix("##").lstrip("Ġ▁") for w in tokenizer.get_vocab() if w not in specials
              and not (w.startswith("[") and w.endswith("]"))]
    alphabetic = [w for w in pieces if any(c.isalpha() for c in w)]
    cased = sum(any(c.isupper() for c in w) for w in alphabetic)
    if lowercases and cased > 0.05 * len(alphabetic):
        raise ModelLoadError("E017",
            f"The tokenizer in '{folder}' lowercases text, but {cased} of its {len(alphabetic)} vocabulary pieces "
            "have capitals: the model is cased and would get wrong wordpieces. Load it under its catalog name, "
            "nlu_lite.load('<name>', path=folder), or set \"do_lower_case\": false in tokenizer_config.json.")
    if not lowercases and cased == 0 and len(alphabetic) > 100:
        raise ModelLoadError("E018",
            f"The tokenizer in '{folder}' keeps case, but its vocabulary has no capitals: every capital letter "
            "would become [UNK]. Set \"do_lower_case\": true in tokenizer_config.json, or load the model under "
            "its catalog name.")



def _template(tokenizer, folder: Path) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a sequence's content, read from the tokenizer itself."""
    content = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(content) + 1):
        if full[start:start + len(content)] == content:
            return full[:start], full[start + len(content):]
    raise ModelLoadError("E022", f"The tokenizer in '{folder}' changes a text's ids when it adds its special tokens "
                         f"({content} -> {full}); nlu_lite needs tokens added around the content only.")


class Encoder:
    """A fast tokenizer, its template and limits, and a runtime that runs the model on batches of ids."""

    def __init__(self, folder: Path, do_lower_case: bool | None, *, family: str | None = None,
                 runtime: str = "torch", device: str = "auto", precision: str | None = None,
                 threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.tokenizer = _load_tokenizer(self.folder, do_lower_case)
        config = hf_model.config_facts(self.folder, family)
        self.family: str = config.model_type
        self.prefix, self.suffix = _template(self.tokenizer, self.folder)
        self.max_sequence = config.max_sequence
        """Longest sequence the model takes, special tokens included."""
        vocab = len(self.tokenizer)
        if vocab > config.vocab_size:
            raise ModelLoadError("E021",
                f"The tokenizer in '{self.folder}' has {vocab} wordpieces but the model's embeddings have "
                f"{config.vocab_size} rows: tokenizer and weights come from different models. Put the matching "
                "tokenizer files beside the weights.")
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.runtime: Runtime = open_runtime(runtime, self.folder, family=self.family, device=device,
                                             precision=precision, threads=threads)
        self.dim = self.runtime.dim

    @property
    def specials(self) -> int:
        """Special tokens around every sequence (2 for ``[CLS] x [SEP]``)."""
        return len(self.prefix) + len(self.suffix)

    def sequences(self, ids: np.ndarray, unit_start: np.ndarray, unit: np.ndarray, start: np.ndarray,
                  stop: np.ndarray) -> list[np.ndarray]:
        """Model inputs: the template around content ``ids[unit_start[u] + a: unit_start[u] + b]`` of each window."""
        prefix, suffix = np.asarray(self.prefix, np.int64), np.asarray(self.suffix, np.int64)
        return [np.concatenate((prefix, ids[base + a: base + b], suffix))
                for base, a, b in zip(unit_start[unit].tolist(), start.tolist(), stop.tolist())]

    def forward_batches(self, sequences: list[np.ndarray], batches: list[np.ndarray],
                        layers: tuple[int, ...] = (-1,)) -> Iterator[np.ndarray]:
        """Run the model over ``sequences`` grouped by ``batches``, yielding one batch at a time.

        Each item is that batch's hidden states ``(len(layers), len(batch) * width, dim)`` float32, padding rows
        included (see ``batching.layout`` for the row numbers).
        """
        for batch in batches:
            width = max(len(sequences[s]) for s in batch)
            ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, s in enumerate(batch):
                ids[row, :len(sequences[s])] = sequences[s]
                mask[row, :len(sequences[s])] = 1
            hidden = self.runtime.forward(ids, mask, layers)
            yield hidden.reshape(hidden.shape[0], -1, hidden.shape[-1])
