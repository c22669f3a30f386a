"""The options of ``predict``, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from .. import levels
from ..errors import InvalidOptionError
from ..levels._span import SPAN_POOLINGS
from . import _pooling as pooling


def _setting(default: object, help: str):
    """A setting's default and its one-line description (``print_info`` prints it; nothing else repeats it)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Per-pipeline defaults of ``predict``; change them with ``Pipeline.set``."""

    output_level: str = field(metadata={"help": "one of the registered levels"})
    subword_pooling: str = _setting("first", "token vector from its wordpieces: "
                                    + ", ".join(f"'{p}'" for p in pooling.SUBWORD_POOLINGS))
    pooling: str = _setting("mean", "sentence/document vector: " + ", ".join(f"'{p}'" for p in pooling.UNIT_POOLINGS))
    normalize: bool = _setting(False, "L2-normalise sentence/document vectors")
    positions: bool = _setting(False, "add begin/end character offsets")
    batch_tokens: int = _setting(8192, "padded wordpieces per forward batch")
    max_batch_size: int = _setting(64, "sequences per forward batch")
    chunk_size: int = _setting(256, "input rows per chunk (predict_iter yields one DataFrame per chunk)")
    max_wordpieces: int | None = _setting(None, "window size, special tokens included; None = the model's limit")
    window_overlap: float = _setting(0.5, "units longer than a window: the share of each window the next one repeats")
    progress: bool = _setting(True, "progress bar on predictions that last more than a few seconds")
    prefetch: bool = _setting(True, "prepare the next chunk (segment, tokenize) on a worker thread while one is "
                              "encoded")
    segment_processes: int | str = _setting("auto", "processes that segment (spaCy) beside the encoder; 'auto': up "
                                            "to 4 when a GPU runs the model and the input is over one chunk, else 0")
    prompt: str | None = _setting(None, "text put before every unit as context (never a row, never in begin/end)")
    prompt_name: str | None = _setting(None, "a prompt of the model's own, e.g. 'query'")
    layers: int | tuple[int, ...] = _setting(-1, "hidden states to use: -1 = last layer, 0 = embeddings, or a list")
    layer_combine: str = _setting("mean", "several layers: 'mean' (same width) or 'concat' (len(layers) x dim)")
    span_pooling: str = _setting("mean", "span vector from its wordpieces: "
                                 + ", ".join(f"'{p}'" for p in SPAN_POOLINGS))
    truncate_dim: int | None = _setting(None, "keep the first k dimensions (Matryoshka models), re-normalised where "
                                        "normalize is on; None = all")

    def validate(self) -> Settings:
        levels.get(self.output_level)  # raises, listing the registered levels
        choices = {"subword_pooling": pooling.SUBWORD_POOLINGS, "span_pooling": SPAN_POOLINGS,
                   "pooling": pooling.UNIT_POOLINGS}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise InvalidOptionError(
                    "E051", f"{name}={getattr(self, name)!r} is not valid; choose one of {list(valid)}.")
        for name in ("batch_tokens", "max_batch_size", "chunk_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidOptionError("E052", f"{name}={value!r} must be a positive integer.")
        if self.max_wordpieces is not None and (
                not isinstance(self.max_wordpieces, int) or isinstance(self.max_wordpieces, bool)
                or self.max_wordpieces < 4):
            raise InvalidOptionError(
                "E053", f"max_wordpieces={self.max_wordpieces!r} must be an integer >= 4 (or None).")
        overlap = self.window_overlap
        if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) or not 0 <= overlap < 1:
            raise InvalidOptionError(
                "E310", f"window_overlap={overlap!r} must be a number from 0 up to (not including) 1: the share of "
                "each window of a long text that the next window repeats; e.g. window_overlap=0.5 (the default) or "
                "0.25 (less work, less context at the seams).")
        if self.prompt is not None and (not isinstance(self.prompt, str) or self.prompt_name is not None):
            raise InvalidOptionError("E419", f"prompt={self.prompt!r} must be a string, and not given together with "
                                     f"prompt_name={self.prompt_name!r}; e.g. predict(texts, prompt='query: ').")
        if self.prompt_name is not None and not isinstance(self.prompt_name, str):
            raise InvalidOptionError("E420", f"prompt_name={self.prompt_name!r} must be the name of one of the "
                                     "model's prompts, e.g. prompt_name='query'.")
        layers = (self.layers,) if isinstance(self.layers, int) else self.layers
        if (not isinstance(layers, tuple) or not layers or len(set(layers)) != len(layers)
                or not all(isinstance(k, int) and not isinstance(k, bool) for k in layers)):
            raise InvalidOptionError("E421", f"layers={self.layers!r} must be a layer index or a list of distinct "
                                     "indices (-1 = last layer, 0 = embeddings), e.g. layers=[-1, -2, -3, -4].")
        if self.layer_combine not in ("mean", "concat"):
            raise InvalidOptionError("E422", f"layer_combine={self.layer_combine!r} is not valid; choose 'mean' or "
                                     "'concat'.")
        if self.truncate_dim is not None and (not isinstance(self.truncate_dim, int) or
                                              isinstance(self.truncate_dim, bool) or self.truncate_dim < 1):
            raise InvalidOptionError("E078", f"truncate_dim={self.truncate_dim!r} must be a positive number of "
                                     "dimensions (or None for all), e.g. truncate_dim=256.")
        if self.truncate_dim is not None and not isinstance(self.layers, int) and self.layer_combine == "concat":
            raise InvalidOptionError("E079", "truncate_dim keeps the first dimensions of one model vector; with "
                                     "layer_combine='concat' use layer_combine='mean', or leave truncate_dim out.")
        processes = self.segment_processes
        if processes != "auto" and (not isinstance(processes, int) or isinstance(processes, bool) or processes < 0):
            raise InvalidOptionError("E312", f"segment_processes={processes!r} must be 'auto' or a number of processes "
                                     ">= 0 (0: segment in this process); e.g. segment_processes=2 when a GPU runs the "
                                     "model and spaCy cannot keep up.")
        for name in ("normalize", "positions", "progress", "prefetch"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidOptionError("E054", f"{name}={getattr(self, name)!r} must be True or False.")
        return self

    def updated(self, caller: str, **options: object) -> Settings:
        """A validated copy with ``options`` applied; unknown names are an error naming ``caller``."""
        valid = sorted(Settings.__dataclass_fields__)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InvalidOptionError("E055", f"{caller} got unknown options {unknown}; valid: {valid}.")
        if isinstance(options.get("layers"), list):  # lists are easier to type; the settings keep a tuple
            options["layers"] = tuple(options["layers"])
        overlap = options.get("window_overlap")
        if isinstance(overlap, int) and not isinstance(overlap, bool):  # 0 and 0.0: one setting, one cache key
            options["window_overlap"] = float(overlap)
        return replace(self, **options).validate()


def prompt_text(s: Settings, entry) -> str:
    """The prompt text of a call: ``prompt``, else the model's prompt ``prompt_name``, else its default."""
    if s.prompt is not None:
        return s.prompt
    name = s.prompt_name or entry.default_prompt
    if name is None:
        return ""
    if name not in entry.prompts:
        raise InvalidOptionError("E423", f"prompt_name={name!r} is not one of this model's prompts "
                                 f"{sorted(entry.prompts)}; pass prompt='...' with your own text instead.")
    return entry.prompts[name]


def layer_indices(s: Settings, num_layers: int) -> tuple[int, ...]:
    """The hidden-state indices of a call, checked against the model's depth."""
    layers = (s.layers,) if isinstance(s.layers, int) else s.layers
    bad = [k for k in layers if not -(num_layers + 1) <= k <= num_layers]
    if bad:
        raise InvalidOptionError("E424", f"layers={list(layers)} has {bad} outside this model's hidden states "
                                 f"(0 = embeddings .. {num_layers} = last layer, or -1 .. -{num_layers + 1}).")
    return tuple(layers)


def window_size(s: Settings, entry, encoder) -> int:
    """Wordpieces per model sequence (special tokens included): the setting, capped by catalog and model."""
    return min(s.max_wordpieces or entry.max_wordpieces, entry.max_wordpieces, encoder.max_sequence)


def vector_width(s: Settings, dim: int) -> int:
    """Floats per output vector: ``dim`` (or ``truncate_dim``), times the layers concatenated, times 2 for
    ``first_last`` tokens."""
    dim = min(dim, s.truncate_dim or dim)
    layers = 1 if isinstance(s.layers, int) or s.layer_combine == "mean" else len(s.layers)
    return dim * layers * (2 if s.output_level == "token" and s.subword_pooling == "first_last" else 1)


def setting_help() -> dict[str, str]:
    """Each setting's one-line description, from its field."""
    return {f.name: f.metadata["help"] for f in fields(Settings)}
