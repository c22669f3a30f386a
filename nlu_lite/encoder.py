"""The Hugging Face encoder: tokenizer and model from a folder, device and precision, batched forward."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .errors import InvalidOptionError, ModelLoadError

PRECISIONS = ("fp32", "int8", "fp16", "bf16")
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    if device not in DEVICES and not str(device).startswith("cuda:"):
        raise InvalidOptionError("E009", f"device={device!r} is not one of {list(DEVICES)} (or 'cuda:N').")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidOptionError(
            "E010", f"device={device!r} was asked for but torch sees no CUDA device; use device='cpu'.")
    return torch.device(device)


def _check_precision(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise InvalidOptionError("E011", f"precision={precision!r} is not one of {list(PRECISIONS)}.")
    if precision == "int8" and device.type != "cpu":
        raise InvalidOptionError("E012", "precision='int8' (dynamic quantization) runs on the CPU only; "
                                 "use precision='fp16' or 'bf16' on CUDA, or device='cpu'.")
    if precision == "fp16" and device.type == "cpu":
        raise InvalidOptionError("E013", "precision='fp16' is for CUDA; on the CPU use 'fp32' or 'int8'.")


def _load_tokenizer(folder: Path, do_lower_case: bool | None):
    from tokenizers import normalizers
    from transformers import AutoTokenizer

    kwargs = {} if do_lower_case is None else {"do_lower_case": do_lower_case}
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), use_fast=True, **kwargs)
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
    pieces = [w.removeprefix("##") for w in tokenizer.get_vocab() if not (w.startswith("[") and w.endswith("]"))]
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


def _load_model(folder: Path):
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # the per-tensor "Loading weights" bar is noise in a notebook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoModel.from_pretrained(str(folder), dtype=torch.float32)
    except Exception as e:  # corrupt / truncated weights, unsupported architecture, bad config
        raise ModelLoadError("E019",
            f"Could not load the model weights in '{folder}': {type(e).__name__}: {str(e)[:300]}. "
            "The files may be truncated or corrupt: download the model again or re-save it with save_pretrained()."
        ) from e
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return model.eval()


def _quantize_attention(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 (per-channel weights) for the attention projections; the feed-forward layers stay fp32.

    Quantizing every Linear layer ran all-MiniLM-L6-v2 2.2x faster but moved token vectors to a mean
    cosine of 0.92 against fp32 (0.96 per-channel); the feed-forward layers carry the outliers. With them
    in fp32 the mean cosine is 0.996 (the documented bar is 0.99). See benchmarks/throughput.py.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    names = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and ".attention." in f".{name}."}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates the quantized tensor constructors it uses here
        return quantize_dynamic(model, names, dtype=torch.qint8)


class Encoder:
    """A fast tokenizer and a transformer model, ready to encode batches of wordpiece ids."""

    def __init__(self, folder: Path, do_lower_case: bool | None, device: str = "auto",
                 precision: str | None = None, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.device = resolve_device(device)
        self.precision = precision or "fp32"
        _check_precision(self.precision, self.device)
        self.threads = threads
        if threads is not None:
            if not isinstance(threads, int) or threads < 1:
                raise InvalidOptionError("E020", f"threads={threads!r} must be a positive integer.")
            torch.set_num_threads(threads)
        self.tokenizer = _load_tokenizer(self.folder, do_lower_case)
        model = _load_model(self.folder)
        config = model.config
        vocab = len(self.tokenizer)
        if vocab > config.vocab_size:
            raise ModelLoadError("E021",
                f"The tokenizer in '{self.folder}' has {vocab} wordpieces but the model's embeddings have "
                f"{config.vocab_size} rows: tokenizer and weights come from different models. Put the matching "
                "vocab.txt/tokenizer.json beside the weights.")
        self.dim = int(config.hidden_size)
        self.max_positions = int(getattr(config, "max_position_embeddings", 512))
        self.cls_id = self.tokenizer.cls_token_id
        self.sep_id = self.tokenizer.sep_token_id
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        if self.cls_id is None or self.sep_id is None:
            raise ModelLoadError("E022", f"The tokenizer in '{self.folder}' defines no [CLS]/[SEP] tokens; "
                                 "nlu_lite supports BERT-family encoders.")
        if self.precision == "int8":
            model = _quantize_attention(model)
        elif self.precision == "fp16":
            model = model.half()
        elif self.precision == "bf16":
            model = model.to(torch.bfloat16)
        self.model = model.to(self.device)
        self._lock = threading.Lock()

    def forward_batches(self, sequences: list[np.ndarray], batches: list[np.ndarray]) -> Iterator[torch.Tensor]:
        """Run the model over ``sequences`` grouped by ``batches``, yielding one batch at a time.

        Each item is that batch's last hidden states flattened to ``(len(batch) * width, dim)``, float32 on
        the CPU, padding rows included (see ``batching.layout`` for the row numbers).
        """
        for batch in batches:
            width = max(len(sequences[s]) for s in batch)
            ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, s in enumerate(batch):
                ids[row, :len(sequences[s])] = sequences[s]
                mask[row, :len(sequences[s])] = 1
            with self._lock, torch.inference_mode():
                hidden = self.model(input_ids=torch.from_numpy(ids).to(self.device),
                                    attention_mask=torch.from_numpy(mask).to(self.device)).last_hidden_state
            yield hidden.reshape(-1, hidden.shape[-1]).float().cpu()
