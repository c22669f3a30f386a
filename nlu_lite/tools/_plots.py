"""Pictures of embeddings: a 2-D map, a similarity heatmap and a model comparison, as matplotlib Figures
(``pip install matplotlib``)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, InvalidOptionError
from ..pipeline._frames import to_numpy

METHODS = ("pca", "tsne", "umap")


def _new_axes(size: tuple[float, float], ncols: int = 1):
    """A Figure outside pyplot's global state: shown once in notebooks, nothing to close, works headless; with
    ``ncols`` > 1, its row of Axes."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("Plots need matplotlib: pip install 'nlu-lite[viz]' (or pip install matplotlib).") from e

    class NotebookFigure(Figure):
        def _repr_png_(self) -> bytes:  # Jupyter shows the returned Figure as a picture
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    fig = NotebookFigure(figsize=size)
    return fig, (fig.add_subplot() if ncols == 1 else fig.subplots(1, ncols))


def _project(vectors: np.ndarray, method: str) -> np.ndarray:
    if method == "pca":
        centered = vectors - vectors.mean(0)
        _, _, vt = np.linalg.svd(centered, full_matrices=False)
        coords = centered @ vt[:2].T
        return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))  # fewer than 2 rows/dims: pad with zeros
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError as e:
            raise ImportError("method='tsne' needs scikit-learn: pip install scikit-learn") from e
        return TSNE(n_components=2, perplexity=min(30.0, max(1.0, len(vectors) - 1.0)), random_state=0,
                    init="pca").fit_transform(vectors)
    if method == "umap":
        try:
            import umap
        except ImportError as e:
            raise ImportError("method='umap' needs umap-learn: pip install umap-learn") from e
        return umap.UMAP(n_components=2, random_state=0).fit_transform(vectors)
    raise InvalidOptionError("E047", f"method={method!r} is not one of {list(METHODS)}.")


def plot_embeddings(frame: pd.DataFrame, color: str | None = None, label: str | None = None, method: str = "pca",
                    column: str | None = None, title: str | None = None, ax=None):
    """Draw the rows of a predict() DataFrame as points on a 2-D projection of their vectors.

    Args:
        frame: output of ``predict`` at any level; rows with null or NaN vectors are left out.
        color: a column whose values colour the points (one legend entry per value).
        label: a column whose values are written beside the points (e.g. ``"token"``).
        method: ``"pca"`` (default), ``"tsne"`` (scikit-learn) or ``"umap"`` (umap-learn).
        column: the embedding column, if the frame has several.
        ax: a matplotlib Axes to draw on; default: a new Figure.

    Returns:
        The matplotlib Figure (``fig.savefig("map.png")`` works headless).
    """
    for name in (color, label):
        if name is not None and name not in frame.columns:
            raise InvalidInputError(
                "E048", f"Column {name!r} is not in the DataFrame; its columns are {list(frame.columns)}.")
    vectors = to_numpy(frame, column)
    keep = np.isfinite(vectors).all(axis=1) & (vectors.shape[1] > 0)
    if keep.sum() < 2:
        raise InvalidInputError("E049", f"plot_embeddings needs at least 2 rows with vectors, got {int(keep.sum())}.")
    rows = frame[keep]
    coords = _project(vectors[keep], method)
    if ax is None:
        fig, ax = _new_axes((7, 5.5))
    else:
        fig = ax.figure
    if color is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=18, alpha=0.8)
    else:
        values = rows[color].astype(str).to_numpy()
        for value in dict.fromkeys(values):
            mine = values == value
            ax.scatter(coords[mine, 0], coords[mine, 1], s=18, alpha=0.8, label=value)
        ax.legend(fontsize=8, loc="best", title=color)
    if label is not None:
        for (x, y), text in zip(coords, rows[label].astype(str)):
            ax.annotate(text[:30], (x, y), fontsize=7, alpha=0.8, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"{method.upper()} 1")
    ax.set_ylabel(f"{method.upper()} 2")
    ax.set_title(title or f"{len(rows)} vectors, {method.upper()} projection")
    fig.tight_layout()
    return fig


def plot_similarity(frame: pd.DataFrame, label: str | None = None, column: str | None = None,
                    title: str | None = None, ax=None):
    """Heatmap of cosine similarities between the rows of a predict() DataFrame; returns the Figure."""
    vectors = to_numpy(frame, column)
    keep = np.isfinite(vectors).all(axis=1) & (vectors.shape[1] > 0)
    if keep.sum() < 1:
        raise InvalidInputError("E050", "plot_similarity needs at least 1 row with a vector.")
    unit = vectors[keep] / np.maximum(np.linalg.norm(vectors[keep], axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    if ax is None:
        size = min(12.0, 3.0 + 0.35 * len(unit))
        fig, ax = _new_axes((size + 1.5, size))
    else:
        fig = ax.figure
    image = ax.imshow(similarity, vmin=-1, vmax=1, cmap="RdBu_r")
    fig.colorbar(image, ax=ax, label="cosine similarity")
    if label is not None:
        names = [str(t)[:40] for t in frame[keep][label]]
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_title(title or "Cosine similarity")
    fig.tight_layout()
    return fig


def plot_compare(table: pd.DataFrame, title: str | None = None):
    """Draw a ``nlu_lite.compare()`` table: each model's scores (left) beside its wordpieces per second (right).

    Returns the matplotlib Figure; the labels on the left give each model's vector width.
    """
    settings = table.attrs.get("compare") if isinstance(table, pd.DataFrame) else None
    if not settings or not len(table):
        raise InvalidInputError("E513", "plot_compare() draws the table nlu_lite.compare() returns (it carries "
                                f"attrs['compare']); got {type(table).__name__} without it. Pass compare()'s "
                                "result unchanged, or a slice of its rows (df.loc[['a', 'b']]).")
    scores = [c for c in table.columns if c.endswith(("_accuracy", "_macro_f1")) or c in ("silhouette", "mrr")
              or c.startswith("recall@")]
    names = [f"{model} ({int(dim)}-d)" for model, dim in zip(table.index, table["dim"])]
    fig, (left, right) = _new_axes((11, 1.6 + 0.45 * len(table) * max(1, len(scores)) ** 0.5), ncols=2)
    height = 0.8 / max(1, len(scores))
    rows = np.arange(len(table))
    for k, column in enumerate(scores):
        left.barh(rows + (k - (len(scores) - 1) / 2) * height, table[column], height=height, label=column)
    left.set_yticks(rows, names, fontsize=8)
    left.invert_yaxis()
    left.axvline(0, color="black", linewidth=0.6)
    left.set_xlabel("score (higher is better)")
    left.legend(fontsize=7, loc="best")
    left.set_title(title or f"{settings['task']} on {int(table['rows'].iloc[0])} texts, {settings['level']} level")
    right.barh(rows, table["wordpieces_per_s"], color="grey")
    right.set_yticks(rows, [""] * len(rows))
    right.invert_yaxis()
    right.set_xlabel("wordpieces per second (this machine)")
    right.set_title("speed")
    fig.tight_layout()
    return fig
