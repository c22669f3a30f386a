"""From vectors to answers, over ``predict()`` frames: one module per tool.

- ``_vectors``: matrices, wide frames and group means (``to_numpy``, ``to_wide``, ``aggregate``, ``embed``);
- ``_similarity``: cosine matrices and blocked top-k search (``similarity``, ``nearest``);
- ``_quantize``: int8/uint8/binary codes of vectors, as sentence-transformers makes them (``quantize``);
- ``_index``: a FAISS index built once, saved and searched like ``nearest`` (``index``, ``VectorIndex``);
- ``_compare``: models side by side on the user's texts: classification or retrieval scores and costs (``compare``);
- ``_plots``: 2-D maps, similarity heat maps and comparison charts (matplotlib);
- ``_sklearn``: ``EmbeddingTransformer`` for scikit-learn pipelines;
- ``_spark``: the same ``predict`` (one model or several) on a Spark DataFrame, classic or Spark Connect, computed
  on the executors, the model shipped with the job where they cannot read it.
"""
