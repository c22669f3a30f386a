"""Output levels as strategies: which spans are encoded, and which output row takes which encoder rows.

Vocabulary (used everywhere in nlu_lite):
- *chunk*: a block of input rows processed together (``chunk_size``; ``predict_iter`` yields one per chunk);
- *unit*: a span of one document encoded as one sequence (a sentence, or a whole document);
- *window*: one model sequence of a unit (units longer than the model's limit get several, overlapping);
- *batch*: the windows of one forward pass;
- *row*: one output row (a token, a sentence, a document, a user's span).

A level is one module of this package defining a ``Level`` subclass and registering an instance with
``register``; validation, the CLI's choices, the DataFrame columns and the Spark schema all read this registry.
"""

from . import _document, _sentence, _span, _token  # noqa: F401  (each registers its level)
from ._base import (
    Level,
    Rows,
    Units,
    get,
    names,
    register,
    row_id_columns,
    sentence_numbers,
    text_columns,
    unit_texts,
)

__all__ = ["Level", "Units", "Rows", "register", "names", "get", "text_columns", "row_id_columns", "unit_texts",
           "sentence_numbers"]
