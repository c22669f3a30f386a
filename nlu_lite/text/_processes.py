"""Segmentation in worker processes, so spaCy's share of a chunk runs beside the encoder.

spaCy's tokenizer and the sentence rules hold the GIL: a thread cannot run them beside the chunk being encoded
(``pipeline/_prefetch.py`` overlaps only what releases the GIL, such as the forward and the wordpiece tokenizer).
``SegmentPool`` runs them in worker processes, started once per pipeline and kept for its later calls; each
builds the same spaCy pipeline from the splitter's name.

The workers are plain ``python -m nlu_lite.text._processes`` children that read lists of texts and write their
segments back as pickles over their stdin and stdout. Not ``multiprocessing``: its ``spawn`` re-runs the
caller's script in every worker (a script without an ``if __name__ == "__main__":`` guard loads its model and
predicts again there), and ``fork`` copies a process whose torch, CUDA and tokenizer threads may hold locks.
A worker ends when its pipe closes: when the pool is closed, or the calling process exits or dies. It ignores
Ctrl-C (a terminal sends it to the whole process group): the caller is interrupted, and the workers stay usable.

A chunk is cut into contiguous parts of about equal characters, one per process, and the parts' segments
joined: the result equals ``segment(texts, build_nlp(splitter))`` exactly (tests compare them).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from ..errors import WorkerError


def parts(texts: list[str], n: int) -> list[tuple[int, int]]:
    """``[begin, end)`` ranges cutting ``texts`` into at most ``n`` non-empty contiguous parts of about equal
    characters."""
    if not texts:
        return []
    ends = np.cumsum([len(t) + 1 for t in texts])
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, n) / n, side="left") + 1
    bounds = np.unique(np.r_[0, np.clip(cuts, 1, len(texts)), len(texts)])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


class SegmentPool:
    """``processes`` worker processes that segment texts with the ``splitter``'s spaCy pipeline."""

    def __init__(self, splitter: str, processes: int) -> None:
        self.splitter, self.processes = splitter, processes
        self.pid = os.getpid()  # a forked child inherits this object but must not talk over its parent's pipes
        self._lock = threading.RLock()  # one chunk at a time (each worker answers in the order it is asked); close()
        # waits for a chunk in flight (another thread's call), and is also called from inside one (a dead worker)
        # the workers import this very nlu_lite, wherever the caller found it (an install, a checkout on sys.path)
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._workers = [subprocess.Popen([sys.executable, "-m", __name__, splitter], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, env=env) for _ in range(processes)]

    def segment(self, texts: list[str]):
        """Tokens, sentences and sections of ``texts``, as ``_segmentation.segment`` gives them."""
        from . import _segmentation as segmentation

        ranges = parts(texts, self.processes)
        with self._lock:
            for worker, (a, b) in zip(self._workers, ranges):  # every part sent before any answer is read
                self._exchange(worker, lambda w, a=a, b=b: (pickle.dump(texts[a:b], w.stdin), w.stdin.flush()))
            answers = [self._exchange(worker, lambda w: pickle.load(w.stdout))
                       for worker, _ in zip(self._workers, ranges)]
        for status, value in answers:
            if status == "error":
                raise value
        return segmentation.join_segments([value for _, value in answers], [b - a for a, b in ranges])

    def _exchange(self, worker: subprocess.Popen, step):
        try:
            return step(worker)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            self.close()
            raise WorkerError(
                "E311", f"A segmentation process (segment_processes={self.processes}) stopped before it finished "
                f"(exit code {worker.poll()}): killed, out of memory, or unable to start (its own error, if any, is on "
                "standard error above). Predict again (new processes start), give the machine more memory, or pass "
                "segment_processes=0 to segment in this process.") from error

    def close(self) -> None:
        """End the processes (each exits when its pipe closes) once a chunk in flight is done; safe to call twice.
        In a forked child it only closes the child's copies of the pipes: the parent's workers go on (and a lock
        the parent held at the fork is never waited for)."""
        if os.getpid() != self.pid:
            self._end()
            return
        with self._lock:
            self._end()

    def _end(self) -> None:
        for worker in self._workers:
            if worker.stdin and not worker.stdin.closed:
                try:
                    worker.stdin.close()
                except OSError:
                    pass
        for worker in self._workers:
            try:
                worker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.kill()
            if worker.stdout:
                worker.stdout.close()

    @property
    def alive(self) -> bool:
        """Whether every worker runs and belongs to this process (not to the parent of a forked child)."""
        return os.getpid() == self.pid and all(worker.poll() is None for worker in self._workers)


def _serve(splitter: str) -> None:
    """A worker's life: segment each list of texts read from stdin, write the answer to stdout, until EOF."""
    from . import _segmentation as segmentation

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal reaches the caller; the part still comes back
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a print anywhere must not corrupt the answers
    nlp = segmentation.build_nlp(splitter)
    while True:
        try:
            texts = pickle.load(requests)
        except EOFError:
            return
        try:
            answer = ("ok", segmentation.segment(texts, nlp))
        except Exception as error:  # raised in the caller, as if it had segmented there
            answer = ("error", error)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that cannot be pickled: its type and message
            payload = pickle.dumps(("error", RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
        answers.write(payload)
        answers.flush()


if __name__ == "__main__":
    _serve(sys.argv[1])
