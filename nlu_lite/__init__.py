"""nlu_lite: transformer embeddings of (clinical) text as pandas DataFrames, in one line.

>>> import nlu_lite
>>> pipe = nlu_lite.load("en.embed_sentence.all_minilm_l6_v2")       # doctest: +SKIP
>>> df = pipe.predict("Patient denies chest pain.", output_level="token")  # doctest: +SKIP
"""

from . import errors
from .about import __version__
from .exports import to_numpy
from .loading import load
from .model_catalog import catalog, search
from .pipeline import NoWordpieceWarning, Pipeline
from .plots import plot_embeddings, plot_similarity

__all__ = ["__version__", "load", "catalog", "search", "Pipeline", "NoWordpieceWarning", "errors", "to_numpy",
           "plot_embeddings", "plot_similarity"]
