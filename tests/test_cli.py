"""The nlu-lite command line: outputs against the Python API, every expected failure as one line before any
model loads, atomic writes, exact readers (fuzzed), light start-up, a quiet closed pipe."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nlu_lite
from nlu_lite.cli import _inputs as inputs
from nlu_lite.cli import _outputs as outputs
from nlu_lite.cli._main import main
from nlu_lite.errors import InvalidInputError, NluLiteError

TEXTS = ["Patient denies chest pain. BP 120/80.", "Takes aspirin daily."]
COLUMN = "tiny_cased_embeddings"
ROOT = Path(__file__).resolve().parents[1]


def _exact_json(text: str) -> object:
    """json.loads that refuses NaN/Infinity (Python's json accepts them; JSON does not)."""
    def refuse(constant: str) -> None:
        raise AssertionError(f"not valid JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _read_back(path: Path, columns: tuple[str, ...] = (COLUMN,)) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        back = pd.read_csv(path, keep_default_na=False, na_values={"sentence_id": [""], **{c: [""] for c in columns}})
        for column in columns:
            back[column] = [None if pd.isna(v) else _exact_json(v) for v in back[column]]
        return back
    return pd.DataFrame([_exact_json(line) for line in path.read_text("utf-8").splitlines()])


@pytest.fixture
def no_model(monkeypatch):
    """load() fails loudly: a test using this proves its error came before any model was loaded."""
    import nlu_lite.pipeline._load

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the input and output were checked")

    monkeypatch.setattr(nlu_lite.pipeline._load, "load", refuse)


def test_cli_predict_text_to_jsonl(tiny_cased, tiny_cased_dir, capsys):
    assert main(["predict", "Chest pain. No fever.", "--model", str(tiny_cased_dir), "--level", "sentence"]) == 0
    rows = [_exact_json(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["sentence"] for r in rows] == ["Chest pain.", "No fever."]
    expected = tiny_cased.predict("Chest pain. No fever.", output_level="sentence")
    assert list(rows[0]) == list(expected.reset_index().columns)
    np.testing.assert_array_equal(np.asarray([r[COLUMN] for r in rows], np.float32), np.stack(expected[COLUMN]))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("id_column", [None, "note_id"])
def test_cli_predict_file_matches_api_values_and_column_order(tiny_cased, tiny_cased_dir, tmp_path, suffix,
                                                              id_column):
    source = tmp_path / "notes.csv"
    frame = pd.DataFrame({"note_id": [11, 12, 13], "note": TEXTS + [None], "ward": ["a", "b", "c"]})
    frame.to_csv(source, index=False)
    out = tmp_path / f"out{suffix}"
    argv = ["predict", "--input", str(source), "--text-column", "note", "--output", str(out),
            "--model", str(tiny_cased_dir), "--level", "sentence", "--positions", "--no-progress"]
    assert main(argv + (["--id-column", id_column] if id_column else [])) == 0
    expected = tiny_cased.predict(frame, output_level="sentence", positions=True, text_column="note",
                                  id_column=id_column).reset_index()
    back = _read_back(out)
    assert list(back.columns) == list(expected.columns)  # the API's order: extras after the vector column
    assert back.columns.get_loc(COLUMN) < back.columns.get_loc("ward")
    assert back["sentence"].tolist()[:-1] == expected["sentence"].tolist()[:-1]
    assert back[expected.columns[0]].tolist() == expected[expected.columns[0]].tolist()
    assert back[COLUMN].iloc[-1] is None  # the empty input row: a null vector, not NaNs
    got = np.stack([np.asarray(v, dtype=np.float32) for v in back[COLUMN].iloc[:-1]])
    np.testing.assert_array_equal(got, np.stack(expected[COLUMN].iloc[:-1]))  # exact: floats written in full
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        field_type = pq.read_schema(out).field(COLUMN).type
        assert pa.types.is_fixed_size_list(field_type) and field_type.list_size == 32
        assert field_type.value_type == pa.float32()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("form", ["repeated", "spaces", "bundle"])
def test_cli_several_models_one_output_with_each_vector_column(tiny_cased_dir, tiny_uncased_dir, tmp_path, suffix,
                                                              form):
    """--model A --model B, --model 'A B' (NLU's form) or a group.save() folder: one file with each model's
    vector column, equal (bit for bit) to load([A, B]).predict."""
    group = nlu_lite.load([str(tiny_cased_dir), str(tiny_uncased_dir)])
    source = tmp_path / "notes.csv"
    frame = pd.DataFrame({"note_id": [11, 12, 13], "note": TEXTS + [None], "ward": ["a", "b", "c"]})
    frame.to_csv(source, index=False)
    models = {"repeated": ["--model", str(tiny_cased_dir), "--model", str(tiny_uncased_dir)],
              "spaces": ["--model", f"{tiny_cased_dir} {tiny_uncased_dir}"],
              "bundle": ["--model", str(group.save(tmp_path / "group")) if form == "bundle" else ""]}[form]
    out = tmp_path / f"out{suffix}"
    assert main(["predict", "--input", str(source), "--text-column", "note", "--id-column", "note_id", "--output",
                 str(out), "--positions", "--no-progress", *models]) == 0
    expected = group.predict(frame, positions=True, text_column="note", id_column="note_id").reset_index()
    assert "token" in expected.columns  # the finest of the models' default levels
    back = _read_back(out, group.column_names)
    assert list(back.columns) == list(expected.columns)
    assert back["token"].tolist()[:-1] == expected["token"].tolist()[:-1]
    for column in group.column_names:
        assert back[column].iloc[-1] is None
        np.testing.assert_array_equal(np.stack([np.asarray(v, dtype=np.float32) for v in back[column].iloc[:-1]]),
                                      np.stack(expected[column].iloc[:-1]))
    if suffix == ".parquet":
        records = nlu_lite.provenance(nlu_lite.provenance.read_parquet(out))["models"]  # every model's record
        assert [records[c]["revision"] for c in group.column_names] == \
            [r["revision"] for r in nlu_lite.provenance(expected)["models"].values()]


def test_cli_several_model_flags_may_each_hold_several_names(tiny_cased_dir, tiny_uncased_dir, tmp_path):
    """--model 'A B' --model C names three models, as load(['A', 'B', 'C']) does (not a model called 'A B')."""
    import shutil

    third = shutil.copytree(tiny_cased_dir, tmp_path / "third")
    names = [str(tiny_cased_dir), str(tiny_uncased_dir), str(third)]
    out = tmp_path / "out.jsonl"
    assert main(["predict", "Chest pain. No fever.", "--level", "document", "--no-progress", "--output", str(out),
                 "--model", f"{names[0]} {names[1]}", "--model", names[2]]) == 0
    group = nlu_lite.load(names)
    expected = group.predict("Chest pain. No fever.", output_level="document")
    row = json.loads(out.read_text("utf-8"))
    for column in group.column_names:
        np.testing.assert_array_equal(np.asarray(row[column], dtype=np.float32), expected[column].iloc[0])


@pytest.mark.parametrize("argv,fragment", [
    (["info", "clinical_bert"], "emilyalsentzer/Bio_ClinicalBERT"),
    (["search", "bluebert"], "bionlp/bluebert"),
    (["catalog"], "sentence-transformers/all-MiniLM-L6-v2"),
])
def test_cli_catalog_commands(argv, fragment, capsys):
    assert main(argv) == 0
    assert fragment in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    [], ["predict"], ["predict", "text", "--input", "notes.csv"], ["predict", "text", "--id-column", "id"],
    ["predict", "text", "--text-column", "note"], ["predict", "text", "--level", "not-a-level"], ["bogus"],
    ["download", "minilm"], ["predict", "text", "--threads", "0"], ["predict", "text", "--runtime", "not-a-runtime"],
    ["predict", "text", "--precision", "fp8"],
])
def test_cli_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: nlu-lite" in capsys.readouterr().err


def test_cli_version_and_help(capsys):
    for flag in ("--version", "--help"):
        with pytest.raises(SystemExit) as info:
            main([flag])
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"nlu-lite {nlu_lite.__version__}" in out
    assert "examples:" in out and "nlu-lite predict --input notes.csv" in out
    continued = [line for line in out.splitlines() if line.endswith("\\")]  # shell line continuations stay lines
    assert len(continued) == 2 and all(line.startswith("  nlu-lite predict") for line in continued)


def _case_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "notes.csv": "note_id,text\n1,Chest pain.\n",
        "empty.csv": "", "blank.jsonl": "\n \n", "empty.txt": "", "spaces.txt": " \r\n\t",
        "ragged.csv": "note_id,text\n1,Chest pain.,extra\n", "header_only.csv": "note_id,text\n",
        "twice.csv": "text,text\na,b\n", "origin.csv": "origin_index,text\n1,a\n",
        "clash.csv": "text,sentence_id\na,1\n", "vectors.csv": f"text,{COLUMN}\na,1\n",
        "bad.jsonl": '{"text": "a"}\n{"text": \n', "list.jsonl": '["a"]\n', "number.jsonl": '{"text": 42}\n',
        "mixed.jsonl": '{"text": "a", "x": 1}\n{"text": "b", "x": [1, 2]}\n', "bad.parquet": "PAR1 not parquet",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
    (tmp_path / "latin1.csv").write_bytes("text\nfièvre\n".encode("latin-1"))
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "out.parquet").mkdir()
    (tmp_path / "full.d").mkdir()
    (tmp_path / "full.d" / "x").write_text("keep")
    return {name: tmp_path / name for name in [*files, "latin1.csv", "folder.csv", "out.parquet", "full.d"]}


FAILURES = [  # (argv with {name} placeholders, the code that names the situation)
    (["predict", "--input", "{missing.csv}"], "E001"),
    (["predict", "--input", "{notes.csv}.xlsx"], "E002"),
    (["predict", "--input", "{notes.csv}", "--output", "{notes.csv}.txt"], "E003"),
    (["predict", "--input", "{latin1.csv}"], "E100"),
    (["predict", "--input", "{folder.csv}"], "E101"),
    (["predict", "--input", "{empty.csv}"], "E103"),
    (["predict", "--input", "{empty.txt}"], "E103"),
    (["predict", "--input", "{spaces.txt}"], "E103"),
    (["predict", "--input", "{blank.jsonl}"], "E103"),
    (["predict", "--input", "{twice.csv}"], "E105"),
    (["predict", "--input", "{ragged.csv}"], "E106"),
    (["predict", "--input", "{bad.jsonl}"], "E107"),
    (["predict", "--input", "{list.jsonl}"], "E108"),
    (["predict", "--input", "{bad.parquet}"], "E110"),
    (["predict", "--input", "{number.jsonl}"], "E111"),
    (["predict", "--input", "{notes.csv}", "--text-column", "note"], "E112"),
    (["predict", "--input", "{notes.csv}", "--id-column", "id"], "E113"),
    (["predict", "--input", "{notes.csv}", "--id-column", "text"], "E114"),
    (["predict", "--input", "{origin.csv}"], "E115"),
    (["predict", "--input", "{clash.csv}", "--level", "token"], "E115"),
    (["predict", "--input", "{header_only.csv}"], "E116"),
    (["predict", "--input", "{notes.csv}", "--output", "{out.parquet}"], "E117"),
    (["predict", "--input", "{notes.csv}", "--output", "{missing}/out.jsonl"], "E118"),
    (["predict", "--input", "{notes.csv}", "--output", "{notes.csv}/out.jsonl"], "E119"),
    (["predict", "--input", "{notes.csv}", "--output", "/proc/out.jsonl"], "E121"),
    (["predict", "--input", "{mixed.jsonl}", "--output", "{missing}.parquet"], "E122"),
    (["predict", "--input", "{spaces.txt}", "--id-column", "note_id"], "E124"),
    (["predict", "--input", "{notes.csv}", "--cache", "{folder.csv}"], "E126"),
    (["predict", "--input", "{notes.csv}", "--cache", "{missing}/v.sqlite"], "E127"),
    (["predict", "--input", "{notes.csv}", "--model", "clinicl_bert"], "E042"),
    (["download", "minilm", "--to", "{full.d}"], "E125"),
    (["download", "minilm", "--to", "{notes.csv}"], "E125"),
    (["info", "clinicl_bert"], "E042"),
]


@pytest.mark.parametrize("argv,code", FAILURES, ids=[f"{c}-{a[-1]}" for a, c in FAILURES])
def test_cli_expected_failure_is_one_line_before_any_model_loads(argv, code, tmp_path, no_model, capsys):
    files = _case_files(tmp_path)
    files["missing.csv"], files["missing"] = tmp_path / "missing.csv", tmp_path / "missing"
    argv = [a.replace(a[a.index("{"):a.index("}") + 1], str(files[a[a.index("{") + 1:a.index("}")]]))
            if "{" in a else a for a in argv]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nlu-lite: error: [{code}] "), captured.err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_cli_id_column_keeps_its_name_and_frees_origin_index(tiny_cased, tiny_cased_dir, tmp_path):
    source, out = tmp_path / "notes.csv", tmp_path / "out.jsonl"
    frame = pd.DataFrame({"note_id": ["n1", "n2"], "origin_index": [7, 8], "text": TEXTS})
    frame.to_csv(source, index=False)
    assert main(["predict", "--input", str(source), "--id-column", "note_id", "--model", str(tiny_cased_dir),
                 "--level", "document", "--output", str(out)]) == 0
    back = _read_back(out)
    expected = tiny_cased.predict(frame, output_level="document", id_column="note_id").reset_index()
    assert list(back.columns) == list(expected.columns) == ["note_id", "document", COLUMN, "origin_index"]
    assert back["note_id"].tolist() == ["n1", "n2"] and back["origin_index"].tolist() == [7, 8]


@pytest.mark.parametrize("flags,tty,progress", [([], True, True), (["--no-progress"], True, False), ([], False, False)])
def test_cli_progress_bar_only_on_a_terminal_and_never_with_no_progress(tiny_cased_dir, monkeypatch, capsys, flags,
                                                                        tty, progress):
    seen = []
    real = nlu_lite.Pipeline.predict_iter

    def spy(self, data, *args, **kwargs):
        seen.append(kwargs["progress"])
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(nlu_lite.Pipeline, "predict_iter", spy)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    assert main(["predict", "Chest pain.", "--model", str(tiny_cased_dir), *flags]) == 0
    assert seen == [progress]


@pytest.mark.parametrize("model,level", [("minilm", "sentence"), ("clinical_bert", "token"),
                                         ("sentence-transformers/all-MiniLM-L6-v2", "sentence"),
                                         ("someone/not-in-the-catalog", None), ("{folder}", None),
                                         ("minilm clinical_bert", "token"), ("minilm|bge_small", "sentence"),
                                         ("minilm|{folder}", None)])
def test_cli_planned_level_without_loading(model, level, tiny_cased_dir, no_model):
    import argparse

    from nlu_lite.cli._main import _planned_level

    args = argparse.Namespace(level=None, model=model.replace("{folder}", str(tiny_cased_dir)).split("|"))
    assert _planned_level(args) == level  # a hub id or folder load() accepts is not refused before loading


def test_cli_unreadable_input_is_one_line(tmp_path, no_model, monkeypatch, capsys):
    source = tmp_path / "notes.csv"
    source.write_text("text\na\n")

    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod 000 does not stop root, who runs CI containers
    assert main(["predict", "--input", str(source)]) == 1
    assert capsys.readouterr().err.startswith("nlu-lite: error: [E102] ")


def test_cli_vector_column_clash_found_after_load_before_predict(tiny_cased_dir, tmp_path, monkeypatch, capsys):
    source = tmp_path / "notes.csv"
    source.write_text(f"text,{COLUMN}\nChest pain.,1\n")
    monkeypatch.setattr(nlu_lite.Pipeline, "predict_iter", lambda *a, **k: pytest.fail("predicted before the check"))
    assert main(["predict", "--input", str(source), "--model", str(tiny_cased_dir)]) == 1
    assert capsys.readouterr().err.startswith("nlu-lite: error: [E115] ")


def test_cli_debug_shows_the_traceback(tmp_path):
    with pytest.raises(InvalidInputError, match=r"\[E001\]"):
        main(["predict", "--input", str(tmp_path / "missing.csv"), "--debug"])
    proc = subprocess.run([sys.executable, "-m", "nlu_lite", "--debug", "predict", "--input", str(tmp_path / "x.csv")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "[E001]" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "nlu_lite", "predict", "--input", str(tmp_path / "x.csv")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_cli_txt_input_keeps_crlf_and_drops_bom(tiny_cased, tiny_cased_dir, tmp_path):
    raw = "\ufeffChest pain.\r\nNo fever.\r\n\r\nBP 120/80.\r\n"
    source = tmp_path / "note.txt"
    source.write_bytes(raw.encode("utf-8"))
    out = tmp_path / "tokens.jsonl"
    assert main(["predict", "--input", str(source), "--model", str(tiny_cased_dir), "--level", "token",
                 "--positions", "--output", str(out)]) == 0
    text = raw[1:]  # the file's text: BOM dropped, every \r kept
    rows = _read_back(out)
    assert rows["token"].tolist()[0] == "Chest"
    assert all(text[b:e] == t for t, b, e in zip(rows["token"], rows["begin"], rows["end"]))
    starts = dict(zip(rows["token"], rows["begin"]))
    assert (starts["No"], starts["BP"]) == (text.index("No"), text.index("BP"))  # after one and three CRLFs
    expected = tiny_cased.predict(text, output_level="token", positions=True)
    assert rows["token"].tolist() == expected["token"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_cli_failed_write_keeps_previous_file(tiny_cased_dir, tmp_path, monkeypatch, capsys, suffix, failure):
    source, out = tmp_path / "notes.csv", tmp_path / f"vectors{suffix}"
    pd.DataFrame({"text": TEXTS}).to_csv(source, index=False)
    out.write_bytes(b"the previous results")
    sink = outputs._SINKS[suffix]
    real = sink.write

    def write_then_fail(self, frame):
        real(self, frame)
        self.file.flush()  # a partial file, as a full disk leaves it
        raise failure

    monkeypatch.setattr(sink, "write", write_then_fail)
    code = main(["predict", "--input", str(source), "--model", str(tiny_cased_dir), "--output", str(out)])
    assert code == (1 if isinstance(failure, OSError) else 130)
    assert out.read_bytes() == b"the previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv", out.name]  # no temporary left
    err = capsys.readouterr().err
    expected = "nlu-lite: error: [E123] " if isinstance(failure, OSError) else "nlu-lite: interrupted\n"
    assert err.startswith(expected) and err.count("\n") == 1


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_cli_file_size_limit_midway_keeps_previous_file(tiny_cased_dir, tmp_path, capsys, suffix):
    """A real failure in the middle of writing: the kernel refuses bytes past RLIMIT_FSIZE (EFBIG)."""
    source, out = tmp_path / "notes.csv", tmp_path / f"vectors{suffix}"
    pd.DataFrame({"text": TEXTS * 20}).to_csv(source, index=False)
    out.write_bytes(b"the previous results")
    argv = ["predict", "--input", str(source), "--model", str(tiny_cased_dir), "--output", str(out), "--level",
            "token"]
    assert main(argv[:-4] + ["--output", str(tmp_path / f"full{suffix}"), "--level", "token"]) == 0
    capsys.readouterr()  # the full run's summary line
    limit = (tmp_path / f"full{suffix}").stat().st_size // 2
    (tmp_path / f"full{suffix}").unlink()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of the default kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        code = main(argv)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert code == 1 and capsys.readouterr().err.startswith("nlu-lite: error: [E123] ")
    assert out.read_bytes() == b"the previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv", out.name]


def test_cli_new_output_file_gets_the_usual_mode(tiny_cased_dir, tmp_path):
    out = tmp_path / "v.jsonl"
    assert main(["predict", "Chest pain.", "--model", str(tiny_cased_dir), "--output", str(out)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0o600


def test_outputs_nan_vectors_are_json_null_and_list_extras_json(tiny_cased, tmp_path):
    frame = tiny_cased.predict(pd.DataFrame({"text": TEXTS, "codes": [[1, 2], np.array([3])],
                                             "meta": [{"a": 1}, None]}), output_level="document")
    vector = frame[COLUMN].iloc[0].copy()
    vector[[0, 5]] = [np.nan, np.inf]
    frame[COLUMN] = [vector, frame[COLUMN].iloc[1]]
    for suffix in (".csv", ".jsonl"):
        out = tmp_path / f"v{suffix}"
        outputs.write_output([frame], out, (COLUMN,), 32)
        if suffix == ".csv":
            with out.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            vectors = [_exact_json(r[COLUMN]) for r in rows]
            assert [_exact_json(r["codes"]) for r in rows] == [[1, 2], [3]]
            assert _exact_json(rows[0]["meta"]) == {"a": 1}
        else:
            rows = [_exact_json(line) for line in out.read_text("utf-8").splitlines()]
            vectors = [r[COLUMN] for r in rows]
            assert [r["codes"] for r in rows] == [[1, 2], [3]] and rows[1]["meta"] is None
        assert vectors[0][0] is None and vectors[0][5] is None
        assert vectors[0][1:5] == vector[1:5].tolist() and vectors[1] == frame[COLUMN].iloc[1].tolist()


@pytest.mark.filterwarnings("default:2 token\\(s\\) consist only of characters")  # shown, as on a terminal
def test_cli_warning_is_one_line_and_nan_vectors_are_json_null(tiny_cased_dir, tmp_path, capsys):
    out = tmp_path / "tokens.csv"
    assert main(["predict", "pain \x07 fever \x07", "--model", str(tiny_cased_dir), "--level", "token",
                 "--output", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("nlu-lite: warning: 2 token(s) consist only")
    assert lines[1].startswith("nlu-lite: wrote 4 rows to ")  # the summary line after the written file
    with out.open(newline="", encoding="utf-8") as f:
        vectors = [_exact_json(row[COLUMN]) for row in csv.DictReader(f)]
    assert [all(x is None for x in v) for v in vectors] == [False, True, False, True]


HEAVY = ("torch", "transformers", "spacy", "pandas")
_PROBE = """
import json, sys
from nlu_lite.cli._main import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY))]), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


@pytest.mark.parametrize("argv,imported", [
    (["--help"], []), (["--version"], []), (["catalog"], []), (["search", "clinical"], []),
    (["info", "clinical_bert"], []), (["search", "nothing like this"], []),
    (["predict", "--input", "missing.csv"], []),  # the paths are checked before pandas is imported
    (["predict", "x", "--model", "clinicl_bert"], []),
])
def test_cli_light_commands_do_not_import_torch_transformers_spacy(argv, imported, tmp_path):
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    code, heavy = json.loads(proc.stderr.splitlines()[-1])
    assert code in (0, 1) and heavy == imported, proc.stderr


@pytest.mark.parametrize("argv", [["catalog"], ["info", "minilm"]])
def test_cli_closed_pipe_is_quiet(argv):
    proc = subprocess.Popen([sys.executable, "-m", "nlu_lite", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    proc.stdout.close()  # the reader is gone before the first line is written (as `| head -0`)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == 141 and err == ""


def test_cli_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "nlu_lite", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "predict" in proc.stdout


def test_cli_download_writes_a_bundle_that_loads_offline(tmp_path, minilm_dir, monkeypatch, capsys):
    """`download` resolves like load() (here: the packaged model, no network) and saves a bundle."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target = tmp_path / "minilm_bundle"
    assert main(["download", "minilm", "--to", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    pipe = nlu_lite.load(path=target)
    assert pipe.column_name == "en_embed_sentence_all_minilm_l6_v2_embeddings" and pipe.settings.normalize
    reference = nlu_lite.load("minilm")
    np.testing.assert_array_equal(nlu_lite.to_numpy(pipe.predict(TEXTS)), nlu_lite.to_numpy(reference.predict(TEXTS)))


# ---- readers, fuzzed: the right rows, or our one-line error, never another exception --------------------------

NAUGHTY = ["NA", "null", "N/A", "nan", "None", "", " ", '"', 'a,"b"', "\r\n", "\r", "\ufeff", "\u2028", "#N/A", "\x00"]
TEXT = st.one_of(st.sampled_from(NAUGHTY),  # what readers like to turn into NaN, split or strip
                 st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))  # any unicode but surrogates


def _read(tmp_path: Path, name: str, data: bytes) -> pd.DataFrame | NluLiteError:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        frame = inputs.read_input(path)
        inputs.check_columns(frame, path, "text", None)
        return frame
    except NluLiteError as e:  # anything else fails the test: it would be a traceback on the command line
        return e


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(TEXT, st.integers(-10**6, 10**6)), min_size=1, max_size=6),
       bom=st.booleans(), dialect=st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
def test_inputs_fuzz_csv_reads_every_text_exactly(tmp_path, rows, bom, dialect):
    buffer = io.StringIO(newline="")
    # well-formed CSV: with "\n" lines, csv.writer would leave a lone "\r" unquoted, which no reader can tell apart
    # from a line end; quoting every cell avoids that
    writer = csv.writer(buffer, lineterminator=dialect[0], quoting=dialect[1])
    writer.writerow(["text", "note_id"])
    writer.writerows(rows)
    data = ("\ufeff" if bom else "") + buffer.getvalue()
    result = _read(tmp_path, "n.csv", data.encode("utf-8"))
    assert isinstance(result, pd.DataFrame), result
    assert result["text"].tolist() == [t for t, _ in rows]  # "NA", "null", quotes, newlines: all kept as written
    assert result["note_id"].tolist() == [i for _, i in rows]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(TEXT, st.none(), st.integers(), st.lists(TEXT, max_size=2)), min_size=1, max_size=6),
       ascii_only=st.booleans())
def test_inputs_fuzz_jsonl_reads_texts_or_names_the_bad_row(tmp_path, rows, ascii_only):
    data = "".join(json.dumps({"text": t, "k": n}, ensure_ascii=ascii_only) + "\n" for n, t in enumerate(rows))
    result = _read(tmp_path, "n.jsonl", data.encode("utf-8"))
    bad = [n for n, t in enumerate(rows) if t is not None and not isinstance(t, str)]
    if bad:
        assert isinstance(result, InvalidInputError) and result.code == "E111"
        assert f"row {bad[0] + 1} " in str(result)
        return
    assert isinstance(result, pd.DataFrame), result
    assert [None if pd.isna(t) else t for t in result["text"]] == rows
    assert result["k"].tolist() == list(range(len(rows)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, bom=st.booleans(), newline=st.sampled_from(["\n", "\r\n", "\r", "\u2028"]))
def test_inputs_fuzz_txt_is_the_file_text_exactly(tmp_path, text, bom, newline):
    file_text = ("\ufeff" if bom else "") + text.replace("\n", newline) + newline
    result = _read(tmp_path, "n.txt", file_text.encode("utf-8"))
    text = file_text.removeprefix("\ufeff")  # a leading U+FEFF is the byte order mark, whatever follows
    if not text.strip():
        assert isinstance(result, InvalidInputError) and result.code == "E103"
    else:
        assert isinstance(result, pd.DataFrame) and result["text"].tolist() == [text]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=80), TEXT.map(lambda t: t.encode("utf-8")),
                      st.lists(st.sampled_from(['"', ",", "\n", "\r", "text", "a", "{", "}", ":", "[", "\x00", "\ufeff",
                                                "\\", '{"text": "a"}', "null", " "]), max_size=20)
                      .map(lambda parts: "".join(parts).encode("utf-8"))),
       suffix=st.sampled_from([".csv", ".jsonl", ".txt", ".parquet"]))
def test_inputs_fuzz_any_bytes_read_or_fail_with_our_error(tmp_path, data, suffix):
    result = _read(tmp_path, f"n{suffix}", data)
    if isinstance(result, pd.DataFrame):
        assert len(result) > 0 and "text" in result.columns
        assert all(isinstance(t, str) or pd.isna(t) for t in result["text"])


def test_cli_runtime_precision_threads_and_cache_reach_load(tiny_cased_dir, tmp_path, monkeypatch, capsys):
    import nlu_lite.pipeline._load
    from nlu_lite import runtimes
    from nlu_lite.cache import VectorCache
    from nlu_lite.cli import _main as cli
    from nlu_lite.runtimes import _openvino as openvino_runtime
    from nlu_lite.runtimes import _torch as torch_runtime

    predict = cli._parser().predict_parser
    choices = {action.dest: action.choices for action in predict._actions}
    assert tuple(choices["runtime"]) == runtimes.names()  # the CLI's choices are the registry's
    assert set(choices["precision"]) == set(torch_runtime.PRECISIONS) | set(openvino_runtime.PRECISIONS) | {
        p for name in runtimes.names() for p in runtimes.get(name).precisions}
    asked, load = [], nlu_lite.pipeline._load.load
    monkeypatch.setattr(nlu_lite.pipeline._load, "load", lambda *a, **k: asked.append(k) or load(*a, **k))
    store = tmp_path / "v.sqlite"
    argv = ["predict", "Chest pain. No fever.", "--model", str(tiny_cased_dir), "--level", "sentence",
            "--runtime", "torch", "--precision", "fast", "--threads", "1", "--cache", str(store)]
    assert main(argv) == 0
    cold = capsys.readouterr().out
    assert main(argv) == 0 and capsys.readouterr().out == cold
    assert asked[0] == {"runtime": "torch", "precision": "fast", "threads": 1, "cache": store}
    assert VectorCache(store).info()["entries"] == 2  # the two sentences, stored by the first run
