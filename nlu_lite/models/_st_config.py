"""A model folder's own sentence-transformers configuration, read without importing sentence-transformers.

``modules.json`` lists the modules; ``1_Pooling/config.json`` (or wherever the Pooling module lives) names the
pooling; a ``Normalize`` module means L2-normalised vectors; ``sentence_bert_config.json`` gives the sequence
limit (sentence-transformers 6 writes it as the tokenizer's ``model_max_length``);
``config_sentence_transformers.json`` the prompts and the default prompt. What a folder says overrides the
catalog entry's defaults (it is the model's own truth); the user's options override both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ModelLoadError
from ._catalog import CatalogEntry

# sentence-transformers 6 names a mode in "pooling_mode"; older versions set one flag per mode
_MODE_NAMES = {"cls": "cls", "mean": "mean", "max": "max", "mean_sqrt_len_tokens": "mean_sqrt_len",
               "weightedmean": "weightedmean", "lasttoken": "lasttoken"}
_MODES = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_max_tokens": "max",
          "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len", "pooling_mode_weightedmean_tokens": "weightedmean",
          "pooling_mode_lasttoken": "lasttoken"}


@dataclass(frozen=True)
class SentenceConfig:
    """What a sentence-transformers folder says about its sentence vectors."""

    pooling: str | None = None
    normalize: bool = False
    max_seq_length: int | None = None
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt: str | None = None
    include_prompt: bool = True


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise ModelLoadError("E415", f"'{path}' is not readable JSON ({e}); download the model again.") from e
    if not isinstance(value, (dict, list)):
        raise ModelLoadError("E416", f"'{path}' holds {type(value).__name__}, not a JSON object; download again.")
    return value


def read(folder: Path) -> SentenceConfig | None:
    """The folder's sentence-transformers configuration, or None when it has no ``modules.json``."""
    if not (folder / "modules.json").is_file():
        return None
    modules = _json(folder / "modules.json")
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: m.get("path", "") for m in modules if isinstance(m, dict)}
    pooling, include_prompt = None, True
    if "Pooling" in kinds and (folder / kinds["Pooling"] / "config.json").is_file():
        config = _json(folder / kinds["Pooling"] / "config.json")
        named = config.get("pooling_mode")
        if named is not None:
            named = [named] if isinstance(named, str) else list(named)
            modes = [_MODE_NAMES.get(m, m) for m in named]
        else:
            modes = [name for flag, name in _MODES.items() if config.get(flag)]
        unknown = [m for m in modes if m not in _MODE_NAMES.values()]
        if unknown:
            raise ModelLoadError(
                "E418", f"'{folder / kinds['Pooling']}' uses pooling {unknown}, which nlu_lite does not know; "
                f"load it with one of pooling={sorted(set(_MODE_NAMES.values()))}.")
        if len(modes) > 1:
            raise ModelLoadError(
                "E417", f"'{folder / kinds['Pooling']}' concatenates the poolings {modes}; nlu_lite computes one "
                f"pooling per vector. Load it with pooling='{modes[0]}' (or another one) and concatenate yourself.")
        pooling = modes[0] if modes else None
        include_prompt = bool(config.get("include_prompt", True))
    limit = None
    if (folder / "sentence_bert_config.json").is_file():
        limit = _json(folder / "sentence_bert_config.json").get("max_seq_length")
    if limit is None and (folder / "tokenizer_config.json").is_file():  # sentence-transformers 6 keeps it here
        limit = _json(folder / "tokenizer_config.json").get("model_max_length")
    prompts, default_prompt = {}, None
    if (folder / "config_sentence_transformers.json").is_file():
        config = _json(folder / "config_sentence_transformers.json")
        prompts = {k: v for k, v in (config.get("prompts") or {}).items() if isinstance(v, str) and v}
        default_prompt = config.get("default_prompt_name") if config.get("default_prompt_name") in prompts else None
    return SentenceConfig(pooling=pooling, normalize="Normalize" in kinds,
                          max_seq_length=int(limit) if isinstance(limit, int) and limit > 0 else None,
                          prompts=prompts, default_prompt=default_prompt, include_prompt=include_prompt)


def apply(entry: CatalogEntry, config: SentenceConfig | None) -> CatalogEntry:
    """The entry with the folder's own sentence configuration taking precedence."""
    if config is None:
        return entry
    changes: dict = {"normalize": config.normalize, "include_prompt": config.include_prompt}
    if config.pooling is not None:
        changes["pooling"] = config.pooling
    if config.max_seq_length is not None:
        changes["max_wordpieces"] = min(entry.max_wordpieces, config.max_seq_length)
    if config.prompts:
        changes.update(prompts={**entry.prompts, **config.prompts},
                       default_prompt=config.default_prompt or entry.default_prompt)
    return replace(entry, **changes)
