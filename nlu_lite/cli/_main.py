"""The ``nlu-lite`` command (also ``python -m nlu_lite``): predict, catalog, search, info, download.

Careful and fast: everything that can be checked without a model (the input file, its format and columns,
the output folder and suffix, a --precision the runtime or this machine cannot run) is checked before one is
loaded, and torch, transformers and spaCy are imported only by ``predict`` (torch early only to ask about CUDA
for --precision fp16 or bf16) and ``download``. Every expected failure is one line, ``nlu-lite: error: ...``,
on stderr and exit code 1 (``--debug`` shows the traceback), a failed write to stdout included; usage errors
exit with 2; a closed pipe ends quietly; SIGTERM during a write exits 143 without a temporary file left. A
written --output file is reported in one summary line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import InvalidInputError, InvalidOptionError, NluLiteError, OutputError, UnknownModelError

if TYPE_CHECKING:
    pass

EPILOG = """examples:
  python -c "import nlu_lite; nlu_lite.sample_notes().to_csv('notes.csv', index=False)"   80 sample notes to try
  nlu-lite predict "Patient denies chest pain." --level token        JSON lines on stdout
  nlu-lite predict --input notes.csv --text-column text --id-column note_id \\
                   --output vectors.parquet --level sentence --no-progress
  nlu-lite predict --input notes.csv --level token --positions --output tokens.jsonl   begin/end index each text
  nlu-lite predict --input notes.csv --output docs.parquet --level document \\
                   --runtime openvino --precision fast --cache vectors.sqlite   fast, and re-runs read vectors
  nlu-lite predict --input notes.csv --output both.parquet --level sentence \
                   --model minilm --model bge_small        one vector column per model (or --model 'minilm bge_small')
  nlu-lite catalog                                                     every model reference
  nlu-lite search clinical                                             entries matching every word
  nlu-lite info clinical_bert                                          one entry, by name or alias
  nlu-lite download clinical_bert --to ./clinical_bert                 bundle for offline use (needs network)

inputs: .csv, .jsonl, .parquet (one row per text) or .txt (the whole file is one text); TEXT - reads one
text from standard input: nlu-lite predict - < note.txt
outputs: .jsonl, .csv (vectors as JSON lists) or .parquet, written chunk by chunk (256 input rows at a time,
so memory stays bounded) to a temporary file and renamed: a failed, interrupted or terminated (SIGTERM) run
never leaves a partial file nor touches an existing one; a written file is reported in one summary line on
stderr (rows, file, seconds, cache hits and misses). Errors: one line and exit code 1.
"""


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number, e.g. --threads 2")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    from .. import levels, runtimes  # the registries of output levels (numpy only) and of runtimes (light)
    from ..pipeline import _resources as resources  # standard library only

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    parser = argparse.ArgumentParser(prog="nlu-lite", parents=[common], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Transformer embeddings of clinical text.")
    parser.add_argument("--version", action="version", version=f"nlu-lite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict = sub.add_parser("predict", parents=[common], help="embed a text or a file of texts", epilog=EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("text", nargs="?", help="text to embed, or - to read it from standard input (all of it "
                         "is one text, as a .txt file); or use --input")
    predict.add_argument("--input", type=Path, help=".csv (delimiter , ; tab or |, found from the first lines), "
                         ".parquet, .jsonl (one row per text) or .txt (one text); not - (a table on standard input "
                         "has no format to read it by: save it to a file)")
    predict.add_argument("--text-column", help="column holding the text (default: text)")
    predict.add_argument("--id-column", help="column identifying the rows, used as the output's row id")
    predict.add_argument("--output", type=Path, help=".csv, .parquet or .jsonl (default: JSON lines on stdout); "
                         "a written file ends with one summary line on stderr: rows, file, seconds, and cache hits "
                         "and misses with --cache (JSON lines on stdout come without it)")
    predict.add_argument("--level", choices=[n for n in levels.names() if not levels.get(n).needs_spans],
                         help="output level (default: the model's; span level needs spans: use the Python API)")
    predict.add_argument("--model", action="append", default=None,
                         help="catalog name, alias or folder (default: all-MiniLM-L6-v2); several models, one "
                              "vector column each: repeat it (--model A --model B) or space-separate the names "
                              "(--model 'A B', as NLU), or pass a group.save() folder")
    predict.add_argument("--positions", action="store_true", help="add begin/end character offsets")
    known = [runtimes.get(name) for name in runtimes.names()]
    predict.add_argument("--runtime", choices=[r.name for r in known], help="what runs the model: " + "; ".join(
        f"{r.name}: {r.description}" + (f" ({r.install_hint()})" if r.extra else "") for r in known))
    predict.add_argument("--precision", choices=runtimes.precisions(),
                         help="fast: the fastest one that meets the accuracy bars on this machine; by runtime: "
                              + "; ".join(f"{r.name}: {', '.join(r.precisions)}" for r in known))
    predict.add_argument("--threads", type=_positive_int, help="CPU threads (default: by how busy the machine is)")
    predict.add_argument("--cache", type=Path, help="vector cache file (SQLite): re-runs read the vectors of "
                         "texts seen before")
    predict.add_argument("--no-progress", action="store_true",
                         help="no progress bar (it is shown only on a terminal, on predictions longer than "
                              f"{resources.BAR_DELAY_S:g} s)")
    sub.add_parser("catalog", parents=[common], help="list the model catalog")
    search = sub.add_parser("search", parents=[common], help="search the catalog (every word must match)")
    search.add_argument("query")
    info = sub.add_parser("info", parents=[common], help="show one catalog entry")
    info.add_argument("name")
    download = sub.add_parser("download", parents=[common], help="save a model bundle for offline use (needs network)")
    download.add_argument("name")
    download.add_argument("--to", type=Path, required=True, help="new (or empty) folder for the bundle")
    cache = sub.add_parser("cache", parents=[common], help="show or empty a vector cache file (load(cache=...))")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("path", type=Path, help="the cache file, e.g. vectors.sqlite")
    parser.predict_parser = predict  # for usage errors argparse cannot find by itself
    return parser


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Combinations argparse cannot express: exit 2 with argparse's usage line."""
    if args.command != "predict":
        return
    if (args.text is None) == (args.input is None):
        parser.predict_parser.error("give either a TEXT argument or --input FILE (not both, not neither)")
    for flag, value in (("--text-column", args.text_column), ("--id-column", args.id_column)):
        if value is not None and args.input is None:
            parser.predict_parser.error(f"{flag} applies to --input files only")


def _planned_level(args: argparse.Namespace) -> str | None:
    """The output level, when it is known without loading the model (given, or a catalog entry's default).

    ``None`` for a folder or a hub id outside the catalog (known after loading); a name that is none of these
    raises ``UnknownModelError`` with the closest catalog names, as ``load()`` would.
    """
    if args.level is not None:
        return args.level
    from .. import levels
    from ..models import _catalog as model_catalog
    from ..models._sources import is_folder_name

    planned = []
    for name in _model_names(args):
        if is_folder_name(name):  # load()'s own rule
            return None
        entry = model_catalog.find(name)
        if entry is None and model_catalog.is_hub_id(name):
            return None
        planned.append((entry or model_catalog.resolve(name)).default_level)  # raises, naming the closest
    return min(planned, key=levels.names().index)  # several models: the finest, as PipelineGroup's default


def _model_names(args: argparse.Namespace) -> list[str]:
    """Every model --model names (each flag a name, a folder, or NLU's space-separated names); the default."""
    from ..models._sources import is_folder_name

    names = [part for value in args.model or ["default"]
             for part in ([value] if is_folder_name(value) else value.split())]
    return names or ["default"]


def _load_argument(args: argparse.Namespace) -> str | list[str] | None:
    """What ``load()`` is given: one --model value as it is (a name, a folder, a group bundle or NLU's "a b"), or
    the names of several --model values, split as ``_model_names`` splits them for the checks before loading."""
    if not args.model:
        return None
    return args.model[0] if len(args.model) == 1 else _model_names(args)


def _output_columns(level: str | None, positions: bool, vector_columns: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Columns the prediction adds beside the input's (those known so far)."""
    from .. import levels

    if level is None:
        return vector_columns
    shared = tuple(name for name, _ in levels.get(level).output_columns(positions, None))
    return shared + vector_columns


def _planned_runtimes(args: argparse.Namespace) -> list[str]:
    """The runtime load() will use for each model: --runtime, else the one a bundle folder was saved with (each
    of a group bundle's), else torch."""
    if args.runtime is not None:
        return [args.runtime]
    from ..models._sources import is_folder_name
    from ..pipeline._bundle import read_group
    from ..pipeline._spec import BUNDLE_FILE, Spec

    planned = []
    for name in _model_names(args):
        folder = Path(name).expanduser() if is_folder_name(name) else None
        bundles = (read_group(folder) if folder is not None and folder.is_dir() else None) or [folder]
        planned += [Spec.read_bundle(b).runtime if b is not None and (b / BUNDLE_FILE).is_file() else "torch"
                    for b in bundles]
    return planned


def _has_cuda() -> bool:
    """Whether torch sees a CUDA device; asked only for --precision fp16 or bf16 (torch is imported next anyway)."""
    import torch

    return torch.cuda.is_available()


def _has_mps() -> bool:
    """Whether torch sees Apple Silicon's GPU, which runs fp16 too."""
    from ..runtimes._torch import mps_available

    return mps_available()


def _check_precision(args: argparse.Namespace) -> None:
    """--precision against what is known before the model loads: the runtime's list (the registry), and, as
    load() documents the precisions, fp16 needs CUDA and bf16 CUDA or a CPU computing bf16 natively (where the
    CPU's flags are unknown the runtime decides). The runtimes check again, for the device they run on."""
    precision = args.precision
    if precision is None:
        return
    from .. import runtimes
    from ..runtimes import _cpu_features as cpu

    for runtime in dict.fromkeys(_planned_runtimes(args)):
        listed = runtimes.get(runtime).precisions
        if precision not in listed:
            others = [name for name in runtimes.names() if precision in runtimes.get(name).precisions]
            raise InvalidOptionError("E132", f"--precision {precision} is not one the runtime {runtime} takes (it "
                                     f"takes {', '.join(listed)}); pass one of those, e.g. --precision fast, or a "
                                     f"runtime that takes {precision}: "
                                     + " or ".join(f"--runtime {n}" for n in others) + ".")
    if precision == "fp16" and not _has_cuda() and not _has_mps():
        raise InvalidOptionError("E133", "--precision fp16 needs a GPU (CUDA or Apple Silicon), and torch sees none "
                                 "here; "
                                 "use --precision fast (the fastest precision that meets the accuracy bars here) "
                                 "or --precision fp32.")
    if precision == "bf16" and cpu.has_native_bf16() is False and not _has_cuda():
        raise InvalidOptionError("E134", "--precision bf16 needs a CPU that computes bf16 natively (AVX-512 BF16 or "
                                 "AMX) or, with --runtime torch, a CUDA GPU; this machine has neither, so bf16 would "
                                 "be emulated and slower than fp32. Use --precision fast or --precision fp32.")


def _predict(args: argparse.Namespace) -> None:
    from . import _paths as paths

    start = time.perf_counter()
    text_column = args.text_column or "text"
    if args.input is not None and str(args.input) == "-":
        raise InvalidInputError("E128", "--input - is not read: a table on standard input has no suffix to tell "
                                "JSON lines from CSV. Pass one text as TEXT -, e.g. `nlu-lite predict - < note.txt`, "
                                "or save the table to a file and pass its path, e.g. --input notes.csv.")
    if args.output is not None:
        paths.check_output(args.output)
    if args.cache is not None:
        paths.check_cache(args.cache)
    if args.input is not None:
        paths.check_input(args.input)
        if args.input.suffix == ".txt" and args.id_column is not None:
            raise InvalidInputError("E124", f"--id-column {args.id_column!r} needs a table, but '{args.input}' is "
                                    "a .txt file (one text, no columns); leave --id-column out.")
    level = _planned_level(args)  # an unknown model name fails here
    from . import _inputs as inputs  # pandas: only now that the paths and the name are known good
    from . import _outputs as outputs

    data: object = inputs.read_stdin() if args.text == "-" else args.text
    extras = None  # the input columns the output carries
    if args.input is not None:
        data = inputs.read_input(args.input, text_column)
        inputs.check_columns(data, args.input, text_column, args.id_column,
                             _output_columns(level, args.positions))
        extras = data.drop(columns=[text_column])
        if args.output is not None and args.output.suffix == ".parquet":
            outputs.parquet_types(extras)
    _check_precision(args)
    from ..pipeline._engine import chunks_by_id
    from ..pipeline._load import load  # torch, transformers, spaCy: only now that the input and output are known good

    pipe = load(_load_argument(args), runtime=args.runtime, precision=args.precision, threads=args.threads,
                cache=args.cache)
    pipes = getattr(pipe, "pipelines", (pipe,))  # several models: a PipelineGroup
    columns = tuple(p.column_name for p in pipes)
    level = args.level or (pipe._default_level() if len(pipes) > 1 else pipe.settings.output_level)
    if args.input is not None:
        inputs.check_columns(data, args.input, text_column, args.id_column,
                             _output_columns(level, args.positions, columns))
    progress = not args.no_progress and sys.stderr.isatty()
    frames = chunks_by_id(pipe.predict_iter, data, args.level, text_column if args.input is not None else None,
                          args.id_column, None, {"positions": args.positions, "progress": progress})
    rows = outputs.write_output(frames, args.output or _Stdout(), columns,
                                pipes[0].encoder.dim if len(pipes) == 1 else None, source=extras)
    if args.output is not None:  # stdout carries the rows only
        caches = [p.cache.stats for p in pipes if p.cache is not None]
        stats = {key: sum(c[key] for c in caches) for key in ("hits", "misses")} if caches else None
        print(_summary(rows, args.output, time.perf_counter() - start, stats), file=sys.stderr)


def _summary(rows: int, path: Path, seconds: float, cache_stats: dict[str, int] | None) -> str:
    """The line a written file ends with: rows, file, seconds since the command began, and the cache's counts."""
    def count(n: int, noun: str, plural: str) -> str:
        return f"{n:,} {noun if n == 1 else plural}"

    line = f"nlu-lite: wrote {count(rows, 'row', 'rows')} to {path} in {seconds:.1f} s"
    if cache_stats is not None:
        line += (f" (cache: {count(cache_stats['hits'], 'hit', 'hits')}, "
                 f"{count(cache_stats['misses'], 'miss', 'misses')})")
    return line


def _print_table(rows: list[dict[str, object]]) -> None:
    """Aligned columns, as DataFrame.to_string would print them, without importing pandas."""
    names = ("name", "hf_id", "family", "dim", "max_wordpieces", "pooling", "tags", "license")
    cells = [names] + [tuple(str(row[n]) for n in names) for row in rows]
    widths = [max(len(line[k]) for line in cells) for k in range(len(names))]
    _say("".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() + "\n" for line in cells))


def _download(args: argparse.Namespace) -> None:
    target = args.to.expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidOptionError("E125", f"--to '{target}' exists and is not an empty folder; pass a new folder, "
                                 f"e.g. --to '{target}_bundle'.")
    from ..pipeline._load import load

    _say(f"{load(args.name).save(target)}\n")


def _run(args: argparse.Namespace) -> None:
    if args.command == "predict":
        _predict(args)
    elif args.command == "catalog":
        from ..models._browse import catalog_rows

        _print_table(catalog_rows())
    elif args.command == "search":
        from ..models._browse import catalog_rows

        table = catalog_rows(args.query)
        _print_table(table) if table else _say(f"No catalog entry matches {args.query!r}.\n")
    elif args.command == "info":
        from ..models._catalog import resolve

        entry = resolve(args.name)
        _print_fields([*vars(entry).items(), ("column", entry.column_name)])
    elif args.command == "download":
        _download(args)
    elif args.command == "cache":
        from .. import cache

        report = cache.cache_info(args.path) if args.action == "info" else cache.cache_clear(args.path)
        _print_fields(report.items())


def _print_fields(items: Iterable[tuple[str, object]]) -> None:
    """One ``name  value`` line per field, readable: ``max_bytes`` as ``max bytes  4.0 GiB``."""
    _say("".join(f"{key.replace('_', ' '):16} {_readable(key, value)}\n" for key, value in items))


def _readable(key: str, value: object) -> str:
    """A field's value for people: numbers with thousands separators, ``*_bytes`` in KiB/MiB/GiB, yes/no, lists
    joined, ``none`` for nothing; texts inside a mapping quoted (a prompt's trailing space shows)."""
    if value is None or value == () or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and key.endswith("_bytes"):
        return _size(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    return str(value)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:,} bytes"


def _say(text: str) -> None:
    """``text`` to stdout, flushed: a closed pipe is left to ``main``; any other failure (a full disk) is E129."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        _silence_stdout()  # the unwritten rest would fail again in the interpreter's exit
        raise OutputError("E129", f"Writing to standard output failed ({e.strerror or e}); free space where it "
                          "goes, or send it elsewhere (predict: --output vectors.jsonl).") from None


class _Stdout:
    """Standard output as ``write_output``'s text stream: each chunk written with ``_say``."""

    def write(self, text: str) -> None:
        _say(text)


def _silence_stdout() -> None:
    """After a closed pipe or a failed write: point stdout at /dev/null so the interpreter's final flush does
    not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests, notebooks)
        pass


_MODEL_FIXES = {  # the command line's advice for an unknown model name, instead of the library's Python calls
    "predict": "Find a model with `nlu-lite search WORD`, or pass a local model folder with --model FOLDER.",
    "info": "Find a model with `nlu-lite search WORD` (every one: `nlu-lite catalog`).",
    "download": "Find a model with `nlu-lite search WORD`.",
}


def _cli_message(error: NluLiteError, command: str) -> str:
    """The error's message, an unknown model name's fix given as nlu-lite commands and flags."""
    if isinstance(error, UnknownModelError):
        return f"[{error.code}] {error.problem} {_MODEL_FIXES[command]}"
    return str(error)


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each, like errors (no source line, no file path)."""
    print(f"nlu-lite: warning: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 an nlu_lite error, 2 a usage error, 141 closed pipe)."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check_usage(parser, args)
    debug = getattr(args, "debug", False)
    try:
        with warnings.catch_warnings():  # restores the caller's warning display afterwards
            warnings.showwarning = _print_warning
            _run(args)  # every write to stdout is flushed: a closed pipe shows there, not in the interpreter's exit
    except NluLiteError as e:
        if debug:
            raise
        print(f"nlu-lite: error: {' '.join(_cli_message(e, args.command).split())}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `nlu-lite catalog | head -5`: the reader has what it wanted
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what the shell reports for a command ended by a closed pipe
    except KeyboardInterrupt:
        if debug:
            raise
        print("nlu-lite: interrupted", file=sys.stderr)
        return 130
    return 0
