"""The packaged sample notes (issue 23, item 16) and the newcomer path they make work from a clone with no data:
``nlu_lite.sample_notes()``, installed as package data, separating specialties on MiniLM vectors; the CLI help's
examples and ``docs/make_figures.py`` run from a folder with no ``../shared`` beside it (the notebook:
tests/test_cli_and_bundles.py; the README and docs/ blocks: tests/test_readme.py)."""

from __future__ import annotations

import json
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml

import nlu_lite
from nlu_lite.cli._main import EPILOG, main

ROOT = Path(__file__).resolve().parents[1]
SPECIALTIES = {"cardiology", "pulmonology", "gastroenterology", "orthopedics", "neurology"}


def test_sample_notes_shape_columns_and_licence():
    notes = nlu_lite.sample_notes()
    assert list(notes.columns) == ["note_id", "specialty", "text"]
    assert notes["note_id"].tolist() == list(range(1, 81)) and str(notes["note_id"].dtype) == "int64"
    assert notes["specialty"].value_counts().to_dict() == dict.fromkeys(SPECIALTIES, 16)
    assert notes["text"].is_unique and all(text == text.strip() for text in notes["text"])
    words = notes["text"].str.split().str.len()
    assert words.min() >= 25 and words.max() <= 120, words.describe()       # short notes, none empty
    headers = notes["text"].str.count(r"(?m)^[A-Z][A-Z0-9 /&'-]+:")
    assert (headers >= 2).all(), notes.loc[headers < 2, "note_id"].tolist()   # one section header per line
    assert notes["text"].str.contains(r"\b(?:denies|[Nn]o)\b").sum() >= 20   # negations to try assertion on
    data = yaml.safe_load(resources.files("nlu_lite.samples").joinpath("notes.yaml").read_text("utf-8"))
    assert "Synthetic notes written for nlu_lite" in data["licence"] and "Apache-2.0" in data["licence"]
    assert "Apache-2.0" in nlu_lite.sample_notes.__doc__
    notes.loc[0, "text"] = "changed"                                           # a new frame on every call
    assert nlu_lite.sample_notes().loc[0, "text"].startswith("CC: Chest pressure")


def test_sample_notes_are_package_data_in_the_wheel(tmp_path):
    """A wheel built from the project files carries notes.yaml beside the accessor, byte for byte."""
    pytest.importorskip("setuptools", reason="building a wheel needs setuptools (pip's build backend)")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "nlu_lite", source / "nlu_lite", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path / "wheel")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("nlu_lite/samples/notes.yaml") == (ROOT / "nlu_lite" / "samples" / "notes.yaml").read_bytes()
        assert "nlu_lite/samples/_notes.py" in z.namelist()


@pytest.mark.slow
def test_sample_notes_separate_specialties_on_minilm_vectors(minilm_dir):
    """The README's scikit-learn example on the samples: 5-fold logistic regression on MiniLM document vectors
    is far above chance (0.2; majority class 0.2), and so is 5-nearest-neighbour cosine voting."""
    pytest.importorskip("sklearn", reason="pip install scikit-learn (the [sklearn] extra)")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    notes = nlu_lite.sample_notes()
    X = nlu_lite.EmbeddingTransformer().fit_transform(notes["text"])
    assert X.shape == (80, 384) and np.isfinite(X).all()
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    logistic = cross_val_score(LogisticRegression(max_iter=1000), X, notes["specialty"], cv=folds)
    assert logistic.mean() >= 0.8 and logistic.min() >= 0.6, logistic          # measured 0.925 (0.875 to 1.0)
    knn = cross_val_predict(KNeighborsClassifier(5, metric="cosine"), X, notes["specialty"], cv=folds)
    per_class = {s: float((knn[notes["specialty"] == s] == s).mean()) for s in SPECIALTIES}
    assert min(per_class.values()) >= 0.5, per_class                           # every specialty, not only most


def _help_examples() -> list[list[str]]:
    """The command lines of the predict help's examples: continuation lines joined, comments (after 3 or more
    spaces) cut."""
    lines = EPILOG.split("\n\n")[0].splitlines()[1:]
    commands, current = [], ""
    for line in lines:
        current += " " + line.strip()
        if current.endswith("\\"):
            current = current[:-1]
            continue
        commands.append(re.split(r"\s{3,}", current.strip())[0])
        current = ""
    return [shlex.split(command) for command in commands]


@pytest.mark.slow
def test_cli_help_examples_run_in_an_empty_folder(tmp_path, monkeypatch, minilm):
    """Every example of `nlu-lite predict --help` runs as written in an empty folder (no ../shared), the one that
    downloads excepted; notes.csv comes from the first example, and its vectors equal predict()'s."""
    examples = _help_examples()
    assert examples[0][:2] == ["python", "-c"] and len(examples) >= 8
    monkeypatch.chdir(tmp_path)
    ran = []
    for argv in examples:
        if argv[:2] == ["nlu-lite", "download"]:
            continue                                                          # needs network: said in the help
        if argv[:3] == ["nlu-lite", "predict", "--input"] and "openvino" in argv:
            pytest.importorskip("openvino", reason="pip install 'nlu-lite[openvino]'")
        if argv[0] == "python":
            out = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
            notes = nlu_lite.sample_notes()
            assert (tmp_path / "notes.csv").read_text("utf-8") == notes.to_csv(index=False)
            notes.iloc[::10].to_csv("notes.csv", index=False)                 # 8 notes, one in ten: keep it short
        else:
            assert main(argv[1:]) == 0, argv
        ran.append(argv[1])
    assert ran.count("predict") == 5 and {"catalog", "search", "info"} <= set(ran)

    notes = nlu_lite.sample_notes().iloc[::10].set_index("note_id")
    sentences = nlu_lite.provenance.read_parquet("vectors.parquet")
    expected = minilm.predict(notes, output_level="sentence", progress=False)
    assert sentences["note_id"].tolist() == expected.index.tolist()                          # the ids kept
    assert sentences["sentence"].tolist() == expected["sentence"].tolist()
    np.testing.assert_allclose(np.stack(sentences[minilm.column_name].to_list()),
                               np.stack(expected[minilm.column_name].to_list()), atol=1e-5)
    tokens = [json.loads(line) for line in Path("tokens.jsonl").read_text("utf-8").splitlines()]
    texts = notes["text"].tolist()
    assert len({t["origin_index"] for t in tokens}) == len(texts) and len(tokens) > 500
    assert all(texts[t["origin_index"]][t["begin"]:t["end"]] == t["token"] for t in tokens)
    documents = nlu_lite.provenance.read_parquet("docs.parquet")
    assert len(documents) == len(texts) and all(v.shape == (384,) for v in documents[minilm.column_name])


@pytest.mark.slow
def test_make_figures_runs_from_a_clone_without_shared_data(tmp_path, minilm_dir):
    """docs/make_figures.py, copied into a clone-like folder with no ../shared, draws the README picture from the
    packaged samples."""
    matplotlib = pytest.importorskip("matplotlib", reason="pip install matplotlib (the [viz] extra)")
    matplotlib.use("Agg")
    import matplotlib.image

    docs = tmp_path / "clone" / "docs"
    docs.mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "make_figures.py", docs)
    assert not (tmp_path / "shared").exists()
    runpy.run_path(str(docs / "make_figures.py"), run_name="__main__")
    picture = matplotlib.image.imread(docs / "embedding_map.png")
    assert picture.shape[:2] == (495, 630) and picture[..., :3].std() > 0.05   # drawn, not blank
