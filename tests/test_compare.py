"""compare(): its scores equal a computation by hand (numpy) on the same vectors and folds, for tiny models of two
families and the packaged MiniLM; every row is scored, each model loads once, bad inputs fail with E500-E513."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from families import build
from shared_data import shared_path

import nlu_lite
from nlu_lite.errors import InvalidInputError, InvalidOptionError

pytest.importorskip("sklearn", reason="compare() needs scikit-learn (the [sklearn] extra)")

SUBJECTS = ["Patient reports", "She denies", "He describes", "The family notes"]
FINDINGS = {"cardiac": ["chest pain on exertion", "palpitations at night", "an irregular heartbeat", "ankle edema"],
            "respiratory": ["a productive cough", "wheezing and dyspnea", "shortness of breath"],
            "digestive": ["abdominal pain after meals", "nausea and vomiting", "dark stools"]}
TEXTS = [f"{s} {f}." for s in SUBJECTS for fs in FINDINGS.values() for f in fs]  # 40 distinct texts, classes 16/12/12
LABELS = [c for _ in SUBJECTS for c, fs in FINDINGS.items() for _ in fs]


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory, tiny_cased_dir):
    """Two families: the session's tiny BERT (WordPiece) and a tiny RoBERTa (byte-level BPE)."""
    return {"bert": tiny_cased_dir, "roberta": build("roberta", tmp_path_factory.mktemp("compare_models") / "roberta")}


@pytest.fixture
def captured(monkeypatch):
    """The vectors compare() scored, by row name: the hand computations score the very same vectors (a rerun's
    differ by ~1e-7 with another thread count, enough to swap near-tied neighbours), and each test checks them
    against the model's own ``embed``."""
    from nlu_lite.tools import _compare

    seen = {}
    real = _compare._vectors_of

    def capture(label, pipe, texts, queries, level, result):
        seen[label] = real(label, pipe, texts, queries, level, result)
        return seen[label]

    monkeypatch.setattr(_compare, "_vectors_of", capture)
    return seen


def same_vectors(scored, pipe, texts):
    np.testing.assert_allclose(scored, pipe.embed(texts), atol=1e-5)
    return scored


# ---- the hand computations ---------------------------------------------------------------------------------------

def folds_by_hand(labels, folds=5, seed=0):
    from sklearn.model_selection import StratifiedKFold

    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(labels, labels))
    tested = np.sort(np.concatenate([test for _, test in splits]))
    assert tested.tolist() == list(range(len(labels)))  # every row is tested exactly once
    return splits


def cosine_distances(a, b):
    a = a.astype(np.float64) / np.linalg.norm(a, axis=1, keepdims=True)
    b = b.astype(np.float64) / np.linalg.norm(b, axis=1, keepdims=True)
    return 1.0 - a @ b.T


def knn_by_hand(X, y, splits, k):
    predicted = np.empty(len(y), dtype=object)
    for train, test in splits:
        nearest = np.argsort(cosine_distances(X[test], X[train]), axis=1, kind="stable")[:, :k]
        for row, neighbours in zip(test, nearest):
            votes = Counter(y[train][neighbours])
            top = max(votes.values())
            predicted[row] = min(c for c, v in votes.items() if v == top)  # ties: the smallest label, as sklearn
    return predicted


def macro_f1_by_hand(y, predicted):
    scores = []
    for c in sorted(set(y) | set(predicted)):
        tp = np.sum((predicted == c) & (y == c))
        fp = np.sum((predicted == c) & (y != c))
        fn = np.sum((predicted != c) & (y == c))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def silhouette_by_hand(X, y):
    d = np.clip(cosine_distances(X, X), 0, 2)
    np.fill_diagonal(d, 0)
    values = []
    for i in range(len(y)):
        own = (y == y[i])
        if own.sum() == 1:
            values.append(0.0)
            continue
        a = d[i, own].sum() / (own.sum() - 1)
        b = min(d[i, y == c].mean() for c in set(y) if c != y[i])
        values.append((b - a) / max(a, b))
    return float(np.mean(values))


def logreg_by_hand(X, y, splits):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    predicted = np.empty(len(y), dtype=object)
    for train, test in splits:
        scaler = StandardScaler().fit(X[train])
        model = LogisticRegression(max_iter=2000, random_state=0).fit(scaler.transform(X[train]), y[train])
        predicted[test] = model.predict(scaler.transform(X[test]))
    return predicted


def ranks_by_hand(corpus, queries, relevant):
    order = np.argsort(cosine_distances(queries, corpus), axis=1, kind="stable")
    return [np.array([int(np.flatnonzero(row == p)[0]) + 1 for p in np.atleast_1d(r)])
            for row, r in zip(order, relevant)]


def check_classification(row, X, y, splits, k=5):
    knn = knn_by_hand(X, y, splits, k)
    assert row["knn_accuracy"] == pytest.approx(np.mean(knn == y), abs=1e-12)
    assert row["knn_macro_f1"] == pytest.approx(macro_f1_by_hand(y, knn), abs=1e-12)
    logreg = logreg_by_hand(X, y, splits)
    assert row["logreg_accuracy"] == pytest.approx(np.mean(logreg == y), abs=1e-12)
    assert row["logreg_macro_f1"] == pytest.approx(macro_f1_by_hand(y, logreg), abs=1e-12)
    assert row["silhouette"] == pytest.approx(silhouette_by_hand(X, y), abs=1e-5)
    assert row["rows"] == len(y) and row["dim"] == X.shape[1]


# ---- classification ----------------------------------------------------------------------------------------------

def test_classification_equals_hand_computation_on_two_families(family_dirs, monkeypatch, captured):
    from nlu_lite.pipeline import _load

    loads = Counter()
    real_load = _load.load

    def counting_load(name=None, **options):
        loads[str(name)] += 1
        return real_load(name, **options)

    monkeypatch.setattr(_load, "load", counting_load)
    folders = [str(f) for f in family_dirs.values()]
    df = nlu_lite.compare(" ".join(folders), TEXTS, labels=LABELS)
    assert loads == Counter({f: 1 for f in folders})  # each model loaded once, by compare
    assert list(df.index) == [f.name for f in family_dirs.values()] and (df["level"] == "document").all()
    y = np.array(LABELS, dtype=object)
    splits = folds_by_hand(y)
    for folder, (name, row) in zip(folders, df.iterrows()):
        pipe = real_load(folder)
        check_classification(row, same_vectors(captured[name][0], pipe, TEXTS), y, splits)
        tokens = pipe.encoder.tokenizer(TEXTS)["input_ids"]
        assert row["wordpieces"] == sum(map(len, tokens))  # specials included, every text once
        assert row["seconds"] > 0 and row["wordpieces_per_s"] == pytest.approx(row["wordpieces"] / row["seconds"])
        assert row["load_s"] > 0 and row["peak_rss_mb"] >= 0
    assert df.attrs["compare"] == {"task": "classification", "metrics": ["knn", "logreg", "silhouette"],
                                   "level": "document", "folds": 5, "k": 5, "seed": 0}


def test_configurations_by_name_and_loaded_pipelines(family_dirs, tiny_cased, captured):
    folder = str(family_dirs["bert"])
    frame = pd.DataFrame({"note": TEXTS, "specialty": LABELS})
    df = nlu_lite.compare({"mean": folder, "small": {"model": folder, "truncate_dim": 8}, "given": tiny_cased},
                          frame, labels="specialty", text_column="note", metrics=["knn"], folds=4, k=3, seed=7)
    assert list(df.index) == ["mean", "small", "given"]
    assert "logreg_accuracy" not in df and "silhouette" not in df
    assert np.isnan(df.loc["given", "load_s"]) and df.loc["small", "load_s"] > 0
    y = np.array(LABELS, dtype=object)
    splits = folds_by_hand(y, folds=4, seed=7)
    pipes = {"mean": nlu_lite.load(folder), "small": nlu_lite.load(folder, truncate_dim=8), "given": tiny_cased}
    for name, pipe in pipes.items():
        knn = knn_by_hand(same_vectors(captured[name][0], pipe, TEXTS), y, splits, 3)
        assert df.loc[name, "knn_accuracy"] == pytest.approx(np.mean(knn == y), abs=1e-12)
        assert df.loc[name, "knn_macro_f1"] == pytest.approx(macro_f1_by_hand(y, knn), abs=1e-12)
    assert df.loc["small", "dim"] == 8 and df.loc["mean", "dim"] == 32  # the configuration applied


def test_sentence_level_is_the_mean_of_each_texts_sentences(tiny_cased, captured):
    texts = [f"{a} {b}" for a, b in zip(TEXTS, TEXTS[5:] + TEXTS[:5])]  # two sentences per text
    df = nlu_lite.compare(tiny_cased, texts, labels=LABELS, level="sentence", metrics=["knn", "silhouette"])
    frame = tiny_cased.predict(texts, output_level="sentence")
    assert frame.groupby(level=0).size().eq(2).all()
    means = np.stack([np.mean(np.stack(group.to_list()), axis=0)
                      for _, group in frame[tiny_cased.column_name].groupby(level=0)])
    assert df.loc[:, "level"].item() == "sentence"
    np.testing.assert_allclose(captured[df.index[0]][0], means, atol=1e-5)
    means = captured[df.index[0]][0]
    y = np.array(LABELS, dtype=object)
    assert df["silhouette"].item() == pytest.approx(silhouette_by_hand(means, y), abs=1e-5)
    knn = knn_by_hand(means, y, folds_by_hand(y), 5)
    assert df["knn_macro_f1"].item() == pytest.approx(macro_f1_by_hand(y, knn), abs=1e-12)
    document = nlu_lite.compare(tiny_cased, texts, labels=LABELS, metrics=["silhouette"])
    assert document["silhouette"].item() != pytest.approx(df["silhouette"].item(), abs=1e-4)


def negex_labelled(n: int) -> tuple[list[str], list[str]]:
    """``n`` distinct NegEx sentences with their Affirmed/Negated label."""
    texts, labels, seen = [], [], set()
    with shared_path("negex/Annotations-1-120.txt").open(encoding="utf-8", errors="replace") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) >= 4 and row[3] in ("Affirmed", "Negated") and " ".join(row[2].lower().split()) not in seen \
                    and len(row[2]) < 250:
                seen.add(" ".join(row[2].lower().split()))  # MiniLM is uncased and blind to spacing
                texts.append(row[2].strip())
                labels.append(row[3])
            if len(texts) == n:
                break
    return texts, labels


def test_minilm_on_real_negation_labels_equals_hand_computation(minilm, captured):
    texts, labels = negex_labelled(200)
    assert len(texts) == 200 and set(labels) == {"Affirmed", "Negated"}
    df = nlu_lite.compare(minilm, texts, labels=labels)
    y = np.array(labels, dtype=object)
    check_classification(df.iloc[0], same_vectors(captured[df.index[0]][0], minilm, texts), y, folds_by_hand(y))
    assert df["dim"].item() == 384 and df["rows"].item() == 200


# ---- retrieval ---------------------------------------------------------------------------------------------------

QUERIES = ["medicine for high blood pressure", "trouble breathing", "blood sugar control", "broken bone in the arm",
           "kidney function", "skin rash", "heart rhythm problem", "low mood and sleep problems"]
CORPUS = ["Lisinopril 10 mg daily for hypertension.", "Dyspnea on exertion, using albuterol inhaler.",
          "Hemoglobin A1c 8.2 on metformin.", "Fracture of the left radius, cast applied.",
          "Creatinine 1.9, estimated GFR 35.", "Erythematous maculopapular eruption on the trunk.",
          "Atrial fibrillation with rapid ventricular response.", "Depressed mood and insomnia for two months.",
          "Amlodipine was added for blood pressure.", "Appendectomy in 2004.", "No known drug allergies.",
          "Colonoscopy showed two small polyps.", "Tonsillectomy as a child.", "Smokes one pack per day."]
RELEVANT = [[0, 8], 1, 2, 3, 4, 5, 6, 7]


def test_retrieval_equals_brute_force_ranking(minilm, family_dirs, captured):
    pipes = {"minilm": minilm, "bert": nlu_lite.load(str(family_dirs["bert"]))}
    df = nlu_lite.compare(pipes, CORPUS, queries=QUERIES, relevant=RELEVANT, metrics=["recall@1", "recall@3", "mrr"])
    assert list(df.columns[:6]) == ["level", "rows", "queries", "recall@1", "recall@3", "mrr"]
    for name, pipe in pipes.items():
        corpus, queries = captured[name]
        ranks = ranks_by_hand(same_vectors(corpus, pipe, CORPUS), same_vectors(queries, pipe, QUERIES), RELEVANT)
        row = df.loc[name]
        assert row["recall@1"] == pytest.approx(np.mean([np.mean(r <= 1) for r in ranks]), abs=1e-12)
        assert row["recall@3"] == pytest.approx(np.mean([np.mean(r <= 3) for r in ranks]), abs=1e-12)
        assert row["mrr"] == pytest.approx(np.mean([1 / r.min() for r in ranks]), abs=1e-12)
        assert row["rows"] == len(CORPUS) and row["queries"] == len(QUERIES)
    assert df.loc["minilm", "mrr"] > 0.8 > df.loc["bert", "mrr"]  # the real model finds them, the random one does not
    pairs = nlu_lite.compare(minilm, CORPUS, queries=QUERIES)  # no relevant=: query k matches text k
    ranks = ranks_by_hand(*captured[pairs.index[0]], list(range(len(QUERIES))))
    assert pairs["recall@10"].item() == pytest.approx(np.mean([np.mean(r <= 10) for r in ranks]), abs=1e-12)


# ---- costs, plot, errors -----------------------------------------------------------------------------------------

def test_peak_memory_sees_an_allocation():
    from nlu_lite.tools._compare import _peak_rss

    earlier = np.ones(400 * 2**20 // 8)  # a higher peak before the block: not the block's
    del earlier
    result = {}
    with _peak_rss(result):
        block = np.ones(200 * 2**20 // 8)  # 200 MB, touched
        del block
    assert 190 <= result["peak_rss_mb"] < 300


def test_group_and_plot_of_every_model_and_score(tiny_cased, family_dirs):
    from matplotlib.figure import Figure

    group = nlu_lite.load([str(tiny_cased.source.folder), str(family_dirs["roberta"])])  # a PipelineGroup
    df = nlu_lite.compare(group, TEXTS, labels=LABELS)
    assert list(df.index) == [p.entry.name for p in group.pipelines] and df["load_s"].isna().all()
    fig = nlu_lite.plot_compare(df)
    assert isinstance(fig, Figure)
    left, right = fig.axes[:2]
    assert len(left.patches) == 2 * 5 and len(right.patches) == 2  # 5 scores per model; one speed bar each
    assert sorted(round(p.get_width(), 9) for p in right.patches) == sorted(df["wordpieces_per_s"].round(9))
    assert [t.get_text() for t in left.get_yticklabels()] == [f"{m} (32-d)" for m in df.index]
    with pytest.raises(InvalidInputError, match=r"\[E513\]"):
        nlu_lite.plot_compare(pd.DataFrame({"dim": [1]}))


@pytest.mark.parametrize("kwargs,error,code", [
    (dict(labels=LABELS[:-1]), InvalidInputError, "E500"),
    (dict(labels=["x"] * 40), InvalidInputError, "E501"),
    (dict(labels=LABELS, folds=13), InvalidInputError, "E502"),
    (dict(labels=LABELS, metrics=["accuracy"]), InvalidOptionError, "E503"),
    (dict(labels=LABELS, metrics=["mrr"]), InvalidOptionError, "E503"),
    (dict(queries=["chest pain"], metrics=["recall@0"]), InvalidOptionError, "E503"),
    (dict(), InvalidOptionError, "E504"),
    (dict(labels=LABELS, queries=["chest pain"]), InvalidOptionError, "E504"),
    (dict(labels=[None] + LABELS[1:]), InvalidInputError, "E508"),
    (dict(queries=["chest pain"], relevant=[40]), InvalidInputError, "E517"),
    (dict(queries=["chest pain"], relevant=[[]]), InvalidInputError, "E517"),
    (dict(queries=["cough"] * 41), InvalidInputError, "E509"),
    (dict(labels="specialty"), InvalidInputError, "E515"),
    (dict(labels=3), InvalidInputError, "E515"),
    (dict(queries=["chest pain", "cough"], relevant=[0]), InvalidInputError, "E509"),
    (dict(labels=LABELS, level="span"), InvalidOptionError, "E510"),
    (dict(labels=LABELS, k=33), InvalidOptionError, "E519"),
    (dict(labels=LABELS, k=0), InvalidOptionError, "E519"),
    (dict(labels=LABELS, folds=1), InvalidOptionError, "E511"),
])
def test_bad_inputs_fail_before_any_model_loads(kwargs, error, code):
    with pytest.raises(error, match=rf"\[{code}\]"):
        nlu_lite.compare("not-a-model-either", TEXTS, **kwargs)  # the inputs are checked before the model names


def test_bad_texts_and_models(tiny_cased):
    with pytest.raises(InvalidInputError, match=r"\[E507\].*positions \[3\]"):
        nlu_lite.compare(tiny_cased, TEXTS[:3] + [" "] + TEXTS[4:], labels=LABELS)
    with pytest.raises(InvalidInputError, match=r"\[E512\]"):
        nlu_lite.compare(tiny_cased, pd.DataFrame({"note": TEXTS}), labels=LABELS, text_column="text")
    with pytest.raises(InvalidInputError, match=r"\[E515\].*columns are \['text'\]"):
        nlu_lite.compare(tiny_cased, pd.DataFrame({"text": TEXTS}), labels="specialty")
    # at token level a text whose every token has no wordpiece (BEL is removed by the BERT normalizer) has no mean
    with pytest.warns(nlu_lite.NoWordpieceWarning), \
            pytest.raises(InvalidInputError, match=r"\[E516\].*positions \[1, 4\]"):
        nlu_lite.compare(tiny_cased, ["Chest pain.", "\x07 \x07", "No fever."] * 2, labels=["a", "b", "c"] * 2,
                         folds=2, k=1, level="token")
    with pytest.raises(InvalidInputError, match=r"\[E505\]"):
        nlu_lite.compare(tiny_cased, "one text", labels=["a"])
    with pytest.raises(InvalidOptionError, match=r"\[E514\]"):
        nlu_lite.compare([tiny_cased, 3], TEXTS, labels=LABELS)
    with pytest.raises(InvalidOptionError, match=r"\[E518\].*names 2 models"):
        nlu_lite.compare({"both": f"{tiny_cased.source.folder} {tiny_cased.source.folder}"}, TEXTS, labels=LABELS)
    with pytest.raises(InvalidOptionError, match=r"\[E506\].*repeated: \['tiny_cased'\]"):
        nlu_lite.compare([tiny_cased, tiny_cased], TEXTS, labels=LABELS)
    with pytest.raises(nlu_lite.errors.UnknownModelError):
        nlu_lite.compare("not-a-model-either", TEXTS, labels=LABELS)
