"""Turn-taking between the bulk path's writers: ``WRITERS`` threads of the calling process, each with its
own connection, write consecutive chunks at once, and ``Turns`` makes them take shared rows and commit
in input order."""

import queue
import threading
from collections.abc import Iterator
from queue import Empty

from django.db import connection

from billing.usage.bulk.spool import ChunkEnd, Replayed
from billing.usage.bulk.writer import Writer
from billing.usage.charging import BatchResult
from billing.usage.models import GatewaySource

# Writers (threads, each with its own connection and transaction) working on consecutive chunks at once,
# and how long a chunk waits for the one before it to commit before it gives up (a chunk takes seconds).
WRITERS = 2
TURN_WAIT_S = 900


class Abandoned(Exception):
    """A chunk given up because an earlier one (or the reading of the input) failed: it rolls back."""


class Turns:
    """The order chunks commit in: chunk ``n`` takes its locks only once chunk ``n - 1`` is done.

    So the chunks of a run commit in input order (a re-run replays a prefix and writes the rest), the two
    writers never wait for each other's rows, and allowances are drawn in input order.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._done = -1
        self._failed: int | None = None  # the first chunk that failed

    def wait(self, n: int) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._done >= n - 1 or self._failed_before(n), TURN_WAIT_S):
                # The previous chunk is stuck (a lock held elsewhere for this long): fail rather than hang.
                raise RuntimeError(
                    f"Bulk ingest chunk {n} waited {TURN_WAIT_S // 60} minutes for chunk {n - 1} to commit."
                )
            if self._failed_before(n):
                raise Abandoned

    def _failed_before(self, n: int) -> bool:
        return self._failed is not None and self._failed < n

    def done(self, n: int) -> None:
        with self._cond:
            self._done = n
            self._cond.notify_all()

    def fail(self, n: int) -> None:
        with self._cond:
            self._failed = n if self._failed is None else min(n, self._failed)
            self._cond.notify_all()


_ABORT = object()  # put on a chunk's feed when its input will never come


def _fed(feed: "queue.SimpleQueue") -> Iterator:
    while (item := feed.get()) is not _ABORT:
        yield item
    raise Abandoned


def _writer_thread(source: GatewaySource, fmt: str, jobs, turns: Turns, finished) -> None:
    """One writer with its own connection: write each chunk given on ``jobs`` (None: stop) in its turn."""
    writer = Writer(source, fmt)
    try:
        while (job := jobs.get()) is not None:
            n, key, feed = job
            try:
                result = writer.chunk_write(key=key, items=_fed(feed), wait_turn=lambda n=n: turns.wait(n))
            except BaseException as exc:  # reported to the reading thread, which raises it
                turns.fail(n)
                finished.put((n, exc))
            else:
                turns.done(n)
                finished.put((n, result))
    finally:
        connection.close()


def write_in_turns(*, source: GatewaySource, fmt: str, items: Iterator, key_prefix: str, deliver) -> None:
    """Write the chunks in ``items`` with ``WRITERS`` writers (threads, one connection each); call
    ``deliver(n, result)`` for each chunk in input order.

    Each chunk is still one transaction. A writer COPYs while the other rolls up and posts (or COPYs
    too), so PostgreSQL works on two chunks at once; ``Turns`` keeps the commits in input order. On a
    failure the chunks before the failed one (or, if reading the input failed, the chunks read whole)
    commit and are delivered, the later ones roll back, and the failed chunk's own error is raised (an
    interrupt is raised as it came).
    """
    turns = Turns()
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    finished: queue.SimpleQueue = queue.SimpleQueue()
    threads = [
        threading.Thread(target=_writer_thread, args=(source, fmt, jobs, turns, finished), daemon=True)
        for _ in range(WRITERS)
    ]
    for thread in threads:
        thread.start()

    def stop() -> None:
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()

    outcomes: dict[int, object] = {}  # finished, not yet delivered
    delivered = in_flight = 0

    def deliver_ready() -> BaseException | None:
        """Deliver, in order, every finished chunk that is next; return the failure that stops it (kept)."""
        nonlocal delivered
        while delivered in outcomes:
            if isinstance(outcomes[delivered], BaseException):
                return outcomes[delivered]
            deliver(delivered, outcomes.pop(delivered))
            delivered += 1
        return None

    def collect(*, block: bool) -> None:
        """Take what the writers finished (waiting for one if ``block``), then deliver what is ready."""
        nonlocal in_flight
        while True:
            try:
                n, outcome = finished.get(block=block)
            except Empty:
                break
            block = False
            outcomes[n] = outcome
            in_flight -= 1
        if (failure := deliver_ready()) is not None:
            raise failure

    n, feed = 0, None
    try:
        for n in range(10**9):
            while in_flight >= WRITERS:
                collect(block=True)
            first = next(items, None)
            if first is None:
                break
            in_flight += 1
            if isinstance(first, Replayed):
                turns.wait(n)
                turns.done(n)
                finished.put((n, BatchResult(**first.result, replayed=True)))
                continue
            feed = queue.SimpleQueue()
            jobs.put((n, f"{key_prefix}:{n}", feed))
            item = first
            feed.put(item)
            while not isinstance(item, ChunkEnd):
                item = next(items)
                feed.put(item)
            feed = None
            collect(block=False)
        while in_flight:
            collect(block=True)
    except BaseException as exc:
        turns.fail(n)
        if feed is not None:
            feed.put(_ABORT)
        stop()
        while not finished.empty():
            done, outcome = finished.get()
            outcomes[done] = outcome
        deliver_ready()  # the chunks that committed are reported, as they would have been
        if not isinstance(exc, Exception):
            raise  # an interrupt or exit, as it came
        failures = [
            outcomes[k]
            for k in sorted(outcomes)
            if isinstance(outcomes[k], Exception) and not isinstance(outcomes[k], Abandoned)
        ]
        if not failures or failures[0] is exc:
            raise
        raise failures[0] from exc  # the first chunk's own failure, not what followed it
    stop()
