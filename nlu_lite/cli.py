"""The ``nlu-lite`` command (also ``python -m nlu_lite``): predict, catalog, search, info, download."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InvalidInputError, NluLiteError

_READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True)}


def _read_input(path: Path, text_column: str) -> pd.DataFrame:
    if not path.is_file():
        raise InvalidInputError(
            "E001", f"Input file '{path}' does not exist; pass an existing .csv, .parquet, .jsonl or "
                                ".txt file.")
    if path.suffix == ".txt":
        return pd.DataFrame({text_column: [path.read_text("utf-8")]})
    reader = _READERS.get(path.suffix)
    if reader is None:
        raise InvalidInputError(
            "E002", f"Input '{path}' has suffix {path.suffix!r}; use .csv, .parquet, .jsonl or .txt.")
    return reader(path)


def _write_output(frame: pd.DataFrame, path: Path | None, column: str) -> None:
    frame = frame.reset_index()
    if path is not None and path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        dim = next((len(v) for v in frame[column] if v is not None), 0)
        empty = [v is None for v in frame[column]]
        values = [np.zeros(dim, np.float32) if v is None else v for v in frame[column]]
        flat = np.concatenate(values) if values else np.zeros(0, np.float32)
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(flat), dim, mask=pa.array(empty, pa.bool_()))
        table = pa.Table.from_pandas(frame.drop(columns=[column]), preserve_index=False)
        pq.write_table(table.append_column(column, vectors), path)
        return
    frame[column] = [None if v is None else [float(x) for x in v] for v in frame[column]]
    if path is None or path.suffix == ".jsonl":
        text = frame.to_json(orient="records", lines=True, force_ascii=False)
        sys.stdout.write(text) if path is None else path.write_text(text, encoding="utf-8")
    elif path.suffix == ".csv":
        frame[column] = [None if v is None else json.dumps(v) for v in frame[column]]
        frame.to_csv(path, index=False)
    else:
        raise InvalidInputError("E003", f"Output '{path}' has suffix {path.suffix!r}; use .csv, .parquet or .jsonl.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlu-lite", description="Transformer embeddings of clinical text.")
    sub = parser.add_subparsers(dest="command", required=True)
    predict = sub.add_parser("predict", help="embed a text or a file of texts")
    predict.add_argument("text", nargs="?", help="text to embed (or use --input)")
    predict.add_argument("--input", type=Path, help=".csv, .parquet, .jsonl (one row per text) or .txt (one text)")
    predict.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    predict.add_argument("--output", type=Path, help=".csv, .parquet or .jsonl (default: JSON lines on stdout)")
    predict.add_argument("--level", choices=["token", "sentence", "document"], help="output level")
    predict.add_argument("--model", default=None, help="catalog name, alias or folder (default: all-MiniLM-L6-v2)")
    predict.add_argument("--positions", action="store_true", help="add begin/end character offsets")
    sub.add_parser("catalog", help="list the model catalog")
    search = sub.add_parser("search", help="search the catalog")
    search.add_argument("query")
    info = sub.add_parser("info", help="show one catalog entry")
    info.add_argument("name")
    download = sub.add_parser("download", help="save a model bundle for offline use (needs network)")
    download.add_argument("name")
    download.add_argument("--to", type=Path, required=True, help="new folder for the bundle")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 nlu_lite error, 2 usage error)."""
    args = _parser().parse_args(argv)
    from .model_catalog import catalog, resolve, search  # light: no torch, transformers or spaCy

    try:
        if args.command == "predict":
            if (args.text is None) == (args.input is None):
                raise InvalidInputError("E004", "Give either a text argument or --input FILE, not both or neither.")
            from .loading import load

            pipe = load(args.model)
            data = _read_input(args.input, args.text_column) if args.input else args.text
            frame = pipe.predict(data, output_level=args.level, positions=args.positions,
                                 text_column=args.text_column if args.input else None)
            _write_output(frame, args.output, pipe.column_name)
        elif args.command in ("catalog", "search"):
            table = catalog() if args.command == "catalog" else search(args.query)
            columns = ["name", "hf_id", "family", "dim", "max_wordpieces", "pooling", "tags", "license"]
            empty = f"No catalog entry matches {getattr(args, 'query', '')!r}."
            print(table[columns].to_string(index=False) if len(table) else empty)
        elif args.command == "info":
            entry = resolve(args.name)
            for key, value in vars(entry).items():
                print(f"{key:16} {value}")
            print(f"{'column':16} {entry.column_name}")
        elif args.command == "download":
            from .loading import load

            print(load(args.name).save(args.to))
    except NluLiteError as e:
        print(f"nlu-lite: error: {e}", file=sys.stderr)
        return 1
    return 0
