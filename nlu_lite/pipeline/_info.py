"""``pipe.print_info()``: the model, where it came from, how it runs, and every setting with how to change it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from .. import levels
from ._settings import setting_help, window_size

if TYPE_CHECKING:
    from ._engine import Engine

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
        **setting_help(),
        "output_level": " | ".join(f"'{n}'" for n in levels.names()),
        "prompt_name": f"one of the model's prompts: {sorted(e.prompts) or 'none'}",
        "layers": f"hidden states: -1 = last, 0 = embeddings, or a list (model has {rt.num_layers} layers)",
    }
    width = max(map(len, help_text)) + 1
    for name, value in asdict(st).items():
        lines.append(f"  {name:{width}} {value!r:12} {help_text[name]}")
    return "\n".join(lines)
