"""Hugging Face model files to a verified torch module: config, family, weights, and nothing that should not run.

Load-time truth:
- ``trust_remote_code`` is never on: a folder whose config asks for custom code (``auto_map``) or names an
  architecture transformers does not ship is refused with ``ModelLoadError``, and no prompt is ever shown.
- A legacy ``config.json`` without ``model_type`` (checkpoints uploaded in 2019–2020) is read as the family the
  caller knows (the catalog entry) or the one the weights' tensor names show (``bert.embeddings...``).
- Weights must cover the model: missing tensors (other than a pooler head, which no embedding uses) and tensors
  of layers the config does not have are a ``ModelLoadError`` naming them; shape mismatches likewise. Tensors of
  a pre-training head (``cls.predictions``, ``lm_head`` ...) are expected and logged once at INFO.
"""

from __future__ import annotations

import json
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError
from ._families import OFFSET_POSITIONS, usable_positions

_LOG = logging.getLogger("nlu_lite")
# parameters an embedding never reads: a missing one is harmless
_UNUSED_BY_EMBEDDINGS = re.compile(r"(^|\.)pooler\.")
# tensor-name prefixes of heads that pre-training checkpoints carry beside the encoder
_HEADS = re.compile(r"^(cls|lm_head|head|generator.*|discriminator_predictions|mask_predictions|classifier|qa_outputs|"
                    r"pooler|decoder|predictions)\.")


def _weight_names(folder: Path) -> list[str]:
    """Tensor names of the checkpoint, without loading any tensor."""
    if (folder / "model.safetensors").is_file():
        from safetensors import safe_open

        with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
            return list(f.keys())
    return []  # a pickle cannot be listed without loading it


def _family_from_weights(folder: Path) -> str | None:
    """The family a checkpoint's tensor names show: ``bert.embeddings.word_embeddings.weight`` -> ``bert``."""
    from transformers import CONFIG_MAPPING

    for name in _weight_names(folder):
        prefix = name.split(".", 1)[0].replace("_", "-")
        if prefix in CONFIG_MAPPING:
            return prefix
    return None


@dataclass(frozen=True)
class ConfigFacts:
    """What the encoder needs from a model's config."""

    model_type: str  # the family, e.g. "bert"
    max_sequence: int  # longest sequence, special tokens included (see ``max_sequence``)
    vocab_size: int  # rows of the embedding matrix


def config_facts(folder: Path, family: str | None = None) -> ConfigFacts:
    """Family, usable length and vocabulary size of ``folder``'s model.

    Read from ``config.json`` as JSON when it states them all: a transformers config class imports torch
    (about 1.5 s), which a runtime without torch (OpenVINO, warm cache) never needs otherwise. Anything less
    (no ``model_type``, custom code, a field left to the class default) goes through ``load_config``. Either
    way the weights are verified by ``load_model`` when a runtime loads them (OpenVINO: at conversion).
    """
    raw = _raw_config(folder)
    model_type = raw.get("model_type")
    needed = ["vocab_size", "max_position_embeddings"] + (["pad_token_id"] if model_type in OFFSET_POSITIONS else [])
    if isinstance(model_type, str) and "auto_map" not in raw and all(
            isinstance(raw.get(k), int) and not isinstance(raw.get(k), bool) for k in needed):
        return ConfigFacts(model_type, usable_positions(model_type, raw["max_position_embeddings"],
                                                         raw.get("pad_token_id", 0)), raw["vocab_size"])
    config = load_config(folder, family)
    return ConfigFacts(config.model_type, max_sequence(config), int(config.vocab_size))


def _raw_config(folder: Path) -> dict:
    try:
        raw = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise ModelLoadError("E400", f"'{folder / 'config.json'}' is not readable JSON ({e}); download the model "
                             "again or re-save it with model.save_pretrained().") from e
    if not isinstance(raw, dict):
        raise ModelLoadError("E401", f"'{folder / 'config.json'}' holds {type(raw).__name__}, not a JSON object; "
                             "download the model again.")
    return raw


def load_config(folder: Path, family: str | None = None):
    """The transformers config of ``folder``, its family settled (see the module docstring)."""
    from transformers import CONFIG_MAPPING

    raw = _raw_config(folder)
    model_type = raw.get("model_type") or family or _family_from_weights(folder)
    if model_type is None:
        raise ModelLoadError(
            "E402", f"'{folder / 'config.json'}' has no \"model_type\" and its weights do not show the family. "
            "Add the family to config.json, e.g. \"model_type\": \"bert\", or load it under its catalog name: "
            "nlu_lite.load('<name>', path=folder).")
    if model_type not in CONFIG_MAPPING or "auto_map" in raw and raw.get("model_type") not in CONFIG_MAPPING:
        raise ModelLoadError(
            "E403", f"The model in '{folder}' is of type {model_type!r}, which needs its own Python code "
            f"({'auto_map in config.json' if 'auto_map' in raw else 'not an architecture transformers ships'}). "
            "nlu_lite never runs code that comes with a model (trust_remote_code stays off); use a model of a "
            "supported family (see nlu_lite.catalog()['family']).")
    config_class = CONFIG_MAPPING[model_type]
    config = config_class.from_dict({k: v for k, v in raw.items() if k != "auto_map"})
    return config


@contextmanager
def _quiet_transformers():
    """transformers prints its own load report and a per-tensor progress bar; we report problems ourselves."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar_was_on:
            hf_logging.enable_progress_bar()


def _layer_pattern(name: str) -> str:
    return re.sub(r"\.\d+\.", ".N.", name)


def _check_report(folder: Path, model, info: dict) -> None:
    missing = [k for k in info.get("missing_keys", []) if not _UNUSED_BY_EMBEDDINGS.search(k)]
    shapes = [str(k) for k in info.get("mismatched_keys", [])]
    own = {_layer_pattern(k) for k in model.state_dict()}
    unexpected = sorted(info.get("unexpected_keys", []))
    extra_layers = [k for k in unexpected if _layer_pattern(k) in own or _layer_pattern(k.split(".", 1)[-1]) in own]
    problems = []
    if missing:
        problems.append(f"{len(missing)} tensor(s) the model needs are missing: {missing[:8]}")
    if extra_layers:
        problems.append(f"{len(extra_layers)} tensor(s) belong to layers the config does not have: {extra_layers[:8]}")
    if shapes:
        problems.append(f"{len(shapes)} tensor(s) have other shapes than the config says: {shapes[:8]}")
    if problems:
        raise ModelLoadError(
            "E404", f"The weights in '{folder}' do not match its config.json: {'; '.join(problems)}. The vectors "
            "would be random. Download the model again, or fix num_hidden_layers/hidden_size in config.json.")
    heads = [k for k in unexpected if k not in extra_layers]
    if heads:
        _LOG.info("%d checkpoint tensor(s) in %s are not part of the encoder and are not used (%s ...)",
                  len(heads), folder, ", ".join(sorted({k.split(".")[0] for k in heads})))


def load_model(folder: Path, family: str | None = None):
    """The encoder of ``folder`` as a torch module in eval mode, fp32, with verified weights."""
    import torch
    from transformers import MODEL_MAPPING

    config = load_config(folder, family)
    model_class = MODEL_MAPPING.get(type(config), None)
    if model_class is None:
        raise ModelLoadError("E405", f"transformers has no encoder class for {config.model_type!r} in '{folder}'; "
                             "use a model of a supported family (see nlu_lite.catalog()['family']).")
    try:
        with _quiet_transformers():
            model, info = model_class.from_pretrained(str(folder), config=config, dtype=torch.float32,
                                                      output_loading_info=True, trust_remote_code=False)
    except Exception as e:  # corrupt / truncated weights, unreadable files
        raise ModelLoadError(
            "E406", f"Could not load the model weights in '{folder}': {type(e).__name__}: {str(e)[:300]}. "
            "The files may be truncated or corrupt: download the model again or re-save it with save_pretrained()."
        ) from e
    _check_report(folder, model, info)
    _check_finite(folder, model)
    return model.eval()


def _check_finite(folder: Path, model) -> None:
    """Refuse weights holding NaN or infinity: they would give NaN vectors for every text that reaches them."""
    import torch

    bad = []
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                bad.append(f"{name} ({int((~torch.isfinite(tensor)).sum())} values)")
    if bad:
        raise ModelLoadError("E446", f"The weights in '{folder}' hold NaN or infinite values in {bad[:8]}: the file "
                             "is damaged. Download the model again (nlu-lite download, or hf download).")


def max_sequence(config) -> int:
    """The longest sequence (special tokens included) this model can take.

    RoBERTa-style families number positions from ``pad_token_id + 1``, so of ``max_position_embeddings`` only
    ``max_position_embeddings - pad_token_id - 1`` are usable (514 -> 512 for roberta-base).
    """
    return usable_positions(config.model_type, int(getattr(config, "max_position_embeddings", 512) or 512),
                             int(getattr(config, "pad_token_id", 1) or 0))
