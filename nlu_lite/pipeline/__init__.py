"""The pipeline: ``load()`` builds it, ``predict`` runs text through its stages to a DataFrame.

In the order the data flows:

- ``_load``: a name or folder to a rebuild spec (``_spec``) and a ``Pipeline`` (``_pipeline``: Spark dispatch,
  ``save`` (``_bundle``), ``print_info`` (``_info``) over ``_engine``, the stages a Spark executor rebuilds); several
  names (or a ``group.save()`` folder, ``_bundle``) to a ``PipelineGroup`` (``_group``: the text segmented once,
  a vector column per model, pandas or Spark);
- ``_settings``: the options of a call, checked, and what they resolve to (prompt, layers, window, width);
- ``_documents``: input rows (strings, lists, Series, DataFrames) to chunks of texts with their index;
- ``_prefetch``: the next chunk's text side prepared on a worker thread while the current one is encoded;
- (``text/``: tokens, sentences, sections and spans; ``levels/``: which units are encoded, which rows come out)
- ``_batching``: units to wordpieces, windows and length-sorted batches;
- ``_encoding``: the batches through the runtime (``runtimes/``), each distinct unit once, the cache consulted;
- ``_pooling``: wordpiece vectors to token, sentence, document and span vectors (pure numpy);
- ``_frames``: the rows back to a DataFrame aligned with the input (and ``to_numpy`` out of one);
- ``_resources``: progress bar, stage timer, CPU threads, returning freed memory.
"""
