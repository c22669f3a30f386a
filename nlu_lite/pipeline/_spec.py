"""The rebuild spec: everything another process needs to rebuild a pipeline from local files, as versioned JSON.

One format serves both places that rebuild a pipeline: a ``pipe.save()`` bundle (``nlu_lite.json`` beside the
model files, ``model_path`` ``"."``) and Spark executors (the driver's spec, sent with the task).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import ModelLoadError

FORMAT = "nlu_lite.pipeline"
VERSION = 1
BUNDLE_FILE = "nlu_lite.json"


@dataclass(frozen=True)
class Spec:
    """How to rebuild a pipeline: model entry and files, runtime, precision, splitter and settings."""

    entry: dict  # the catalog entry's fields
    model_path: str  # folder of the model files ("." in a bundle: the bundle folder itself)
    source_kind: str  # folder | packaged | hf_cache | hub | bundle
    runtime: str = "torch"
    precision: str | None = None
    device: str = "auto"
    threads: int | None = None
    sentence_splitter: str = "clinical"
    settings: dict = field(default_factory=dict)
    revision: str | None = None  # resolved commit of the weights where known
    cache: str | None = None  # path of the vector cache (nlu_lite.cache.VectorCache), shared by every process
    nlu_lite_version: str = ""

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> Spec:
        """Parse a spec; ``where`` names its origin in error messages (a bundle file, "Spark task")."""
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise ModelLoadError("E409", f"{where} is not valid JSON ({e}); write the bundle again with pipe.save(), "
                                 "or delete the file to load the folder as a plain model.") from e
        if not isinstance(raw, dict):
            raise ModelLoadError("E410", f"{where} holds {type(raw).__name__}, not an nlu_lite spec object; write "
                                 "the bundle again with pipe.save().")
        if "format" not in raw and {"entry", "settings", "source"} <= set(raw):  # bundles of nlu_lite 0.1
            raw = {"format": FORMAT, "version": VERSION, "entry": raw["entry"], "model_path": ".",
                   "source_kind": "bundle", "sentence_splitter": raw.get("sentence_splitter", "clinical"),
                   "settings": raw["settings"], "nlu_lite_version": raw.get("nlu_lite_version", "")}
        if raw.get("format") != FORMAT or raw.get("version") != VERSION:
            raise ModelLoadError(
                "E411", f"{where} is not a valid nlu_lite bundle of this version: it is format {raw.get('format')!r} "
                f"version {raw.get('version')!r}, this nlu_lite "
                f"reads {FORMAT!r} version {VERSION}. Load it with the nlu_lite version that wrote it "
                f"({raw.get('nlu_lite_version', 'unknown')}), or save the bundle again with this one.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known - {"format", "version"})
        missing = sorted({"entry", "model_path", "source_kind"} - set(raw))
        kinds = {"entry": dict, "settings": dict, "model_path": str, "source_kind": str, "runtime": str,
                 "device": str, "sentence_splitter": str}
        bad = [f"{k}={raw[k]!r}" for k, kind in kinds.items() if k in raw and not isinstance(raw[k], kind)]
        if unknown or missing or bad:
            raise ModelLoadError(
                "E412", f"{where} is not a valid nlu_lite spec (unknown fields {unknown}, missing {missing}, "
                f"values of the wrong type {bad}); write the bundle again with pipe.save().")
        return cls(**{k: v for k, v in raw.items() if k in known})

    @classmethod
    def read_bundle(cls, folder: Path) -> Spec:
        """The spec of a bundle folder, its model path resolved against the folder."""
        file = folder / BUNDLE_FILE
        try:
            text = file.read_text("utf-8")
        except UnicodeDecodeError as e:
            raise ModelLoadError("E444", f"Bundle file '{file}' is not UTF-8 text ({e.reason} at byte {e.start}); it "
                                 "was changed by another tool: write the bundle again with pipe.save().") from e
        spec = cls.from_json(text, f"Bundle file '{file}'")
        path = Path(spec.model_path)
        return cls(**{**asdict(spec), "model_path": str(path if path.is_absolute() else folder / path)})
