"""The same predict() on a Spark DataFrame, computed on the executors with ``mapInPandas``.

Each executor Python worker loads each model once (cached by its rebuild spec) and reuses it for every batch and
every task it runs. Several models (a ``PipelineGroup``) run in the same ``mapInPandas``: each batch is segmented
once and gets one vector column per model, as in pandas. How each model reaches the executors (``ship_model=``):

- shipped (``True``; ``"auto"`` when the master is not ``local[...]``, and always on Spark Connect): a
  ``pipe.save()`` bundle of the model, zipped once per model revision, runtime and precision and session, and
  added with ``SparkContext.addArchive(zip + "#alias")`` (classic; the zip lies in the SparkContext's own
  ``SparkFiles`` root folder, which Spark deletes when the context stops) or ``SparkSession.addArtifacts(zip +
  "#alias", archive=True)`` (Spark Connect: uploaded to the server, the local zip deleted at once); executors
  rebuild from the bundle that ``SparkFiles.get(alias)`` finds, and the task's spec names the alias, not a path;
- the path (``False``; ``"auto"`` on ``local[...]``): the driver's model folder (a packaged model, the Hugging
  Face cache or a folder), which must exist at the same path on the executors: on a cluster, put a
  ``pipe.save()`` bundle on shared storage and ``load(path=...)`` it.

One INFO line on the ``nlu_lite`` logger per model says which applies at the start of each job.
``vectors="ml"`` returns the vector columns as ``pyspark.ml.linalg`` vectors (``VectorUDT``) for Spark ML, their
provenance metadata kept. pyspark is only imported here, when a Spark DataFrame is passed.

Spans (``spans=``) come as ``nlu_lite.terms``/``patterns`` (matched on the executors) or as a table keyed by
``id_column`` (a Spark or pandas DataFrame: id, ``begin``, ``end``, optional ``label``), which is grouped by id and
joined to the input rows; span ids without an input row, and ids that repeat in the input, are errors on the
driver, as in pandas. Lists of spans per row have no meaning here: a Spark DataFrame's rows have no fixed order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import levels, provenance
from ..errors import InvalidInputError, InvalidOptionError, ModelLoadError, ModelNotAvailableError
from ..pipeline._bundle import write_bundle
from ..pipeline._documents import INDEX_NAME, is_spark_dataframe
from ..pipeline._engine import Engine, chunks_by_id
from ..pipeline._spec import BUNDLE_FILE, Spec
from ..text import _spans as span_input

if TYPE_CHECKING:
    import pyspark.sql

SPANS_COLUMN = "__nlu_lite_spans"  # the per-row span lists joined to the input (dropped before predict)
_CACHE: dict[str, Engine] = {}
_MATCHERS: dict[str, span_input.MatcherSpans] = {}
_CACHE_LOCK = threading.Lock()
_LOG = logging.getLogger("nlu_lite")
SHIP_MODEL = (True, False, "auto")
VECTORS = ("array", "ml")


def cached_pipeline(spec: str, archive: str | None = None) -> Engine:
    """The pipeline for a JSON rebuild spec, built once per Python process.

    ``archive``: the alias of a shipped bundle (``SparkFiles.get(archive)``), whose model files replace the
    spec's ``model_path``; ``None``: the spec's own path.
    """
    folder = None
    if archive is not None:
        from pyspark import SparkFiles

        folder = Path(SparkFiles.get(archive))
    key = spec if folder is None else f"{folder}\n{spec}"
    with _CACHE_LOCK:
        if key not in _CACHE:
            rebuild = Spec.from_json(spec, "The Spark task's pipeline spec")
            if folder is not None:
                if not (folder / BUNDLE_FILE).is_file():
                    raise ModelLoadError(
                        "E454", f"The model archive {archive!r} shipped with this job is not unpacked at '{folder}' "
                        f"on this executor (no {BUNDLE_FILE} there). Check that the executors can fetch files from "
                        "the driver (spark.driver.host), or put a pipe.save() bundle on storage every node mounts "
                        "and predict with ship_model=False.")
                rebuild = replace(rebuild, model_path=Spec.read_bundle(folder).model_path)
            elif not Path(rebuild.model_path).is_dir():
                raise ModelNotAvailableError(
                    "E455", f"The model folder '{rebuild.model_path}' does not exist on this executor (host "
                    f"{socket.gethostname()}): with ship_model=False (or 'auto' on a local master) executors read "
                    "the driver's path. Predict with ship_model=True to send the model with the job, or put a "
                    "pipe.save() bundle on storage every node mounts and load(path=...) it.")
            _CACHE[key] = Engine.from_spec(rebuild)
        return _CACHE[key]


def _cached_matcher(request: span_input.MatcherSpans) -> span_input.MatcherSpans:
    """One matcher per Python process for the same terms or patterns (every task would build it again)."""
    key = "matcher:" + json.dumps([request.kind, request.table, request.case_sensitive], sort_keys=True, default=str)
    with _CACHE_LOCK:
        return _MATCHERS.setdefault(key, request)


def predict_partition(batches: Iterator[pd.DataFrame], models: list[tuple[str, str | None]], text_column: str,
                      id_column: str, options: dict, matcher: span_input.MatcherSpans | None = None,
                      group: Callable[[list[Engine]], object] | None = None) -> Iterator[pd.DataFrame]:
    """The function run on each partition: Arrow batches in, predict() frames out, ids as a column.

    ``models``: ``(spec, archive)`` per model (see ``cached_pipeline``); with several, ``group`` (the
    ``PipelineGroup`` class) combines them so that each batch is segmented once. ``matcher``: terms or patterns
    to find in every batch; else a batch may carry ``SPANS_COLUMN``, the spans of each row as a list of
    ``{begin, end, label}``, which becomes the batch's per-row span lists.
    """
    pipes = [cached_pipeline(spec, archive) for spec, archive in models]
    predictor = pipes[0] if group is None else group(pipes)
    options = dict(options)
    if "segment_processes" not in options and pipes[0].settings.segment_processes == "auto":
        options["segment_processes"] = 0  # Spark places its tasks on the cores: "auto" would add processes to each
    if matcher is not None:
        matcher = _cached_matcher(matcher)
    for batch in batches:
        spans: object = matcher
        if SPANS_COLUMN in batch.columns:
            spans = [[(int(s["begin"]), int(s["end"])) if s["label"] is None else
                      (int(s["begin"]), int(s["end"]), str(s["label"])) for s in row]
                     if row is not None else [] for row in batch.pop(SPANS_COLUMN)]
        # one frame per chunk: memory stays bounded by the chunk, and each column is one contiguous array
        # (a frame concatenated from chunks holds pyarrow ChunkedArrays, which Spark's Arrow writer refuses)
        settings = dict(options)
        level = settings.pop("output_level", None)
        for frame in chunks_by_id(predictor.predict_iter, batch, level, text_column, id_column, spans, settings):
            yield frame.reset_index()


def _output_schema(sdf, pipes: list[Engine], settings, record: dict, text_column: str, id_column: str):
    """The Spark schema of the output, from the same column list as the pandas frames (``Level.output_columns``),
    with each further model's vector column after the previous one's, as ``PipelineGroup`` places them; every
    vector column carries ``record``."""
    from pyspark.sql import types as T

    kinds = {"string": T.StringType(), "int64": T.LongType(),
             "vector": T.ArrayType(T.FloatType(), containsNull=True)}
    columns = list(levels.get(settings.output_level).output_columns(settings.positions, pipes[0].column_name))
    for previous, pipe in zip(pipes, pipes[1:]):
        columns.insert([name for name, _ in columns].index(previous.column_name) + 1, (pipe.column_name, "vector"))
    fields = [T.StructField(id_column, sdf.schema[id_column].dataType, True)]
    fields += [T.StructField(name, kinds[kind], True, provenance.spark_metadata(record) if kind == "vector" else None)
               for name, kind in columns]
    taken = {f.name for f in fields}
    extras = [f for f in sdf.schema.fields if f.name not in {text_column, id_column}]
    clash = sorted(f.name for f in extras if f.name in taken)
    if clash:
        raise InvalidInputError(
            "E059", f"The Spark DataFrame has columns {clash} that the output also uses; rename them.")
    return T.StructType(fields + extras)


def _workers_use_driver_python(sdf: pyspark.sql.DataFrame) -> None:
    """In local mode, run the Python workers with the driver's interpreter.

    Spark starts workers with ``PYSPARK_PYTHON``, else ``python3`` from PATH. In a notebook whose kernel is a
    virtual environment that is another interpreter, without nlu_lite, and every task fails with a
    ``ModuleNotFoundError`` buried in Java logs. Local workers run on this machine, so the driver's interpreter is
    the right one; a ``PYSPARK_PYTHON`` the user set is left alone, and so are clusters (set it there).
    """
    try:
        context = sdf.sparkSession.sparkContext
    except Exception:  # Spark Connect: no SparkContext on the client, workers are the server's business
        return
    if os.environ.get("PYSPARK_PYTHON") or not str(context.master).startswith("local"):
        return
    found = shutil.which(context.pythonExec)
    if found is None or os.path.realpath(found) != os.path.realpath(sys.executable):
        context.pythonExec = sys.executable


_SHIPPED: dict[str, tuple[object, set[str]]] = {}  # by SparkContext applicationId or Connect session id
_SHIP_LOCK = threading.Lock()


def _ship(sdf, pipe: Engine) -> str:
    """Add a zipped bundle of ``pipe``'s model to ``sdf``'s session (once per model revision, runtime and
    precision, and SparkContext or Spark Connect session); returns its alias, which ``SparkFiles.get`` resolves
    on the executors.

    Classic: ``SparkContext.addArchive``, the zip written in the context's own ``SparkFiles`` root folder, which
    Spark deletes when the context stops (executors fetch the zip from the driver while it runs). Spark Connect:
    ``SparkSession.addArtifacts(archive=True)`` uploads it to the server, so the local zip goes at once.
    """
    record = pipe.provenance()
    key = json.dumps([record["model"], record["revision"], record["runtime"], record["precision"]])
    alias = "nlu_lite_model_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    connect = _is_connect(sdf)
    with _SHIP_LOCK:
        for owner, (context, _) in list(_SHIPPED.items()):  # forget stopped contexts (Spark removed their files)
            if context is not None and getattr(context, "_jsc", None) is None:
                del _SHIPPED[owner]
        if connect:
            owner, context = sdf.sparkSession.session_id, None
        else:
            context = sdf.sparkSession.sparkContext
            owner = context.applicationId
        aliases = _SHIPPED.setdefault(owner, (context, set()))[1]
        if alias in aliases:
            return alias
        if connect:
            with tempfile.TemporaryDirectory(prefix="nlu_lite-spark-") as folder:
                sdf.sparkSession.addArtifacts(f"{_zipped_bundle(pipe, Path(folder), alias)}#{alias}", archive=True)
        else:
            root = Path(context._jvm.org.apache.spark.SparkFiles.getRootDirectory()) / "nlu_lite-shipped"
            context.addArchive(f"{_zipped_bundle(pipe, root, alias)}#{alias}")
        aliases.add(alias)
    return alias


def _zipped_bundle(pipe: Engine, folder: Path, alias: str) -> str:
    """``folder/alias.zip``: a ``pipe.save()`` bundle of ``pipe``'s model, zipped."""
    bundle = write_bundle(pipe.source.folder, pipe.spec(), folder / alias)
    archive = shutil.make_archive(str(bundle), "zip", root_dir=bundle)
    shutil.rmtree(bundle)
    return archive


def _ships_model(pipe: Engine, sdf, ship_model: object) -> bool:
    """Whether this job ships the model (else the executors read the driver's path); fails on the driver, before
    anything runs, when neither can work."""
    if ship_model not in SHIP_MODEL or not isinstance(ship_model, (bool, str)):
        raise InvalidOptionError("E450", f"ship_model={ship_model!r} is not one of {list(SHIP_MODEL)}: True ships "
                                 "the model with the job (SparkContext.addArchive, or addArtifacts on Spark "
                                 "Connect), False has the executors read it at the driver's path, 'auto' (default) "
                                 "ships unless the master is local.")
    if not Path(pipe.source.folder).is_dir():
        raise ModelNotAvailableError("E452", f"The model folder '{pipe.source.folder}' this pipeline was loaded "
                                     "from no longer exists on the driver, so it can neither be shipped nor read by "
                                     "the executors. Load the model again (nlu_lite.load(...)) and predict with it.")
    if ship_model == "auto":  # a Spark Connect server's executors may be anywhere: ship
        return _is_connect(sdf) or not _master(sdf).startswith("local")
    return ship_model


def _is_connect(sdf) -> bool:
    """Whether ``sdf`` is a Spark Connect DataFrame (no SparkContext on the client)."""
    return type(sdf).__module__.startswith("pyspark.sql.connect")


def _master(sdf) -> str:
    """The Spark master URL, or ``"Spark Connect"`` (no SparkContext on the client)."""
    if _is_connect(sdf):
        return "Spark Connect"
    return str(sdf.sparkSession.sparkContext.master)


def _as_ml_vectors(result, columns: list[str], metadata: dict):
    """``result`` with ``columns`` as ``pyspark.ml.linalg`` vectors (float64), their provenance metadata kept."""
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    def vectors(name):  # null stays null (not an NPE)
        return F.when(_column(name).isNotNull(), array_to_vector(_column(name))).alias(name, metadata=metadata)

    return result.select(*[vectors(name) if name in columns else _column(name) for name in result.columns])


def _column(name: str):
    """A Spark column by its exact name: quoted, so that names with dots or spaces are not parsed as paths."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _join_span_table(sdf, table, id_column: str | None):
    """``sdf`` with each row's spans from ``table`` (Spark or pandas: id, begin, end[, label]) in ``SPANS_COLUMN``."""
    from pyspark.sql import functions as F

    if id_column is None:
        raise InvalidInputError("E439", "spans= as a table on a Spark DataFrame needs id_column='<column>': the "
                                "column of the input that the spans' rows name (it has no fixed row order).")
    if isinstance(table, pd.DataFrame):
        table = sdf.sparkSession.createDataFrame(table)
    missing = [c for c in (id_column, "begin", "end") if c not in table.columns]
    if missing:
        raise InvalidInputError("E440", f"The spans table lacks the columns {missing} (it has {table.columns}); it "
                                f"needs {id_column!r} (the input row's id), 'begin', 'end' and optionally 'label'.")
    label = F.col("label").cast("string") if "label" in table.columns else F.lit(None).cast("string")
    spans = table.select(_column(id_column), F.col("begin").cast("long").alias("begin"),
                         F.col("end").cast("long").alias("end"), label.alias("label"))
    ids = sdf.select(_column(id_column))
    unknown = [r[0] for r in spans.join(ids, on=id_column, how="left_anti").select(_column(id_column)).distinct()
               .limit(10).collect()]
    if unknown:
        raise InvalidInputError("E441", f"The spans name row id(s) that the input does not have: {unknown} (at "
                                f"most 10 shown). Span rows are matched to the input's {id_column!r}.")
    repeated = [r[0] for r in ids.groupBy(_column(id_column)).count().filter("count > 1").limit(5).collect()]
    if repeated:
        raise InvalidInputError("E442", f"Spans are matched to input rows by {id_column!r}, but its values "
                                f"{repeated} repeat; pass an id_column with unique values.")
    grouped = spans.groupBy(_column(id_column)).agg(
        F.collect_list(F.struct("begin", "end", "label")).alias(SPANS_COLUMN))
    return sdf.join(grouped, on=id_column, how="left")


def predict_spark(target: Engine, sdf: pyspark.sql.DataFrame, output_level: str | None, text_column: str | None,
                  id_column: str | None, options: dict, spans: object = None,
                  output_path: object = None) -> pyspark.sql.DataFrame:
    """``target.predict`` for a Spark DataFrame; returns a Spark DataFrame with the pandas result's columns.

    ``target``: a pipeline, or a ``PipelineGroup`` (several models: one vector column each, the text segmented
    once per batch; its class is sent to the executors to combine the models there). ``id_column`` names a column
    that identifies input rows; it comes first in the output, under its own name. Without it, an
    ``origin_index`` column is added with ``monotonically_increasing_id()`` (stable for a given partitioning of
    the input). ``spans``: see the module docstring. Two ``options`` are Spark's own, not settings:
    ``ship_model`` (``"auto"``, ``True``, ``False``) and ``vectors`` (``"array"``, ``"ml"``). ``output_path``
    is refused: Spark writes its own results.
    """
    from pyspark.sql import functions as F

    if output_path is not None:
        raise InvalidOptionError("E072", "output_path= writes pandas-side results; for a Spark DataFrame write "
                                 "the result with Spark: pipe.predict(sdf).write.parquet(path).")
    pipes: list[Engine] = list(getattr(target, "pipelines", [target]))
    group = type(target) if len(pipes) > 1 else None
    options = dict(options)
    ship_model, vectors = options.pop("ship_model", "auto"), options.pop("vectors", "array")
    if vectors not in VECTORS:
        raise InvalidOptionError("E451", f"vectors={vectors!r} is not one of {list(VECTORS)}: 'array' returns "
                                 "the vector column as array<float>, 'ml' as pyspark.ml.linalg vectors (VectorUDT) "
                                 "for Spark ML estimators.")
    ships = [_ships_model(pipe, sdf, ship_model) for pipe in pipes]
    _workers_use_driver_python(sdf)
    text_column = "text" if text_column is None else text_column
    if text_column not in sdf.columns:
        raise InvalidInputError(
            "E060", f"The Spark DataFrame has no column {text_column!r}; its columns are {sdf.columns}. "
                                "Name the text column with text_column='<name>'.")
    text_type = sdf.schema[text_column].dataType
    if text_type.typeName() not in ("string", "varchar", "char", "void"):
        raise InvalidInputError(
            "E064", f"The text column {text_column!r} has Spark type {text_type.simpleString()}, not string; cast "
                    f"it first, e.g. sdf.withColumn({text_column!r}, F.col('`{text_column}`').cast('string')), or name "
                    "another column with text_column='<name>'.")
    if spans is not None:
        output_level = output_level or "span"
    if output_level is None and group is not None:
        output_level = target._default_level()
    per_call = {**options, **({"output_level": output_level} if output_level else {})}
    settings = [pipe.settings.updated("predict()", **per_call) for pipe in pipes]
    records = [pipe.provenance(s) for pipe, s in zip(pipes, settings)]
    record = records[0] if group is None else target.record(records)
    matcher = spans if isinstance(spans, span_input.MatcherSpans) else None
    if spans is not None and matcher is None and not (isinstance(spans, pd.DataFrame) or is_spark_dataframe(spans)):
        raise InvalidInputError("E437", f"spans={type(spans).__name__} on a Spark DataFrame: its rows have no fixed "
                                "order, so spans must name their rows. Pass a table (Spark or pandas DataFrame) "
                                "with the id_column, 'begin', 'end'[, 'label'], or nlu_lite.terms([...]) / "
                                "nlu_lite.patterns({...}).")
    user_id_column = id_column
    if id_column is None:
        id_column = INDEX_NAME
        if id_column in sdf.columns:
            raise InvalidInputError("E061", f"The Spark DataFrame already has an {INDEX_NAME!r} column; pass "
                                    f"id_column='{INDEX_NAME}' to use it as the row id.")
        sdf = sdf.withColumn(id_column, F.monotonically_increasing_id())
    elif id_column not in sdf.columns:
        raise InvalidInputError("E062", f"id_column={id_column!r} is not a column; columns are {sdf.columns}.")
    schema = _output_schema(sdf, pipes, settings[0], record, text_column, id_column)
    if spans is not None and matcher is None:
        sdf = _join_span_table(sdf, spans, user_id_column)
    models = [_model_for_executors(pipe, sdf, shipped, ship_model) for pipe, shipped in zip(pipes, ships)]
    executor_options = {**per_call, "output_level": settings[0].output_level, "progress": False}  # no bars there

    names = list(sdf.columns)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        named = (batch.set_axis(names, axis=1) for batch in batches)
        return predict_partition(named, models, text_column, id_column, executor_options, matcher, group)

    # mapInPandas resolves each input column by name, which fails for names with dots ("note.text"): the input
    # travels under positional names and gets its own back on the executor
    result = sdf.toDF(*[f"_{k}" for k in range(len(names))]).mapInPandas(run, schema=schema)
    if vectors == "ml":
        result = _as_ml_vectors(result, [pipe.column_name for pipe in pipes], schema[pipes[0].column_name].metadata)
    return result


def _model_for_executors(pipe: Engine, sdf, shipped: bool, ship_model: object) -> tuple[str, str | None]:
    """``(spec, archive)`` for ``cached_pipeline`` on the executors: the model shipped (the spec names no path:
    executors find the bundle by its alias) or read at the driver's path; says which in one INFO line."""
    if not shipped:
        _LOG.info("nlu_lite Spark job: executors read the model at the driver's path '%s' (ship_model=%r, master "
                  "%s): it must exist there on every executor", pipe.source.folder, ship_model, _master(sdf))
        return pipe.spec().to_json(), None
    archive = _ship(sdf, pipe)
    _LOG.info("nlu_lite Spark job: the model is shipped to the executors as archive %r, a bundle of '%s' "
              "(ship_model=%r, master %s)", archive, pipe.source.folder, ship_model, _master(sdf))
    return replace(pipe.spec(), model_path=".", source_kind="bundle").to_json(), archive
