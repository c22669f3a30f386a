"""``pipe.print_info()``: the model, where it came from, how it runs, and every setting with how to change it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from .. import levels
from . import _pooling as pooling
from ._settings import window_size

if TYPE_CHECKING:
    from ._engine import Engine

_SETTING_HELP = {
    "subword_pooling": "token vector from its wordpieces: 'first', 'last', 'mean', 'first_last'",
    "pooling": "sentence/document vector: " + ", ".join(f"'{p}'" for p in pooling.UNIT_POOLINGS),
    "normalize": "L2-normalise sentence/document vectors",
    "positions": "add begin/end character offsets",
    "batch_tokens": "padded wordpieces per forward batch",
    "max_batch_size": "sequences per forward batch",
    "chunk_size": "input rows per chunk (predict_iter yields one DataFrame per chunk)",
    "max_wordpieces": "window size; None = the model's limit",
    "progress": "progress bar on long predictions",
    "prompt": "text put before every unit as context (never a row)",
    "layer_combine": "several layers: 'mean' or 'concat'",
    "span_pooling": "span vector from its wordpieces: 'mean', 'first', 'max'",
    "truncate_dim": "keep the first k dimensions (Matryoshka models); None = all",
    "window_overlap": "units longer than a window: the share of each window the next one repeats",
    "prefetch": "prepare the next chunk (segment, tokenize) on a worker thread while one is encoded",
    "segment_processes": "processes that segment beside the encoder; 'auto': up to 4 when a GPU runs the model "
                         "and the input is over one chunk, else 0",
}


def info_text(pipe: Engine) -> str:
    """The text ``print_info`` prints."""
    e, enc, st, rt = pipe.entry, pipe.encoder, pipe.settings, pipe.encoder.runtime
    casing = {True: "lowercased", False: "cased", None: "as the tokenizer says"}[e.do_lower_case]
    template = " ".join(enc.tokenizer.convert_ids_to_tokens(enc.prefix) + ["..."]
                        + enc.tokenizer.convert_ids_to_tokens(enc.suffix))
    lines = [
        f"model            {e.name}  ({e.description})",
        f"weights          {e.hf_id} @ {e.revision} (commit {pipe.commit or 'unknown'}), licence: {e.license}",
        f"source           {pipe.source.kind}: {pipe.source.folder}",
        f"family           {enc.family}, sequences {template}",
        f"runtime          {rt.name} on {rt.device}, precision {rt.precision}"
        + (f" ({rt.chosen})" if getattr(rt, "chosen", "") else "") + f", threads {rt.threads or 'default'}",
        f"vectors          {enc.dim} floats per row in column {pipe.column_name!r}",
        f"casing           {casing}",
        f"sentences        {pipe.sentence_splitter!r} splitter",
        f"window           {window_size(st, e, enc)} wordpieces incl. special tokens; longer units are windowed, "
        "never truncated",
        "",
        "settings (change with pipe.set(name=value) or per call: pipe.predict(data, name=value)):",
    ]
    help_text = {
        **_SETTING_HELP,
        "output_level": " | ".join(f"'{n}'" for n in levels.names()),
        "prompt_name": f"one of the model's prompts: {sorted(e.prompts) or 'none'}",
        "layers": f"hidden states: -1 = last, 0 = embeddings, or a list (model has {rt.num_layers} layers)",
    }
    for name, value in asdict(st).items():
        lines.append(f"  {name:16} {value!r:12} {help_text[name]}")
    return "\n".join(lines)
