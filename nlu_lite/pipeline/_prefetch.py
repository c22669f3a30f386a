"""The next chunk prepared while the current one is encoded: one worker thread, one chunk ahead.

Preparing a chunk (segmentation with spaCy, wordpiece tokenization, units and windows) and encoding it (the
runtime's forward, pooling, the DataFrame) take turns on one thread unless they overlap. ``ahead`` runs each
chunk's preparation on a worker thread while the caller encodes the chunk before it, so a forward that
releases the GIL (torch, OpenVINO, a GPU) runs beside spaCy and the tokenizer (which releases it too).

What stays as without it:
- the input is read on the caller's thread (a generator over a database cursor works as before), and at most
  one chunk ahead of the chunk being encoded: memory is bounded by two chunks;
- chunks come out in input order, and an error - reading a chunk or preparing it - is raised after every
  chunk before it has been yielded, as it would be without the worker (``KeyboardInterrupt`` at once);
- closing the generator, or an error in the caller, ends the worker before the generator returns: no
  thread is left behind (it finishes the chunk it is preparing first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
P = TypeVar("P")


def ahead(chunks: Iterable[T], prepare: Callable[[T], P], enabled: bool = True) -> Iterator[P]:
    """``prepare(chunk)`` of every chunk, in order; with ``enabled``, the next one prepared on a worker thread
    while the caller works on the one yielded."""
    if not enabled:
        for chunk in chunks:
            yield prepare(chunk)
        return
    source = iter(chunks)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu_lite-prepare") as worker:
        try:
            pending: Future | None = None
            while True:
                try:
                    chunk = next(source)
                except StopIteration:
                    break
                except Exception:  # a bad row of the next chunk: raised after the current chunk, as without us
                    if pending is not None:
                        yield pending.result()
                        pending = None
                    raise
                following = worker.submit(prepare, chunk)
                if pending is not None:
                    yield pending.result()
                pending = following
            if pending is not None:
                yield pending.result()
        finally:
            worker.shutdown(wait=True, cancel_futures=True)
