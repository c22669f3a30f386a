"""The command line under probes: CSV delimiters, standard input, SIGTERM during a write, a full stdout, an
unwritable cache, and outputs written chunk by chunk (bounded memory) exactly as the whole-frame path wrote them."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import nlu_lite
from nlu_lite.cli import _inputs as inputs
from nlu_lite.cli import _outputs as outputs
from nlu_lite.cli._main import main

COLUMN = "tiny_cased_embeddings"
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
NOTES = ["Patient denies chest pain.", "Takes aspirin daily."]


@pytest.fixture
def no_model(monkeypatch):
    """load() fails loudly: a test using this proves its error came before any model was loaded."""
    import nlu_lite.pipeline._load

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the input, output and cache were checked")

    monkeypatch.setattr(nlu_lite.pipeline._load, "load", refuse)


def _one_error_line(err: str, code: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nlu-lite: error: [{code}] "), err
    return lines[0]


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# ---- 1. CSV delimiters -------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_cli_csv_delimiter_is_detected_and_only_the_text_is_embedded(tiny_cased_dir, tmp_path, delimiter):
    source, out = tmp_path / "notes.csv", tmp_path / "out.jsonl"
    source.write_text(f"note_id{delimiter}text\n" + "".join(f"{k}{delimiter}{t}\n" for k, t in enumerate(NOTES, 1)))
    frame = inputs.read_input(source)
    assert list(frame.columns) == ["note_id", "text"] and frame["note_id"].tolist() == [1, 2]
    assert main(["predict", "--input", str(source), "--id-column", "note_id", "--model", str(tiny_cased_dir),
                 "--level", "document", "--output", str(out)]) == 0
    rows = _rows(out.read_text("utf-8"))
    assert [r["document"] for r in rows] == NOTES and [r["note_id"] for r in rows] == [1, 2]


@pytest.mark.parametrize("text,suggested,never", [
    ("id,note\n1,Chest pain.\n2,Fever.\n", "note", "id"),  # the integer id column is not a text column
    ("note_id;text\n1;Chest pain.\n", "text", "note_id"),  # read with its delimiter: the header is two columns
    ("id|body|ward\n1|Chest pain.|4\n2|Fever.|5\n", "body", "ward"),
])
def test_cli_missing_text_column_suggests_only_string_columns(tmp_path, no_model, capsys, text, suggested, never):
    source = tmp_path / "notes.csv"
    source.write_text(text)
    assert main(["predict", "--input", str(source), "--text-column", "report"]) == 1
    line = _one_error_line(capsys.readouterr().err, "E112")
    assert f"--text-column {suggested}." in line and f"--text-column {never}" not in line
    assert ";" not in line.split("--text-column")[-1]


@pytest.mark.parametrize("text", ["id,count\n1,4\n2,5\n"])
def test_cli_missing_text_column_without_any_string_column_says_so(tmp_path, no_model, capsys, text):
    source = tmp_path / "notes.csv"
    source.write_text(text)
    assert main(["predict", "--input", str(source)]) == 1
    line = _one_error_line(capsys.readouterr().err, "E112")
    assert "none of them holds text" in line and "--text-column id" not in line


# ---- 2. standard input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Chest pain.\nNo fever.\n"])
def test_cli_dash_text_reads_stdin_as_one_text(tiny_cased, tiny_cased_dir, monkeypatch, capsys, text):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["predict", "-", "--model", str(tiny_cased_dir), "--level", "document"]) == 0
    rows = _rows(capsys.readouterr().out)
    expected = tiny_cased.predict(text, output_level="document")
    assert [r["document"] for r in rows] == expected["document"].tolist() == [text.strip()]
    assert rows[0][COLUMN] == expected[COLUMN].iloc[0].tolist()


@pytest.mark.parametrize("data", ["\ufeffChest pain.\r\nNo fever.\r\n".encode()])
def test_cli_dash_text_reads_stdin_bytes_exactly_in_a_subprocess(tiny_cased_dir, data):
    proc = subprocess.run([sys.executable, "-m", "nlu_lite", "predict", "-", "--model", str(tiny_cased_dir),
                           "--level", "sentence", "--positions"], input=data, capture_output=True, env=ENV, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    text = data.decode("utf-8-sig")  # the byte order mark dropped, every \r kept
    rows = _rows(proc.stdout.decode("utf-8"))
    assert [r["sentence"] for r in rows] == ["Chest pain.", "No fever."]
    assert all(text[r["begin"]:r["end"]] == r["sentence"] for r in rows)


@pytest.mark.parametrize("data,code", [(b"", "E103"), ("fi\u00e8vre".encode("latin-1"), "E100")])
def test_cli_dash_text_empty_or_not_utf8_stdin_is_one_line(no_model, monkeypatch, capsys, data, code):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["predict", "-"]) == 1
    assert "standard input" in _one_error_line(capsys.readouterr().err, code).lower()


@pytest.mark.parametrize("argv", [["predict", "--input", "-"]])
def test_cli_input_dash_is_refused_with_the_fix(no_model, capsys, argv):
    assert main(argv) == 1
    line = _one_error_line(capsys.readouterr().err, "E128")
    assert "nlu-lite predict -" in line


# ---- 3. SIGTERM during a write ---------------------------------------------------------------------------

_SLOW_WRITE = """
import sys, time
from nlu_lite.cli import _outputs
from nlu_lite.cli._main import main

real = _outputs._JsonlSink.write
def slow(self, frame):
    real(self, frame)
    print("writing", file=sys.stderr, flush=True)
    time.sleep(60)
_outputs._JsonlSink.write = slow
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("previous", [b"the previous results", None])
def test_cli_sigterm_mid_write_leaves_no_temporary_and_keeps_previous_file(tiny_cased_dir, tmp_path, previous):
    source, out = tmp_path / "notes.csv", tmp_path / "vectors.jsonl"
    pd.DataFrame({"text": NOTES * 300}).to_csv(source, index=False)  # 600 rows: more than one chunk
    if previous is not None:
        out.write_bytes(previous)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITE, "predict", "--input", str(source), "--model",
                             str(tiny_cased_dir), "--level", "document", "--output", str(out)],
                            stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    try:
        assert proc.stderr.readline() == b"writing\n"
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # mid-write: the temporary is there
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
    finally:
        proc.kill()
        proc.stderr.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["notes.csv"] + [out.name] * (previous is not None))
    if previous is not None:
        assert out.read_bytes() == previous


def test_outputs_sigterm_handler_is_restored_after_the_write(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    frame = pd.DataFrame({"text": ["a"], COLUMN: [None]})
    outputs.write_output([frame], tmp_path / "v.jsonl", (COLUMN,), 32)
    assert signal.getsignal(signal.SIGTERM) is before


# ---- 4. a full stdout, an unwritable cache ----------------------------------------------------------------

@pytest.mark.parametrize("argv", [["predict", "Chest pain.", "--model", "{model}"], ["catalog"], ["info", "minilm"]])
def test_cli_full_stdout_is_one_line(tiny_cased_dir, argv):
    argv = [a.replace("{model}", str(tiny_cased_dir)) for a in argv]
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "nlu_lite", *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=ENV, cwd=ROOT)
    assert proc.returncode == 1
    assert "No space left on device" in _one_error_line(proc.stderr, "E129")


@pytest.mark.parametrize("cache,code", [("/proc/v.sqlite", "E130"), ("{file}/sub/v.sqlite", "E131"),
                                        ("{file}/v.sqlite", "E131")])
def test_cli_unusable_cache_is_one_line_before_the_model_loads(tmp_path, no_model, capsys, cache, code):
    file = tmp_path / "file.txt"
    file.write_text("not a folder")
    assert main(["predict", "Chest pain.", "--cache", cache.replace("{file}", str(file))]) == 1
    line = _one_error_line(capsys.readouterr().err, code)
    assert "mkdir" not in line or code != "E131"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a folder of mode 0o500")
@pytest.mark.parametrize("mode", [0o500])
def test_cli_cache_in_read_only_folder_is_one_line_before_the_model_loads(tmp_path, no_model, capsys, mode):
    folder = tmp_path / "ro"
    folder.mkdir(mode=mode)
    try:
        assert main(["predict", "Chest pain.", "--cache", str(folder / "v.sqlite")]) == 1
    finally:
        folder.chmod(0o700)
    _one_error_line(capsys.readouterr().err, "E130")


# ---- 5. outputs written chunk by chunk ------------------------------------------------------------------

@pytest.fixture(scope="module")
def six_hundred(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("chunks") / "notes.csv"
    words = ["Patient denies chest pain.", "Takes aspirin daily. No fever.", "", "BP 120/80, HR 70."]
    pd.DataFrame({"note_id": [f"n{k}" for k in range(600)], "text": [words[k % 4] for k in range(600)],
                  "ward": [k % 7 for k in range(600)]}).to_csv(source, index=False)
    return source


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet", "stdout"])
@pytest.mark.parametrize("id_column", [None, "note_id"])
def test_cli_output_written_per_chunk_equals_the_whole_frame_output(tiny_cased_dir, six_hundred, tmp_path,
                                                                    monkeypatch, capsys, suffix, id_column):
    frame = inputs.read_input(six_hundred)
    pipe = nlu_lite.load(str(tiny_cased_dir))
    whole = pipe.predict(frame, output_level="sentence", positions=True, id_column=id_column, progress=False)
    expected, out = tmp_path / f"expected{suffix}", tmp_path / f"out{suffix}"
    sink = outputs._JsonlSink if suffix == "stdout" else outputs._SINKS[suffix]
    outputs.write_output([whole], sys.stdout if suffix == "stdout" else expected, (COLUMN,), 32)  # the whole frame
    expected_stdout = capsys.readouterr().out
    written = []
    real = sink.write
    monkeypatch.setattr(sink, "write", lambda self, part: written.append(len(part)) or real(self, part))
    argv = ["predict", "--input", str(six_hundred), "--model", str(tiny_cased_dir), "--level", "sentence",
            "--positions"] + (["--id-column", id_column] if id_column else [])
    assert main(argv + ([] if suffix == "stdout" else ["--output", str(out)])) == 0
    assert len(written) == 3 and sum(written) == len(whole)  # 600 rows: chunks of 256, 256 and 88 input rows
    if suffix == "stdout":
        assert capsys.readouterr().out == expected_stdout
    elif suffix == ".parquet":
        back, reference = nlu_lite.provenance.read_parquet(out), nlu_lite.provenance.read_parquet(expected)
        pd.testing.assert_frame_equal(back.drop(columns=[COLUMN]), reference.drop(columns=[COLUMN]))
        assert [None if v is None else v.tolist() for v in back[COLUMN]] == [
            None if v is None else v.tolist() for v in reference[COLUMN]]
        assert back.attrs == reference.attrs and back.attrs["nlu_lite"]["model"]
        import pyarrow.parquet as pq

        assert pq.ParquetFile(out).num_row_groups == 3
    else:
        assert out.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize("rows", [[{"text": "Chest pain."}] * 300 + [{"text": "Fever.", "codes": [1, 2]}]])
def test_cli_parquet_column_empty_in_the_first_chunk_keeps_one_schema(tiny_cased_dir, tmp_path, rows):
    source, out = tmp_path / "notes.jsonl", tmp_path / "out.parquet"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["predict", "--input", str(source), "--model", str(tiny_cased_dir), "--level", "document",
                 "--output", str(out)]) == 0
    back = nlu_lite.provenance.read_parquet(out)
    assert len(back) == len(rows) and list(back["codes"].iloc[-1]) == [1, 2] and back["codes"].iloc[0] is None
